"""Personal information: ID-number validation, keyed hashing, encryption and masking.

ID numbers never reach the database file in clear: an HMAC finds the same person twice, an
AES-GCM ciphertext lets an administrator reveal the number (an audited action), and the masked
form (first six and last four characters) allows a display. The key lives outside data/ (EMERGENCY_KEY_FILE, or
~/.config/emergency-registry/secret.key), so a copy of the database file alone reveals nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import operator
import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .db import local_today
from .hygiene import is_blank

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def key_path() -> Path:
    return Path(_key_file())


def _key_file() -> str:
    """The key file's path as text, resolved once per (EMERGENCY_KEY_FILE, HOME): every ID number
    hashed and encrypted asks for it, and building the Path each time was a third of an import."""
    return _resolve_key_file(os.environ.get("EMERGENCY_KEY_FILE") or "", os.environ.get("HOME") or "")


@lru_cache(maxsize=8)
def _resolve_key_file(env: str, home: str) -> str:
    return str(Path(env) if env else Path.home() / ".config" / "emergency-registry" / "secret.key")


@lru_cache(maxsize=4)
def _master_key(path: str) -> bytes:
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(os.urandom(32)))
    return base64.b64decode(p.read_bytes().strip())


def _subkey(purpose: bytes) -> bytes:
    return _derived(_key_file(), purpose)


@lru_cache(maxsize=16)
def _derived(path: str, purpose: bytes) -> bytes:
    return hmac.new(_master_key(path), purpose, hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _aes(path: str) -> AESGCM:
    """One cipher object per key: deriving keys per call cost more than encrypting (73,000-row imports)."""
    return AESGCM(_derived(path, b"id-aes"))


def id_check_char(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(map(operator.mul, map(int, first17), _WEIGHTS)) % 11]  # map: 2x the generator (imports)


def validate_id_number(value: str) -> str | None:
    """None when valid, else the reason in Chinese."""
    if not _ID_RE.match(value or ""):
        return "身份证号应为18位（前17位数字，末位为数字或X）"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    if born > local_today() or born.year < 1900:
        return "身份证号中的出生日期不合理"
    if id_check_char(value[:17]) != value[17]:
        return "身份证号校验位错误"
    return None


def birth_date_from_id(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def gender_from_id(value: str) -> str:
    return "男" if int(value[16]) % 2 else "女"


def validate_mobile(value: str) -> str | None:
    if not _MOBILE_RE.match(value or ""):
        return "手机号应为以1开头、第二位为3—9的11位数字"
    return None


def id_hmac(value: str) -> str:
    """Keyed hash: equal for the same number, useless without the key."""
    return hmac.new(_subkey(b"id-hmac"), value.encode(), hashlib.sha256).hexdigest()


def encrypt_id(value: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _aes(_key_file()).encrypt(nonce, value.encode(), None)).decode()


def decrypt_id(token: str) -> str:
    raw = base64.b64decode(token)
    return _aes(_key_file()).decrypt(raw[:12], raw[12:], None).decode()


ID_MASK = "*" * 10


def mask_id(value: str | None) -> str:
    """410325**********2X: region and last two only (the birth date and sequence hidden)."""
    if is_blank(value):
        return ""
    text = str(value).strip()
    return f"{text[:6]}{ID_MASK}{text[-2:]}" if len(text) >= 8 else ID_MASK


def coarse_birth(value) -> str:
    """The birth year only ("1985年"), for every role that sees masked ID numbers; "" when unknown."""
    if is_blank(value):
        return ""
    year = getattr(value, "year", None)
    if year is None:
        match = re.match(r"\s*(\d{4})", str(value))
        if not match:
            return ""
        year = int(match.group(1))
    return f"{int(year)}年"


def protect_id(value: str) -> tuple[str, str, str]:
    """(hmac, ciphertext, masked form) for storage."""
    return id_hmac(value), encrypt_id(value), mask_id(value)


def mask_phone(phone) -> str:
    """138****5678; "" for an empty cell (None, NaN, spaces), "****" for anything too short to show."""
    if is_blank(phone):
        return ""
    text = str(phone).strip()
    return text[:3] + "****" + text[-4:] if len(text) >= 8 else "****"
