"""CHECK constraints the models share: a text column that holds one value of an enum.

The column stays a plain string (no PostgreSQL enum type), so adding a value is a new CHECK in a
migration rather than an ALTER TYPE; the constraint is named after its column."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """``column IN ('a', 'b', ...)`` over the enum's values, named ``column``."""
    values = ", ".join(repr(member.value) for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=column)
