"""The benchmark's browser part: what a user feels, through the real server.

The app is started as `./start.sh` starts it (`streamlit run server.py`, the scheduler on) on the
benchmark's database; Debian's chromium, driven by Playwright, logs in as the bureau's admin and
opens each page from the sidebar. A page view lasts from the click until the script run it started
has finished (the server's `script_finished` message has arrived over the websocket) and the
browser has drawn it (the app root's `data-test-script-state` is notRunning; for 地图 also until
Leaflet has drawn in the map's frame). Beside its time: the bytes
received over the websocket during the view, and the server process's CPU time (user + system,
from /proc: DuckDB's threads included) spent meanwhile.

The concurrency run opens N sessions at once (one browser, N contexts, all logged in before the
clock starts: argon2 log-ins apart), each clicking through the pages from its own starting point
with a pause of about `think` seconds between clicks, and reports the median, 95th percentile and
worst page time, the same for the server's answer alone (StreamTap: from the run asked for to its
script_finished, as they pass between browser and server), and the server's CPU per view. The browsers run below the server (LAUNCHER): in the field they are on other machines.

Each run of N > 1 sessions is followed by its probe (`_probed`): the same N sessions at once as the
field has them, one real browser drawing here and N-1 wire sessions (WireSession: the messages a
real session sent, sent again over the websocket, nothing drawn), whose browsers would be on their
operators' PCs. The one browser's times are what an operator feels while the others click.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from .db import PROJECT_DIR

EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEW_TIMEOUT_MS = 180_000
# Run as root, chromium raises its renderers to nice -8, above the server it is measuring. In the
# field each operator's browser runs on the operator's own PC; here they share the server's cores,
# so they run at nice 10 and without the capability to raise it: the server is served first.
LAUNCHER = """#!/bin/sh
exec setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice nice -n 10 {chromium} "$@"
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Page:
    title: str  # the sidebar link
    url_path: str


def admin_pages(only: list[str] | None = None) -> list[Page]:
    """The pages the bureau's admin sees (system administration apart), or those named by url_path."""
    from .ui import nav

    pages = [Page(p.title, p.url_path) for p in nav.PAGES if "admin" in p.roles and p.section != "系统管理"]
    if only:
        by_path = {p.url_path: p for p in pages}
        unknown = [name for name in only if name not in by_path]
        if unknown:
            raise ValueError(f"未知的页面：{'、'.join(unknown)}（可选：{'、'.join(by_path)}）")
        pages = [by_path[name] for name in only]
    return pages


DETOUR = Page("乡镇与村（社区）", "places")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy so far (every core; /proc/stat, idle and iowait
    apart): beside the server's own CPU, what the browsers of a concurrency run take."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


def launcher(workdir: Path) -> str:
    """The chromium to launch: LAUNCHER written into `workdir`, or chromium itself without setpriv."""
    if not shutil.which("setpriv"):
        return CHROMIUM
    path = workdir / "chromium-below-server"
    path.write_text(LAUNCHER.format(chromium=CHROMIUM))
    path.chmod(0o755)
    return str(path)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(db_path: Path, log_path: Path, timeout_s: float = 900) -> Iterator[dict]:
    """The app started as a user starts it on `db_path` (scheduler on), until the block ends:
    yields {"url", "pid", "startup_s"} (startup_s: from the start to the first healthy answer)."""
    port = free_port()
    env = dict(os.environ, EMERGENCY_DB=str(db_path), EMERGENCY_SCHEDULER="on")
    command = [sys.executable, "-m", "streamlit", "run", "server.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    with open(log_path, "w+") as log:
        started = time.monotonic()
        proc = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() - started > timeout_s:
                    log.seek(0)
                    raise RuntimeError("server did not start:\n" + log.read()[-3000:])
                time.sleep(0.1)
            yield {"url": url, "pid": proc.pid, "startup_s": time.monotonic() - started}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def first_start(workdir: Path) -> float:
    """Seconds from `streamlit run server.py` on a database file that does not exist yet (it is
    created and filled with the demo) to the server's first healthy answer."""
    path = workdir / "first_start.duckdb"
    for leftover in (path, path.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    with serve(path, workdir / "first_start.log") as running:
        return running["startup_s"]


class StreamTap:
    """A TCP relay between one session's browser and the server that notes when the server is asked
    for a run (a `rerun_script` BackMsg) and when it has answered (the run's `script_finished`), as
    the bytes pass: the server's own response time, whatever the browsers' share of the cores.
    The websocket is opened without compression (the request's extension header is dropped) so
    that its frames can be read."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.asked: list[float] = []  # perf_counter of each rerun_script the browser sent
        self.answered: list[float] = []  # ... of each script_finished (not cut short for a rerun)
        self.sent: list[bytes] = []  # each rerun_script as sent (what a WireSession sends again)
        self.head = b""  # the websocket's upgrade request as relayed
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self.server:
            self.server.close()

    def response_time(self, after: float, until: float) -> float:
        """From the first run asked for after `after` to the last answer by `until`."""
        asked = next((t for t in self.asked if t >= after), after)
        answered = max((t for t in self.answered if t <= until), default=until)
        return max(0.0, answered - asked)

    async def _relay(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            head = await client_reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            client_writer.close()
            server_writer.close()
            return
        stream = head.startswith(b"GET /_stcore/stream")
        if stream:
            lines = head.split(b"\r\n")
            head = b"\r\n".join(x for x in lines if not x.lower().startswith(b"sec-websocket-extensions:"))
            self.head = head
        server_writer.write(head)
        await asyncio.gather(
            self._pump(client_reader, server_writer, self._from_browser if stream else None),
            self._pump(server_reader, client_writer, self._from_server if stream else None, skip_head=stream),
        )

    async def _pump(self, reader, writer, on_message, skip_head: bool = False) -> None:
        frames = FrameReader(on_message, skip_head) if on_message else None
        try:
            while data := await reader.read(65536):
                writer.write(data)
                if frames:
                    frames.feed(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _from_browser(self, payload: bytes) -> None:
        message = parsed(BackMsg, payload)
        if message is not None and message.WhichOneof("type") == "rerun_script":
            self.asked.append(time.perf_counter())
            self.sent.append(payload)

    def _from_server(self, payload: bytes) -> None:
        message = parsed(ForwardMsg, payload)
        if message is not None and ends_a_run(message):
            self.answered.append(time.perf_counter())


def parsed(kind, payload: bytes):
    """`payload` as a message of protobuf class `kind` (BackMsg, ForwardMsg), or None if it is not one."""
    message = kind()
    try:
        message.ParseFromString(payload)
    except DecodeError:
        return None
    return message


def ends_a_run(message: ForwardMsg) -> bool:
    """The run's script_finished: not one cut short for a rerun (st.rerun), which another run follows."""
    return message.WhichOneof("type") == "script_finished" and message.script_finished != EARLY_FOR_RERUN


EXTENDED_LENGTH = {126: 2, 127: 8}  # a frame's 7-bit length 126 or 127: the length in the next 2 or 8 bytes


class FrameReader:
    """Reassembles websocket frames (RFC 6455) from a byte stream and hands each binary message's
    payload to `on_message`; `skip_head`: the stream starts with the HTTP upgrade answer."""

    def __init__(self, on_message, skip_head: bool, on_ping=None):
        self.on_message = on_message
        self.on_ping = on_ping  # called with a ping's payload (a client must answer it with a pong)
        self.buffer = b""
        self.in_head = skip_head

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if self.in_head:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.buffer, self.in_head = self.buffer[end + 4 :], False
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            length, at = second & 0x7F, 2 + EXTENDED_LENGTH.get(second & 0x7F, 0)
            if len(self.buffer) < at:
                return
            if at > 2:
                length = int.from_bytes(self.buffer[2:at], "big")
            mask = b""
            if second & 0x80:
                mask, at = self.buffer[at : at + 4], at + 4
            if len(self.buffer) < at + length:
                return
            payload, self.buffer = self.buffer[at : at + length], self.buffer[at + length :]
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if first & 0x0F == 2:  # a binary frame: Streamlit sends each message whole
                self.on_message(payload)
            elif first & 0x0F == 9 and self.on_ping:
                self.on_ping(payload)


class Session:
    """One logged-in browser tab, counting the websocket bytes it receives."""

    def __init__(self, context, page, tap: StreamTap):
        self.context = context
        self.page = page
        self.tap = tap
        self.received = 0
        # Script runs as the websocket tells them: each starts with new_session and ends with
        # script_finished. A click's run is the first to start after the click: the end of a run
        # still in flight from before (or of one cut short by st.rerun) must not end the view.
        self.started = 0
        self.done = False  # the last run started has finished
        self.current = "overview"  # where a log-in lands
        self.answered = 0.0  # the last view's server response time (StreamTap)
        self.asked_for: dict[str, bytes] = {}  # the rerun_script each page's view sent (wire_script)
        self.login_message = b""
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framereceived", self._count)

    def _count(self, payload) -> None:
        if isinstance(payload, str):
            self.received += len(payload.encode("utf-8"))
            return
        self.received += len(payload)
        message = parsed(ForwardMsg, payload)
        if message is None:
            return
        if message.WhichOneof("type") == "new_session":
            self.started, self.done = self.started + 1, False
        elif ends_a_run(message):
            self.done = True

    @classmethod
    async def open(cls, browser, url: str, username: str, password: str) -> Session:
        context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        context.set_default_timeout(VIEW_TIMEOUT_MS)  # a loaded 2-core machine: no 30 s defaults
        tap = StreamTap(int(url.rsplit(":", 1)[1]))
        session = cls(context, await context.new_page(), tap)
        page = session.page
        await page.goto(await tap.start(), wait_until="domcontentloaded", timeout=VIEW_TIMEOUT_MS)
        await page.get_by_label("用户名").fill(username, timeout=VIEW_TIMEOUT_MS)
        await page.get_by_label("密码").fill(password)
        before = len(tap.sent)
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("heading", name="总览").wait_for(timeout=VIEW_TIMEOUT_MS)
        await page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached", timeout=VIEW_TIMEOUT_MS
        )
        session.login_message = tap.sent[before]
        return session

    async def view(self, target: Page) -> tuple[float, int]:
        """Open `target` from the sidebar: (seconds until drawn, websocket bytes received)."""
        page = self.page
        before, runs, asked = self.received, self.started, len(self.tap.sent)
        started = time.perf_counter()
        nav = page.get_by_test_id("stSidebarNav")
        link = nav.get_by_role("link", name=target.title, exact=True)
        if not await link.count():
            more = nav.get_by_text("View ", exact=False)
            if await more.count():
                await more.first.click()
        await link.first.click()
        while self.started == runs or not self.done:  # the run this click started has finished...
            if time.perf_counter() - started > VIEW_TIMEOUT_MS / 1000:
                raise TimeoutError(f"{target.title}：{VIEW_TIMEOUT_MS // 1000} 秒内未完成")
            await asyncio.sleep(0.01)
        # ... and the browser has drawn what it sent
        await page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached", timeout=VIEW_TIMEOUT_MS
        )
        if target.url_path == "map":
            frame = page.frame_locator("iframe[title*='st_folium']")
            await frame.locator(".leaflet-overlay-pane path").first.wait_for(timeout=VIEW_TIMEOUT_MS)
        self.current = target.url_path
        self.answered = self.tap.response_time(started, time.perf_counter())
        if len(self.tap.sent) > asked:
            self.asked_for[target.url_path] = self.tap.sent[asked]
        return time.perf_counter() - started, self.received - before

    async def leave(self, target: Page) -> None:
        """A click on the page shown does not rerun it: go to another (light) page first, untimed."""
        if self.current == target.url_path:
            await self.view(DETOUR if target != DETOUR else admin_pages(["overview"])[0])

    def wire_script(self) -> WireScript:
        """What this session sent to connect, log in and open each page it has viewed: the same
        messages sent again open the same pages (widget ids and page hashes are the script's own)."""
        assert self.tap.server is not None
        return WireScript(
            head=self.tap.head,
            relay_port=self.tap.server.sockets[0].getsockname()[1],
            connect=self.tap.sent[0],
            login=self.login_message,
            pages=dict(self.asked_for),
        )

    async def close(self) -> None:
        await self.context.close()
        await self.tap.close()


@dataclass(frozen=True)
class WireScript:
    head: bytes  # the browser's websocket upgrade request (its xsrf cookie and subprotocols)
    relay_port: int  # the port the browser reached, named in the head's Host and Origin
    connect: bytes  # the first rerun_script of a new tab
    login: bytes  # the log-in form's submission (its widget states)
    pages: dict[str, bytes]  # url path: the rerun_script a click on its sidebar link sends


def client_frame(payload: bytes) -> bytes:
    """A masked binary websocket frame, as a client must send it (RFC 6455)."""
    n, mask = len(payload), os.urandom(4)
    if n < 126:
        head = bytes([0x82, 0x80 | n])
    elif n < 65536:
        head = bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x82, 0x80 | 127]) + n.to_bytes(8, "big")
    key = (mask * (n // 4 + 1))[:n]  # the mask repeated over the payload, XORed as one integer
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + body


class WireSession:
    """A session that speaks to the server as a browser does, over the websocket, and draws nothing:
    it sends the messages a real session sent (WireScript) and waits for each run's script_finished.
    The server runs the same scripts and sends the same deltas. In the field every operator's
    browser draws on the operator's own PC; the concurrency run's probe puts N-1 of these beside one
    real browser, so the machine's cores go to the server and the one browser measured."""

    def __init__(self, script: WireScript, port: int):
        self.script, self.port = script, port
        self.started = 0
        self.done = False
        self.received = 0
        self.writer: asyncio.StreamWriter | None = None
        self.reading: asyncio.Task | None = None

    async def open(self) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.script.head.replace(b":%d" % self.script.relay_port, b":%d" % self.port))
        answer = await reader.readuntil(b"\r\n\r\n")  # frames sent before the upgrade's answer are lost
        if not answer.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(answer.decode(errors="replace")[:200])
        frames = FrameReader(self._message, skip_head=False, on_ping=self._pong)
        self.reading = asyncio.create_task(self._read(reader, frames))
        await self._run(self.script.connect)
        await self._run(self.script.login)

    async def view(self, target: Page) -> float:
        """Ask for `target` as a click on its link does: seconds until the server has answered."""
        return await self._run(self.script.pages[target.url_path])

    async def close(self) -> None:
        if self.writer:
            self.writer.close()
        if self.reading:
            self.reading.cancel()

    async def _run(self, message: bytes) -> float:
        assert self.writer is not None
        runs, started = self.started, time.perf_counter()
        self.writer.write(client_frame(message))
        await self.writer.drain()
        while self.started == runs or not self.done:
            if time.perf_counter() - started > VIEW_TIMEOUT_MS / 1000:
                raise TimeoutError(f"{VIEW_TIMEOUT_MS // 1000} 秒内服务器未答复")
            await asyncio.sleep(0.01)
        return time.perf_counter() - started

    async def _read(self, reader, frames: FrameReader) -> None:
        while data := await reader.read(65536):
            self.received += len(data)
            frames.feed(data)

    def _message(self, payload: bytes) -> None:
        message = parsed(ForwardMsg, payload)
        if message is None:
            return
        if message.WhichOneof("type") == "new_session":
            self.started, self.done = self.started + 1, False
        elif ends_a_run(message):
            self.done = True

    def _pong(self, payload: bytes) -> None:
        if self.writer:
            frame = bytearray(client_frame(payload))
            frame[0] = 0x8A  # a pong, the ping's payload back
            self.writer.write(bytes(frame))


def note(text: str) -> None:
    print(f"  browser: {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(seconds: list[float], prefix: str = "") -> dict:
    """The median, 95th percentile and worst of some view times, as the report's keys name them."""
    return {
        f"{prefix}median_s": statistics.median(seconds),
        f"{prefix}p95_s": percentile(seconds, 95),
        f"{prefix}max_s": max(seconds),
    }


async def _measure(
    url: str, pid: int, chromium: str, pages: list[Page], sessions: list[int], views: int, think: float
) -> dict:
    from playwright.async_api import async_playwright

    from .demo import DEMO_PASSWORDS

    password = DEMO_PASSWORDS["admin"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            # Each page once from a fresh session, then once more (the second view is warm).
            one = await Session.open(browser, url, "admin", password)
            per_page: dict[str, dict] = {}
            for visit in ("first", "again"):
                for target in pages:
                    await one.leave(target)
                    cpu = process_cpu(pid)
                    seconds, received = await one.view(target)
                    cpu = process_cpu(pid) - cpu
                    note(
                        f"{visit} view of {target.url_path}: {seconds:.2f} s, {received / 1000:.0f} kB, CPU {cpu:.2f} s"
                    )
                    if visit == "first":
                        per_page[target.url_path] = {
                            "page": target.url_path,
                            "title": target.title,
                            "first_s": seconds,
                            "bytes": received,
                            "cpu_first_s": cpu,
                        }
                    else:
                        per_page[target.url_path].update(
                            {"again_s": seconds, "again_bytes": received, "cpu_again_s": cpu}
                        )
            script = one.wire_script()
            await one.close()
            runs = []
            for n in sessions:
                runs.append(await _concurrent(browser, url, password, pid, pages, n, views, think))
                run = runs[-1]
                note(
                    f"{n} sessions: median {run['median_s']:.2f} s, p95 {run['p95_s']:.2f} s; answered: median "
                    f"{run['answered_median_s']:.2f} s, p95 {run['answered_p95_s']:.2f} s"
                )
                if n > 1:
                    run["probe"] = probe = await _probed(browser, url, password, pid, pages, n, views, think, script)
                    note(
                        f"{n} sessions, one drawing here: median {probe['median_s']:.2f} s, p95 {probe['p95_s']:.2f}"
                        f" s; every session answered: p95 {probe['answered_p95_s']:.2f} s"
                    )
        finally:
            await browser.close()
    return {"pages": list(per_page.values()), "concurrency": runs}


async def _concurrent(browser, url, password, pid, pages, n, views, think) -> dict:
    gate = asyncio.Semaphore(4)  # log-ins (argon2) four at a time, before the clock starts

    async def opened() -> Session:
        async with gate:
            return await Session.open(browser, url, "admin", password)

    sessions = await asyncio.gather(*(opened() for _ in range(n)))
    times: list[float] = []
    answered: list[float] = []
    received: list[int] = []
    rng = random.Random(n)

    async def walk(i: int, session: Session) -> None:
        await asyncio.sleep(rng.uniform(0, think))  # not all at the same instant
        for k in range(views):
            target = pages[(i + k) % len(pages)]
            await session.leave(target)
            seconds, got = await session.view(target)
            times.append(seconds)
            answered.append(session.answered)
            received.append(got)
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

    cpu, busy, started = process_cpu(pid), machine_busy(), time.perf_counter()
    await asyncio.gather(*(walk(i, s) for i, s in enumerate(sessions)))
    cpu, busy, wall = process_cpu(pid) - cpu, machine_busy() - busy, time.perf_counter() - started
    await asyncio.gather(*(s.close() for s in sessions))
    return {
        "sessions": n,
        "views": len(times),
        "think_s": think,
        **spread(times),
        # from the click to the server's last message of the run (before the browser draws it)
        **spread(answered, "answered_"),
        "server_cpu_per_view_s": cpu / len(times),
        # the machine's CPU over the run per view (server, the N browsers, the rest) and its cores
        # kept busy on average: with every core busy the browsers, not the server, set the pace
        "machine_cpu_per_view_s": busy / len(times),
        "cores_busy": busy / wall,
        "views_per_s": len(times) / wall,
        "mean_bytes": statistics.mean(received),
    }


async def _probed(browser, url, password, pid, pages, n, views, think, script: WireScript) -> dict:
    """N sessions at once as the field has them: one real browser drawing on this machine, N-1 wire
    sessions (WireSession) whose browsers would draw on their operators' own PCs. The N-1 click
    through the pages with the same pauses until the browser has made its views (2 × views, at least
    12, for a percentile of its own); its times are what an operator feels while N-1 others click."""
    port = int(url.rsplit(":", 1)[1])
    gate = asyncio.Semaphore(4)  # log-ins (argon2) four at a time, before the clock starts

    async def opened_wire() -> WireSession:
        async with gate:
            wire = WireSession(script, port)
            await wire.open()
            return wire

    drawing = await Session.open(browser, url, "admin", password)
    wires = await asyncio.gather(*(opened_wire() for _ in range(n - 1)))
    rng = random.Random(n)
    times: list[float] = []
    answered: list[float] = []  # every session's: the browser's (StreamTap) and the wire sessions'
    finished = asyncio.Event()

    async def draw() -> None:
        await asyncio.sleep(rng.uniform(0, think))
        for k in range(max(2 * views, 12)):
            target = pages[k % len(pages)]
            await drawing.leave(target)
            seconds, _ = await drawing.view(target)
            times.append(seconds)
            answered.append(drawing.answered)
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
        finished.set()

    async def click(i: int, wire: WireSession) -> None:
        await asyncio.sleep(rng.uniform(0, think))
        k = i
        while not finished.is_set():
            answered.append(await wire.view(pages[k % len(pages)]))
            k += 1
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

    cpu, busy, started = process_cpu(pid), machine_busy(), time.perf_counter()
    await asyncio.gather(draw(), *(click(i + 1, w) for i, w in enumerate(wires)))
    cpu, busy, wall = process_cpu(pid) - cpu, machine_busy() - busy, time.perf_counter() - started
    await drawing.close()
    await asyncio.gather(*(w.close() for w in wires))
    return {
        "sessions": n,
        "views": len(times),  # the drawing browser's
        **spread(times),
        "answered_views": len(answered),
        **spread(answered, "answered_"),
        "server_cpu_per_view_s": cpu / len(answered),
        "machine_cpu_per_view_s": busy / len(answered),
        "cores_busy": busy / wall,
        "views_per_s": len(answered) / wall,
    }


def measure(db_path: Path, workdir: Path, pages: list[Page], sessions: list[int], views: int, think: float) -> dict:
    """Start the server on `db_path` and measure: per page, then each concurrency run."""
    with serve(db_path, workdir / f"{db_path.stem}.server.log") as running:
        chromium = launcher(workdir)
        result = asyncio.run(_measure(running["url"], running["pid"], chromium, pages, sessions, views, think))
        result["startup_s"] = running["startup_s"]
    return result
