"""Calendar invitations (RFC 5545 with the iTIP methods of RFC 5546): a pure function.

A meeting keeps one UID for life; each change raises SEQUENCE, so calendar programs update the
entry in place, and a CANCEL with the same UID removes it. Calendars are shared with assistants
and colleagues and synced to phones, so callers keep the text minimal: the kind of meeting and
the case reference, and a link to Roundtable where the detail stays behind a sign-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Roundtable//Meetings//EN"
Method = Literal["REQUEST", "CANCEL"]


def meeting_ics(
    *,
    uid: str,
    sequence: int,
    method: Method,
    start: datetime,
    duration_minutes: int,
    summary: str,
    description: str,
    location: str | None,
    organizer_email: str,
    organizer_name: str,
    attendees: Sequence[tuple[str, str]],
    url: str,
    now: datetime | None = None,
) -> bytes:
    """One VEVENT in a VCALENDAR with METHOD ``method``; times in UTC."""
    if start.tzinfo is None:
        raise ValueError("start must carry its UTC offset")
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(
        _event(
            uid=uid,
            sequence=sequence,
            cancelled=method == "CANCEL",
            start=start.astimezone(UTC),
            end=(start + timedelta(minutes=duration_minutes)).astimezone(UTC),
            summary=summary,
            description=description,
            location=location,
            organizer=_address(organizer_email, organizer_name, organizer=True),
            attendees=[_address(email, name) for email, name in attendees],
            url=url,
            stamp=(now or datetime.now(UTC)).astimezone(UTC),
        )
    )
    return bytes(calendar.to_ical())


def _event(
    *,
    uid: str,
    sequence: int,
    cancelled: bool,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str | None,
    organizer: vCalAddress,
    attendees: Sequence[vCalAddress],
    url: str,
    stamp: datetime,
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("class", "CONFIDENTIAL")
    event["organizer"] = organizer
    for attendee in attendees:
        event.add("attendee", attendee, encode=False)
    return event


def _address(email: str, name: str, *, organizer: bool = False) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = vText(name)
    if not organizer:
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("TRUE")
    return address
