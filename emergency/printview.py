"""A printable sheet of one drill record (演练记录表): a self-contained HTML page with print styles,
built from drills.drill_detail. The browser's "打印" gives a paper or PDF copy for the file; nothing
is fetched from the network (no fonts, no scripts). Every user text is HTML-escaped."""

from __future__ import annotations

from datetime import date

from . import display, enums
from .db import local_today
from .hygiene import escape_html, is_blank
from .rules import ACTION_STATUS_LABELS, action_status

STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif;
       margin: 2cm; color: #000; font-size: 11pt; }
h1 { text-align: center; font-size: 18pt; margin-bottom: 0.2cm; }
p.sub { text-align: center; margin-top: 0; }
table { width: 100%; border-collapse: collapse; margin: 0.3cm 0; }
th, td { border: 1px solid #000; padding: 4px 6px; vertical-align: top; text-align: left; }
th { width: 18%; background: #f2f2f2; white-space: nowrap; }
td.long { height: 2.5cm; white-space: pre-wrap; }
.sign { margin-top: 1cm; display: flex; justify-content: space-between; }
@media print { body { margin: 1.5cm; } .noprint { display: none; } }
"""


def _text(value) -> str:
    return "未填写" if is_blank(value) else escape_html(display.cell(value))


def _long(value) -> str:
    return "未填写" if is_blank(value) else escape_html(str(value))


def drill_sheet_html(detail: dict, today: date | None = None) -> str:
    """The drill record (`detail` as drills.drill_detail returns it) as one printable HTML page."""
    today = today or local_today()
    d = detail
    where = d.get("enterprise_name") or d.get("village_name") or d.get("township_name") or "全县"
    started, ended = d.get("started_at"), d.get("ended_at")
    span = (
        f"{display.timestamp(started)[-5:]}—{display.timestamp(ended)[-5:]}"
        if not is_blank(started) and not is_blank(ended)
        else "未填写"
    )
    plans = "、".join(f"{p['code']} {p['name']}" for p in d.get("plans", [])) or "未填写"
    rows = [
        ("演练名称", _text(d["title"])),
        ("记录编号", str(d["id"])),
        ("演练层级", escape_html(enums.DRILL_LEVELS.get(d["level"], d["level"]))),
        ("组织单位", _text(d.get("organiser"))),
        ("所属单位", _text(where)),
        ("演练日期", _text(d.get("held_on"))),
        ("演练时间", span),
        ("演练地点", _text(d.get("place"))),
        ("演练形式", escape_html(enums.DRILL_FORMS.get(str(d.get("form")), "未填写"))),
        ("演练内容", escape_html(enums.DRILL_CONTENTS.get(str(d.get("content")), "未填写"))),
        ("演练目的", escape_html(enums.DRILL_PURPOSES.get(str(d.get("purpose")), "未填写"))),
        ("参演人次", _text(d.get("participants"))),
        ("参演单位", _text(d.get("participating_units"))),
        ("演练预案", escape_html(plans)),
    ]
    long_rows = [
        ("演练科目（情景）", d.get("scenario")),
        ("发现的问题及原因", d.get("problems")),
        ("评估意见", d.get("evaluation")),
        ("经验教训", d.get("lessons")),
        ("改进建议", d.get("recommendations")),
    ]
    body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    body += "".join(f'<tr><th>{label}</th><td class="long">{_long(value)}</td></tr>' for label, value in long_rows)
    actions = d.get("actions", [])
    if actions:
        action_rows = "".join(
            "<tr>"
            f"<td>{_text(a['description'])}</td><td>{_text(a['owner'])}</td><td>{_text(a['due_on'])}</td>"
            f"<td>{escape_html(ACTION_STATUS_LABELS.get(action_status(a['due_on'], a['closed_on'], today), ''))}</td>"
            f"<td>{_text(a['closed_on'])}</td><td>{_text(a.get('closure_note'))}</td>"
            "</tr>"
            for a in actions
        )
        action_table = (
            "<h2>整改事项</h2><table><tr><th>整改事项</th><th>责任人</th><th>整改期限</th><th>状态</th>"
            f"<th>完成日期</th><th>整改情况</th></tr>{action_rows}</table>"
        )
    else:
        action_table = "<h2>整改事项</h2><p>无</p>"
    attachments = "、".join(escape_html(a["original_name"]) for a in d.get("attachments", [])) or "无"
    flag = (
        "<p><strong>本次演练发现预案存在问题，相关预案已标记为需修订。</strong></p>"
        if d.get("plan_problems_found")
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>演练记录表 {d['id']}</title><style>{STYLE}</style></head><body>"
        f'<h1>应急演练记录表</h1><p class="sub">{_text(d["title"])}</p>'
        f"<table>{body}</table>{flag}{action_table}<p>附件：{attachments}</p>"
        '<div class="sign"><span>记录人：</span><span>审核人：</span><span>日期：　　年　　月　　日</span></div>'
        f'<p class="noprint">打印日期 {today:%Y-%m-%d}。在浏览器中按 Ctrl+P 打印或另存为 PDF。</p>'
        "</body></html>"
    )
