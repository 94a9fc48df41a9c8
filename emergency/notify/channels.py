"""Delivery of notifications beyond the in-app inbox: SMTP e-mail, WeCom and DingTalk group robots.

The in-app inbox needs no delivery: the notification row is the message. For every other channel
the sweep creates one `deliveries` row per (notification, channel) in the same transaction as the
notification (an outbox), and `deliver()` works through the pending ones:

1. claim: in its own committed transaction, move next_attempt_at forward by a lease (5 minutes),
   only if the row is still pending and due. Two deliverers (or a duplicate scheduler after a code
   reload) cannot both claim it.
2. send (outside any transaction).
3. record: in one transaction, a delivery_attempts row and the delivery's new state: 'sent'; or,
   after a failure, the next attempt at now + base * 2^(attempts-1) (at most 6 hours), or 'failed'
   after max_attempts (shown to the admin on the scheduler page and in the sidebar).

A delivery already 'sent' is never selected again, across restarts. The one window for a double
message is a crash after the server accepted the message (step 2) and before step 3 commits
(milliseconds): the lease then expires and the message is sent again. A crash anywhere else sends it
once: after a crash before step 2 the lease expires and the message is sent after restart.

Each channel is delivered on its own: one queue per channel (its messages one after another, urgent
first), worked through by a small thread pool, WORKERS channels at once. Delivery used to be one
loop over all messages with a 10 s timeout, so a robot that hangs (accepts the connection, never
answers) held every township's messages behind its own: 19 of them kept a healthy township's
message waiting 191 s in tests/test_channels.py (80-182 s reported), and a pass of 200 could take
33 minutes. Now a hanging robot holds only its own queue; reaching a robot may take CONNECT_TIMEOUT
(3 s), its answer READ_TIMEOUT (10 s); and after a timeout the channel is backed off as a whole: its
other pending messages wait with the one that timed out (their next_attempt_at moved, no attempt
recorded) instead of each waiting out a timeout in turn. The claim is what keeps two threads, or
two deliverers, from sending one message twice.

Group robots have limits (DingTalk custom robots: 20 messages a minute, then throttled for 10
minutes; WeCom group robots: 20 a minute). So, for the robots only:
- routine (non-urgent) reminders of one sweep (one `created_at`) go to a robot as one Markdown
  digest (chunks of at most DIGEST_ITEMS lines); the in-app inbox keeps them one by one;
- each robot gets at most ROBOT_PER_MINUTE posts in any 60 s (headroom under 20, since two
  deliverers may run at once), routine ones at most ROUTINE_PER_MINUTE, so warnings always have room;
  every post is counted in robot_sends (migration 007), whichever path sent it;
- urgent messages (warnings, 叫应 escalations) are sent before routine ones, and `deliver` can be
  asked for given notifications only (calls.issue sends its warning at once, ahead of any backlog);
- an answer that says "too fast" (DingTalk errcode 130101 / "send too fast", WeCom 45009) backs off
  that robot only (robot_backoff, THROTTLE_BACKOFF), without counting as a failed attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from typing import TYPE_CHECKING

from .. import audit
from ..auth import User, require_admin
from ..db import first_value, put_setting
from ..errors import ValidationError
from ..hygiene import clean
from .reminders import KINDS, TZ, URGENT_KINDS, get_settings, in_quiet_hours, local

if TYPE_CHECKING:
    from ..db import Cursor, Database

CHANNEL_KINDS = {"email": "电子邮件", "wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人"}
DELIVERY_STATUSES = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
CONNECT_TIMEOUT = 3  # seconds to reach a robot (TCP, a proxy's tunnel, the TLS handshake)
READ_TIMEOUT = 10  # seconds to wait for each answer of a robot or the mail server
WORKERS = 8  # channels delivered at once; each channel's messages go one after another
SMTP_DEFAULTS = {"host": "", "port": 25, "sender": "", "starttls": False, "ssl": False, "username": "", "password": ""}
FOOTER = "\n\n—— 应急准备登记与演练调度系统（自动发送，请勿回复）"


class SendError(Exception):
    """A channel refused or could not take the message."""


class SendTimeout(SendError):
    """A channel did not answer in time: its other messages wait with this one (it is backed off)."""


class SendThrottled(SendError):
    """A robot answered that it is sent to too fast: that robot is left alone for THROTTLE_BACKOFF."""


ROBOT_KINDS = ("wecom", "dingtalk")
ROBOT_PER_MINUTE = 16  # posts to one robot in any 60 s (the robots allow 20)
ROUTINE_PER_MINUTE = 10  # of which routine (non-urgent) ones: warnings always find room
DIGEST_BYTES = {"wecom": 3800, "dingtalk": 18000}  # a digest's Markdown (WeCom takes 4096 bytes, DingTalk 20000)
THROTTLE_BACKOFF = timedelta(minutes=10)  # DingTalk throttles for 10 minutes
THROTTLE_CODES = (130101, 45009)  # DingTalk "send too fast", WeCom "api freq out of limit"


def is_throttle_answer(answer: dict) -> bool:
    """A robot's JSON answer saying it is sent to too fast."""
    message = str(answer.get("errmsg", "")).lower()
    return answer.get("errcode") in THROTTLE_CODES or "send too fast" in message


# Masks: secrets are never shown back in full ---------------------------------------------------
def mask_secret(secret: str | None) -> str:
    if not secret:
        return ""
    if len(secret) <= 8:
        return "*" * 6
    return f"{secret[:3]}{'*' * 6}{secret[-2:]}"


def mask_address(kind: str, address: str) -> str:
    """E-mail addresses are shown; a webhook URL's query values (its access token) are masked."""
    if kind == "email":
        return address
    parts = urllib.parse.urlsplit(address)
    query = "&".join(f"{k}={mask_secret(v)}" for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


# Senders (plain functions: tests call them against local servers) ------------------------------
def sign_dingtalk(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


class _ConnectTimeout(http.client.HTTPConnection):
    """Connect within CONNECT_TIMEOUT, then wait for the answer up to the request's timeout: urllib has
    one timeout for both, and a robot that cannot be reached should not cost the full read timeout."""

    def connect(self) -> None:
        wait = self.timeout
        self.timeout = CONNECT_TIMEOUT if wait is None else min(CONNECT_TIMEOUT, wait)
        try:
            super().connect()
        finally:
            self.timeout = wait
        self.sock.settimeout(wait)


class _HTTPConnection(_ConnectTimeout):
    pass


class _HTTPSConnection(_ConnectTimeout, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_HTTPConnection, req, **kwargs)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_HTTPSConnection, req, **kwargs)


# urllib's defaults otherwise (proxies from the environment, certificate checks)
_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def _post_json(url: str, payload: dict, timeout: float) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:  # raised while connecting
        if isinstance(exc.reason, TimeoutError):
            raise SendTimeout(f"连接超时：{min(CONNECT_TIMEOUT, timeout):g} 秒内未连通") from None
        raise SendError(f"无法连接：{exc.reason}") from None
    except TimeoutError:  # connected, no answer
        raise SendTimeout(f"应答超时：{timeout:g} 秒内未应答") from None
    except OSError as exc:
        raise SendError(f"无法连接：{exc}") from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise SendError(f"机器人返回的不是 JSON：{body[:100]}") from None
    if is_throttle_answer(answer):
        raise SendThrottled(f"机器人限流：errcode={answer.get('errcode')} {answer.get('errmsg', '')}")
    if answer.get("errcode", 0) != 0:  # both robots answer {"errcode": 0, "errmsg": "ok"}
        raise SendError(f"机器人拒绝：errcode={answer.get('errcode')} {answer.get('errmsg', '')}")


def send_wecom(url: str, text: str, timeout: float = READ_TIMEOUT, *, markdown: bool = False) -> None:
    if markdown:
        _post_json(url, {"msgtype": "markdown", "markdown": {"content": text}}, timeout)
    else:
        _post_json(url, {"msgtype": "text", "text": {"content": text}}, timeout)


def send_dingtalk(
    url: str,
    secret: str | None,
    text: str,
    timeout: float = READ_TIMEOUT,
    timestamp_ms: int | None = None,
    *,
    markdown_title: str | None = None,
) -> None:
    if secret:
        timestamp_ms = timestamp_ms or int(time.time() * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={timestamp_ms}&sign={sign_dingtalk(secret, timestamp_ms)}"
    if markdown_title:
        _post_json(url, {"msgtype": "markdown", "markdown": {"title": markdown_title, "text": text}}, timeout)
    else:
        _post_json(url, {"msgtype": "text", "text": {"content": text}}, timeout)


def send_email(smtp: dict, to: str, subject: str, body: str, timeout: float = READ_TIMEOUT) -> None:
    if not smtp.get("host") or not smtp.get("sender"):
        raise SendError("未配置邮件服务器（提醒设置 → 邮件服务器）")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr(("应急准备登记与演练调度系统", smtp["sender"]))
    message["To"] = to
    message.set_content(body)
    server: smtplib.SMTP
    try:
        if smtp.get("ssl"):
            server = smtplib.SMTP_SSL(
                smtp["host"], int(smtp["port"]), timeout=timeout, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(smtp["host"], int(smtp["port"]), timeout=timeout)
        with server:
            if smtp.get("starttls") and not smtp.get("ssl"):
                server.starttls(context=ssl.create_default_context())
            if smtp.get("username"):
                server.login(smtp["username"], smtp.get("password") or "")
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        # smtplib reports a server that stops answering as "Connection unexpectedly closed: timed out"
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            raise SendTimeout(f"邮件服务器超时：{timeout:g} 秒内未应答") from None
        raise SendError(f"邮件发送失败：{exc}") from None


def message_text(kind: str, title: str, body: str | None) -> str:
    return f"【{KINDS.get(kind, '系统消息')}】{title}\n{body or ''}{FOOTER}"


DIGEST = "digest"  # the kind a digest is sent as (its body is Markdown)


def digest_text(township: str, rows: list[dict]) -> tuple[str, str]:
    """(title, Markdown body) of one digest: one line per reminder, kind first."""
    title = f"{township}提醒汇总（{len(rows)} 条）"
    lines = [f"- **{KINDS.get(r['kind'], '提醒')}**：{' '.join(str(r['title']).split())}" for r in rows]
    return title, "\n".join(lines)


def send(channel: dict, smtp: dict, kind: str, title: str, body: str | None) -> None:
    if kind == DIGEST and channel["kind"] in ROBOT_KINDS:
        text = f"### {title}\n{body or ''}\n\n> 应急准备登记与演练调度系统（自动发送，请勿回复）"
        if channel["kind"] == "wecom":
            send_wecom(channel["address"], text, markdown=True)
        else:
            send_dingtalk(channel["address"], channel.get("secret"), text, markdown_title=title)
        return
    text = message_text(kind, title, body)
    if channel["kind"] == "email":
        send_email(smtp, channel["address"], f"【{KINDS.get(kind, '系统消息')}】{title}", text)
    elif channel["kind"] == "wecom":
        send_wecom(channel["address"], text)
    elif channel["kind"] == "dingtalk":
        send_dingtalk(channel["address"], channel.get("secret"), text)
    else:
        raise SendError(f"未知渠道类型 {channel['kind']}")


# The delivery step ---------------------------------------------------------------------------
def backoff(attempts: int, base_seconds: int) -> timedelta:
    """The wait after the attempts-th failure: base, 2 base, 4 base ... at most 6 hours."""
    return min(timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _fail_disabled(db: Database, delivery_id: int) -> None:
    """A delivery through a channel the admin has switched off fails at once (shown on the scheduler page)."""
    db.write(
        lambda cur: cur.execute(
            "UPDATE deliveries SET status = 'failed', last_error = '渠道已停用' WHERE id = ? AND status = 'pending'",
            [delivery_id],
        )
    )


def deliver(
    db: Database,
    now: datetime | None = None,
    *,
    limit: int = 200,
    sender=send,
    workers: int = WORKERS,
    notification_ids: list[int] | None = None,
) -> dict:
    """Send every pending delivery that is due (only those of `notification_ids` when given). Returns
    {'sent': [...], 'retry': [...], 'failed': [...], 'held': [...], 'quiet': n}; each list holds
    (delivery id, channel kind, title[, error or reason]), urgent first; 'held' are robot messages
    left for a later pass (rate limit, a throttled robot).

    Each channel has its own queue, worked through in a thread of a small pool (at most `workers`
    channels at once): a robot that hangs holds only its own messages, not every township's."""
    now = local(now or datetime.now(TZ))
    settings = get_settings(db)
    smtp = smtp_settings(db)
    quiet = in_quiet_hours(now, settings["quiet_start"], settings["quiet_end"])
    result: dict = {"sent": [], "retry": [], "failed": [], "held": [], "quiet": 0}
    only, params = "", [list(URGENT_KINDS), now]
    if notification_ids is not None:
        only, params = " AND list_contains(?, d.notification_id)", [*params, list(notification_ids)]
    rows = db.query_dicts(
        "SELECT d.id, d.attempts, c.id AS channel_id, c.kind AS channel_kind, c.address, c.secret, c.is_active,"
        " n.kind, n.title, n.body, n.created_at, coalesce(t.name, '县应急管理局') AS township_name,"
        " list_contains(?, n.kind) AS urgent"
        " FROM deliveries d JOIN channels c ON c.id = d.channel_id"
        " JOIN notifications n ON n.id = d.notification_id LEFT JOIN townships t ON t.code = c.township_code"
        " WHERE d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)"
        f"{only} ORDER BY urgent DESC, d.id LIMIT {int(limit)}",
        params,
    )
    backed_off = dict(db.query("SELECT channel_id, reason FROM robot_backoff WHERE until > ?", [now]))
    budgets = robot_budgets(db, now)
    queues: dict[int, list[dict]] = {}  # channel -> its rows, urgent first; channels with urgent ones first
    for row in rows:
        if not row["is_active"]:
            _fail_disabled(db, row["id"])
            result["failed"].append((row["id"], row["channel_kind"], row["title"], "渠道已停用"))
            continue
        if quiet and not row["urgent"]:
            result["quiet"] += 1
            continue
        if row["channel_id"] in backed_off:
            result["held"].append((row["id"], row["channel_kind"], row["title"], backed_off[row["channel_id"]]))
            continue
        queues.setdefault(row["channel_id"], []).append(row)
    if queues:
        with ThreadPoolExecutor(max_workers=min(workers, len(queues)), thread_name_prefix="deliver") as pool:
            outcomes = list(
                pool.map(
                    lambda queue: _deliver_channel(
                        db, queue, now, smtp, settings, sender, budgets.get(queue[0]["channel_id"])
                    ),
                    queues.values(),
                )
            )
        for outcome in outcomes:
            for key, entries in outcome.items():
                result[key] += entries
    position = {row["id"]: i for i, row in enumerate(rows)}
    for key in ("sent", "retry", "failed", "held"):
        result[key].sort(key=lambda entry: position[entry[0]])
    return result


def robot_budgets(db: Database, now: datetime) -> dict[int, tuple[int, int]]:
    """{robot channel: (posts left in this minute, routine posts left)} from robot_sends of the last 60 s
    (channels not listed have the full budget)."""
    budgets = {}
    for channel, total, routine in db.query(
        "SELECT channel_id, count(*), count(*) FILTER (WHERE NOT urgent) FROM robot_sends"
        " WHERE sent_at > ? AND sent_at <= ? GROUP BY 1",
        [now - timedelta(seconds=60), now],
    ):
        left = max(0, ROBOT_PER_MINUTE - int(total))
        budgets[channel] = (left, min(left, max(0, ROUTINE_PER_MINUTE - int(routine))))
    return budgets


def robot_messages(queue: list[dict]) -> list[list[dict]]:
    """A robot's queue as the messages it gets: each urgent row alone (first), and the routine rows of
    one sweep (one created_at) as one digest (split only where the robot's size limit requires)."""
    urgent = [[r] for r in queue if r["urgent"]]
    groups: dict = {}
    for r in queue:
        if not r["urgent"]:
            groups.setdefault(r["created_at"], []).append(r)
    digests: list[list[dict]] = []
    for rows in groups.values():
        limit = DIGEST_BYTES.get(rows[0]["channel_kind"], 3800)
        chunk: list[dict] = []
        for r in rows:
            if chunk and len(digest_text(r["township_name"], [*chunk, r])[1].encode()) > limit:
                digests.append(chunk)
                chunk = []
            chunk.append(r)
        digests.append(chunk)
    return urgent + digests


def _deliver_channel(
    db: Database, queue: list[dict], now: datetime, smtp: dict, settings: dict, sender, budget=None
) -> dict:
    """One channel's messages, one after another (a thread of its own, with its own cursor). After a
    timeout the channel is backed off as a whole: its other messages wait with the one that timed
    out, instead of each waiting out its own timeout in this pass. A robot gets digests and at most
    its budget of posts; a robot that answers "too fast" is backed off alone."""
    out: dict = {"sent": [], "retry": [], "failed": [], "held": []}
    robot = queue[0]["channel_kind"] in ROBOT_KINDS
    messages = robot_messages(queue) if robot else [[r] for r in queue]
    left, routine_left = budget if budget is not None else (ROBOT_PER_MINUTE, ROUTINE_PER_MINUTE)
    for index, message in enumerate(messages):
        first = message[0]
        if robot and (left <= 0 or (not first["urgent"] and routine_left <= 0)):
            reason = (
                f"限速：本机器人一分钟内最多发送 {ROBOT_PER_MINUTE} 条（例行提醒 {ROUTINE_PER_MINUTE} 条），下一轮发送"
            )
            out["held"] += [(r["id"], r["channel_kind"], r["title"], reason) for r in message]
            continue
        claimed = [r for r in message if _claim(db, r["id"], now)]
        if not claimed:
            continue
        error, timed_out, throttled = None, False, False
        channel = {"kind": first["channel_kind"], "address": first["address"], "secret": first["secret"]}
        try:
            if len(claimed) > 1:
                title, body = digest_text(first["township_name"], claimed)
                sender(channel, smtp, DIGEST, title, body)
            else:  # the one row this pass won, which need not be the digest's first (another pass has it)
                (only,) = claimed
                sender(channel, smtp, only["kind"], only["title"], only["body"])
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded, never raised
            error = str(exc)[:500] or exc.__class__.__name__
            timed_out, throttled = isinstance(exc, SendTimeout), isinstance(exc, SendThrottled)
        if robot:
            left -= 1
            routine_left -= 0 if first["urgent"] else 1
            _count_post(db, first["channel_id"], now, bool(first["urgent"]))
        if throttled:
            until = now + THROTTLE_BACKOFF
            reason = f"机器人限流，暂缓至 {local(until):%m-%d %H:%M:%S}（{error}）"
            _throttled(db, first["channel_id"], [r["id"] for r in claimed], now, until, reason)
            rest = [r for m in messages[index:] for r in m]
            out["held"] += [(r["id"], r["channel_kind"], r["title"], reason) for r in rest]
            break
        for row in claimed:
            status = _record(db, row["id"], now, error, settings)
            entry = (row["id"], row["channel_kind"], row["title"]) + ((error,) if error else ())
            out["sent" if status == "sent" else "failed" if status == "failed" else "retry"].append(entry)
        if timed_out:
            until = now + backoff(first["attempts"] + 1, settings["retry_base_seconds"])
            reason = f"暂缓至 {local(until):%m-%d %H:%M:%S}：本渠道上一条消息超时（{error}）"
            _defer_channel(db, first["channel_id"], until, reason)
            out["retry"] += [(r["id"], r["channel_kind"], r["title"], reason) for m in messages[index + 1 :] for r in m]
            break
    return out


def _count_post(db: Database, channel_id: int, now: datetime, urgent: bool) -> None:
    """One post to a robot, for its rate limit (rows older than a day are pruned on the way)."""

    def work(cur: Cursor):
        cur.execute("INSERT INTO robot_sends (channel_id, sent_at, urgent) VALUES (?, ?, ?)", [channel_id, now, urgent])
        cur.execute("DELETE FROM robot_sends WHERE sent_at < ?", [now - timedelta(days=1)])

    db.write(work)


def _throttled(db: Database, channel_id: int, claimed: list[int], now: datetime, until: datetime, reason: str) -> None:
    """A robot said "too fast": it is left alone until `until` (its pending messages wait; the attempt
    is recorded but does not count towards max_attempts)."""

    def work(cur: Cursor):
        cur.execute(
            "INSERT INTO robot_backoff (channel_id, until, reason) VALUES (?, ?, ?) ON CONFLICT (channel_id)"
            " DO UPDATE SET until = excluded.until, reason = excluded.reason",
            [channel_id, until, reason],
        )
        for delivery_id in claimed:
            cur.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempted_at, ok, error) VALUES (?, ?, FALSE, ?)",
                [delivery_id, now, reason[:500]],
            )

    db.write(work)
    _defer_channel(db, channel_id, until, reason)


def _defer_channel(db: Database, channel_id: int, until: datetime, reason: str) -> None:
    """Nothing more of this channel is tried before `until`. No attempt is recorded: nothing was sent.
    (A message another deliverer is sending may be pushed too: its record overwrites the time.)"""
    db.write(
        lambda cur: cur.execute(
            "UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE channel_id = ? AND status = 'pending'"
            " AND (next_attempt_at IS NULL OR next_attempt_at < ?)",
            [until, reason, channel_id, until],
        )
    )


def _claim(db: Database, delivery_id: int, now: datetime) -> bool:
    import duckdb

    try:
        # (no RETURNING: DuckDB turns UPDATE ... RETURNING into delete + insert, refused by the FK of
        # delivery_attempts; the statement's row count says whether the claim took)
        return bool(
            db.write(
                lambda cur: first_value(
                    cur,
                    "UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending'"
                    " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
                    [now + LEASE, delivery_id, now],
                )
            )
        )
    except duckdb.TransactionException:  # another deliverer holds it
        return False


def _record(db: Database, delivery_id: int, now: datetime, error: str | None, settings: dict) -> str:
    def work(cur: Cursor):
        attempts = first_value(cur, "SELECT attempts FROM deliveries WHERE id = ?", [delivery_id]) + 1
        cur.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempted_at, ok, error) VALUES (?, ?, ?, ?)",
            [delivery_id, now, error is None, error],
        )
        if error is None:
            cur.execute(
                "UPDATE deliveries SET status = 'sent', attempts = ?, delivered_at = ?, next_attempt_at = NULL,"
                " last_error = NULL WHERE id = ?",
                [attempts, now, delivery_id],
            )
            return "sent"
        if attempts >= settings["max_attempts"]:
            cur.execute(
                "UPDATE deliveries SET status = 'failed', attempts = ?, next_attempt_at = NULL, last_error = ?"
                " WHERE id = ?",
                [attempts, error, delivery_id],
            )
            return "failed"
        cur.execute(
            "UPDATE deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            [attempts, now + backoff(attempts, settings["retry_base_seconds"]), error, delivery_id],
        )
        return "pending"

    return db.write(work)


def retry_failed(db: Database, actor: User, delivery_id: int) -> None:
    """Put a failed delivery back in the queue (admin), e.g. after fixing the channel's address."""
    require_admin(actor, "重新发送消息")

    def work(cur: Cursor):
        if not first_value(
            cur,
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = NULL"
            " WHERE id = ? AND status = 'failed'",
            [delivery_id],
        ):
            raise ValueError(f"发送记录 {delivery_id} 不存在或不是失败状态")
        audit.record(cur, actor, "update", "deliveries", delivery_id, {"status": "failed"}, {"status": "pending"})

    db.write(work)


def outbox_counts(db: Database) -> list[dict]:
    return db.query_dicts(
        "SELECT c.kind, d.status, count(*) AS n FROM deliveries d JOIN channels c ON c.id = d.channel_id"
        " GROUP BY ALL ORDER BY 1, 2"
    )


def failures(db: Database, limit: int = 200) -> list[dict]:
    rows = db.query_dicts(
        "SELECT d.id, n.title, c.kind, c.address, coalesce(t.name, '县应急管理局') AS recipient, d.attempts,"
        " d.last_error, (SELECT max(attempted_at) FROM delivery_attempts a WHERE a.delivery_id = d.id) AS last_attempt"
        " FROM deliveries d JOIN channels c ON c.id = d.channel_id JOIN notifications n ON n.id = d.notification_id"
        " LEFT JOIN townships t ON t.code = c.township_code WHERE d.status = 'failed'"
        f" ORDER BY d.id DESC LIMIT {int(limit)}"
    )
    for row in rows:
        row["address"] = mask_address(row["kind"], row["address"])
    return rows


def failed_count(db: Database) -> int:
    return db.scalar("SELECT count(*) FROM deliveries WHERE status = 'failed'")


# Channels and the mail server (admin) --------------------------------------------------------
def list_channels(db: Database) -> list[dict]:
    """Every channel with its address and secret masked (for display)."""
    rows = db.query_dicts(
        "SELECT c.id, c.township_code, coalesce(t.name, '县应急管理局') AS recipient, c.kind, c.address, c.secret,"
        " c.is_active FROM channels c LEFT JOIN townships t ON t.code = c.township_code"
        " ORDER BY t.sort_order NULLS FIRST, c.id"
    )
    for row in rows:
        row["address"] = mask_address(row["kind"], row["address"])
        row["secret"] = mask_secret(row["secret"])
    return rows


def _validate_channel(db: Database, township_code: str | None, kind: str, address: str, secret: str | None) -> None:
    if kind not in CHANNEL_KINDS:
        raise ValidationError.single("渠道类型", f"必须是 {'、'.join(CHANNEL_KINDS.values())} 之一")
    if township_code and not db.scalar("SELECT count(*) FROM townships WHERE code = ?", [township_code]):
        raise ValidationError.single("接收方", f"乡镇 {township_code} 不存在")
    if kind == "email":
        if "@" not in address or " " in address or address.startswith("@") or address.endswith("@"):
            raise ValidationError.single("地址", "电子邮件地址格式不正确")
    else:
        parts = urllib.parse.urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError.single("地址", "机器人 Webhook 地址必须以 http:// 或 https:// 开头")
    if secret and kind != "dingtalk":
        raise ValidationError.single("加签密钥", "只有钉钉群机器人需要加签密钥")


def add_channel(
    db: Database, actor: User, township_code: str | None, kind: str, address: str, secret: str | None = None
) -> int:
    require_admin(actor, "配置提醒渠道")
    address, secret = clean(address), clean(secret) or None
    _validate_channel(db, township_code, kind, address, secret)

    def work(cur: Cursor):
        cid = first_value(
            cur,
            "INSERT INTO channels (township_code, kind, address, secret) VALUES (?, ?, ?, ?) RETURNING id",
            [township_code, kind, address, secret],
        )
        audit.record(
            cur,
            actor,
            "create",
            "channels",
            cid,
            None,
            {
                "township_code": township_code,
                "kind": kind,
                "address": mask_address(kind, address),
                "secret": mask_secret(secret),
            },
        )
        return cid

    return db.write(work)


def update_channel(
    db: Database,
    actor: User,
    channel_id: int,
    *,
    address: str | None = None,
    secret: str | None = None,
    is_active: bool | None = None,
) -> None:
    """Change a channel; an empty address or secret keeps the stored one (secrets are never shown back)."""
    require_admin(actor, "配置提醒渠道")
    rows = db.query_dicts("SELECT * FROM channels WHERE id = ?", [channel_id])
    if not rows:
        raise ValueError(f"渠道 {channel_id} 不存在")
    before = rows[0]
    after = dict(before)
    if clean(address):
        after["address"] = clean(address)
    if clean(secret):
        after["secret"] = clean(secret)
    if is_active is not None:
        after["is_active"] = bool(is_active)
    _validate_channel(db, after["township_code"], after["kind"], after["address"], after["secret"])

    def work(cur: Cursor):
        cur.execute(
            "UPDATE channels SET address = ?, secret = ?, is_active = ? WHERE id = ?",
            [after["address"], after["secret"], after["is_active"], channel_id],
        )
        shown = {
            k: (mask_secret(v) if k == "secret" else mask_address(before["kind"], v) if k == "address" else v)
            for k, v in before.items()
        }
        shown_after = {
            k: (mask_secret(v) if k == "secret" else mask_address(before["kind"], v) if k == "address" else v)
            for k, v in after.items()
        }
        old, new = audit.changed(shown, shown_after)
        audit.record(cur, actor, "update", "channels", channel_id, old, new)

    db.write(work)


def smtp_settings(db: Database) -> dict:
    return {**SMTP_DEFAULTS, **db.setting("smtp", {})}


def smtp_settings_masked(db: Database) -> dict:
    values = smtp_settings(db)
    values["password"] = mask_secret(values["password"])
    return values


def save_smtp_settings(db: Database, actor: User, values: dict) -> dict:
    """Host, port, sender, STARTTLS/SSL, optional login. An empty password keeps the stored one."""
    require_admin(actor, "配置邮件服务器")
    before = smtp_settings(db)
    new = dict(before)
    new.update({k: v for k, v in values.items() if k in SMTP_DEFAULTS and k != "password"})
    if clean(values.get("password")):
        new["password"] = values["password"]
    new["host"], new["sender"], new["username"] = clean(new["host"]), clean(new["sender"]), clean(new["username"])
    try:
        new["port"] = int(new["port"])
    except (TypeError, ValueError):
        raise ValidationError.single("端口", "必须是整数") from None
    if not 1 <= new["port"] <= 65535:
        raise ValidationError.single("端口", "必须在 1 到 65535 之间")
    if new["sender"] and "@" not in new["sender"]:
        raise ValidationError.single("发件人地址", "电子邮件地址格式不正确")
    new["starttls"], new["ssl"] = bool(new["starttls"]), bool(new["ssl"])

    def work(cur: Cursor):
        put_setting(cur, "smtp", new)
        old, changed = audit.changed(
            {**before, "password": mask_secret(before["password"])}, {**new, "password": mask_secret(new["password"])}
        )
        audit.record(cur, actor, "update", "settings", "smtp", old, changed)

    db.write(work)
    return new


def send_test(db: Database, actor: User, channel_id: int) -> None:
    """Send a test message straight through a channel (not through the outbox); raises SendError."""
    require_admin(actor, "发送测试消息")
    rows = db.query_dicts("SELECT * FROM channels WHERE id = ?", [channel_id])
    if not rows:
        raise ValueError(f"渠道 {channel_id} 不存在")
    send(rows[0], smtp_settings(db), "test", "测试消息", "这是一条测试消息：收到即表示渠道配置正确。")
    db.write(lambda cur: audit.record(cur, actor, "test", "channels", channel_id, None, {"ok": True}))
