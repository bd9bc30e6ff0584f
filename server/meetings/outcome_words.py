"""A decision's outcome in words, defined once for the minutes ("Not agreed") and the audit
trail ("Recorded a decision (not agreed)")."""

from __future__ import annotations

OUTCOME_LABELS = {"agreed": "Agreed", "not_agreed": "Not agreed", "deferred": "Deferred"}
OUTCOME_WORDS = {outcome: label.lower() for outcome, label in OUTCOME_LABELS.items()}
