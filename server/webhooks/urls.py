"""Which receiver URLs an administrator may register: a pure rule.

http or https, a host, a port that exists, no user name or password (the signature proves who
sent a delivery, and a password in a URL ends up in logs and screenshots), no fragment (it is
never sent), nothing a client would have to guess at (spaces, control characters). Private and
loopback addresses are allowed on purpose: case record systems live on internal networks, and
only administrators register endpoints.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from server.errors import Invalid

MAX_URL = 2000
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
EXAMPLE = "https://records.example.gov.uk/roundtable"


def _refuse(detail: str, code: str) -> Invalid:
    return Invalid(detail, field="url", code=code)


def check_url(raw: str) -> str:
    """The URL to store, or Invalid (field ``url``) saying what is wrong with it."""
    url = raw.strip()
    if not url:
        raise _refuse(f"Give the receiver's URL, like {EXAMPLE}.", "url_missing")
    if len(url) > MAX_URL:
        raise _refuse(f"Keep the URL to {MAX_URL:,} characters.", "url_too_long")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise _refuse("The URL cannot contain spaces or control characters.", "url_invalid")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _refuse(f"That is not a URL. Give one like {EXAMPLE}.", "url_invalid") from None
    if parts.scheme not in ("http", "https"):
        raise _refuse("The URL must start with https:// or http://.", "url_scheme")
    if "@" in parts.netloc:
        raise _refuse(
            "Take the user name and password out of the URL: Roundtable signs every delivery instead.",
            "url_credentials",
        )
    _check_host(parts)
    _check_port(parts)
    if parts.fragment or url.endswith("#"):
        raise _refuse("Leave out the #fragment: it is never sent to the receiver.", "url_fragment")
    return parts.geturl()


def _check_host(parts: SplitResult) -> None:
    host = parts.hostname or ""
    if not host:
        raise _refuse(f"The URL needs a host, like {EXAMPLE}.", "url_host")
    if parts.netloc.split(":")[0].startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            raise _refuse("The address in brackets is not an IPv6 address.", "url_host") from None
        return
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _refuse("The host name is not a valid name.", "url_host") from None
    if not _HOST_NAME.fullmatch(ascii_host) or len(ascii_host) > 253:
        raise _refuse("The host name is not a valid name.", "url_host")


def _check_port(parts: SplitResult) -> None:
    try:
        port = parts.port
    except ValueError:
        raise _refuse("The port must be a number from 1 to 65535.", "url_port") from None
    if port == 0 or parts.netloc.endswith(":"):
        raise _refuse("The port must be a number from 1 to 65535.", "url_port")
