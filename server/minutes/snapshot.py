"""The minutes as a frozen record (:class:`MinutesRecord`) of one audience's view of an ended meeting.

Pure: built from a :class:`RoomView`, so the family's copy is exactly what the family's room
showed (professionals-only items and everything recorded under them are already absent) and no
second filter can drift from the first. The snapshot keeps times as ISO 8601 in UTC; the page,
the PDF and the e-mail format them for people with the helpers at the end of this module.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from server.actions.models import Action, OutcomeArea
from server.conference.shapes import conference_fields
from server.meetings.models import AgendaItem, Attendance, Decision, MeetingKind, Outcome, Position
from server.meetings.state import Audience, RoomView
from server.minutes.shapes import (
    ActionRecord,
    AgencyTime,
    AttendanceGroup,
    AttendeeRecord,
    CaseRecord,
    DecisionRecord,
    Dissent,
    ItemRecord,
    MeetingRecord,
    MinutesRecord,
    PersonRecord,
    PersonTime,
    PositionRecord,
    VoiceBalance,
)
from server.people.models import User
from server.people.shapes import agency_json
from server.shapes import from_attributes, iso, iso_or_none
from server.timeutil import zone

SNAPSHOT_VERSION = 1

STATUS_LABELS = {
    "open": "Open",
    "in_progress": "In progress",
    "done": "Done",
    "blocked": "Blocked",
    "cancelled": "Cancelled",
    "not_achieved": "Not achieved",
}
COPY_LABELS = {"professionals": "Professionals' copy", "family": "Family copy"}


def copy_audience(audience: Audience) -> str:
    """The two copies that are issued: the chair reads the professionals' copy."""
    return "family" if audience is Audience.FAMILY else "professionals"


def build_snapshot(view: RoomView) -> MinutesRecord:
    """The minutes for the audience of ``view``."""
    audience = copy_audience(view.audience)
    return MinutesRecord(
        version=SNAPSHOT_VERSION,
        audience=audience,
        copy_label=COPY_LABELS[audience],
        meeting=_meeting(view),
        attendance=_attendance(view),
        absent=_absent(view),
        items=[_item(view, item) for item in view.agenda],
        voice_balance=_voice_balance(view),
        actions=[_action(view, action) for action in view.actions],
        **_conference(view),
    )


def _conference(view: RoomView) -> dict[str, Any]:
    """The outcome, the child's voice, the board and the revealed scales, as this audience saw them."""
    fields = conference_fields(view.conference, view.meeting.kind == MeetingKind.REVIEW_CONFERENCE)
    fields["scales"] = [s for s in fields["scales"] if s.status == "revealed"]  # type: ignore[attr-defined]
    return fields


def _person(user: User) -> PersonRecord:
    return PersonRecord(id=user.id, name=user.name, agency=user.agency.name)


def _meeting(view: RoomView) -> MeetingRecord:
    meeting, case = view.meeting, view.room.case
    return MeetingRecord(
        id=meeting.id,
        title=meeting.title,
        kind=meeting.kind,
        kind_label=MeetingKind(meeting.kind).label,
        case=CaseRecord(id=case.id, reference=case.reference, display_name=case.display_name),
        chair=_person(meeting.chair),
        location=meeting.location,
        scheduled_at=iso(meeting.scheduled_at),
        started_at=iso_or_none(meeting.started_at),
        ended_at=iso_or_none(meeting.ended_at),
    )


def _attendance(view: RoomView) -> list[AttendanceGroup]:
    """Who was there, grouped by agency (the family counts as one), and who left early."""
    groups: dict[uuid.UUID, list[Attendance]] = defaultdict(list)
    for row in view.room.attendance:
        groups[row.agency_id].append(row)
    result = []
    for agency_id, rows in groups.items():
        agency = view.room.agencies.get(agency_id) or rows[0].user.agency
        people = [
            AttendeeRecord(
                id=row.user_id,
                name=row.user.name,
                is_chair=row.user_id == view.meeting.chair_id,
                joined_at=iso(row.joined_at),
                left_at=iso_or_none(row.left_at),
                stayed_to_end=row.left_at is None,
            )
            for row in sorted(rows, key=lambda r: r.user.name.casefold())
        ]
        result.append(AttendanceGroup(agency=agency_json(agency), people=people))
    return sorted(result, key=lambda g: g.agency.name.casefold())


def _absent(view: RoomView) -> list[PersonRecord]:
    """Team members who did not join: minutes conventionally record who was missing."""
    attended = {row.user_id for row in view.room.attendance}
    missing = [m.user for m in view.room.team if m.user_id not in attended]
    return [_person(user) for user in sorted(missing, key=lambda u: u.name.casefold())]


def _item(view: RoomView, item: AgendaItem) -> ItemRecord:
    decisions = [d for d in view.decisions if d.agenda_item_id == item.id]
    return from_attributes(
        ItemRecord,
        item,
        number=view.number_of(item),  # one numbering: the family's copy skips a number, never renumbers
        decisions=[_decision(d) for d in decisions],
        action_ids=[a.id for a in view.actions if a.agenda_item_id == item.id],
    )


def _decision(decision: Decision) -> DecisionRecord:
    positions = sorted(decision.positions, key=lambda p: p.agency.name.casefold())
    return DecisionRecord(
        id=decision.id,
        text=decision.text,
        outcome=decision.outcome,
        outcome_label=Outcome(decision.outcome).label,
        recorded_at=iso(decision.created_at),
        positions=[
            PositionRecord(
                agency=p.agency.name,
                agency_id=p.agency_id,
                position=p.position,
                position_label=Position(p.position).label,
                reason=p.reason or None,
            )
            for p in positions
        ],
        dissent=[Dissent(agency=p.agency.name, reason=p.reason) for p in positions if p.position == "disagree"],
    )


def _voice_balance(view: RoomView) -> VoiceBalance:
    """Speaking time per agency and per person, with each agency's share of the whole, and the
    agencies that were there but never took a turn: equal voice, on the record."""
    total = sum(seconds for _, seconds in view.time_by_agency)
    heard = {agency.id for agency, _ in view.time_by_agency}
    present = {row.agency_id for row in view.room.attendance}
    silent = [view.room.agencies[a] for a in present - heard if a in view.room.agencies]
    return VoiceBalance(
        total_seconds=round(total, 1),
        by_agency=[
            AgencyTime(agency=agency.name, seconds=round(seconds, 1), share=_share(seconds, total))
            for agency, seconds in view.time_by_agency
        ],
        by_person=[
            PersonTime(name=user.name, agency=user.agency.name, seconds=round(seconds, 1), share=_share(seconds, total))
            for user, seconds in view.time_by_user
        ],
        not_heard=sorted(agency.name for agency in silent),
    )


def _share(seconds: float, total: float) -> int:
    return round(100 * seconds / total) if total else 0


def _action(view: RoomView, action: Action) -> ActionRecord:
    item = next((i for i in view.agenda if i.id == action.agenda_item_id), None)
    return ActionRecord(
        id=action.id,
        title=action.title,
        owner=action.owner.name,
        owner_id=action.owner_id,
        agency=action.agency.name,
        outcome_area=action.outcome_area,
        outcome_area_label=OutcomeArea(action.outcome_area).label,
        due_date=action.due_date,
        status=action.status,
        status_label=STATUS_LABELS.get(action.status, action.status),
        agenda_item=None if item is None else item.title,
    )


# --- for people: the page, the PDF and the e-mail share these -----------------------------------


def local_datetime(iso: str | None) -> str:
    """'Tue 3 Mar 2026, 10:00' in the deployment's time zone; '' for no time."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(zone()).strftime("%a %-d %b %Y, %H:%M")


def local_time(iso: str | None) -> str:
    return "" if not iso else datetime.fromisoformat(iso).astimezone(zone()).strftime("%H:%M")


def long_date(iso: str | None) -> str:
    return "" if not iso else date.fromisoformat(iso).strftime("%a %-d %b %Y")


def owned_by(snapshot: dict[str, Any], user_id: uuid.UUID) -> Sequence[dict[str, Any]]:
    """The actions in these minutes that this person owns (for their own e-mail)."""
    return [a for a in snapshot["actions"] if a.get("owner_id") == str(user_id)]
