"""What a child protection conference decides and records: the outcome with each agency's view."""
