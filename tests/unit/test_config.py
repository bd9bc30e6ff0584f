"""Settings: each malformed value stops start-up with a message that names the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import SettingsError, load_settings

EXTERNAL = {
    "ROUNDTABLE_DATABASE_URL": "postgresql+asyncpg://app:secret@db:5432/roundtable",
    "ROUNDTABLE_REDIS_URL": "redis://redis:6379/0",
    "ROUNDTABLE_SECRET_KEY": "x" * 40,
}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ROUNDTABLE_DATABASE_URL": "mysql://x/y"}, "ROUNDTABLE_DATABASE_URL"),
        ({**EXTERNAL, "ROUNDTABLE_REDIS_URL": ""}, "ROUNDTABLE_REDIS_URL"),
        ({**EXTERNAL, "ROUNDTABLE_SECRET_KEY": ""}, "ROUNDTABLE_SECRET_KEY"),
        ({**EXTERNAL, "ROUNDTABLE_SECRET_KEY": "short"}, "ROUNDTABLE_SECRET_KEY"),
        ({**EXTERNAL, "ROUNDTABLE_SMTP_URL": "mail.example.org"}, "ROUNDTABLE_SMTP_URL"),
        ({**EXTERNAL, "ROUNDTABLE_BASE_URL": "roundtable.example.org"}, "ROUNDTABLE_BASE_URL"),
        ({**EXTERNAL, "PORT": "eighty"}, "ROUNDTABLE_PORT"),
        ({**EXTERNAL, "ROUNDTABLE_PORT": "70000"}, "ROUNDTABLE_PORT"),
        ({**EXTERNAL, "ROUNDTABLE_SESSION_IDLE_MINUTES": "0"}, "ROUNDTABLE_SESSION_IDLE_MINUTES"),
        ({**EXTERNAL, "ROUNDTABLE_TIMEZONE": "Mars/Olympus"}, "ROUNDTABLE_TIMEZONE"),
        ({**EXTERNAL, "ROUNDTABLE_WORKING_HOURS_START": "nine"}, "ROUNDTABLE_WORKING_HOURS_START"),
        ({**EXTERNAL, "ROUNDTABLE_WORKING_HOURS_END": "08:00"}, "ROUNDTABLE_WORKING_HOURS_END"),
        ({**EXTERNAL, "ROUNDTABLE_BANK_HOLIDAYS": "2026-12-25,xmas"}, "ROUNDTABLE_BANK_HOLIDAYS"),
        ({**EXTERNAL, "ROUNDTABLE_CORRECTION_WORKING_DAYS": "0"}, "ROUNDTABLE_CORRECTION_WORKING_DAYS"),
        ({**EXTERNAL, "ROUNDTABLE_CORRECTION_WORKING_DAYS": "five"}, "ROUNDTABLE_CORRECTION_WORKING_DAYS"),
        ({**EXTERNAL, "ROUNDTABLE_MINUTES_ESCALATE_WORKING_DAYS": "5"}, "ROUNDTABLE_MINUTES_ESCALATE_WORKING_DAYS"),
    ],
)
def test_a_bad_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_external_servers_and_defaults(tmp_path: Path) -> None:
    settings = load_settings({**EXTERNAL, "ROUNDTABLE_DATA_DIR": str(tmp_path), "HOST": "127.0.0.2", "PORT": "9000"})
    assert not settings.embedded
    assert (settings.host, settings.port) == ("127.0.0.2", 9000)
    assert settings.base_url == "http://127.0.0.2:9000"
    assert settings.chase.timezone == "Europe/London"
    assert (settings.correction_working_days, settings.minutes_escalate_working_days) == (5, 15)
    assert not settings.secure_cookies


def test_the_embedded_default_keeps_a_secret_per_data_folder(tmp_path: Path) -> None:
    first = load_settings({"ROUNDTABLE_DATA_DIR": str(tmp_path)})
    again = load_settings({"ROUNDTABLE_DATA_DIR": str(tmp_path)})
    assert first.embedded
    assert len(first.secret_key) >= 32
    assert first.secret_key == again.secret_key


def test_https_turns_on_secure_cookies() -> None:
    settings = load_settings({**EXTERNAL, "ROUNDTABLE_BASE_URL": "https://roundtable.example.gov.uk/"})
    assert settings.secure_cookies
    assert settings.origin == "https://roundtable.example.gov.uk"
