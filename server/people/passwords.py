"""Password hashing (argon2id) and the password rules (NIST SP 800-63B)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128
_HASHER = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _HASHER.hash("not a real password, only for timing")
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "passwordpassword",
        "iloveyou1234",
        "welcome12345",
        "letmein12345",
        "roundtable123",
        "changeme1234",
        "administrator",
        "password12345",
        "1234567890123",
        "qwerty123456",
        "football1234",
        "sunshine1234",
    }
)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check: an absent hash still costs one argon2 verification."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is not acceptable, or None. Length and a breached list, no composition rules."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return "That password is too common or too easy to guess; choose another."
    letters = _letters(lowered)
    local_part = _letters(email.split("@")[0].lower())
    name_letters = _letters(name.lower())
    if (len(local_part) >= 4 and local_part in letters) or (len(name_letters) >= 4 and name_letters in letters):
        return "Do not use your name or e-mail address in your password."
    return None


def _letters(text: str) -> str:
    """Letters and digits only, so 'rosa-parks-1955' is seen to contain the name 'Rosa Parks'."""
    return "".join(ch for ch in text if ch.isalnum())
