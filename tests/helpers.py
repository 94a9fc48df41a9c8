"""Helpers the tests import (fixtures stay in conftest.py).

- paths and small utilities: ROOT, at(), free_port(), user_row();
- real local servers standing in for the outside world of the reminders: an SMTP server (aiosmtpd)
  and an HTTP server that answers like the WeCom / DingTalk group robots (and checks DingTalk's
  signature the way DingTalk does), two robots that hang (one never answers, one never completes
  the TCP handshake), plus small seeding helpers for the reminder tests;
- browser tests: screenshot() and go_to() on a Playwright page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
TZ = ZoneInfo("Asia/Shanghai")


# The county's 2024 report (DOMAIN.md section 1): what the demo must reproduce.
REPORT_2024 = {
    "teams": 388,
    "members": 7349,
    "plans": 40,
    "plan_categories": 4,
    "townships": 16,
    "villages": 337,
    "county_township_drills": 92,
    "sector_drills": 522,
    "sector_participants": 6967,
}


def at(text: str) -> datetime:
    """'2024-09-30 07:30' in the county's time zone."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_row(db, username: str):
    """The demo account `username` as an auth.User."""
    from emergency import auth

    row = db.query_dicts(
        "SELECT id, username, display_name, role, township_code FROM users WHERE username = ?", [username]
    )[0]
    return auth.User(**row)


class RobotServer:
    """An HTTP server on 127.0.0.1: records every POST (with its arrival, time.monotonic()); `fail_next`
    answers HTTP 500 that many times; `throttle_next` answers that many times as a throttled robot
    does (`throttle_answer`, DingTalk's errcode 130101 "send too fast" by default); `delay` seconds
    before each answer; paths under /dingtalk must carry a valid timestamp+sign for `dingtalk_secret`."""

    def __init__(self, dingtalk_secret: str = "SECtest-secret-0123456789"):
        self.requests: list[dict] = []
        self.accepted: list[dict] = []
        self.fail_next = 0
        self.throttle_next = 0
        self.throttle_answer = {"errcode": 130101, "errmsg": "send too fast"}
        self.delay = 0.0
        self.dingtalk_secret = dingtalk_secret
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                request = {"path": parts.path, "query": query, "json": body, "at": arrived}
                robot.requests.append(request)
                time.sleep(robot.delay)
                if robot.fail_next > 0:
                    robot.fail_next -= 1
                    return self._answer(500, {"errcode": -1, "errmsg": "server busy"})
                if robot.throttle_next > 0:
                    robot.throttle_next -= 1
                    return self._answer(200, robot.throttle_answer)
                if parts.path.startswith("/dingtalk") and not robot.signature_ok(query):
                    return self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                robot.accepted.append(request)
                return self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def signature_ok(self, query: dict) -> bool:
        """DingTalk's check: sign == base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) (parse_qs decoded it)."""
        if "timestamp" not in query or "sign" not in query:
            return False
        expected = base64.b64encode(
            hmac.new(
                self.dingtalk_secret.encode(), f"{query['timestamp']}\n{self.dingtalk_secret}".encode(), hashlib.sha256
            ).digest()
        ).decode()
        return hmac.compare_digest(expected, query["sign"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class HangingServer:
    """A robot that hangs: accepts every TCP connection on 127.0.0.1 and never answers; `connections`
    counts them."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except TimeoutError:
                continue

    @property
    def connections(self) -> int:
        return len(self.held)

    def close(self):
        self._stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


class UnreachableServer:
    """A robot behind a firewall that drops packets: a listening socket that never accepts, its queue
    filled, so that the kernel drops every further SYN and a connect() never completes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        address = self.sock.getsockname()
        self.url = f"http://{address[0]}:{address[1]}"
        self.fillers = []
        while True:  # Linux queues one connection at backlog 0; fill until a connect() stalls
            filler = socket.socket()
            filler.settimeout(0.3)
            self.fillers.append(filler)
            try:
                filler.connect(address)
            except TimeoutError:
                break
            assert len(self.fillers) < 10, "the listen queue never filled"

    def close(self):
        for filler in self.fillers:
            filler.close()
        self.sock.close()


class MailServer:
    """aiosmtpd on 127.0.0.1 and a free port; `messages` holds the parsed e-mails received."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        mail = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mail.messages.append(
                    {"to": envelope.rcpt_tos, "message": message_from_bytes(envelope.content, policy=default_policy)}
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


def add_planned_drill(db, township_code: str | None, planned_on, title: str = "防汛应急演练") -> int:
    return db.scalar(
        "INSERT INTO planned_drills (title, level, township_code, planned_on) VALUES (?, ?, ?, ?) RETURNING id",
        [title, "township" if township_code else "county", township_code, planned_on],
    )


def add_team_member(db, township_code: str | None, *, insurance_until=None, name: str = "张测试") -> tuple[int, int]:
    team = db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on) VALUES"
        " (?, 'grassroots', ?, ?, DATE '2020-01-01') RETURNING id",
        [f"测试救援队{township_code or '县级'}", "township" if township_code else "county", township_code],
    )
    member = db.scalar(
        "INSERT INTO members (team_id, name, joined_on, insurance_until) VALUES (?, ?, DATE '2020-01-01', ?)"
        " RETURNING id",
        [team, name, insurance_until],
    )
    return team, member


def add_certificate(db, member_id: int, expires_on, name: str = "救护员证") -> int:
    return db.scalar(
        "INSERT INTO certificates (member_id, name, expires_on) VALUES (?, ?, ?) RETURNING id",
        [member_id, name, expires_on],
    )


def add_corrective_action(db, township_code: str | None, due_on, description: str = "通信联络不畅") -> int:
    drill = db.scalar(
        "INSERT INTO drills (title, level, organiser, township_code, held_on, form, content, participants)"
        " VALUES ('测试演练', ?, '测试单位', ?, DATE '2024-01-10', 'tabletop', 'single', 10) RETURNING id",
        ["township" if township_code else "county", township_code],
    )
    return db.scalar(
        "INSERT INTO corrective_actions (drill_id, description, owner, due_on) VALUES (?, ?, '李测试', ?) RETURNING id",
        [drill, description, due_on],
    )


def add_roll_call(db, township_code: str, called_at: datetime) -> int:
    return db.scalar(
        "INSERT INTO roll_calls (township_code, called_at) VALUES (?, ?) RETURNING id", [township_code, called_at]
    )


def add_channel(db, township_code: str | None, kind: str, address: str, secret: str | None = None) -> int:
    return db.scalar(
        "INSERT INTO channels (township_code, kind, address, secret) VALUES (?, ?, ?, ?) RETURNING id",
        [township_code, kind, address, secret],
    )


def keys_for(created, subject_type: str, subject_id) -> list[str]:
    return sorted(c.dedup_key for c in created if c.subject_type == subject_type and c.subject_id == str(subject_id))


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def login(page, url: str, username: str, password: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(username, timeout=90_000)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def go_to(page, title: str) -> None:
    """Open a page by its sidebar link (a reload would start a new, logged-out session)."""
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_role("link", name=title, exact=True)
    if not link.count():
        more = nav.get_by_text("View ", exact=False)
        if more.count():
            more.first.click()
    link.first.click()


def wait_until_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the session's script run has ended: Streamlit shows its status widget while a run
    is on, and a widget used during a run can be redrawn under the hand that used it."""
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=timeout_ms)


def open_browser_tab(page, tab, timeout_ms: int = 60_000) -> None:
    """Click a tab (its locator, or its name) and wait until the page has drawn it: a lazy tab
    (widgets.lazy_tabs) is empty until the rerun its click starts has sent its content."""
    if isinstance(tab, str):
        tab = page.get_by_role("tab", name=tab, exact=True)
    tab.click()
    panel = page.get_by_role("tabpanel").filter(visible=True).first
    drawn = panel.locator("[data-testid]")  # any element (a table alone has no text: a canvas)
    waited = 0
    while not drawn.count():
        if waited > timeout_ms:
            raise TimeoutError("the tab was not drawn")
        page.wait_for_timeout(100)
        waited += 100
    wait_until_idle(page, timeout_ms)
    page.wait_for_timeout(300)


@contextmanager
def scheduler_writing(db):
    """The real scheduler on `db` (the app's Database: state.get_db()), its delivery job every 0.3 s,
    after it has committed its bookkeeping (job_runs) three times: what a cache must survive."""
    from apscheduler.triggers.interval import IntervalTrigger

    from emergency import scheduler

    running = scheduler.start(db, startup_delay_seconds=0.1, deliver_trigger=IntervalTrigger(seconds=0.3))
    try:
        writes, deadline = db.generation, time.monotonic() + 30
        while db.scalar("SELECT coalesce(sum(runs), 0) FROM job_runs") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert db.scalar("SELECT coalesce(sum(runs), 0) FROM job_runs") >= 3 and db.generation > writes
        yield running
    finally:
        scheduler.stop(running, wait=True)


def count_calls(monkeypatch, module, name: str) -> list:
    """Replace module.name by a wrapper that still calls it; the returned list grows by one per call."""
    calls: list = []
    real = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def assert_cached_while_the_scheduler_writes(at, calls: list, write) -> None:
    """A page's read (counted by count_calls) is served from its cache on a rerun while the real
    scheduler commits its bookkeeping, and read again after `write(app_db)` changes what it reads."""
    from emergency.ui import state

    assert not at.exception and len(calls) == 1
    app_db = state.get_db()
    with scheduler_writing(app_db):
        at.run()
        assert not at.exception and len(calls) == 1  # served from the cache
        write(app_db)
        at.run()
        assert not at.exception and len(calls) == 2  # the write is read


def untrain_a_member(db) -> None:
    """A registry write: a trained member's training recorded as failed today."""
    from emergency import teams
    from emergency.db import local_today

    member = db.scalar("SELECT min(id) FROM members WHERE training_passed")
    teams.record_training(db, user_row(db, "admin"), member, False, local_today())


def lengthen_the_village_rule(db) -> None:
    """A rule write: villages drill every 24 months."""
    from emergency import deadlines

    deadlines.set_rule(db, user_row(db, "admin"), "village_yearly", months=24)


@contextmanager
def running_server(db: Path, log_dir: Path):
    """The app started as a user starts it (streamlit run server.py) on `db`, until the block ends."""
    port = free_port()
    env = dict(os.environ, EMERGENCY_DB=str(db), EMERGENCY_SCHEDULER="on")
    log = open(log_dir / "server.log", "w+")  # noqa: SIM115 - open for the server's lifetime, read on failure
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "server.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            log.seek(0)
            raise RuntimeError("server did not start:\n" + log.read())
        yield {"url": url, "db": db, "startup_seconds": time.monotonic() - started, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


ACCOUNT_CHANGES = ("password reset", "role change", "disabled")


def change_account(db, change: str) -> None:
    """What the admin may do to the demo account town100 that must end its sessions (ACCOUNT_CHANGES)."""
    from emergency import auth

    admin = user_row(db, "admin")
    if change == "password reset":
        auth.set_password(db, admin, "town100", "New-pass-2026")
    elif change == "role change":
        auth.set_role(db, admin, "town100", "viewer")
    else:
        auth.set_active(db, admin, "town100", False)


def xls_bytes(sheets: dict[str, tuple[list[str], list[list]]], *, title: str | None = None) -> bytes:
    """An old-Excel (.xls, BIFF8) workbook written by xlwt (a dev dependency), for the import tests."""
    import io

    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, (headers, rows) in sheets.items():
        sheet = book.add_sheet(name)
        offset = 0
        if title:
            sheet.write_merge(0, 0, 0, len(headers) - 1, title)
            offset = 1
        for r, row in enumerate([headers, *rows]):
            for c, value in enumerate(row):
                if value not in (None, ""):
                    sheet.write(r + offset, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class WebsocketBytes:
    """The bytes the server sends to a Playwright `page` over Streamlit's websocket (frames received),
    counted from the moment it is attached: what a page costs the browser."""

    def __init__(self, page):
        self.total = 0
        self.frames = 0
        self.last_at = time.monotonic()  # when the last frame arrived
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        self.total += len(payload.encode() if isinstance(payload, str) else payload)
        self.frames += 1
        self.last_at = time.monotonic()

    def settled(self, page, quiet_ms: int = 1500, timeout_ms: int = 120_000) -> int:
        """Wait until no frame has arrived for `quiet_ms` and the script no longer runs (the page is
        drawn); the bytes so far."""
        waited, last = 0, (-1, -1)
        while waited < timeout_ms:
            page.wait_for_timeout(quiet_ms)
            waited += quiet_ms
            running = page.locator('[data-testid="stStatusWidget"]').count()  # Streamlit's "running" mark
            if (self.total, self.frames) == last and not running:
                return self.total
            last = (self.total, self.frames)
        raise TimeoutError(f"frames still arriving after {timeout_ms} ms")


def page_bytes(page, counter: WebsocketBytes, title: str, heading: str | None = None) -> int:
    """Open the page `title` from the sidebar (waiting for its `heading` when given) and return the
    websocket bytes it took to draw it, until no frame arrived for 1.5 s
    (`counter` attached to `page` before the log-in, so that it sees the app's websocket)."""
    counter.settled(page, quiet_ms=800)
    before = counter.total
    go_to(page, title)
    if heading:
        page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)
    return counter.settled(page) - before


def open_tab(at, key: str, label: str):
    """Open the tab `label` of the page's lazy tabs `key` (widgets.lazy_tabs: only the open tab runs)
    and rerun, as a click on the tab does in the browser."""
    at.session_state[key] = label
    return at.run()


def open_expander(at, *keys: str):
    """Open the lazy expanders `keys` (widgets.lazy_expander: a closed one runs nothing) and rerun,
    as a click on them does in the browser."""
    for key in keys:
        at.session_state[key] = True
    return at.run()


def each_tab(at, key: str):
    """`at` with each tab of the page's lazy tabs `key` open in turn, the first included (a check over
    what a page shows must look under every tab: hidden tabs are not drawn)."""
    labels = [t.label for t in at.tabs]
    assert labels, "the page has no tabs"
    for label in labels:
        open_tab(at, key, label)
        assert not at.exception, (label, at.exception)
        yield label


def ask_for_the_second_click() -> None:
    """Called inside a page's write (a service call wrapped by the test): ask for a new run as the
    server does when a double click's second click arrives, with this run's widget states (its 保存
    trigger still on) and its page. Streamlit then stops this run at its next element or
    session-state access, and runs the page again as the second click would."""
    from streamlit.proto.WidgetStates_pb2 import WidgetStates
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    ctx = get_script_run_ctx()
    assert ctx is not None, "not inside a script run"
    states = WidgetStates()
    states.widgets.extend(ctx.session_state._state.get_widget_states())
    ctx.script_requests.request_rerun(RerunData(widget_states=states, page_script_hash=ctx.page_script_hash))
