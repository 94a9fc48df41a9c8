"""Personal messages of the 叫应 calls (emergency/calls.py): e-mail to the person, SMS and voice calls
through the county's gateways (configured by URL, table call_gateways).

A gateway is an HTTP endpoint: we POST JSON {"kind": "sms" | "voice", "phone": "...", "text": "..."}
and take any 2xx answer as accepted, unless its JSON carries a non-zero "errcode" or "code" (the
shape of most Chinese SMS / voice platforms' adapters). The text holds the person's ack link, so it
is stored AES-GCM encrypted (privacy.py) and cleared once the message is sent or has failed for good.

Delivery is the outbox's (notify/channels.py): claim with a lease, send outside any transaction,
record the outcome; a failure is retried with the same backoff, `failed` after max_attempts. Issue
and escalation deliver their own messages at once; the every-minute escalation job retries the rest.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from .. import audit, privacy
from ..auth import User, require_admin
from ..db import TZ, first_value
from ..errors import ValidationError
from ..hygiene import clean
from .channels import _OPENER, LEASE, READ_TIMEOUT, SendError, SendTimeout, backoff, send_email, smtp_settings
from .reminders import get_settings, local

if TYPE_CHECKING:
    from ..db import Cursor, Database

GATEWAY_KINDS = {"sms": "短信网关", "voice": "语音电话网关"}
MESSAGE_CHANNELS = {
    "email": "个人邮箱",
    "sms": "短信",
    "voice": "语音电话",
    "inbox": "乡镇消息",
    "wecom": "企业微信群",
    "dingtalk": "钉钉群",
}
WORKERS = 8


def send_gateway(url: str, kind: str, phone: str, text: str, timeout: float = READ_TIMEOUT) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps({"kind": kind, "phone": phone, "text": text}, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise SendError(f"网关 HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise SendError(f"无法连接网关：{exc.reason}") from None
    except TimeoutError:
        raise SendTimeout(f"网关应答超时：{timeout:g} 秒内未应答") from None
    except OSError as exc:
        raise SendError(f"无法连接网关：{exc}") from None
    try:
        answer = json.loads(body) if body.strip() else {}
    except ValueError:
        return  # a 2xx answer that is not JSON: accepted
    if isinstance(answer, dict):
        code = answer.get("errcode", answer.get("code", 0))
        if code not in (0, "0", "OK", "ok", None):
            raise SendError(f"网关拒绝：{code} {answer.get('errmsg') or answer.get('message') or ''}".strip())


def _claim(db: Database, message_ids: list[int], now: datetime) -> set[int]:
    """Claim the messages still pending and due, in one committed transaction (a lease, as the
    outbox does): two deliverers never send one message twice. (call_messages is referenced by
    nothing, so UPDATE ... RETURNING is safe here.)"""
    import duckdb

    try:
        return {
            i
            for (i,) in db.write(
                lambda cur: cur.execute(
                    "UPDATE call_messages SET next_attempt_at = ? WHERE list_contains(?, id) AND status = 'pending'"
                    " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) RETURNING id",
                    [now + LEASE, message_ids, now],
                ).fetchall()
            )
        }
    except duckdb.TransactionException:
        return set()


def _record(db: Database, message_id: int, now: datetime, error: str | None, max_attempts: int, base: int) -> str:
    def work(cur: Cursor):
        attempts = first_value(cur, "SELECT attempts FROM call_messages WHERE id = ?", [message_id]) + 1
        if error is None:
            cur.execute(
                "UPDATE call_messages SET status = 'sent', attempts = ?, delivered_at = ?, next_attempt_at = NULL,"
                " last_error = NULL, body_cipher = NULL WHERE id = ?",
                [attempts, now, message_id],
            )
            return "sent"
        if attempts >= max_attempts:
            cur.execute(
                "UPDATE call_messages SET status = 'failed', attempts = ?, next_attempt_at = NULL, last_error = ?,"
                " body_cipher = NULL WHERE id = ?",
                [attempts, error, message_id],
            )
            return "failed"
        cur.execute(
            "UPDATE call_messages SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            [attempts, now + backoff(attempts, base), error, message_id],
        )
        return "pending"

    return db.write(work)


def deliver(
    db: Database, now: datetime | None = None, *, call_ids: list[int] | None = None, limit: int = 2000
) -> list[dict]:
    """Send the pending personal messages that are due (only those of `call_ids` when given): a list
    of {id, call_id, channel, status, error}. E-mails and each gateway kind go in their own threads."""
    now = local(now or datetime.now(TZ))
    settings = get_settings(db)
    smtp = smtp_settings(db)
    gateways = {k: u for k, u in db.query("SELECT kind, url FROM call_gateways WHERE is_active ORDER BY id DESC")}
    where, params = "", list[object]([now])
    if call_ids is not None:
        where, params = " AND list_contains(?, m.call_id)", [now, list(call_ids)]
    rows = db.query_dicts(
        "SELECT m.id, m.call_id, m.channel, m.address, m.body_cipher, w.title, c.attempt FROM call_messages m"
        " JOIN warning_calls c ON c.id = m.call_id JOIN warnings w ON w.id = c.warning_id"
        " WHERE m.status = 'pending' AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= ?)"
        f"{where} ORDER BY m.id LIMIT {int(limit)}",
        params,
    )

    def one(row: dict) -> dict:
        if row["id"] not in claimed:
            return {
                "id": row["id"],
                "call_id": row["call_id"],
                "channel": row["channel"],
                "status": "skipped",
                "error": None,
            }
        error = None
        try:
            text = privacy.decrypt_id(row["body_cipher"]) if row["body_cipher"] else ""
            if not text:
                raise SendError("消息内容缺失")
            if row["channel"] == "email":
                head = "【再次叫应】" if row["attempt"] > 1 else "【叫应】"
                send_email(smtp, row["address"], f"{head}{row['title']}", text)
            elif row["channel"] in gateways:
                send_gateway(gateways[row["channel"]], row["channel"], row["address"], text)
            else:
                raise SendError(f"未配置{GATEWAY_KINDS.get(row['channel'], row['channel'])}")
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded, never raised
            error = str(exc)[:500] or exc.__class__.__name__
        status = _record(db, row["id"], now, error, settings["max_attempts"], settings["retry_base_seconds"])
        return {"id": row["id"], "call_id": row["call_id"], "channel": row["channel"], "status": status, "error": error}

    if not rows:
        return []
    claimed = _claim(db, [r["id"] for r in rows], now)
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(rows)), thread_name_prefix="call") as pool:
        return list(pool.map(one, rows))


# Gateways (admin) ------------------------------------------------------------------------------------
def list_gateways(db: Database) -> list[dict]:
    from .channels import mask_address

    rows = db.query_dicts("SELECT id, kind, url, is_active FROM call_gateways ORDER BY id")
    for row in rows:
        row["url"] = mask_address("gateway", row["url"])
    return rows


def add_gateway(db: Database, actor: User, kind: str, url: str) -> int:
    """An SMS or voice gateway, configured by its URL (admin, audited; the URL's query values masked)."""
    from .channels import mask_address

    require_admin(actor, "配置短信/语音网关")
    url = clean(url)
    if kind not in GATEWAY_KINDS:
        raise ValidationError.single("网关类型", f"必须是 {'、'.join(GATEWAY_KINDS.values())} 之一")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError.single("网关地址", "必须以 http:// 或 https:// 开头")

    def work(cur: Cursor):
        gid = first_value(cur, "INSERT INTO call_gateways (kind, url) VALUES (?, ?) RETURNING id", [kind, url])
        audit.record(
            cur, actor, "create", "call_gateways", gid, None, {"kind": kind, "url": mask_address("gateway", url)}
        )
        return gid

    return db.write(work)


def set_gateway_active(db: Database, actor: User, gateway_id: int, active: bool) -> None:
    require_admin(actor, "配置短信/语音网关")

    def work(cur: Cursor):
        if not first_value(cur, "SELECT count(*) FROM call_gateways WHERE id = ?", [gateway_id]):
            raise ValueError(f"网关 {gateway_id} 不存在")
        cur.execute("UPDATE call_gateways SET is_active = ? WHERE id = ?", [bool(active), gateway_id])
        audit.record(cur, actor, "update", "call_gateways", gateway_id, None, {"is_active": bool(active)})

    db.write(work)
