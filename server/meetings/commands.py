"""The room's operations, each declared once.

A :class:`Command` says who may do an operation, in which meeting states, what kind of change
it makes and what its effect is. Everything else follows from the declaration, the same way for
every operation: :class:`RoomCaller.run` locks the meeting row and raises its version (so two
chairs' tabs or twenty hands in one millisecond cannot corrupt the queue), checks the caller and
the state, applies the effect, writes the audit row, reads the room ahead for this process's
live feed (server/live/ahead.py), commits (the feed renders its messages while the COMMIT is on
its way), and then publishes the change; the JSON route and the form route are generated from
the same declaration (server/web/commands.py).

An effect states what it writes as rows (new ones :func:`~server.platform.rows.filled`, changes
on :func:`~server.platform.rows.stand_in` rows) rather than sending statements: they go to the
database with the commit, while the messages render, instead of one round trip at a time before
it. A unique index that the commit finds broken refuses the change in the words its command
declares (``unique``), as a check before the write would have.

Adding an operation is writing its rule and its effect under ``@command(...)``, and listing it
in ``server.meetings.room.COMMANDS``.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, partial
from typing import Any, Generic, Literal, NamedTuple, TypeVar, get_type_hints

import msgspec
from sqlalchemy import BindParameter, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from server.audit.service import Actor, record
from server.cases.models import CaseMember
from server.config import Settings
from server.errors import Conflict, Forbidden, NotFound
from server.live.ahead import read_ahead, room_before
from server.live.events import MeetingChanged, Publisher
from server.meetings.changes import ChangeKind
from server.meetings.models import Attendance, Hand, Meeting, MeetingStatus, Turn
from server.meetings.reading import Written
from server.meetings.state import Audience, Room, audience_for
from server.people.models import User
from server.platform.db import Transaction, broken_unique, transaction
from server.platform.rows import columns_of, session_row

BodyT = TypeVar("BodyT")
ResultT = TypeVar("ResultT")


class Who(StrEnum):
    """Who may run an operation."""

    CHAIR = "chair"  # the meeting's chair
    SPEAKER = "speaker"  # the chair, or the person who has the floor
    ATTENDEE = "attendee"  # a member of the team who has joined the meeting and not left
    MEMBER = "member"  # anyone on the case's team


LIVE = frozenset({MeetingStatus.LIVE})
BEFORE_END = frozenset({MeetingStatus.SCHEDULED, MeetingStatus.LIVE})
SCHEDULED = frozenset({MeetingStatus.SCHEDULED})


class NoBody(msgspec.Struct):
    """The body of an operation that takes none."""


@dataclass(slots=True)
class Ctx:
    """What an effect works on: the locked meeting, the caller, their case role, and the id in
    the operation's path (an agenda item, a hand…), if it has one."""

    session: AsyncSession
    meeting: Meeting
    user: User
    role: str
    actor: Actor
    settings: Settings
    target: uuid.UUID | None = None
    present: bool = False  # the caller was in the room when the operation began
    # The room just before this change, when this process's live feed holds it (exactly the
    # committed room, under the lock): what an effect need not read again, such as ended turns.
    before: Room | None = None
    # The waiting hands and the turns as this change leaves them, when the effect worked them
    # out from ``before``: the read ahead takes them instead of reading them back. Detached
    # rows only (``copy_row``, or ``before``'s own), never the session's.
    hands_after: Sequence[Hand] | None = None
    turns_after: Sequence[Turn] | None = None
    subject: tuple[str, uuid.UUID | None] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    verb: str | None = None
    also: set[ChangeKind] = field(default_factory=set)
    notified: set[uuid.UUID] = field(default_factory=set)  # people with a new notification

    @property
    def is_chair(self) -> bool:
        return self.meeting.chair_id == self.user.id

    @property
    def target_id(self) -> uuid.UUID:
        assert self.target is not None, "this operation has an id in its path"
        return self.target

    def about(self, object_type: str, object_id: uuid.UUID | None, *, verb: str | None = None, **detail: Any) -> None:
        """Name what the audit row is about (the meeting itself unless an effect says so)."""
        self.subject = (object_type, object_id)
        self.detail.update(detail)
        if verb is not None:
            self.verb = verb

    def changed_too(self, kind: ChangeKind) -> None:
        """This run also made a change of ``kind`` (one its command declares in ``also``)."""
        self.also.add(kind)


class Refusal(NamedTuple):
    """A 409's words and code."""

    words: str
    code: str


Effect = Callable[[Ctx, BodyT], Awaitable[ResultT]]
Method = Literal["POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True, slots=True)
class Command(Generic[BodyT, ResultT]):
    """One room operation. ``path`` is under /api/meetings/{meeting_id}; the form posts to the
    same path under /meetings/{meeting_id}/room (or ``form_path``). A ``{name:uuid}`` in the path
    reaches the effect as ``ctx.target``. ``answer`` turns the effect's result into the JSON
    answer; without one, the answer is the meeting's state as the caller sees it."""

    name: str
    method: Method
    path: str
    who: Who
    states: frozenset[MeetingStatus]
    change: ChangeKind
    audit: str
    effect: Effect[BodyT, ResultT]
    body: type[BodyT]
    summary: str
    done: str
    answer: Callable[[ResultT], Any] | None = None
    status_code: int = 200
    form_path: str | None = None
    form: Callable[[Mapping[str, str]], BodyT] | None = None
    body_in_query: bool = False  # a DELETE's optional fields come in the query string
    versioned: bool = False  # the body's ``version``, when given, must be the room's current one
    also: frozenset[ChangeKind] = frozenset()  # other kinds of change a run may make as well
    refusal: str | None = None  # the words when ``who`` refuses, where the general ones would not do
    messages: Mapping[str, str] = field(default_factory=dict)  # a form field's words when it is wrong
    # A unique index the effect's rows may break, and the refusal it means. The rows are written
    # with the commit (or before the read ahead, if it reads), so the database says so then.
    unique: Mapping[str, Refusal] = field(default_factory=dict)

    def refusal_for(self, error: IntegrityError) -> Conflict | None:
        """The refusal an index this operation declares gives, if ``error`` is that index's."""
        found = self.unique.get(broken_unique(error) or "")
        return None if found is None else Conflict(found.words, code=found.code)

    @property
    def target(self) -> str | None:
        """The name of the id in the path, if any."""
        start = self.path.find("{")
        return None if start < 0 else self.path[start + 1 : self.path.index(":", start)]

    @property
    def takes_body(self) -> bool:
        return self.body is not NoBody


def command(
    method: Method,
    path: str,
    *,
    who: Who,
    when: frozenset[MeetingStatus],
    change: ChangeKind,
    audit: str,
    done: str,
    answer: Callable[[Any], Any] | None = None,
    status_code: int = 200,
    form_path: str | None = None,
    form: Callable[[Mapping[str, str]], Any] | None = None,
    body_in_query: bool = False,
    versioned: bool = False,
    also: frozenset[ChangeKind] = frozenset(),
    refusal: str | None = None,
    messages: Mapping[str, str] | None = None,
    unique: Mapping[str, Refusal] | None = None,
) -> Callable[[Effect[BodyT, ResultT]], Command[BodyT, ResultT]]:
    """Declare the decorated effect as a room operation. Its name is the effect's, its summary
    the effect's docstring, and its body the type of the effect's second parameter."""

    def declare(effect: Effect[BodyT, ResultT]) -> Command[BodyT, ResultT]:
        second = list(inspect.signature(effect).parameters)[1]
        return Command(
            name=effect.__name__,
            method=method,
            path=path,
            who=who,
            states=when,
            change=change,
            audit=audit,
            effect=effect,
            body=get_type_hints(effect)[second],
            summary=inspect.getdoc(effect) or "",
            done=done,
            answer=answer,
            status_code=status_code,
            form_path=form_path,
            form=form,
            body_in_query=body_in_query,
            versioned=versioned,
            also=also,
            refusal=refusal,
            messages=messages or {},
            unique=unique or {},
        )

    return declare


# --- running a command ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ran(Generic[ResultT]):
    """A command that was run: its effect's result, the version it made, which audience the
    caller sees the room as, and the room at that version when it was read ahead."""

    result: ResultT
    version: int
    audience: Audience
    room: Room | None = None


STATE_REFUSALS = {
    MeetingStatus.SCHEDULED: ("The meeting has not started yet.", "not_started"),
    MeetingStatus.LIVE: ("The meeting is already under way.", "already_started"),
    MeetingStatus.ENDED: ("The meeting has ended; the room is a record now.", "meeting_ended"),
    MeetingStatus.CANCELLED: ("The meeting was cancelled.", "meeting_cancelled"),
}


@dataclass(frozen=True, slots=True)
class RoomCaller:
    """The room's operations bound to one caller: their session, the publisher, who they are.
    Routes receive one as the ``room`` dependency; tests and services build one directly."""

    session: AsyncSession
    publisher: Publisher
    actor: Actor
    user: User
    settings: Settings

    async def run(
        self,
        command: Command[BodyT, ResultT],
        meeting_id: uuid.UUID,
        body: BodyT | None = None,
        target: uuid.UUID | None = None,
    ) -> ResultT:
        """Run one operation in one transaction, then tell every web process about it."""
        return (await self.execute(command, meeting_id, body, target)).result

    async def execute(
        self, command: Command[BodyT, ResultT], meeting_id: uuid.UUID, body: BodyT | None, target: uuid.UUID | None
    ) -> Ran[ResultT]:
        """:meth:`run`, answering also the version the change made and the caller's audience."""
        if body is None:
            body = command.body()
        expected_version = getattr(body, "version", None) if command.versioned else None
        try:
            async with transaction(self.session) as tx:
                meeting, role, present = await _lock(self.session, meeting_id, self.user.id)
                before = room_before(self.publisher, meeting)
                ctx = Ctx(self.session, meeting, self.user, role, self.actor, self.settings, target, present, before)
                await _admit(ctx, command, expected_version)
                result = await command.effect(ctx, body)
                change = await self._commit(tx, command, ctx)
        except IntegrityError as error:
            refusal = command.refusal_for(error)
            if refusal is None:
                raise
            raise refusal from None
        await self.publisher.meeting_changed(change)
        if ctx.notified:
            await self.publisher.users_changed(ctx.notified, "notification")
        return Ran(result, change.version, audience_for(ctx.role, is_chair=ctx.is_chair), change.room)

    async def _commit(self, tx: Transaction, command: Command[Any, Any], ctx: Ctx) -> MeetingChanged:
        """Audit the change and commit it, with this process's messages rendered meanwhile from the
        room read ahead; the change, to publish."""
        meeting = ctx.meeting
        object_type, object_id = ctx.subject or ("meeting", meeting.id)
        record(
            self.session,
            self.actor,
            ctx.verb or command.audit,
            object_type,
            object_id,
            case_id=meeting.case_id,
            meeting_id=meeting.id,
            **ctx.detail,
        )
        assert ctx.also <= command.also, f"{command.name} made undeclared changes {ctx.also - command.also}"
        also = frozenset(ctx.also)
        written = Written(meeting, ctx.hands_after, ctx.turns_after)
        room = await read_ahead(self.session, ctx.before, written, also | {command.change})
        change = MeetingChanged(meeting.id, meeting.version, command.change, also, room)
        if room is None:
            return change  # committed as the transaction's block ends
        # this process's sockets: their messages are made while it commits
        return await tx.commit_while(partial(self.publisher.render_ahead, change))


MEETINGS: Table = Meeting.__table__  # type: ignore[assignment]  # declared, so a Table


@cache
def _lock_statement() -> Executable:
    """UPDATE the meeting's version, RETURNING the row, the caller's role on its case and
    whether they are in the room. Built once (building it is a third of a millisecond, more than
    PostgreSQL takes to run it), on the table rather than the model: the ORM's handling of an
    UPDATE and of the rows it returns would be most of the statement's cost in this process."""
    user_id: BindParameter[uuid.UUID] = bindparam("user_id")
    role = (
        select(CaseMember.role)
        .where(CaseMember.case_id == MEETINGS.c.case_id, CaseMember.user_id == user_id)
        .scalar_subquery()
    )
    present = (
        select(Attendance.user_id)
        .where(Attendance.meeting_id == MEETINGS.c.id, Attendance.user_id == user_id, Attendance.left_at.is_(None))
        .exists()
    )
    return (
        update(MEETINGS)
        .where(MEETINGS.c.id == bindparam("meeting_id"), role.is_not(None))
        .values(version=MEETINGS.c.version + 1)
        .returning(*(column for _, column in columns_of(Meeting)), role, present)
    )


async def _lock(session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID) -> tuple[Meeting, str, bool]:
    """The meeting row, locked until the commit with its version raised, the caller's role on its
    case and whether they are in the room: one statement. A refused operation rolls the raise
    back with everything else; a caller not on the case's team finds no meeting."""
    found = (await session.execute(_lock_statement(), {"meeting_id": meeting_id, "user_id": user_id})).first()
    if found is None:
        raise NotFound("No such meeting.")
    *columns, found_role, here = found
    meeting = session_row(session, Meeting, dict(zip((key for key, _ in columns_of(Meeting)), columns, strict=True)))
    return meeting, found_role, bool(here)


async def _admit(ctx: Ctx, command: Command[Any, Any], expected_version: int | None) -> None:
    if command.who is Who.CHAIR and not ctx.is_chair:
        raise Forbidden(command.refusal or "Only the meeting's chair can do that.", code="not_chair")
    if ctx.meeting.status not in command.states:
        message, code = STATE_REFUSALS[MeetingStatus(ctx.meeting.status)]
        raise Conflict(message, code="not_live" if command.states == LIVE else code)
    if expected_version is not None and expected_version != ctx.meeting.version - 1:  # raised by the lock
        raise Conflict("The room changed a moment ago; look again and retry.", code="stale_version")
    if command.who is Who.ATTENDEE and not ctx.present:
        raise Conflict(command.refusal or "Join the meeting first.", code="not_joined")
    if command.who is Who.SPEAKER and not ctx.is_chair:
        turn = await current_turn(ctx)
        if turn is None:
            raise Conflict("Nobody has the floor.", code="nobody_speaking")
        if turn.user_id != ctx.user.id:
            raise Forbidden(command.refusal or "Only the chair or the speaker can do that.", code="not_speaker")


async def current_turn(ctx: Ctx) -> Turn | None:
    """The turn under way, if any: from the room before when this process holds it (then it is
    the feed's row, to read and never to change), else read."""
    if ctx.before is not None:
        return next((t for t in ctx.before.turns if t.ended_at is None), None)
    return await ctx.session.scalar(select(Turn).where(Turn.meeting_id == ctx.meeting.id, Turn.ended_at.is_(None)))
