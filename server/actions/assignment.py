"""Telling an owner that an action is theirs: in the app and by e-mail, in the transaction that
gave it to them, with accepting and declining one click away (the link opens the action at the
form that asks "Will you take this on?").

The e-mail carries a link, not the content of a professionals-only action: mailboxes are shared
and forwarded, so such an action is named only as "a professionals-only action"."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import Action
from server.cases.models import Case
from server.config import Settings
from server.notify.notifications import Note, add
from server.notify.outbox import Email, enqueue
from server.people.models import User

RESPOND_ANCHOR = "respond"


def action_link(action: Action) -> str:
    return f"/actions/{action.id}#{RESPOND_ANCHOR}"


def assignment_note(action: Action, case: Case, by: User | None, reason: str = "") -> Note:
    """What the owner sees in Roundtable; they may see the action, so it is named."""
    giver = f"{by.name} has given you" if by else "You have been given"
    due = f"{action.due_date:%a %-d %b %Y}"
    body = f"{giver} an action for case {case.reference}, due {due}. Accept it, or decline it with a reason."
    if reason:
        body += f" Why it is yours: {reason}"
    return Note(
        action.owner_id, "action_assigned", f"An action for you: {action.title}", body, action_link(action), case.id
    )


def assignment_email(settings: Settings, action: Action, case: Case, owner: User, by: User | None) -> Email:
    what = "a professionals-only action" if action.professionals_only else f"this action: {action.title}"
    giver = f"{by.name} has given you" if by else "You have been given"
    text = "\n".join(
        [
            f"Dear {owner.name},",
            "",
            f"{giver} {what}",
            "",
            f"Case: {case.reference}",
            f"Due: {action.due_date:%a %-d %b %Y}",
            "",
            "Please say whether you will take it on. Accept it, or decline it with a reason, here:",
            f"{settings.base_url}{action_link(action)}",
            "",
            "The chair and the lead professional are told if you decline, so it can be given to someone else.",
            "",
            "Roundtable",
            "This message is confidential. Please share it only as the plan agrees.",
            "",
        ]
    )
    return Email([owner.email], f"An action for you to accept — case {case.reference}", text)


async def notify_assigned(
    session: AsyncSession,
    settings: Settings,
    action: Action,
    *,
    by: uuid.UUID | None = None,
    reason: str = "",
) -> Note | None:
    """Inside the caller's transaction: tell the action's owner it is theirs. Nobody is told of
    an action they gave themselves. Returns the notification written, for the caller to push to
    the owner's open pages after the commit."""
    if by is not None and by == action.owner_id:
        return None
    owner = await session.get(User, action.owner_id)
    case = await session.get(Case, action.case_id)
    giver = None if by is None else await session.get(User, by)
    if owner is None or case is None or not owner.is_active:
        return None
    note = assignment_note(action, case, giver, reason)
    add(session, note)
    await enqueue(session, settings, assignment_email(settings, action, case, owner, giver), case_id=case.id)
    return note
