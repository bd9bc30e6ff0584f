"""The authorisation matrix, generated from the application's own route list.

Every (method, path) the app serves must have a row in EXPECTED, and every websocket path a row
in WS_EXPECTED: a new route without a rule fails `test_every_route_has_a_rule`, and a rule for a
route that no longer exists fails it too. Each row says what each role gets:

    OK        2xx, or a redirect that is not to the sign-in page (the call was carried out)
    ALLOWED   past the authorisation check (not 401/403/404, not sent to sign in, no 5xx):
              the call was let through but the state may not fit it (409, 422, ...)
    403       signed in, may see it, may not do it
    404       may not know it exists (exactly as for something that does not exist)
    SIGN_IN   401 for /api, a 303 to /sign-in?next=... for pages; a refused socket

The roles: an administrator (not on the case's team), the case's chair (who also chairs the
meetings), a professional member (who owns the action), the lead professional, a family member,
a professional outside the case, and someone not signed in. They are tried least-privileged
first and the chair last, so a call that succeeds changes nothing that an earlier role's
expectation depended on; calls that change something run in a fresh case ("world"), and calls
whose success for one role would change the answer for the next run in a world of their own
per role.
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.conference.mapping import NewEntry
from server.conference.scaling import MyScore, NewScale
from server.config import Settings
from server.live.events import NoPublisher
from server.meetings import room
from server.meetings import service as meetings
from server.meetings.commands import RoomCaller
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.meetings.room.record import NewAction, NewDecision
from server.minutes import lifecycle
from server.notify.models import OutboxMessage
from server.people import service as people
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.reports import service as reports
from server.timeutil import today_local
from server.web.render import FLASH_KEY
from server.webhooks import service as webhooks
from tests.live_support import Participant
from tests.support import PASSWORD, Team, csrf

# --- expectations ------------------------------------------------------------------------------

OK = "OK"
ALLOWED = "ALLOWED"
FORBIDDEN = "403"
HIDDEN = "404"
SIGN_IN = "SIGN_IN"

ROLES = ("anonymous", "outsider", "family", "member", "lead", "admin", "chair")


def rule_of(base: dict[str, str], **changes: str) -> dict[str, str]:
    merged = {**base, **changes}
    assert set(merged) == set(ROLES), merged
    return merged


PUBLIC = dict.fromkeys(ROLES, OK)
SIGNED_IN = rule_of(PUBLIC, anonymous=SIGN_IN)
ADMIN_ONLY = rule_of(dict.fromkeys(ROLES, FORBIDDEN), anonymous=SIGN_IN, admin=OK)
PROFESSIONALS = rule_of(SIGNED_IN, family=FORBIDDEN)  # and administrators
# The case's record (reference, team, meeting times): the team and administrators.
CASE_RECORD = rule_of(SIGNED_IN, outsider=HIDDEN)
# Changing the team and the schedule, reading the audit trail: the case's chair and administrators.
CASE_MANAGERS = rule_of(CASE_RECORD, family=FORBIDDEN, member=FORBIDDEN, lead=FORBIDDEN)
# What is discussed: the team only; an administrator off the team is told nothing.
TEAM = rule_of(CASE_RECORD, admin=HIDDEN)
# The meeting's chair runs the room; the rest of the team sees it but may not.
MEETING_CHAIR = rule_of(TEAM, family=FORBIDDEN, member=FORBIDDEN, lead=FORBIDDEN)
# An action changes by its owner (the member), the case's chair and the lead professional.
ACTION_CHANGERS = rule_of(TEAM, family=FORBIDDEN)


@dataclass(frozen=True)
class Rule:
    expect: dict[str, str]
    # which meeting of the world a {meeting_id} means: "live", "scheduled" or "ended"
    meeting: str = "live"
    # "shared": the one world of every read, and of writes that change nothing another rule
    # depends on; "fresh": a new case for this call, shared by the roles (the default for a
    # write); "per_role": a new case for each role that may do it (its success would change the
    # answer for the next role)
    world: str | None = None
    # a freshly signed-in browser for this call (it ends or replaces its session)
    own_session: bool = False
    # the body: (world, role) -> {"json": ...} or {"data": ...}
    body: Callable[[World, str], dict[str, Any]] | None = None
    params: dict[str, str] = field(default_factory=dict)
    why: str = ""


def js(fn: Callable[[World, str], Any]) -> Callable[[World, str], dict[str, Any]]:
    return lambda w, r: {"json": fn(w, r)}


def form(fn: Callable[[World, str], dict[str, str]]) -> Callable[[World, str], dict[str, Any]]:
    return lambda w, r: {"data": fn(w, r)}


def soon(days: int = 14) -> str:
    return (today_local() + timedelta(days=days)).isoformat()


def later() -> str:
    return (datetime.now(UTC) + timedelta(days=30)).isoformat()


def who(w: World, role: str) -> str:
    """The e-mail a role signs in with (someone not signed in uses the member's)."""
    return w.users["member" if role == "anonymous" else role].email


WRONG_PASSWORD_CHANGE = {
    "current_password": "not the current one at all",
    "new_password": "a brand new long passphrase",
}

M = "/api/meetings/{meeting_id:uuid}"
NOBODY = "00000000-0000-4000-8000-000000000000"
MATRIX_PDF = b"%PDF-1.4\ntrailer<<>>\n%%EOF\n"
R = "/meetings/{meeting_id:uuid}/room"

EXPECTED: dict[tuple[str, str], Rule] = {
    # --- signing in, the caller's own account ----------------------------------------------
    ("POST", "/api/session"): Rule(
        PUBLIC, own_session=True, body=js(lambda w, r: {"email": who(w, r), "password": PASSWORD}), world="shared"
    ),
    ("DELETE", "/api/session"): Rule(SIGNED_IN, own_session=True, world="shared"),
    ("GET", "/api/me"): Rule(SIGNED_IN),
    ("POST", "/api/me/password"): Rule(
        rule_of(SIGNED_IN, **dict.fromkeys(ROLES[1:], ALLOWED)),
        own_session=True,
        body=js(lambda w, r: WRONG_PASSWORD_CHANGE),
        why="a wrong current password: 422 once signed in, never a real change",
        world="shared",
    ),
    ("POST", "/api/tokens"): Rule(SIGNED_IN, body=js(lambda w, r: {"name": f"matrix {r}"}), world="shared"),
    ("GET", "/sign-in"): Rule(PUBLIC),
    ("POST", "/sign-in"): Rule(
        PUBLIC, own_session=True, body=form(lambda w, r: {"email": who(w, r), "password": PASSWORD}), world="shared"
    ),
    ("POST", "/sign-out"): Rule(
        PUBLIC, own_session=True, why="signing out without a session just goes to sign-in", world="shared"
    ),
    ("GET", "/account"): Rule(SIGNED_IN),
    ("POST", "/account/password"): Rule(
        rule_of(SIGNED_IN, **dict.fromkeys(ROLES[1:], ALLOWED)),
        own_session=True,
        body=form(lambda w, r: {**WRONG_PASSWORD_CHANGE, "confirm": WRONG_PASSWORD_CHANGE["new_password"]}),
        world="shared",
    ),
    ("GET", "/invitations/{token:str}"): Rule(PUBLIC, why="the single-use link is the proof"),
    ("POST", "/invitations/{token:str}"): Rule(
        dict.fromkeys(ROLES, ALLOWED),
        body=form(lambda w, r: {"password": "one long passphrase", "confirm": "another long passphrase"}),
        why="passwords that differ: 422, the link stays unused",
        world="shared",
    ),
    # --- people and agencies -------------------------------------------------------------------
    ("GET", "/api/agencies"): Rule(SIGNED_IN),
    ("POST", "/api/agencies"): Rule(
        ADMIN_ONLY, body=js(lambda w, r: {"name": f"API agency {w.tag} {r}", "sector": "health"}), world="shared"
    ),
    ("GET", "/api/users"): Rule(PROFESSIONALS),
    ("POST", "/api/users"): Rule(
        ADMIN_ONLY,
        body=js(
            lambda w, r: {
                "email": f"new-{w.tag}-{r}@test.example",
                "name": "Nia New",
                "agency_id": str(w.users["member"].agency_id),
                "password": "a long enough passphrase",
            }
        ),
        world="shared",
    ),
    ("GET", "/admin"): Rule(ADMIN_ONLY),
    # --- an administrator managing one person (the member; an unknown person where a call would
    # sign someone out, so the other rules keep their browsers) ---------------------------------
    ("GET", "/admin/people/{user_id:uuid}"): Rule(ADMIN_ONLY),
    ("POST", "/admin/people/{user_id:uuid}"): Rule(
        ADMIN_ONLY,
        body=form(
            lambda w, r: {
                "name": w.users["member"].name,
                "email": w.users["member"].email,
                "agency_id": str(w.users["member"].agency_id),
            }
        ),
        why="the member's own details again: nothing changes",
        world="shared",
    ),
    ("POST", "/admin/people/{user_id:uuid}/reactivate"): Rule(ADMIN_ONLY, why="already active", world="shared"),
    ("POST", "/admin/people/{user_id:uuid}/deactivate"): Rule(
        rule_of(ADMIN_ONLY, admin=HIDDEN), params={"user_id": NOBODY}, why="nobody: refused before any look-up"
    ),
    ("POST", "/admin/people/{user_id:uuid}/reset"): Rule(
        rule_of(ADMIN_ONLY, admin=HIDDEN), params={"user_id": NOBODY}, why="nobody: refused before any look-up"
    ),
    ("PATCH", "/api/users/{user_id:uuid}"): Rule(ADMIN_ONLY, body=js(lambda w, r: {}), world="shared"),
    ("POST", "/api/users/{user_id:uuid}/reset"): Rule(
        rule_of(ADMIN_ONLY, admin=HIDDEN), params={"user_id": NOBODY}, why="nobody: refused before any look-up"
    ),
    ("GET", "/admin/outbox"): Rule(ADMIN_ONLY),
    ("GET", "/admin/outbox/{message_id:uuid}"): Rule(ADMIN_ONLY),
    ("POST", "/admin/agencies"): Rule(
        ADMIN_ONLY,
        body=form(lambda w, r: {"agency_name": f"Agency {w.tag} {r}", "agency_sector": "education"}),
        world="shared",
    ),
    ("POST", "/admin/users"): Rule(
        ADMIN_ONLY,
        body=form(
            lambda w, r: {
                "email": f"form-{w.tag}-{r}@test.example",
                "name": "Fay Form",
                "agency_id": str(w.users["member"].agency_id),
                "password": "a long enough passphrase",
            }
        ),
        world="shared",
    ),
    # --- partnership insights: administrators (and the insights permission, which no role here
    # has); one case's figures for its team ----------------------------------------------------
    ("GET", "/api/insights"): Rule(ADMIN_ONLY),
    ("GET", "/insights"): Rule(ADMIN_ONLY),
    ("GET", "/insights/export.csv"): Rule(ADMIN_ONLY),
    ("GET", "/api/cases/{case_id:uuid}/insights"): Rule(TEAM),
    # --- webhooks: administrators only --------------------------------------------------------
    ("GET", "/api/webhooks"): Rule(ADMIN_ONLY),
    ("POST", "/api/webhooks"): Rule(
        ADMIN_ONLY,
        body=js(lambda w, r: {"url": f"https://records.example/{w.tag}/{r}", "events": ["action.updated"]}),
        world="shared",
    ),
    ("DELETE", "/api/webhooks/{webhook_id:uuid}"): Rule(ADMIN_ONLY),
    ("GET", "/api/webhooks/{webhook_id:uuid}/deliveries"): Rule(ADMIN_ONLY),
    ("GET", "/admin/webhooks"): Rule(ADMIN_ONLY),
    ("POST", "/admin/webhooks"): Rule(
        ADMIN_ONLY,
        body=form(lambda w, r: {"url": f"https://records.example/form/{w.tag}/{r}", "events": "meeting.ended"}),
        world="shared",
    ),
    ("GET", "/admin/webhooks/{webhook_id:uuid}"): Rule(ADMIN_ONLY),
    ("POST", "/admin/webhooks/{webhook_id:uuid}/delete"): Rule(ADMIN_ONLY),
    # --- cases ---------------------------------------------------------------------------------
    ("GET", "/api/cases"): Rule(SIGNED_IN, why="each sees the list of their own cases"),
    ("POST", "/api/cases"): Rule(
        PROFESSIONALS,
        body=js(
            lambda w, r: {
                "reference": f"N-{w.tag}-{r}",
                "display_name": "New child",
                "lead_professional_id": str(w.users["lead"].id),
            }
        ),
        world="shared",
    ),
    ("GET", "/api/cases/{case_id:uuid}"): Rule(CASE_RECORD),
    ("POST", "/api/cases/{case_id:uuid}/members"): Rule(
        CASE_MANAGERS,
        world="per_role",
        body=js(lambda w, r: {"user_id": str(w.users["outsider"].id), "role": "professional"}),
    ),
    ("DELETE", "/api/cases/{case_id:uuid}/members/{user_id:uuid}"): Rule(CASE_MANAGERS, world="per_role"),
    ("POST", "/api/cases/{case_id:uuid}/invitations"): Rule(
        CASE_MANAGERS,
        body=js(lambda w, r: {"email": f"parent-{w.tag}-{r}@test.example", "name": "Pat Parent"}),
        world="shared",
    ),
    ("GET", "/api/cases/{case_id:uuid}/actions"): Rule(TEAM),
    ("GET", "/api/cases/{case_id:uuid}/scales"): Rule(TEAM),
    ("GET", "/api/cases/{case_id:uuid}/meetings"): Rule(CASE_RECORD, why="meeting times are part of the record"),
    ("POST", "/api/cases/{case_id:uuid}/meetings"): Rule(
        CASE_MANAGERS,
        body=js(
            lambda w, r: {"title": f"Review {r}", "kind": "tac", "scheduled_at": later(), "chair_id": str(w.chair_id)}
        ),
        world="shared",
    ),
    ("GET", "/api/cases/{case_id:uuid}/audit"): Rule(CASE_MANAGERS),
    ("GET", "/api/cases/{case_id:uuid}/timescales"): Rule(TEAM),
    ("PATCH", "/api/cases/{case_id:uuid}"): Rule(
        CASE_MANAGERS, body=js(lambda w, r: {"display_name": f"Child {w.tag}"}), world="shared", why="the same name"
    ),
    ("PATCH", "/api/cases/{case_id:uuid}/members/{user_id:uuid}"): Rule(
        CASE_MANAGERS, body=js(lambda w, r: {"role": "professional"}), world="shared", why="the member's own role"
    ),
    ("POST", "/cases/{case_id:uuid}/details"): Rule(
        CASE_MANAGERS,
        body=form(lambda w, r: {"display_name": f"Child {w.tag}", "lead_professional_id": str(w.users["lead"].id)}),
        world="shared",
    ),
    ("POST", "/cases/{case_id:uuid}/members/{user_id:uuid}/role"): Rule(
        CASE_MANAGERS, body=form(lambda w, r: {"role": "professional"}), world="shared"
    ),
    # --- reports before a meeting (the member's, with a PDF, in the scheduled meeting) ---------
    ("GET", M + "/reports"): Rule(TEAM, meeting="scheduled"),
    ("PUT", M + "/reports/mine"): Rule(
        TEAM, meeting="scheduled", body=js(lambda w, r: {"text": f"Report by {r}"}), world="shared"
    ),
    ("PUT", M + "/reports/mine/pdf"): Rule(
        rule_of(TEAM, family=ALLOWED, member=ALLOWED, lead=ALLOWED, chair=ALLOWED),
        meeting="scheduled",
        body=lambda w, r: {"content": MATRIX_PDF},
        world="shared",
        why="a role without a report yet gets 422",
    ),
    ("POST", M + "/reports/{report_id:uuid}/responses"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN, chair=FORBIDDEN),
        meeting="scheduled",
        body=js(lambda w, r: {"agrees": True}),
        world="shared",
        why="the family answers the reports shared with them",
    ),
    ("POST", "/meetings/{meeting_id:uuid}/reports/mine"): Rule(
        TEAM, meeting="scheduled", body=form(lambda w, r: {"text": f"Form report by {r}"}), world="shared"
    ),
    ("POST", "/meetings/{meeting_id:uuid}/reports/{report_id:uuid}/responses"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN, chair=FORBIDDEN),
        meeting="scheduled",
        body=form(lambda w, r: {"agrees": "yes"}),
        world="shared",
    ),
    ("GET", "/meetings/{meeting_id:uuid}/reports/{report_id:uuid}/pdf"): Rule(TEAM, meeting="scheduled"),
    ("GET", "/"): Rule(SIGNED_IN),
    ("GET", "/cases/new"): Rule(PROFESSIONALS),
    ("POST", "/cases"): Rule(
        PROFESSIONALS,
        body=form(
            lambda w, r: {
                "reference": f"F-{w.tag}-{r}",
                "display_name": "Form child",
                "lead_professional_id": str(w.users["lead"].id),
            }
        ),
        world="shared",
    ),
    ("GET", "/cases/{case_id:uuid}"): Rule(CASE_RECORD),
    ("POST", "/cases/{case_id:uuid}/members"): Rule(
        CASE_MANAGERS,
        world="per_role",
        body=form(lambda w, r: {"user_id": str(w.users["outsider"].id), "role": "professional"}),
    ),
    ("POST", "/cases/{case_id:uuid}/members/{user_id:uuid}/remove"): Rule(CASE_MANAGERS, world="per_role"),
    ("POST", "/cases/{case_id:uuid}/invitations"): Rule(
        CASE_MANAGERS,
        body=form(lambda w, r: {"invite_email": f"carer-{w.tag}-{r}@test.example", "invite_name": "Cary Carer"}),
        world="shared",
    ),
    ("GET", "/cases/{case_id:uuid}/audit"): Rule(CASE_MANAGERS),
    ("GET", "/cases/{case_id:uuid}/audit.csv"): Rule(CASE_MANAGERS),
    ("GET", "/cases/{case_id:uuid}/actions"): Rule(TEAM),
    ("GET", "/cases/{case_id:uuid}/actions.csv"): Rule(TEAM),
    ("GET", "/cases/{case_id:uuid}/meetings/new"): Rule(CASE_MANAGERS),
    ("POST", "/cases/{case_id:uuid}/meetings"): Rule(
        CASE_MANAGERS,
        body=form(
            lambda w, r: {
                "title": f"Core group {r}",
                "kind": "core_group",
                "scheduled_at": (date.today() + timedelta(days=20)).isoformat() + "T10:00",
                "chair_id": str(w.chair_id),
            }
        ),
        world="shared",
    ),
    # --- meetings: schedule ------------------------------------------------------------------------
    ("GET", M): Rule(TEAM),
    ("PATCH", M): Rule(
        CASE_MANAGERS, meeting="scheduled", body=js(lambda w, r: {"location": f"Room of {r}"}), world="shared"
    ),
    ("POST", M + "/cancel"): Rule(CASE_MANAGERS, meeting="scheduled", world="per_role"),
    ("GET", "/meetings/{meeting_id:uuid}"): Rule(TEAM),
    ("POST", "/meetings/{meeting_id:uuid}/agenda"): Rule(
        MEETING_CHAIR, meeting="scheduled", body=form(lambda w, r: {"title": f"Item by {r}"}), world="shared"
    ),
    ("POST", "/meetings/{meeting_id:uuid}/reschedule"): Rule(
        CASE_MANAGERS, meeting="scheduled", body=form(lambda w, r: {"location": f"Hall of {r}"}), world="shared"
    ),
    ("POST", "/meetings/{meeting_id:uuid}/cancel"): Rule(CASE_MANAGERS, meeting="scheduled", world="per_role"),
    # --- meetings: the live room (JSON) ------------------------------------------------------------
    ("POST", M + "/start"): Rule(MEETING_CHAIR, meeting="scheduled"),
    ("POST", M + "/end"): Rule(MEETING_CHAIR),
    ("POST", M + "/join"): Rule(TEAM),
    ("POST", M + "/leave"): Rule(TEAM, why="everyone on the team is in the room"),
    ("POST", M + "/agenda"): Rule(MEETING_CHAIR, body=js(lambda w, r: {"title": f"Item by {r}"})),
    ("POST", M + "/agenda/{item_id:uuid}/open"): Rule(MEETING_CHAIR),
    ("POST", M + "/agenda/{item_id:uuid}/visibility"): Rule(
        MEETING_CHAIR, body=js(lambda w, r: {"professionals_only": True})
    ),
    ("POST", M + "/agenda/{item_id:uuid}/move"): Rule(MEETING_CHAIR, body=js(lambda w, r: {"position": 1})),
    ("POST", M + "/hands"): Rule(TEAM, body=js(lambda w, r: {"kind": "contribution"})),
    ("DELETE", M + "/hands/mine"): Rule(
        rule_of(TEAM, family=ALLOWED, lead=ALLOWED, chair=ALLOWED),
        why="only the member has a hand up; the others get 409",
    ),
    ("POST", M + "/hands/{hand_id:uuid}/move"): Rule(MEETING_CHAIR, body=js(lambda w, r: {"position": 0})),
    ("POST", M + "/round"): Rule(MEETING_CHAIR),
    ("PUT", M + "/chair-voice"): Rule(MEETING_CHAIR, body=js(lambda w, r: {"speaks_for_agency": True})),
    ("POST", M + "/floor/next"): Rule(MEETING_CHAIR),
    ("POST", M + "/floor/end"): Rule(
        rule_of(MEETING_CHAIR, lead=OK), world="per_role", why="the chair or the speaker (the lead)"
    ),
    ("POST", M + "/decisions"): Rule(
        MEETING_CHAIR,
        body=js(lambda w, r: {"agenda_item_id": str(w.item_id), "text": f"Agreed by {r}", "outcome": "agreed"}),
    ),
    ("POST", M + "/actions"): Rule(
        MEETING_CHAIR,
        body=js(
            lambda w, r: {
                "title": f"Visit ({r})",
                "owner_id": str(w.users["member"].id),
                "due_date": soon(),
                "outcome_area": "staying_safe",
            }
        ),
    ),
    # --- the conference in the room (JSON) --------------------------------------------------------
    ("PUT", M + "/minute-taker"): Rule(MEETING_CHAIR, body=js(lambda w, r: {"user_id": str(w.users["member"].id)})),
    ("PUT", M + "/agenda/{item_id:uuid}/notes"): Rule(
        MEETING_CHAIR, body=js(lambda w, r: {"text": f"Notes by {r}"}), why="or the minute-taker (none named)"
    ),
    ("PUT", M + "/child-voice"): Rule(
        rule_of(TEAM, family=FORBIDDEN), body=js(lambda w, r: {"how_gathered": "At school", "words": f"Said to {r}"})
    ),
    ("POST", M + "/mapping"): Rule(TEAM, body=js(lambda w, r: {"column": "worry", "text": f"Worry of {r}"})),
    ("PATCH", M + "/mapping/{entry_id:uuid}"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN),
        body=js(lambda w, r: {"text": f"Changed by {r}"}),
        why="its author (the family) or the chair",
    ),
    ("DELETE", M + "/mapping/{entry_id:uuid}"): Rule(rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN), world="per_role"),
    ("POST", M + "/scales"): Rule(
        rule_of(MEETING_CHAIR, chair=ALLOWED), body=js(lambda w, r: {"question": "Safe?"}), why="one is open already"
    ),
    ("PUT", M + "/scales/{scale_id:uuid}/mine"): Rule(TEAM, body=js(lambda w, r: {"score": 5})),
    ("POST", M + "/scales/{scale_id:uuid}/reveal"): Rule(MEETING_CHAIR),
    ("POST", M + "/outcome"): Rule(
        rule_of(MEETING_CHAIR, chair=ALLOWED),
        body=js(lambda w, r: {"plan": False, "reasons": "Safe"}),
        why="a TAC meeting has no outcome: 409",
    ),
    ("GET", M + "/minutes"): Rule(TEAM, meeting="ended"),
    ("GET", "/meetings/{meeting_id:uuid}/minutes"): Rule(TEAM, meeting="ended"),
    ("GET", "/meetings/{meeting_id:uuid}/minutes.pdf"): Rule(TEAM, meeting="ended"),
    # --- after the meeting: the outcome letter, corrections and approval of the minutes ------------
    ("GET", M + "/letter"): Rule(TEAM, meeting="ended"),
    ("GET", "/meetings/{meeting_id:uuid}/letter"): Rule(TEAM, meeting="ended"),
    ("GET", "/meetings/{meeting_id:uuid}/letter.pdf"): Rule(TEAM, meeting="ended"),
    ("POST", M + "/minutes/corrections"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN),
        meeting="ended",
        body=js(lambda w, r: {"text": f"Correction by {r}"}),
        why="those who attended: the chair and the family",
    ),
    ("POST", "/meetings/{meeting_id:uuid}/minutes/corrections"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN),
        meeting="ended",
        body=form(lambda w, r: {"text": f"Correction by {r}"}),
        why="those who attended: the chair and the family",
    ),
    ("POST", M + "/minutes/corrections/{correction_id:uuid}/resolve"): Rule(
        MEETING_CHAIR, meeting="ended", body=js(lambda w, r: {"state": "applied", "reply": f"Thanks, {r}"})
    ),
    ("POST", "/meetings/{meeting_id:uuid}/minutes/corrections/{correction_id:uuid}"): Rule(
        MEETING_CHAIR, meeting="ended", body=form(lambda w, r: {"state": "not_applied"})
    ),
    ("PUT", M + "/minutes/items/{item_id:uuid}"): Rule(
        MEETING_CHAIR, meeting="ended", body=js(lambda w, r: {"text": f"Minutes by {r}"})
    ),
    ("POST", "/meetings/{meeting_id:uuid}/minutes/items/{item_id:uuid}"): Rule(
        MEETING_CHAIR, meeting="ended", body=form(lambda w, r: {"text": f"Minutes by {r}"})
    ),
    ("GET", "/meetings/{meeting_id:uuid}/minutes/review"): Rule(MEETING_CHAIR, meeting="ended"),
    ("POST", M + "/minutes/approve"): Rule(MEETING_CHAIR, meeting="ended"),
    ("POST", "/meetings/{meeting_id:uuid}/minutes/approve"): Rule(MEETING_CHAIR, meeting="ended"),
    # --- meetings: the live room (pages and form posts) --------------------------------------------
    ("GET", R): Rule(TEAM),
    ("GET", R + "/present"): Rule(TEAM, why="any member may put the room on a shared screen"),
    ("POST", R + "/chair-voice"): Rule(MEETING_CHAIR, body=form(lambda w, r: {"speaks_for_agency": "true"})),
    ("POST", R + "/start"): Rule(MEETING_CHAIR, meeting="scheduled"),
    ("POST", R + "/end"): Rule(MEETING_CHAIR),
    ("POST", R + "/join"): Rule(TEAM),
    ("POST", R + "/leave"): Rule(TEAM),
    ("POST", R + "/agenda"): Rule(MEETING_CHAIR, body=form(lambda w, r: {"title": f"Item by {r}"})),
    ("POST", R + "/agenda/{item_id:uuid}/open"): Rule(MEETING_CHAIR),
    ("POST", R + "/agenda/{item_id:uuid}/move"): Rule(MEETING_CHAIR, body=form(lambda w, r: {"position": "1"})),
    ("POST", R + "/agenda/{item_id:uuid}/visibility"): Rule(
        MEETING_CHAIR, body=form(lambda w, r: {"professionals_only": "on"})
    ),
    ("POST", R + "/hands"): Rule(TEAM, body=form(lambda w, r: {"kind": "contribution"})),
    ("POST", R + "/hands/lower"): Rule(
        rule_of(TEAM, family=ALLOWED, lead=ALLOWED, chair=ALLOWED),
        why="only the member has a hand up; the others are sent back to the room with a message",
    ),
    ("POST", R + "/hands/{hand_id:uuid}/move"): Rule(MEETING_CHAIR, body=form(lambda w, r: {"position": "0"})),
    ("POST", R + "/round"): Rule(MEETING_CHAIR),
    ("POST", R + "/floor/next"): Rule(MEETING_CHAIR),
    ("POST", R + "/floor/end"): Rule(rule_of(MEETING_CHAIR, lead=OK), world="per_role"),
    ("POST", R + "/decisions"): Rule(
        MEETING_CHAIR,
        body=form(lambda w, r: {"agenda_item_id": str(w.item_id), "text": f"Agreed by {r}", "outcome": "agreed"}),
    ),
    ("POST", R + "/actions"): Rule(
        MEETING_CHAIR,
        body=form(
            lambda w, r: {
                "title": f"Call ({r})",
                "owner_id": str(w.users["member"].id),
                "due_date": soon(),
                "outcome_area": "being_healthy",
            }
        ),
    ),
    # --- the conference in the room (form posts) --------------------------------------------------
    ("POST", R + "/minute-taker"): Rule(MEETING_CHAIR, body=form(lambda w, r: {"user_id": str(w.users["member"].id)})),
    ("POST", R + "/agenda/{item_id:uuid}/notes"): Rule(MEETING_CHAIR, body=form(lambda w, r: {"text": f"By {r}"})),
    ("POST", R + "/child-voice"): Rule(
        rule_of(TEAM, family=FORBIDDEN), body=form(lambda w, r: {"how_gathered": "At home", "words": f"To {r}"})
    ),
    ("POST", R + "/mapping"): Rule(TEAM, body=form(lambda w, r: {"column": "next_steps", "text": f"Step of {r}"})),
    ("POST", R + "/mapping/{entry_id:uuid}/edit"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN), body=form(lambda w, r: {"text": f"Edited by {r}"})
    ),
    ("POST", R + "/mapping/{entry_id:uuid}/remove"): Rule(
        rule_of(TEAM, member=FORBIDDEN, lead=FORBIDDEN), world="per_role"
    ),
    ("POST", R + "/scales"): Rule(
        rule_of(MEETING_CHAIR, chair=ALLOWED), body=form(lambda w, r: {"question": "Safe?"}), why="one is open"
    ),
    ("POST", R + "/scales/{scale_id:uuid}/mine"): Rule(TEAM, body=form(lambda w, r: {"score": "6"})),
    ("POST", R + "/scales/{scale_id:uuid}/reveal"): Rule(MEETING_CHAIR),
    ("POST", R + "/outcome"): Rule(
        rule_of(MEETING_CHAIR, chair=ALLOWED), body=form(lambda w, r: {"plan": "no", "reasons": "Safe"})
    ),
    # --- actions and notifications -----------------------------------------------------------------
    ("GET", "/api/actions/{action_id:uuid}"): Rule(TEAM),
    ("PATCH", "/api/actions/{action_id:uuid}"): Rule(
        ACTION_CHANGERS, body=js(lambda w, r: {"progress_note": f"Progress from {r}"})
    ),
    ("GET", "/actions/{action_id:uuid}"): Rule(TEAM),
    ("POST", "/actions/{action_id:uuid}"): Rule(
        ACTION_CHANGERS, body=form(lambda w, r: {"change": "note", "progress_note": f"Note from {r}"})
    ),
    ("GET", "/actions"): Rule(SIGNED_IN, why="one's own actions"),
    ("GET", "/api/notifications"): Rule(SIGNED_IN),
    ("POST", "/api/notifications/read"): Rule(SIGNED_IN, world="shared"),
    ("GET", "/notifications"): Rule(SIGNED_IN),
    ("POST", "/notifications/read"): Rule(SIGNED_IN, world="shared"),
    # --- static files and the published OpenAPI document ------------------------------------------
    ("GET", "/static/{file_path:path}"): Rule(PUBLIC),
    ("HEAD", "/static/{file_path:path}"): Rule(PUBLIC),
    ("GET", "/schema"): Rule(PUBLIC, why="the OpenAPI document is public"),
    ("GET", "/schema/openapi.json"): Rule(PUBLIC),
    ("GET", "/schema/{path:str}"): Rule(dict.fromkeys(ROLES, HIDDEN), why="no other render plugin is configured"),
}

# Every websocket path: "open" when the first message arrives, SIGN_IN / HIDDEN when refused.
WS_EXPECTED: dict[str, dict[str, str]] = {
    "/ws/meetings/{meeting_id:uuid}": rule_of(TEAM),
    "/ws/me": SIGNED_IN,
}

# OPTIONS is answered for every path by Litestar itself, with nothing about any case in it.
OPTIONS_RULE = PUBLIC


# --- the app's own route list ------------------------------------------------------------------


def http_routes(app: Litestar) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found |= {(method, route.path) for method in route.methods if method != "OPTIONS"}
    return found


def websocket_routes(app: Litestar) -> set[str]:
    return {route.path for route in app.routes if isinstance(route, WebSocketRoute)}


def test_every_route_has_a_rule(app: Litestar) -> None:
    kinds = {type(route) for route in app.routes}
    assert kinds <= {HTTPRoute, WebSocketRoute}, f"a kind of route the matrix does not know: {kinds}"
    served = http_routes(app)
    missing = sorted(served - set(EXPECTED))
    stale = sorted(set(EXPECTED) - served)
    assert not missing, f"routes without a rule in EXPECTED (add one for every role): {missing}"
    assert not stale, f"rules for routes the app no longer serves: {stale}"
    sockets = websocket_routes(app)
    assert sockets == set(WS_EXPECTED), (
        f"websocket routes without a rule: {sorted(sockets - set(WS_EXPECTED))}; "
        f"rules without a route: {sorted(set(WS_EXPECTED) - sockets)}"
    )
    for key, rule in EXPECTED.items():
        assert set(rule.expect) == set(ROLES), key


# --- worlds: a case with meetings in every state -------------------------------------------------


@dataclass
class World:
    tag: str
    users: dict[str, Any]
    case_id: uuid.UUID
    chair_id: uuid.UUID
    meetings: dict[str, uuid.UUID]
    item_id: uuid.UUID | None = None
    hand_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    token: str = "no-such-invitation"
    message_id: uuid.UUID | None = None
    webhook_id: uuid.UUID | None = None
    correction_id: uuid.UUID | None = None
    entry_id: uuid.UUID | None = None
    scale_id: uuid.UUID | None = None
    report_id: uuid.UUID | None = None


class Worlds:
    """Builds cases for the same people through the services (the HTTP calls are what is tested).

    A whole world has a scheduled meeting; a live one where everyone has joined, an item is open,
    the lead has the floor, the member's reply hand waits, a decision and the member's action are
    recorded; an ended one with its minutes issued; and an open invitation link."""

    def __init__(self, runtime: Runtime, settings: Settings, team: Team) -> None:
        self.runtime = runtime
        self.settings = settings
        self.team = team
        self.count = 0

    async def build(self, meeting: str = "live", *, whole: bool = False) -> World:
        self.count += 1
        tag = f"w{self.count}"
        t = self.team
        pub = NoPublisher()
        as_chair = Actor(t.chair.id)
        async with self.runtime.sessionmaker() as s:
            case = await cases.create_case(
                s, as_chair, t.chair, reference=f"M-{tag}", display_name=f"Child {tag}", lead_professional_id=t.lead.id
            )
            await cases.add_member(
                Caller(s, t.chair, as_chair, self.settings, pub), case.id, t.member.id, "professional"
            )
            await cases.add_member(Caller(s, t.chair, as_chair, self.settings, pub), case.id, t.family.id, "family")

            async def schedule(title: str) -> uuid.UUID:
                request = meetings.MeetingRequest(
                    title=title, kind="tac", scheduled_at=datetime.now(UTC) + timedelta(days=2), chair_id=t.chair.id
                )
                return (await meetings.schedule_meeting(s, as_chair, t.chair, case.id, request)).id

            world = World(tag, t.roles, case.id, t.chair.id, {"scheduled": await schedule("Scheduled meeting")})
            endpoint, _ = await webhooks.create_endpoint(
                s, Actor(t.admin.id), url=f"https://records.example/{tag}", events=["action.updated"]
            )
            world.webhook_id = endpoint.id
            report = await reports.write_mine(
                s,
                self.settings,
                Actor(t.member.id),
                t.member,
                world.meetings["scheduled"],
                reports.ReportInput("School report", pdf=MATRIX_PDF, pdf_name="school.pdf"),
            )
            world.report_id = report.id
            if meeting == "live" or whole:
                live = world.meetings["live"] = await schedule("Live meeting")
                chair = RoomCaller(s, pub, as_chair, t.chair, self.settings)
                await chair.run(room.start, live)
                for person in (t.member, t.lead, t.family):
                    await RoomCaller(s, pub, Actor(person.id), person, self.settings).run(room.join, live)
                item = await chair.run(room.add_item, live, NewItem("Schooling"))
                await chair.run(room.add_item, live, NewItem("Police information", professionals_only=True))
                await chair.run(room.open_item, live, target=item.id)
                lead = RoomCaller(s, pub, Actor(t.lead.id), t.lead, self.settings)
                await lead.run(room.raise_hand, live, NewHand("contribution"))
                await chair.run(room.floor_next, live)  # the lead has the floor
                member = RoomCaller(s, pub, Actor(t.member.id), t.member, self.settings)
                hand = await member.run(room.raise_hand, live, NewHand("reply"))
                await chair.run(room.record_decision, live, NewDecision(item.id, "Support at school", "agreed"))
                due = today_local() + timedelta(days=10)
                action = await chair.run(
                    room.assign_action, live, NewAction("Meet the school", t.member.id, due, "being_healthy")
                )
                world.item_id, world.hand_id, world.action_id = item.id, hand.id, action.id
                family = RoomCaller(s, pub, Actor(t.family.id), t.family, self.settings)
                world.entry_id = (await family.run(room.add_entry, live, NewEntry("worry", "Late for school"))).id
                scale = await chair.run(room.open_scale, live, NewScale("How safe is the child?"))
                await member.run(room.score_scale, live, MyScore(4), scale.id)
                world.scale_id = scale.id
            if meeting == "ended" or whole:
                done = world.meetings["ended"] = await schedule("Ended meeting")
                chair_of_done = RoomCaller(s, pub, as_chair, t.chair, self.settings)
                await chair_of_done.run(room.start, done)
                await RoomCaller(s, pub, Actor(t.family.id), t.family, self.settings).run(room.join, done)
                minuted = await chair_of_done.run(room.add_item, done, NewItem("Minuted item"))
                await chair_of_done.run(room.end, done)
                as_family = Caller(s, t.family, Actor(t.family.id), self.settings, pub)
                correction = await lifecycle.correct(as_family, done, text="We said mornings")
                world.correction_id = correction.id
                if world.item_id is None:  # the ended meeting's item, for the chair's edits of its minutes
                    world.item_id = minuted.id
                async with transaction(s):
                    world.token = people.new_invitation(s, self.settings, t.family.id, case.id, t.chair.id)
                world.message_id = await s.scalar(select(OutboxMessage.id).limit(1))  # the minutes e-mail
                assert world.message_id is not None, "ending the meeting should have e-mailed the minutes"
        return world


def url_for(template: str, rule: Rule, world: World) -> str:
    values = {
        "case_id": world.case_id,
        "meeting_id": world.meetings[rule.meeting],
        "item_id": world.item_id,
        "hand_id": world.hand_id,
        "entry_id": world.entry_id,
        "scale_id": world.scale_id,
        "action_id": world.action_id,
        "user_id": world.users["member"].id,
        "token": world.token,
        "message_id": world.message_id,
        "webhook_id": world.webhook_id,
        "correction_id": world.correction_id,
        "report_id": world.report_id,
        "file_path": "css/app.css",
        "path": "nothing-here",
        **rule.params,
    }

    def fill(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, template)


# --- callers -------------------------------------------------------------------------------------


class Callers:
    """One browser per role, signed in once; a fresh one for calls that end their session."""

    def __init__(self, app: Litestar, team: Team) -> None:
        self.app = app
        self.team = team
        self.browsers: dict[str, httpx.AsyncClient] = {}
        self.opened: list[httpx.AsyncClient] = []

    def _client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.7", 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        self.opened.append(client)
        return client

    async def new_browser(self, role: str) -> httpx.AsyncClient:
        client = self._client()
        await client.get("/sign-in")  # the CSRF cookie, as a browser has it
        if role != "anonymous":
            user = self.team.roles[role]
            answer = await client.post(
                "/api/session", json={"email": user.email, "password": PASSWORD}, headers=csrf(client)
            )
            assert answer.status_code == 200, answer.text
        return client

    async def browser(self, role: str) -> httpx.AsyncClient:
        if role not in self.browsers:
            self.browsers[role] = await self.new_browser(role)
        return self.browsers[role]

    async def close(self) -> None:
        for client in self.opened:
            await client.aclose()


def observed(path: str, response: httpx.Response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        target = response.headers.get("location", "")
        if target.startswith("/sign-in?next="):
            return SIGN_IN
        flash = response.cookies.get(FLASH_KEY)
        category, _, message = base64.urlsafe_b64decode(flash).decode().partition(":") if flash else ("", "", "")
        return f"{status} -> {target}" + (f" (refused: {message})" if category == "error" else "")
    if status == 401 and path.startswith("/api/"):
        return SIGN_IN
    return str(status)


def fits(expected: str, seen: str, status: int) -> bool:
    if status >= 500 or seen == SIGN_IN:
        return expected == SIGN_IN and seen == SIGN_IN
    if expected == OK:  # a form post refused for the state it found answers 303 with an error flash
        return 200 <= status < 400 and "(refused:" not in seen
    if expected == ALLOWED:
        return status not in (401, 403, 404, 405)
    return seen == expected


@pytest.fixture
async def callers(app: Litestar, team: Team) -> AsyncIterator[Callers]:
    made = Callers(app, team)
    yield made
    await made.close()


@pytest.mark.timeout(360)  # every route as seven roles, a case per write: long on a shared machine
async def test_every_route_answers_every_role_as_the_table_says(
    app: Litestar, runtime: Runtime, settings: Settings, team: Team, callers: Callers
) -> None:
    worlds = Worlds(runtime, settings, team)
    shared = await worlds.build(whole=True)
    served = http_routes(app)
    mismatches: list[str] = []
    checked = 0
    for method, template in sorted(served, key=lambda k: (k[1], k[0])):
        rule = EXPECTED.get((method, template))
        if rule is None:
            continue  # test_every_route_has_a_rule names it
        mode = rule.world or ("shared" if method in ("GET", "HEAD") else "fresh")
        route_world = shared if mode == "shared" else await worlds.build(rule.meeting)
        for role in ROLES:
            world = route_world
            if mode == "per_role" and rule.expect[role] in (OK, ALLOWED):
                world = await worlds.build(rule.meeting)
            client = await (callers.new_browser(role) if rule.own_session else callers.browser(role))
            url = url_for(template, rule, world)
            extra = rule.body(world, role) if rule.body else {}
            headers = csrf(client) if method not in ("GET", "HEAD") else {}
            response = await client.request(method, url, headers=headers, **extra)
            seen = observed(url, response)
            checked += 1
            if not fits(rule.expect[role], seen, response.status_code):
                mismatches.append(
                    f"{method} {template} as {role}: expected {rule.expect[role]}, got {seen} ({response.text[:160]!r})"
                )
    assert checked >= len(served) * len(ROLES)
    assert not mismatches, "\n".join(["routes that answer differently from their rule:", *mismatches])


async def test_options_answers_every_path_without_revealing_anything(app: Litestar, team: Team) -> None:
    """OPTIONS is Litestar's own answer on every path (OPTIONS_RULE): the same for everyone
    signed in or not, and nothing of any case in it."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    world = World(
        "options",
        team.roles,
        team.case.id,
        team.chair.id,
        dict.fromkeys(("live", "scheduled", "ended"), team.meeting.id),
    )
    world.item_id = world.hand_id = world.action_id = world.message_id = world.webhook_id = uuid.uuid4()
    world.correction_id = uuid.uuid4()
    world.entry_id = world.scale_id = uuid.uuid4()
    world.report_id = uuid.uuid4()
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as anonymous:
        for template in sorted({route.path for route in app.routes if isinstance(route, HTTPRoute)}):
            response = await anonymous.options(url_for(template, Rule(OPTIONS_RULE), world))
            assert 200 <= response.status_code < 300, (template, response.status_code)
            assert team.case.reference not in response.text
            assert str(team.case.id) not in response.text


# --- websockets ----------------------------------------------------------------------------------


async def socket_answer(live_url: str, path: str, participant: Participant | None) -> str:
    """How a socket answers: "open" when it is accepted and speaks first, else the refusal."""
    url = live_url.replace("http://", "ws://") + path
    headers = {"Cookie": participant.cookie_header()} if participant else {}
    try:
        connection = await websockets.connect(url, additional_headers=headers, origin="http://testserver.local")
    except InvalidStatus as refused:
        return f"http {refused.response.status_code}"
    try:
        await asyncio.wait_for(connection.recv(), 5)
        return "open"
    except ConnectionClosed as closed:
        return f"close {closed.rcvd.code if closed.rcvd else None}"
    finally:
        await connection.close()


# A refused socket is accepted and closed at once with a code the page's script understands
# (4401: sign in again, do not retry; 4404: no such meeting). Refused before the handshake, a
# browser sees only 1006 and static/js/inbox.js and the room keep knocking for ever.
SOCKET_REFUSALS = {SIGN_IN: ("close 4401",), HIDDEN: ("close 4404",)}


async def test_every_socket_answers_every_role_as_the_table_says(live_url: str, team: Team, app: Litestar) -> None:
    assert websocket_routes(app) == set(WS_EXPECTED)
    signed_in: dict[str, Participant | None] = {"anonymous": None}
    for role in ROLES[1:]:
        signed_in[role] = await Participant(live_url, team.roles[role]).sign_in()
    world = World("sockets", team.roles, team.case.id, team.chair.id, {"live": team.meeting.id})
    mismatches = []
    try:
        for template, expect in WS_EXPECTED.items():
            for role in ROLES:
                path = url_for(template, Rule(expect), world) + "?format=json"
                answer = await socket_answer(live_url, path, signed_in[role])
                wanted = ("open",) if expect[role] == OK else SOCKET_REFUSALS[expect[role]]
                if answer not in wanted:
                    mismatches.append(f"{template} as {role}: expected {expect[role]}, got {answer}")
    finally:
        for participant in signed_in.values():
            if participant is not None:
                await participant.close()
    assert not mismatches, "\n".join(mismatches)
