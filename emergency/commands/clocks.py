"""`python -m emergency deadlines [--today YYYY-MM-DD] [--kind plan|enterprise|village|filing|evaluation] [--json]`
and `python -m emergency rules list [--json]` / `rules set CODE --months N`: the law's clocks and
the rule table that sets them."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import TYPE_CHECKING

from emergency.db import local_today

if TYPE_CHECKING:
    from ..db import Database


def register(command) -> dict:
    from ..deadlines import KINDS

    p = command("deadlines", "列出每一个期限（预案演练、企业、村（社区）、备案、评估）及其状态和依据")
    p.add_argument("--today", type=date.fromisoformat, help="以哪一天计算（YYYY-MM-DD，默认今天）")
    p.add_argument("--kind", choices=list(KINDS), help="只列出一类期限")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p = command("rules", "期限规则：list 列出每条规则及其依据；set 修改某条规则的间隔（记入审计日志）")
    p.add_argument("action", choices=["list", "set"])
    p.add_argument("code", nargs="?", help="规则代码（set 必填）")
    p.add_argument("--months", type=int, help="新的间隔（月）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（list）")
    return {"deadlines": cmd_deadlines, "rules": cmd_rules}


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


KEYS = ("kind", "code", "name", "rule", "interval_months", "last_done", "clock_start", "due_on", "status", "source")


def cmd_deadlines(db: Database, args) -> int:
    from ..deadlines import all_clocks
    from ..rules import STATUS_LABELS

    today = args.today or local_today()
    clocks = all_clocks(db, today, args.kind)
    if args.json:
        print(json.dumps([{k: _plain(v) for k, v in c.items()} for c in clocks], ensure_ascii=False, indent=1))
        return 0
    for c in clocks:
        every = f"每{c['interval_months']}个月" if c["interval_months"] else ""
        print(
            f"{c['kind']}\t{c['code']}\t{c['name']}\t{c['rule']}{every}\t上次 {_plain(c['last_done']) or '无'}"
            f"\t起算 {_plain(c['clock_start']) or '—'}\t截止 {_plain(c['due_on']) or '—'}"
            f"\t{STATUS_LABELS[c['status']]}\t{c['source']}"
        )
    counts = {s: sum(c["status"] == s for c in clocks) for s in STATUS_LABELS}
    print(f"共 {len(clocks)} 项（{today}）：" + "、".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items()))
    return 0


def cmd_rules(db: Database, args) -> int:
    from .. import auth, deadlines
    from ..rules import CERTAINTY_LABELS, rule_period

    if args.action == "set":
        if not args.code or args.months is None:
            print("错误：rules set 需要规则代码和 --months", file=sys.stderr)
            return 1
        row = deadlines.set_rule(db, auth.SYSTEM, args.code, months=args.months)
        print(f"已修改规则 {row['code']}：每{row['interval_months']}个月（{row['label']}；依据：{row['source']}）")
        return 0
    rules = deadlines.all_rules(db)
    if args.json:
        print(json.dumps(rules, ensure_ascii=False, indent=1))
        return 0
    for r in rules:
        every = rule_period(r)
        sure = CERTAINTY_LABELS.get(r["certainty"] or "", "")
        print(f"{r['code']}\t{r['applies_to']}\t{every}\t{r['label']}\t依据：{r['source']}（{sure}）")
    return 0
