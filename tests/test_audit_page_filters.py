"""The case's audit page and its CSV read their filters from the query string (server/cases/pages.py):
a verb as a prefix (empty: every verb), a person (``who``) and a span of days."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx

from server.timeutil import today_local
from tests.support import Team, sign_in


def verbs(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["what"] for row in csv.DictReader(io.StringIO(answer.text))]


async def test_the_audit_csv_filters_by_verb_person_and_days(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    assert (await client.get(f"/cases/{team.case.id}")).status_code == 200
    url = f"/cases/{team.case.id}/audit.csv"

    of_the_case = verbs(await client.get(url, params={"verb": "case."}))
    assert {"case.create", "case.view"} <= set(of_the_case)
    assert all(verb.startswith("case.") for verb in of_the_case)
    assert "audit.export" in verbs(await client.get(url, params={"verb": ""}))  # the exports before this one
    assert set(verbs(await client.get(url, params={"verb": "case.view", "who": str(team.chair.id)}))) == {"case.view"}
    assert verbs(await client.get(url, params={"verb": "case.view", "who": str(team.member.id)})) == []

    today = today_local()
    days = {"since": str(today), "until": str(today), "verb": "case."}
    assert verbs(await client.get(url, params=days)) == of_the_case
    assert verbs(await client.get(url, params={"since": str(today + timedelta(days=1))})) == []


async def test_the_audit_page_takes_the_same_filters(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    page = await client.get(f"/cases/{team.case.id}/audit", params={"verb": "case.", "who": str(team.chair.id)})
    assert page.status_code == 200
    assert (await client.get(f"/cases/{team.case.id}/audit", params={"since": "not a day"})).status_code == 400
