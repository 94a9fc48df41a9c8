"""Users, roles, township scope and log-in.

Roles:
- admin (县应急管理局): everything, including users and settings;
- township (乡镇填报员), bound to one township: writes only its own township's records;
- viewer (领导/只读): sees everything, changes nothing, personal data masked.

Scope is enforced here, below the UI: every write function calls require_write() with the acting
user and the township of the record (before and after the change), so hiding a button is never
the only guard.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import audit
from .db import first_value, row_dict
from .enums import USER_ROLES

if TYPE_CHECKING:
    from .db import Cursor, Database

LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15
SESSION_TIMEOUT_MINUTES = 30
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
log = logging.getLogger(__name__)


class PermissionDenied(PermissionError):
    """The acting user's role or township does not allow this; nothing was changed."""


class LoginError(Exception):
    pass


@dataclass(frozen=True)
class User:
    id: int | None
    username: str
    display_name: str
    role: str
    township_code: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def role_label(self) -> str:
        return USER_ROLES.get(self.role, self.role)

    def may_write(self, township_code: str | None) -> bool:
        """Admins write anything; a township operator only records of its own township."""
        if self.role == "admin":
            return True
        if self.role == "township":
            return township_code is not None and township_code == self.township_code
        return False

    def sees_full_phone(self, township_code: str | None) -> bool:
        """Admins and the member's own township see phone numbers in full; others see them masked."""
        return self.role == "admin" or (self.role == "township" and township_code == self.township_code)


# The identity of the command line and of the scheduler (audited under this name).
SYSTEM = User(None, "system", "系统", "admin")


def require_write(actor: User, township_code: str | None, what: str) -> None:
    if actor.role == "viewer":
        raise PermissionDenied(f"只读账号不能{what}。")
    if not actor.may_write(township_code):
        scope = "县级（全县）" if township_code is None else f"其他乡镇（{township_code}）"
        raise PermissionDenied(f"乡镇填报员只能修改本乡镇的数据，不能{what}：该记录属于{scope}。")


def require_admin(actor: User, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"只有县应急管理局管理员可以{what}。")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problem(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    if password.isdigit() or password.isalpha():
        return "密码须同时包含字母和数字"
    return None


def _user(row: dict) -> User:
    return User(row["id"], row["username"], row["display_name"], row["role"], row["township_code"])


def active_user(db: Database, username: str) -> User:
    """The enabled account of that name, to act as it from the command line (export --as)."""
    rows = db.query_dicts("SELECT * FROM users WHERE username = ? AND is_active", [(username or "").strip()])
    if not rows:
        raise ValueError(f"用户 {username} 不存在或已停用")
    return _user(rows[0])


def _role_township(db: Database, role: str, township_code: str | None) -> str | None:
    """The township a user of `role` is bound to: a real township for an operator, none otherwise."""
    if role not in USER_ROLES:
        raise ValueError(f"角色必须是 {'、'.join(USER_ROLES)} 之一")
    if role != "township":
        return None
    if not township_code or not db.scalar(
        "SELECT count(*) FROM townships WHERE code = ? AND is_township", [township_code]
    ):
        raise ValueError("乡镇填报员必须绑定一个乡镇（统计区划代码）")
    return township_code


def create_user(
    db: Database,
    actor: User,
    username: str,
    display_name: str,
    role: str,
    password: str,
    township_code: str | None = None,
    *,
    is_demo: bool = False,
    password_hash: str | None = None,
) -> User:
    require_admin(actor, "创建用户")
    username = (username or "").strip()
    if not username or not username.replace("_", "").replace("-", "").isalnum():
        raise ValueError("用户名只能由字母、数字、- 和 _ 组成")
    township_code = _role_township(db, role, township_code)
    if password_hash is None:
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        password_hash = hash_password(password)
    if db.scalar("SELECT count(*) FROM users WHERE username = ?", [username]):
        raise ValueError(f"用户名 {username} 已存在")

    def work(cur: Cursor):
        uid = first_value(
            cur,
            "INSERT INTO users (username, display_name, role, township_code, password_hash, is_demo)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [username, display_name or username, role, township_code, password_hash, is_demo],
        )
        audit.record(
            cur,
            actor,
            "create",
            "users",
            uid,
            None,
            {"username": username, "role": role, "township_code": township_code},
        )
        return uid

    return User(db.write(work), username, display_name or username, role, township_code)


def set_password(db: Database, actor: User, username: str, password: str) -> None:
    require_admin(actor, "重置密码")
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    digest = hash_password(password)

    def work(cur: Cursor):
        # No UPDATE ... RETURNING: DuckDB runs it as delete + insert, which foreign keys refuse.
        if not cur.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone():
            raise ValueError(f"用户 {username} 不存在")
        cur.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE username = ?",
            [digest, username],
        )
        _end_sessions(cur, username)
        audit.record(cur, actor, "update", "users", username, None, {"password": "已重置"})

    db.write(work)


def set_role(db: Database, actor: User, username: str, role: str, township_code: str | None = None) -> None:
    """Change a user's role (and township); the user's open sessions end, to log in again as the new role."""
    require_admin(actor, "调整用户角色")
    _not_self(actor, username, "修改自己的角色")
    township_code = _role_township(db, role, township_code)
    _update_account(db, actor, username, {"role": role, "township_code": township_code})


def set_active(db: Database, actor: User, username: str, active: bool) -> None:
    """Disable (every session ends at once) or re-enable a user; a disabled user cannot log in."""
    require_admin(actor, "停用或启用账号")
    if not active:
        _not_self(actor, username, "停用自己的账号")
    _update_account(db, actor, username, {"is_active": bool(active)})


def _not_self(actor: User, username: str, what: str) -> None:
    # an admin locking themselves out by a slip could leave the county without one
    if actor.id is not None and actor.username == username:
        raise ValueError(f"不能{what}，请由另一位管理员操作")


def _update_account(db: Database, actor: User, username: str, values: dict) -> None:
    """Set `values` on the user (columns from our own callers), audit the change and end the user's sessions."""

    def work(cur: Cursor):
        found = row_dict(cur, f"SELECT {', '.join(values)} FROM users WHERE username = ?", [username])
        if not found:
            raise ValueError(f"用户 {username} 不存在")
        before, after = audit.changed(found, values)
        if not after:
            return
        cur.execute(
            f"UPDATE users SET {', '.join(c + ' = ?' for c in after)} WHERE username = ?", [*after.values(), username]
        )
        _end_sessions(cur, username)
        audit.record(cur, actor, "update", "users", username, before, after)

    db.write(work)


def _end_sessions(cur: Cursor, username: str) -> None:
    """Delete every login session of the user: each open browser tab is logged out at its next rerun
    (ui/session.current_user checks the session on every run)."""
    cur.execute("DELETE FROM login_sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", [username])


def authenticate(db: Database, username: str, password: str, now: datetime | None = None) -> User:
    """The user, or LoginError with a message that does not tell which half was wrong.

    A wrong password is counted by one UPDATE that also locks at the limit (_count_failure), and the
    lock is evaluated again inside each log-in transaction: parallel guesses cannot outrun it.
    Unknown and disabled users are checked against a dummy hash, so that their refusal takes as
    long as a known user's and the clock does not tell which names exist.
    """
    now = now or datetime.now(UTC)
    rows = db.query_dicts("SELECT * FROM users WHERE username = ?", [(username or "").strip()])
    if not rows or not rows[0]["is_active"]:
        _password_matches(_dummy_hash(), password)
        raise LoginError("用户名或密码错误")
    row = rows[0]
    if _is_locked(row["locked_until"], now):  # early refusal, without the cost of a hash check
        raise LoginError(_locked_message(row["locked_until"], now))
    if not _password_matches(row["password_hash"], password):
        _count_failure(db, row, now)
    return _record_login(db, row, now)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made with the hasher's current parameters (so verifying it
    costs what a real check costs); made at first use, not at import, which the CLI would pay."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _password_matches(digest: str, password: str | None) -> bool:
    try:
        return _hasher.verify(digest, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def _locked_message(locked_until: datetime, now: datetime) -> str:
    # capped: a request that started just before the lock would otherwise read 16 of 15 minutes
    minutes = min(LOCK_MINUTES, max(1, int((locked_until - now).total_seconds() // 60) + 1))
    return f"连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试或联系管理员"


# The SQL of the two log-in writes. Neither uses UPDATE ... RETURNING: DuckDB runs that as delete +
# insert, which a foreign key to users would refuse (none exists today; migrations 003/004 keep it so).
# Re-reading the row in the same transaction costs nothing and is standard SQL.
_COUNT_FAILURE = (
    "UPDATE users SET failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END,"
    " locked_until = CASE WHEN failed_logins + 1 >= ? THEN CAST(? AS TIMESTAMPTZ) END"
    " WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)"
)
# A log-in succeeds only if the hash it verified is still the account's: a reset meanwhile wins.
_CLEAR_FAILURES = (
    "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ? AND is_active"
    " AND password_hash = ? AND (locked_until IS NULL OR locked_until <= ?)"
)

# Log-in writes of this process, one at a time: thirty parallel guesses at one account would
# otherwise conflict in DuckDB ("Conflict on update") faster than db.write's retries absorb them.
# Held only for the short transaction, never during the hash check.
_login_writes = threading.Lock()


def _login_write(db: Database, work):
    """db.write for the log-in bookkeeping; a conflict left after the retries (e.g. with an admin
    editing the same account) becomes a busy message, never a raw database error on the page."""
    try:
        with _login_writes:
            return db.write(work)
    except duckdb.Error as exc:
        log.warning("log-in write failed: %s", exc)
        raise LoginError("系统繁忙，请稍后再试") from exc


def _locked_until(cur: Cursor, user_id: int) -> datetime | None:
    found = cur.execute("SELECT locked_until FROM users WHERE id = ?", [user_id]).fetchone()
    return found[0] if found else None


def _count_failure(db: Database, row: dict, now: datetime) -> NoReturn:
    """Count one wrong password, or nothing if the account is locked meanwhile; always LoginError."""
    actor = _user(row)

    def fail(cur: Cursor):
        counted = first_value(
            cur,
            _COUNT_FAILURE,
            [LOCK_AFTER_FAILURES, LOCK_AFTER_FAILURES, now + timedelta(minutes=LOCK_MINUTES), row["id"], now],
        )
        locked_until = _locked_until(cur, row["id"])
        if counted:
            audit.record(cur, actor, "login_locked" if locked_until else "login_failed", "users", row["id"], None, None)
        return counted, locked_until

    counted, locked_until = _login_write(db, fail)
    if not counted and locked_until:
        raise LoginError(_locked_message(locked_until, now))
    if locked_until:
        raise LoginError(f"连续 {LOCK_AFTER_FAILURES} 次登录失败，账号锁定 {LOCK_MINUTES} 分钟")
    raise LoginError("用户名或密码错误")


def _record_login(db: Database, row: dict, now: datetime) -> User:
    """Clear the failure count and audit the log-in, unless the account was locked, disabled or given a
    new password meanwhile."""
    user = _user(row)

    def ok(cur: Cursor):
        if first_value(cur, _CLEAR_FAILURES, [row["id"], row["password_hash"], now]):
            audit.record(cur, user, "login", "users", row["id"], None, None)
            return True, None
        return False, _locked_until(cur, row["id"])

    accepted, locked_until = _login_write(db, ok)
    if accepted:
        return user
    if _is_locked(locked_until, now):
        raise LoginError(_locked_message(locked_until, now))
    raise LoginError("用户名或密码错误")


def session_expired(last_seen: datetime, now: datetime, minutes: int = SESSION_TIMEOUT_MINUTES) -> bool:
    return now - last_seen > timedelta(minutes=minutes)


# Sessions that survive a browser reload -------------------------------------------------------
# The browser keeps a random token in a cookie; the database keeps only its SHA-256, so a copy of
# the database file lets nobody in. A session ends after SESSION_TIMEOUT_MINUTES without activity
# (last_seen_at is refreshed at most every TOUCH_MINUTES, to keep page runs free of writes), after
# SESSION_MAX_HOURS in any case, and at logout.
SESSION_MAX_HOURS = 12
TOUCH_MINUTES = 5


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Database, user: User, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    db.write(
        lambda cur: cur.execute(
            "INSERT INTO login_sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [_token_hash(token), user.id, now, now, now + timedelta(hours=SESSION_MAX_HOURS)],
        )
    )
    return token


def resume_session(db: Database, token: str | None, now: datetime | None = None) -> User | None:
    """The user of a live session token, or None (unknown, expired, idle too long, user disabled)."""
    if not token:
        return None
    now = now or datetime.now(UTC)
    rows = db.query_dicts(
        "SELECT s.last_seen_at, s.expires_at, u.id, u.username, u.display_name, u.role, u.township_code"
        " FROM login_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND u.is_active",
        [_token_hash(token)],
    )
    if not rows:
        return None
    row = rows[0]
    if row["expires_at"] <= now or session_expired(row["last_seen_at"], now):
        close_session(db, token)
        return None
    if now - row["last_seen_at"] > timedelta(minutes=TOUCH_MINUTES):
        db.write(
            lambda cur: cur.execute(
                "UPDATE login_sessions SET last_seen_at = ? WHERE token_hash = ?", [now, _token_hash(token)]
            )
        )
    return User(row["id"], row["username"], row["display_name"], row["role"], row["township_code"])


def close_session(db: Database, token: str | None) -> None:
    if token:
        db.write(lambda cur: cur.execute("DELETE FROM login_sessions WHERE token_hash = ?", [_token_hash(token)]))


def list_users(db: Database):
    return db.frame(
        "SELECT u.username AS 用户名, u.display_name AS 姓名, u.role AS 角色, t.name AS 乡镇,"
        " u.is_active AS 启用, u.failed_logins AS 连续失败, u.locked_until AS 锁定至, u.is_demo AS 演示账号"
        " FROM users u LEFT JOIN townships t ON t.code = u.township_code ORDER BY u.role, u.township_code, u.username"
    )


def unlock(db: Database, actor: User, username: str) -> None:
    require_admin(actor, "解锁账号")

    def work(cur: Cursor):
        cur.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?", [username])
        audit.record(cur, actor, "update", "users", username, None, {"locked_until": None})

    db.write(work)
