"""Agency reports before a meeting, shared with the family from a date unless withheld."""
