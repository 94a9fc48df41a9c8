"""Log-in state of a browser session: the login form, the idle timeout, logout."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import streamlit as st

from emergency import auth, regions
from emergency.hygiene import escape_markdown as md
from emergency.ui.state import get_db

if TYPE_CHECKING:
    from ..db import Database

COOKIE = "emergency_session"
# The user app.py checked for this run (the page's require_login takes it instead of checking twice).
_this_run = threading.local()


def current_user() -> auth.User | None:
    """The logged-in user, or None (also after SESSION_TIMEOUT_MINUTES without activity).

    st.session_state["user"] is never trusted alone: every rerun checks the session token against
    the database (auth.resume_session, one lookup by primary key, ~1 ms), so a password reset, a
    disabled account or a role change, which delete the user's sessions, log an open tab out at its
    next rerun. A browser reload starts a new Streamlit session, resumed from the cookie the same way.
    """
    _write_cookie()
    now = datetime.now(UTC)
    logged_in = bool(st.session_state.get("user"))
    if logged_in and auth.session_expired(st.session_state.get("last_seen", now), now):
        logout("长时间未操作，已自动退出，请重新登录。")
        return None
    token = st.session_state.get("token") if logged_in else _cookie_token()
    user = auth.resume_session(get_db(), token, now)
    if user is None:
        if logged_in:
            logout("登录已失效（超时、密码被重置、账号被停用或角色被调整），请重新登录。")
        return None
    st.session_state.update(user=asdict(user), last_seen=now, token=token)
    return user


def _cookie_token() -> str | None:
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) and token else None


def logout(message: str | None = None) -> None:
    auth.close_session(get_db(), st.session_state.get("token"))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["cookie"] = ""  # cleared in the browser at the next run
    if message:
        st.session_state["logout_message"] = message


def _write_cookie() -> None:
    """Set or clear the session cookie in the browser (the token is ours: [A-Za-z0-9_-] only)."""
    if "cookie" not in st.session_state:
        return
    token = st.session_state.pop("cookie")
    age = auth.SESSION_MAX_HOURS * 3600 if token else 0
    st.html(
        f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age={age}; SameSite=Strict';</script>",
        unsafe_allow_javascript=True,
    )


def login_page() -> None:
    st.title("应急准备登记与演练调度系统")
    st.caption("县应急管理局 · 请登录后使用")
    if st.session_state.get("logout_message"):
        st.info(st.session_state.pop("logout_message"))
    with st.form("login"):
        username = st.text_input("用户名")
        password = st.text_input("密码", type="password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            user = auth.authenticate(get_db(), username, password)
        except auth.LoginError as exc:
            st.error(str(exc))
            return
        token = auth.open_session(get_db(), user)
        st.session_state.update(user=asdict(user), last_seen=datetime.now(UTC), token=token, cookie=token)
        st.rerun()


def sidebar(user: auth.User) -> None:
    db = get_db()
    with st.sidebar:
        code = user.township_code
        township = (
            db.memo(("places",), ("township_name", code), lambda: regions.township_name(db, code)) if code else None
        )
        st.markdown(f"**{md(user.display_name)}**  \n{user.role_label}" + (f" · {md(township)}" if township else ""))
        _reminder_status(db, user)
        if st.button("退出登录", key="logout"):
            logout("已退出登录。")
            st.rerun()


def _reminder_status(db: Database, user: auth.User) -> None:
    """Unread messages of this user's inbox; for admins, deliveries that failed for good."""
    from emergency.notify import channels, reminders

    # Kept on what they read (Database.memo), as every page's rerun draws them: the read marks are
    # bookkeeping (written by mark_read), so the count is read again after a read mark or a delivery.
    if user.id is not None:
        unread = db.memo(
            ("notifications", "bookkeeping"),
            ("unread_count", user.id, user.role, user.township_code),
            lambda: reminders.unread_count(db, user),
        )
        st.markdown(f"未读消息 **{unread}** 条（见“消息”）" if unread else "没有未读消息")
    if user.is_admin:
        failed = db.memo(("notifications",), ("failed_count",), lambda: channels.failed_count(db))
        if failed:
            st.warning(f"有 {failed} 条消息发送失败，请在“定时任务”页查看并处理。")


@contextmanager
def checked_for_this_run(user: auth.User):
    """While app.py runs the page: the user it has just checked (current_user), for require_login.
    Script runs of one session take turns on their thread, and the mark is cleared when the page
    returns, stops or reruns."""
    _this_run.user = user
    try:
        yield
    finally:
        _this_run.user = None


def require_login() -> auth.User:
    """Every page starts here: no data is drawn for a visitor who is not logged in (app.py has
    checked the session token for this run; a page run on its own checks it here)."""
    user = getattr(_this_run, "user", None) or current_user()
    if user is None:
        st.warning("请先登录。")
        st.stop()
    return user
