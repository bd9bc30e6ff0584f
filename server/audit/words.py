"""The audit trail in words: each event as a sentence a chair can read ("Gave the action “Book
the assessment” to Mo Member, due 3 Dec 2026"), naming people and things rather than showing
event codes, Python lists or ids. A pure function of the event and the names found for its ids.

Where the reader may see the case's record but not what is discussed (an administrator off the
team), actions and agenda items are named only as "an action" and "an agenda item"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from server.meetings.models import Outcome
from server.timeutil import zone

CHANGE_WORDS = {
    "status": "its status",
    "progress_note": "a progress note",
    "due_date": "its due date",
    "owner": "its owner",
    "accepted": "accepted it",
    "declined": "declined it",
    "snoozed": "held its reminders",
    "scheduled_at": "the time",
    "duration_minutes": "the length",
    "location": "the place",
    "name": "the name",
    "email": "the e-mail address",
    "agency_id": "the agency",
    "is_admin": "administrator rights",
    "can_see_insights": "reading the partnership insights",
}
OUTCOME_WORDS = {outcome.value: outcome.label.lower() for outcome in Outcome}  # "not agreed"
VIA_WORDS = {
    "api": " through the API",
    "api:meetings": " (its meetings) through the API",
    "present": " on a shared screen",
    "api:timescales": " (its timescales) through the API",
}


@dataclass(frozen=True, slots=True)
class Event:
    verb: str
    object_type: str
    object_id: str | None
    meeting_id: str | None
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Names:
    """What the ids of a page of events are called: people, meetings, actions, agenda items."""

    of: Mapping[str, str]
    content: bool  # may the reader see what is discussed (action titles, item titles)?

    def person(self, value: Any) -> str:
        return self.of.get(str(value), "someone no longer on Roundtable") if value else "someone"

    def meeting(self, value: Any) -> str:
        title = self.of.get(str(value)) if value else None
        return f"the meeting “{title}”" if title else "a meeting"

    def thing(self, value: Any, kind: str) -> str:
        title = self.of.get(str(value)) if value else None
        return f"the {kind} “{title}”" if title and self.content else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _when(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return f"{date.fromisoformat(str(value)):%-d %b %Y}"
    return f"{moment.astimezone(zone()):%-d %b %Y, %H:%M}"


def _listed(values: Any) -> str:
    items = [CHANGE_WORDS.get(str(v), str(v).replace("_", " ")) for v in (values or [])]
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else "it"


@dataclass(frozen=True, slots=True)
class Either:
    """A sentence that reads one way when the event's detail says ``flag`` and another when not;
    ``unset`` is what a row written without the flag means."""

    flag: str
    yes: str
    no: str
    unset: bool = False

    def pick(self, detail: Mapping[str, Any]) -> str:
        return self.yes if detail.get(self.flag, self.unset) else self.no


SENTENCES: dict[str, str | Either] = {
    "case.view": "Viewed the case{via}",
    "case.create": "Created the case{reference}",
    "case.member.add": "Added {person} to the team as {role}",
    "case.member.remove": "Took {person} off the team",
    "case.member.role": "Made {person} {role} on the team",
    "case.rename": "Changed the case's display name",
    "case.lead.change": "Named {person} the lead professional",
    "report.write": Either(
        "share_with_family",
        "Wrote a report for {meeting}",
        "Wrote a report for {meeting}, withheld from the family",
        unset=True,
    ),
    "report.view": "Read the reports for {meeting}{via}",
    "report.respond": "Answered a report for {meeting}",
    "report.pdf.view": "Opened the PDF of a report for {meeting}",
    "invitation.send": Either(
        "new_account", "Invited {person} by e-mail, with a new account", "Invited {person} by e-mail"
    ),
    "invitation.accept": "Accepted the invitation and chose a password",
    "meeting.schedule": Either(
        "already_held",
        "Scheduled {this_meeting} for {scheduled_at}, recorded after it was held",
        "Scheduled {this_meeting} for {scheduled_at}",
    ),
    "meeting.reschedule": "Moved {this_meeting}: changed {moved}",
    "meeting.cancel": "Cancelled {this_meeting}",
    "meeting.start": "Started {this_meeting}",
    "meeting.end": "Ended {this_meeting}",
    "meeting.join": "Joined {this_meeting}",
    "meeting.leave": "Left {this_meeting}",
    "meeting.view": "Viewed {this_meeting}{via}",
    "meeting.chair_voice": Either(
        "speaks_for_agency",
        "Counted the chair as a voice of their agency in {this_meeting}",
        "Left the chair out of the voices counted in {this_meeting}",
    ),
    "socket.connect": "Connected live to {meeting}",
    "agenda.add": Either(
        "professionals_only",
        "Added an agenda item to {meeting}, for professionals only",
        "Added an agenda item to {meeting}",
    ),
    "agenda.open": "Opened {item} for discussion",
    "agenda.move": "Moved {item} on the agenda",
    "agenda.visibility": "Changed who sees {item}",
    "hand.raise": "Raised a hand in {meeting}",
    "hand.lower": "Lowered a hand in {meeting}",
    "hand.move": "Moved a hand in the queue of {meeting}",
    "queue.round": "Started a round in {meeting}",
    "floor.give": "Gave the floor in {meeting}",
    "floor.end": "Ended a turn in {meeting}",
    "decision.record": "Recorded a decision ({outcome}) in {meeting}",
    "action.assign": Either("due_date", "Gave {action} to {owner}, due {due_date}", "Gave {action} to {owner}"),
    "action.change": "Changed {action}: {changes}",
    "action.view": "Viewed {action}",
    "action_plan.view": "Read the action plan{via}",
    "action_plan.export": "Downloaded the action plan ({rows} actions)",
    "minutes.view": "Read the minutes of {its_meeting}",
    "minutes.export": "Downloaded the minutes of {its_meeting} as a PDF",
    "notes.write": "Wrote the notes of {item}",
    "minute_taker.set": Either(
        "minute_taker",
        "Named {minute_taker} minute-taker of {meeting}",
        "Took the notes of {meeting} back to the chair",
    ),
    "child_voice.write": "Recorded the child's voice for {meeting}",
    "mapping.add": "Added to the mapping board of {meeting}",
    "mapping.edit": "Changed an entry on the mapping board of {meeting}",
    "mapping.remove": "Removed an entry from the mapping board of {meeting}",
    "scale.open": "Asked a scaling question in {meeting}",
    "scale.score": "Gave a score in {meeting}",
    "scale.reveal": "Revealed the scores in {meeting}",
    "outcome.record": Either(
        "plan",
        "Recorded the outcome of {meeting}: a child protection plan",
        "Recorded the outcome of {meeting}: no plan",
    ),
    "scales.view": "Read the case's scales",
    "minutes.correct": "Sent a correction to the draft minutes of {meeting}",
    "minutes.edit": "Changed the draft minutes of {meeting}",
    "minutes.resolve_correction": "Marked a correction to the minutes of {meeting} {resolution}",
    "minutes.approve": "Approved the minutes of {meeting} and sent them to everyone invited",
    "letter.view": "Read the outcome letter of {its_meeting}",
    "letter.export": "Downloaded the outcome letter of {its_meeting} as a PDF",
    "audit.view": "Read this audit trail",
    "audit.export": "Downloaded this audit trail",
    "outbox.view": "Read one of the case's e-mails in the outbox",
}
"""Each event's sentence; a ``{name}`` in it is filled from :data:`NAMED`."""

Phrase = Callable[[Event, Names], str]

NAMED: dict[str, Phrase] = {
    "meeting": lambda e, n: n.meeting(e.meeting_id),  # the meeting it happened in
    "this_meeting": lambda e, n: n.meeting(e.object_id),  # a meeting event's own meeting
    "its_meeting": lambda e, n: n.meeting(e.meeting_id or e.object_id),  # of the minutes or letter
    "person": lambda e, n: n.person(e.object_id),
    "owner": lambda e, n: n.person(e.detail.get("owner")),
    "minute_taker": lambda e, n: n.person(e.detail.get("minute_taker")),
    "item": lambda e, n: n.thing(e.object_id, "agenda item"),
    "action": lambda e, n: n.thing(e.object_id, "action"),
    "via": lambda e, n: VIA_WORDS.get(str(e.detail.get("via", "")), ""),
    "reference": lambda e, n: f" {e.detail.get('reference', '')}".rstrip(),
    "role": lambda e, n: f"{e.detail.get('role', 'a member')}",
    "scheduled_at": lambda e, n: _when(e.detail.get("scheduled_at")),
    "due_date": lambda e, n: _when(e.detail["due_date"]),
    "moved": lambda e, n: _listed([k for k in e.detail if k in ("scheduled_at", "duration_minutes", "location")]),
    "changes": lambda e, n: _listed(e.detail.get("changes")),
    "outcome": lambda e, n: OUTCOME_WORDS.get(str(e.detail.get("outcome")), "recorded"),
    "rows": lambda e, n: f"{e.detail.get('rows', 0)}",
    "resolution": lambda e, n: "applied" if e.detail.get("state") == "applied" else "not applied",
}
"""What a sentence may name, each found only when a sentence asks for it."""


@dataclass(frozen=True, slots=True)
class _Named:
    """The names of one event's sentence, for ``str.format_map``."""

    event: Event
    names: Names

    def __getitem__(self, key: str) -> str:
        return NAMED[key](self.event, self.names)


def describe(event: Event, names: Names) -> str:
    """The event as a sentence; an event this table does not know yet still reads as words."""
    sentence = SENTENCES.get(event.verb)
    if sentence is not None:
        template = sentence if isinstance(sentence, str) else sentence.pick(event.detail)
        return template.format_map(_Named(event, names))
    return event.verb.replace(".", " ").replace("_", " ").capitalize()


def ids_to_name(event: Event) -> set[str]:
    """Every id an event's sentence may name."""
    found = {event.object_id, event.meeting_id, event.detail.get("owner")}
    return {str(value) for value in found if value}
