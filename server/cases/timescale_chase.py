"""The chase of statutory milestones, one call in each chase pass.

A milestone due soon with no meeting scheduled for it reminds the case's chair(s) and lead
professional; an overdue one escalates to them and sends the ``timescale.overdue`` webhook. Each
happens once per milestone and stage: the pass claims ``(subject, stage)`` rows in the chase
ledger with ON CONFLICT DO NOTHING RETURNING and tells people only about the rows it inserted,
in one transaction with the notifications, the outbox e-mail and the webhook deliveries, so two
workers or a crash never send one twice, and a crash mid-pass leaves nothing half done.
Only working hours of working days send anything, as for actions."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.actions.chase import in_working_hours
from server.cases.milestones import facts_of
from server.cases.models import Case, CaseMember, CaseRole
from server.cases.timescales import ChaseStage, Milestone, chase_stage, ledger_subject, milestones
from server.config import Settings
from server.notify.ledger import Chased, Item, claim, tell
from server.platform.db import transaction
from server.timeutil import today_local
from server.webhooks import service as webhooks

WORDS = {
    ChaseStage.DUE_SOON: "is due soon and no meeting is scheduled for it",
    ChaseStage.OVERDUE: "is overdue",
}


async def chase_milestones(maker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> Chased:
    if not in_working_hours(now, settings.chase):
        return Chased()
    today = today_local(now)
    async with maker() as session, transaction(session):
        open_cases = select(Case.id, Case.reference, Case.lead_professional_id).where(Case.closed_at.is_(None))
        cases = {case_id: (ref, lead) for case_id, ref, lead in await session.execute(open_cases)}
        due: list[tuple[uuid.UUID, Milestone, ChaseStage]] = []
        for case_id, facts in (await facts_of(session, list(cases))).items():
            for milestone in milestones(facts, today, settings.timescales):
                stage = chase_stage(milestone)
                if stage is not None:
                    due.append((case_id, milestone, stage))
        claimed = await claim(session, [(ledger_subject(c, m), s.value, c) for c, m, s in due])
        won = [(c, m, s) for c, m, s in due if (ledger_subject(c, m), s.value) in claimed]
        if not won:
            return Chased()
        chairs: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        rows = await session.execute(
            select(CaseMember.case_id, CaseMember.user_id).where(
                CaseMember.case_id.in_({c for c, _, _ in won}), CaseMember.role == CaseRole.CHAIR
            )
        )
        for case_id, user_id in rows:
            chairs[case_id].add(user_id)
        items: dict[uuid.UUID, list[Item]] = defaultdict(list)
        for case_id, milestone, stage in won:
            reference, lead = cases[case_id]
            title = f"{milestone.kind.label} for case {reference} {WORDS[stage]}"
            body = f"Due {milestone.due_on:%a %-d %b %Y}"
            if stage is ChaseStage.OVERDUE:
                body += ": escalated to the chair and the lead professional"
            item = Item(case_id, title, body, f"/cases/{case_id}#timescales-heading", f"timescale_{stage.value}")
            for person in chairs[case_id] | {lead}:
                items[person].append(item)
        overdue = [(case_id, cases[case_id][0], m) for case_id, m, s in won if s is ChaseStage.OVERDUE]
        await webhooks.timescales_overdue(session, overdue)
        return await tell(
            session,
            settings,
            items,
            subject="Roundtable: a statutory timescale needs your attention",
            lead="These statutory timescales of the cases you chair or lead need your attention:",
        )
