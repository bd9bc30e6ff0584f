"""Settings from the environment, validated once at start-up.

Every setting is read from a ``ROUNDTABLE_*`` variable. A missing or malformed value raises
:class:`SettingsError` whose message names the variable, so the command line can print one
line instead of a traceback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.actions.chase import ChaseSettings, parse_bank_holidays
from server.cases.timescales import TimescaleSettings

PREFIX = "ROUNDTABLE_"
REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration of one process."""

    database_url: str | None
    redis_url: str | None
    secret_key: str
    base_url: str
    smtp_url: str | None
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    mail_from: str = "Roundtable <roundtable@localhost>"
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    invitation_days: int = 7
    session_cache_seconds: int = 30
    presence_seconds: int = 45
    chase: ChaseSettings = field(default_factory=ChaseSettings)
    webhook_timeout_seconds: float = 10.0
    core_group_weeks: int = 6
    tac_review_weeks: int = 6

    @property
    def timescales(self) -> TimescaleSettings:
        """The statutory timescales over the chase's calendar (working days, holidays, zone)."""
        return TimescaleSettings(
            calendar=self.chase, core_group_weeks=self.core_group_weeks, tac_review_weeks=self.tac_review_weeks
        )

    correction_working_days: int = 5
    minutes_escalate_working_days: int = 15

    @property
    def embedded(self) -> bool:
        """True when no external database is configured: start the embedded servers."""
        return self.database_url is None

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def origin(self) -> str:
        """The scheme://host[:port] that browsers send as Origin for our own pages."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be at least {minimum}, not {value}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = _get(env, name)
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        wanted = " or ".join(f"{s}://..." for s in schemes)
        raise SettingsError(f"{PREFIX}{name} must be a URL of the form {wanted}")
    return raw


def _time(env: Mapping[str, str], name: str, default: time) -> time:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a time like 09:00, not {raw!r}") from None


def _dates(env: Mapping[str, str], name: str) -> frozenset[date]:
    raw = _get(env, name)
    if raw is None:
        return frozenset()
    try:
        return parse_bank_holidays(raw)
    except ValueError as error:
        raise SettingsError(f"{PREFIX}{name}: {error}") from None


def _timezone(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _get(env, name) or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{PREFIX}{name} must be a time zone like Europe/London") from None
    return raw


def _chase(env: Mapping[str, str]) -> ChaseSettings:
    if _time(env, "WORKING_HOURS_END", time(17)) <= _time(env, "WORKING_HOURS_START", time(9)):
        raise SettingsError(f"{PREFIX}WORKING_HOURS_END must be later than the start")
    return ChaseSettings(
        lead_working_days=_int(env, "REMIND_BEFORE_WORKING_DAYS", 2),
        overdue_repeat_days=_int(env, "REMIND_OVERDUE_EVERY_DAYS", 7, minimum=1),
        escalate_lead_after=_int(env, "ESCALATE_LEAD_AFTER_WORKING_DAYS", 3, minimum=1),
        escalate_chair_after=_int(env, "ESCALATE_CHAIR_AFTER_WORKING_DAYS", 10, minimum=1),
        work_start=_time(env, "WORKING_HOURS_START", time(9)),
        work_end=_time(env, "WORKING_HOURS_END", time(17)),
        timezone=_timezone(env, "TIMEZONE", "Europe/London"),
        bank_holidays=_dates(env, "BANK_HOLIDAYS"),
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first bad one."""
    env = os.environ if env is None else env
    data_dir = Path(_get(env, "DATA_DIR") or REPO_ROOT / ".data").expanduser().resolve()
    host = _get(env, "HOST") or env.get("HOST") or "127.0.0.1"
    plain_port = {PREFIX + "PORT": env.get("PORT", "")}  # HOST and PORT work unprefixed too
    port = _int(env, "PORT", _int(plain_port, "PORT", 8000))
    if not 0 < port < 65536:
        raise SettingsError(f"{PREFIX}PORT must be between 1 and 65535, not {port}")
    database_url = _url(env, "DATABASE_URL", ("postgresql+asyncpg",))
    redis_url = _url(env, "REDIS_URL", ("redis", "rediss", "valkey", "unix"))
    if database_url is not None and redis_url is None:
        raise SettingsError(f"{PREFIX}REDIS_URL must be set when {PREFIX}DATABASE_URL is set")
    secret_key = _get(env, "SECRET_KEY")
    if secret_key is None:
        if database_url is not None:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be set for an external deployment")
        secret_key = _local_secret(data_dir)
    elif len(secret_key) < 32:
        raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
    base_url = _url(env, "BASE_URL", ("http", "https")) or f"http://{host}:{port}"
    correction_days = _int(env, "CORRECTION_WORKING_DAYS", 5, minimum=1)
    escalate_days = _int(env, "MINUTES_ESCALATE_WORKING_DAYS", 15, minimum=1)
    if escalate_days <= correction_days:
        raise SettingsError(
            f"{PREFIX}MINUTES_ESCALATE_WORKING_DAYS must be more than {PREFIX}CORRECTION_WORKING_DAYS"
            f" ({escalate_days} is not more than {correction_days})"
        )
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        base_url=base_url.rstrip("/"),
        smtp_url=_url(env, "SMTP_URL", ("smtp", "smtps")),
        data_dir=data_dir,
        host=host,
        port=port,
        mail_from=_get(env, "MAIL_FROM") or "Roundtable <roundtable@localhost>",
        session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 30, minimum=1),
        session_max_hours=_int(env, "SESSION_MAX_HOURS", 12, minimum=1),
        invitation_days=_int(env, "INVITATION_DAYS", 7, minimum=1),
        session_cache_seconds=_int(env, "SESSION_CACHE_SECONDS", 30),
        presence_seconds=_int(env, "PRESENCE_SECONDS", 45),
        chase=_chase(env),
        webhook_timeout_seconds=_int(env, "WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1),
        core_group_weeks=_int(env, "CORE_GROUP_WEEKS", 6, minimum=1),
        tac_review_weeks=_int(env, "TAC_REVIEW_WEEKS", 6, minimum=1),
        correction_working_days=correction_days,
        minutes_escalate_working_days=escalate_days,
    )


def _local_secret(data_dir: Path) -> str:
    """A per-checkout secret for the zero-configuration default, kept in the data folder."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
