"""`python -m emergency warn | ack | escalate`: 叫应 from the command line (emergency/calls.py).

    warn --level red|orange|yellow|blue --type 暴雨|山洪|地质灾害|森林火险|… --title TEXT
         --township NAME [--township …] [--village NAME …] [--now ISO] [--json]
        issue a warning and push it at once; --json prints {"warning_id": …, "recipients": [...]}
        (one entry per person called: name, role, township, village, step, ack_url, …)
    ack TOKEN [--now ISO]
        record "已收到" for the call of TOKEN (the token, the ack_url, its last path segment or its
        token= parameter), for a duty officer taking a phone answer
    escalate [--now ISO] [--json]
        one escalation run (what the server's every-minute job does); --json prints a list with one
        object per person called again or step pushed (warning_id, name, step, action, …)

Like every command, they need the database file for themselves: while the server runs, its own
page form and its every-minute job do this, and these commands stop with the lock message (exit 2).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .reminders import _now

if TYPE_CHECKING:
    from ..db import Database

PUBLIC_KEYS = (
    "name",
    "role",
    "role_code",
    "township",
    "village",
    "step",
    "attempt",
    "limit_minutes",
    "channels",
    "ack_url",
)


def _village_codes(db: Database, township_codes: list[str], names: list[str]) -> list[str]:
    from ..normalise import Places

    places = Places.load(db)
    codes = []
    for name in names:
        found = []
        for town in township_codes:
            try:
                found.append(places.village(name, town))
            except ValueError:
                continue
        if not found:
            raise ValueError(f"--village：“{name}”不是所选乡镇的村（社区）")
        codes += [c for c in found if c]
    return codes


def cmd_warn(db: Database, args) -> int:
    from .. import auth, calls, regions
    from ..enums import WARNING_LEVEL_CODES

    towns = [regions.township_code(db, name) for name in args.township]
    villages = _village_codes(db, towns, args.village or [])
    result = calls.issue(
        db,
        auth.SYSTEM,
        level=WARNING_LEVEL_CODES[args.level],
        hazard=args.type,
        title=args.title,
        township_codes=towns,
        village_codes=villages,
        now=_now(args.now),
    )
    recipients = [{k: r[k] for k in PUBLIC_KEYS} for r in result["recipients"]]
    if args.json:
        print(json.dumps({"warning_id": result["warning_id"], "recipients": recipients}, ensure_ascii=False))
        return 0
    personal = result["delivery"].get("personal", [])
    sent = sum(1 for m in personal if m["status"] == "sent")
    print(f"已发布预警 {result['warning_id']}，叫应 {len(recipients)} 人次；个人消息送达 {sent}/{len(personal)} 条。")
    for r in recipients:
        where = r["township"] + (r["village"] or "")
        print(f"  第{r['step']}步 {where} {r['role']} {r['name']}  {r['ack_url'] or ''}")
    return 0


def cmd_ack(db: Database, args) -> int:
    from .. import auth, calls

    answered = calls.acknowledge(db, args.token, now=_now(args.now), via="cli", actor=auth.SYSTEM)
    place = (answered["township_name"] or "") + (answered["village_name"] or "")
    print(
        f"已登记：{place} {answered['name']} 于 {answered['answered_at']:%Y-%m-%d %H:%M} 确认收到预警“{answered['title']}”。"
    )
    return 0


def cmd_escalate(db: Database, args) -> int:
    from .. import calls

    done = calls.escalate(db, _now(args.now))
    if args.json:
        keys = ("warning_id", "action", *PUBLIC_KEYS)
        print(json.dumps([{k: r[k] for k in keys} for r in done], ensure_ascii=False))
        return 0
    print(f"本次升级 {len(done)} 人次" + ("：" if done else "。"))
    for r in done:
        what = "再次叫应" if r["action"] == "recall" else "推送下一步"
        print(
            f"  预警 {r['warning_id']} {what}：第{r['step']}步 {r['township']}{r['village'] or ''} {r['role']} {r['name']}"
        )
    return 0


def register(command) -> dict:
    from ..enums import WARNING_HAZARDS, WARNING_LEVEL_CODES

    p = command("warn", "发布预警并立即按叫应链推送到责任人")
    p.add_argument(
        "--level", required=True, choices=list(WARNING_LEVEL_CODES), help="预警级别：red 红 orange 橙 yellow 黄 blue 蓝"
    )
    p.add_argument("--type", required=True, choices=list(WARNING_HAZARDS), help="预警类型")
    p.add_argument("--title", required=True, help="预警标题")
    p.add_argument("--township", required=True, action="append", help="接收乡镇（名称或代码，可重复）")
    p.add_argument(
        "--village",
        action="append",
        help="接收村（社区）（可重复；不填时红色、橙色预警叫应所选乡镇的全部村，黄色、蓝色只叫应乡镇）",
    )
    p.add_argument("--now", help="发布时刻（ISO 格式，默认当前时间，县时区）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出 {warning_id, recipients}")
    p = command("ack", "登记某个叫应已确认收到（值班员代登记电话答复）")
    p.add_argument("token", help="确认链接中的令牌（可直接粘贴整个链接；以“-”开头的旧令牌请写在 -- 之后）")
    p.add_argument("--now", help="确认时刻（ISO 格式，默认当前时间）")
    p = command("escalate", "运行一次叫应升级：超时未确认的再次叫应并推送下一步（服务器每分钟自动运行）")
    p.add_argument("--now", help="按此时刻运行（ISO 格式，默认当前时间）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出每个再次叫应或推送的人")
    return {"warn": cmd_warn, "ack": cmd_ack, "escalate": cmd_escalate}
