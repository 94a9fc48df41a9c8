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
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
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


def validate_id_number(value: str, today: date | None = None) -> str | None:
    """None when valid, else the reason in Chinese. (`today`: the county's date, when the caller
    checks thousands of numbers and has it already.)"""
    if not _ID_RE.match(value or ""):
        return "身份证号应为18位（前17位数字，末位为数字或X）"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    if born > (today or local_today()) or born.year < 1900:
        return "身份证号中的出生日期不合理"
    if id_check_char(value[:17]) != value[17]:
        return "身份证号校验位错误"
    return None


_PLAIN_ID = re.compile(r"[0-9]{17}[0-9X]")
_WEIGHT_VECTOR = np.array(_WEIGHTS, dtype=np.int64)
_CHECK_BYTES = np.frombuffer(_CHECK.encode(), dtype=np.uint8)


def id_number_problems(values: list[str], today: date | None = None) -> list[str | None]:
    """validate_id_number of each value (the same reasons, tested in the same order), the birth dates
    and check characters of the plain 18-character numbers worked out for the whole list at once."""
    today = today or local_today()
    plain = [i for i, v in enumerate(values) if _PLAIN_ID.fullmatch(v)]
    reasons: list[str | None] = [None] * len(values)
    if plain:
        raw = np.frombuffer("".join(values[i] for i in plain).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        digits = raw[:, :17].astype(np.int64) - ord("0")
        year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
        month = digits[:, 10] * 10 + digits[:, 11]
        day = digits[:, 12] * 10 + digits[:, 13]
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
        month_days = month_days + ((month == 2) & leap)
        exists = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
        born = year * 10000 + month * 100 + day
        sensible = (born <= today.year * 10000 + today.month * 100 + today.day) & (year >= 1900)
        checked = _CHECK_BYTES[(digits @ _WEIGHT_VECTOR) % 11] == raw[:, 17]
        code = np.where(~exists, 1, np.where(~sensible, 2, np.where(~checked, 3, 0)))
        texts = (None, "身份证号中的出生日期无效", "身份证号中的出生日期不合理", "身份证号校验位错误")
        for i, c in zip(plain, code.tolist()):
            reasons[i] = texts[c]
    for i in sorted(set(range(len(values))).difference(plain)):
        reasons[i] = validate_id_number(values[i], today)
    return reasons


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


def id_hasher() -> Callable[[str], str]:
    """id_hmac with the key resolved once, for an import's thousands of numbers (the same digests)."""
    key = _subkey(b"id-hmac").ljust(64, b"\0")  # HMAC-SHA256 (RFC 2104) with its two pads hashed once
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def one(value: str) -> str:
        digest = inner.copy()
        digest.update(value.encode())
        result = outer.copy()
        result.update(digest.digest())
        return result.hexdigest()

    return one


def encrypt_ids(values: list[str | None]) -> list[str | None]:
    """encrypt_id of each number (None for an empty one), the cipher resolved once and the nonces
    (fresh and random, one per number) drawn from the system's random source in one read."""
    encrypt, encode = _aes(_key_file()).encrypt, base64.b64encode
    pool = os.urandom(12 * len(values))
    nonces = [pool[i : i + 12] for i in range(0, len(pool), 12)]
    return [encode(n + encrypt(n, v.encode(), None)).decode() if v else None for n, v in zip(nonces, values)]


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
