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

from server.timeutil import zone

OUTCOME_WORDS = {"agreed": "agreed", "not_agreed": "not agreed", "deferred": "deferred"}
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


Phrase = Callable[[Event, Names], str]

PHRASES: dict[str, Phrase] = {
    "case.view": lambda e, n: "Viewed the case" + VIA_WORDS.get(str(e.detail.get("via", "")), ""),
    "case.create": lambda e, n: f"Created the case {e.detail.get('reference', '')}".rstrip(),
    "case.member.add": lambda e, n: f"Added {n.person(e.object_id)} to the team as {e.detail.get('role', 'a member')}",
    "case.member.remove": lambda e, n: f"Took {n.person(e.object_id)} off the team",
    "case.member.role": lambda e, n: f"Made {n.person(e.object_id)} {e.detail.get('role', 'a member')} on the team",
    "case.rename": lambda e, n: "Changed the case's display name",
    "case.lead.change": lambda e, n: f"Named {n.person(e.object_id)} the lead professional",
    "report.write": lambda e, n: (
        f"Wrote a report for {n.meeting(e.meeting_id)}"
        + ("" if e.detail.get("share_with_family", True) else ", withheld from the family")
    ),
    "report.view": lambda e, n: (
        f"Read the reports for {n.meeting(e.meeting_id)}" + VIA_WORDS.get(str(e.detail.get("via", "")), "")
    ),
    "report.respond": lambda e, n: f"Answered a report for {n.meeting(e.meeting_id)}",
    "report.pdf.view": lambda e, n: f"Opened the PDF of a report for {n.meeting(e.meeting_id)}",
    "invitation.send": lambda e, n: (
        f"Invited {n.person(e.object_id)} by e-mail" + (", with a new account" if e.detail.get("new_account") else "")
    ),
    "invitation.accept": lambda e, n: "Accepted the invitation and chose a password",
    "meeting.schedule": lambda e, n: (
        f"Scheduled {n.meeting(e.object_id)} for {_when(e.detail.get('scheduled_at'))}"
        + (", recorded after it was held" if e.detail.get("already_held") else "")
    ),
    "meeting.reschedule": lambda e, n: (
        f"Moved {n.meeting(e.object_id)}: changed "
        + _listed([k for k in e.detail if k in ("scheduled_at", "duration_minutes", "location")])
    ),
    "meeting.cancel": lambda e, n: f"Cancelled {n.meeting(e.object_id)}",
    "meeting.start": lambda e, n: f"Started {n.meeting(e.object_id)}",
    "meeting.end": lambda e, n: f"Ended {n.meeting(e.object_id)}",
    "meeting.join": lambda e, n: f"Joined {n.meeting(e.object_id)}",
    "meeting.leave": lambda e, n: f"Left {n.meeting(e.object_id)}",
    "meeting.view": lambda e, n: f"Viewed {n.meeting(e.object_id)}" + VIA_WORDS.get(str(e.detail.get("via", "")), ""),
    "meeting.chair_voice": lambda e, n: (
        (
            "Counted the chair as a voice of their agency in "
            if e.detail.get("speaks_for_agency")
            else "Left the chair out of the voices counted in "
        )
        + n.meeting(e.object_id)
    ),
    "socket.connect": lambda e, n: f"Connected live to {n.meeting(e.meeting_id)}",
    "agenda.add": lambda e, n: (
        f"Added an agenda item to {n.meeting(e.meeting_id)}"
        + (", for professionals only" if e.detail.get("professionals_only") else "")
    ),
    "agenda.open": lambda e, n: f"Opened {n.thing(e.object_id, 'agenda item')} for discussion",
    "agenda.move": lambda e, n: f"Moved {n.thing(e.object_id, 'agenda item')} on the agenda",
    "agenda.visibility": lambda e, n: f"Changed who sees {n.thing(e.object_id, 'agenda item')}",
    "hand.raise": lambda e, n: f"Raised a hand in {n.meeting(e.meeting_id)}",
    "hand.lower": lambda e, n: f"Lowered a hand in {n.meeting(e.meeting_id)}",
    "hand.move": lambda e, n: f"Moved a hand in the queue of {n.meeting(e.meeting_id)}",
    "queue.round": lambda e, n: f"Started a round in {n.meeting(e.meeting_id)}",
    "floor.give": lambda e, n: f"Gave the floor in {n.meeting(e.meeting_id)}",
    "floor.end": lambda e, n: f"Ended a turn in {n.meeting(e.meeting_id)}",
    "decision.record": lambda e, n: (
        f"Recorded a decision ({OUTCOME_WORDS.get(str(e.detail.get('outcome')), 'recorded')})"
        f" in {n.meeting(e.meeting_id)}"
    ),
    "action.assign": lambda e, n: (
        f"Gave {n.thing(e.object_id, 'action')} to {n.person(e.detail.get('owner'))}"
        + (f", due {_when(e.detail['due_date'])}" if e.detail.get("due_date") else "")
    ),
    "action.change": lambda e, n: f"Changed {n.thing(e.object_id, 'action')}: {_listed(e.detail.get('changes'))}",
    "action.view": lambda e, n: f"Viewed {n.thing(e.object_id, 'action')}",
    "action_plan.view": lambda e, n: "Read the action plan" + VIA_WORDS.get(str(e.detail.get("via", "")), ""),
    "action_plan.export": lambda e, n: f"Downloaded the action plan ({e.detail.get('rows', 0)} actions)",
    "minutes.view": lambda e, n: f"Read the minutes of {n.meeting(e.meeting_id or e.object_id)}",
    "minutes.export": lambda e, n: f"Downloaded the minutes of {n.meeting(e.meeting_id or e.object_id)} as a PDF",
    "notes.write": lambda e, n: f"Wrote the notes of {n.thing(e.object_id, 'agenda item')}",
    "minute_taker.set": lambda e, n: (
        f"Named {n.person(e.detail.get('minute_taker'))} minute-taker of {n.meeting(e.meeting_id)}"
        if e.detail.get("minute_taker")
        else f"Took the notes of {n.meeting(e.meeting_id)} back to the chair"
    ),
    "child_voice.write": lambda e, n: f"Recorded the child's voice for {n.meeting(e.meeting_id)}",
    "mapping.add": lambda e, n: f"Added to the mapping board of {n.meeting(e.meeting_id)}",
    "mapping.edit": lambda e, n: f"Changed an entry on the mapping board of {n.meeting(e.meeting_id)}",
    "mapping.remove": lambda e, n: f"Removed an entry from the mapping board of {n.meeting(e.meeting_id)}",
    "scale.open": lambda e, n: f"Asked a scaling question in {n.meeting(e.meeting_id)}",
    "scale.score": lambda e, n: f"Gave a score in {n.meeting(e.meeting_id)}",
    "scale.reveal": lambda e, n: f"Revealed the scores in {n.meeting(e.meeting_id)}",
    "outcome.record": lambda e, n: (
        f"Recorded the outcome of {n.meeting(e.meeting_id)}: "
        + ("a child protection plan" if e.detail.get("plan") else "no plan")
    ),
    "scales.view": lambda e, n: "Read the case's scales",
    "minutes.correct": lambda e, n: f"Sent a correction to the draft minutes of {n.meeting(e.meeting_id)}",
    "minutes.edit": lambda e, n: f"Changed the draft minutes of {n.meeting(e.meeting_id)}",
    "minutes.resolve_correction": lambda e, n: (
        f"Marked a correction to the minutes of {n.meeting(e.meeting_id)}"
        f" {'applied' if e.detail.get('state') == 'applied' else 'not applied'}"
    ),
    "minutes.approve": lambda e, n: (
        f"Approved the minutes of {n.meeting(e.meeting_id)} and sent them to everyone invited"
    ),
    "letter.view": lambda e, n: f"Read the outcome letter of {n.meeting(e.meeting_id or e.object_id)}",
    "letter.export": lambda e, n: f"Downloaded the outcome letter of {n.meeting(e.meeting_id or e.object_id)} as a PDF",
    "audit.view": lambda e, n: "Read this audit trail",
    "audit.export": lambda e, n: "Downloaded this audit trail",
    "outbox.view": lambda e, n: "Read one of the case's e-mails in the outbox",
}


def describe(event: Event, names: Names) -> str:
    """The event as a sentence; an event this table does not know yet still reads as words."""
    phrase = PHRASES.get(event.verb)
    if phrase is not None:
        return phrase(event, names)
    return event.verb.replace(".", " ").replace("_", " ").capitalize()


def ids_to_name(event: Event) -> set[str]:
    """Every id an event's sentence may name."""
    found = {event.object_id, event.meeting_id, event.detail.get("owner")}
    return {str(value) for value in found if value}
