"""The pure rules of webhooks: which receiver URLs may be registered, which event names exist,
and the signature format (a hand-made HMAC here, apart from the library the server uses)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from server.config import SettingsError, load_settings
from server.errors import Invalid
from server.webhooks.events import EventType, parse_events
from server.webhooks.signing import new_secret, new_webhook_id, signed_headers
from server.webhooks.urls import check_url

PIECES = st.sampled_from(
    ["http", "https", "ftp", "HTTP", ":", "//", "/", "@", "user", "pw", "[", "]", "::1", "127.0.0.1", "host",
     "example.gov.uk", ":80", ":0", ":99999", "?", "q=1", "#", "frag", " ", "\t", "%", "é", "xn--", "-", ".", "_"]
)  # fmt: skip
PLAUSIBLE = st.builds(
    "{}://{}{}{}".format,
    st.sampled_from(["http", "https", "HTTPS", "ftp"]),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){0,3}", fullmatch=True)
    | st.sampled_from(["127.0.0.1", "[::1]", "10.1.2.3", "u:p@host"]),
    st.sampled_from(["", ":8080", ":1", ":65535", ":65536"]),
    st.text(max_size=20).map(lambda path: "/" + path),
)
URLISH = st.lists(PIECES, max_size=12).map("".join) | st.text(max_size=60) | PLAUSIBLE


def _outcome(raw: str) -> str | Invalid:
    try:
        return check_url(raw)
    except Invalid as refused:
        return refused


@given(URLISH)
@example("https://user@host/")
@example("http://[::1]:8080/x")
@example("https://host:/x")
@example("https://hôte.example/x")
def test_a_url_is_refused_with_a_reason_or_is_one_a_client_can_send_to(raw: str) -> None:
    url = _outcome(raw)
    if isinstance(url, Invalid):
        assert url.field == "url"
        assert url.code.startswith("url_")
        assert url.detail
        return
    parsed = httpx.URL(url)  # the client the worker sends with accepts it as it is
    assert parsed.scheme in ("http", "https")
    assert parsed.host
    assert not parsed.userinfo
    assert not parsed.fragment
    assert "@" not in parsed.netloc.decode()


@pytest.mark.parametrize(
    "url",
    ["https://records.example.gov.uk/hooks", "http://10.0.0.5:8080/x?y=1", "http://[fe80::1]/", "https://localhost"],
)
def test_ordinary_receivers_are_accepted_as_given(url: str) -> None:
    assert check_url(f"  {url} ") == url


def test_events_are_checked_and_put_in_order() -> None:
    assert parse_events(("action.overdue", "meeting.ended", "action.overdue")) == [
        EventType.MEETING_ENDED,
        EventType.ACTION_OVERDUE,
    ]
    assert parse_events(()) == []
    with pytest.raises(ValueError, match=r"'action\.deleted' is not an event"):
        parse_events(("action.deleted",))


def test_a_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    secret = new_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    assert 24 <= len(key) <= 64
    webhook_id, body = new_webhook_id(), '{"type":"action.updated","é":1}'.encode()
    at = datetime(2026, 12, 1, 10, 0, 0, 700_000, tzinfo=UTC)
    headers = signed_headers(secret, webhook_id, body, at)
    assert headers["webhook-id"] == webhook_id
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    digest = hmac.new(key, f"{webhook_id}.{int(at.timestamp())}.".encode() + body, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert new_webhook_id() != webhook_id


def test_the_delivery_timeout_is_a_setting_named_when_wrong(tmp_path: Path) -> None:
    base = {"ROUNDTABLE_DATA_DIR": str(tmp_path)}
    assert load_settings(base).webhook_timeout_seconds == 10
    assert load_settings({**base, "ROUNDTABLE_WEBHOOK_TIMEOUT_SECONDS": "3"}).webhook_timeout_seconds == 3
    with pytest.raises(SettingsError, match="ROUNDTABLE_WEBHOOK_TIMEOUT_SECONDS"):
        load_settings({**base, "ROUNDTABLE_WEBHOOK_TIMEOUT_SECONDS": "0"})
