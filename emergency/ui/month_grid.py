"""The drill calendar's month grid as an HTML table (st.html): planned drills by state, drills held."""

from __future__ import annotations

import html
from datetime import date

from emergency.rules import PLANNED_STATUS_LABELS

WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"]
STATE_COLOURS = {"done": "#e3f4e6", "cancelled": "#eeeeee", "late": "#fde2e1", "upcoming": "#fff1d6"}
MAX_TITLES = 3  # per day; the rest as "等 N 项"

STYLE = """<style>
table.month-grid{border-collapse:collapse;width:100%;table-layout:fixed;font-size:13px}
.month-grid th{background:#f4f4f4;padding:4px;border:1px solid #ddd}
.month-grid td{vertical-align:top;height:92px;border:1px solid #ddd;padding:3px}
.month-grid td.out{background:#fafafa}
.month-grid td.today{outline:2px solid #c0392b}
.month-grid .d{font-weight:600;color:#555}
.month-grid .e{border-radius:3px;padding:1px 3px;margin:2px 0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.month-grid .h{color:#2e7d32}
</style>"""


def month_grid_html(weeks: list[list[dict | None]], today: date) -> str:
    rows = ["<tr>" + "".join(f"<th>周{d}</th>" for d in WEEKDAYS) + "</tr>"]
    for week in weeks:
        cells = []
        for cell in week:
            if cell is None:
                cells.append('<td class="out"></td>')
                continue
            day = cell["day"]
            planned = [e for e in cell["events"] if e["kind"] == "planned"]
            held = sum(e["count"] for e in cell["events"] if e["kind"] == "held")
            parts = [f'<div class="d">{day.day}</div>']
            for event in planned[:MAX_TITLES]:
                label = PLANNED_STATUS_LABELS.get(event["state"], "")
                parts.append(
                    f'<div class="e" style="background:{STATE_COLOURS.get(event["state"], "#fff")}"'
                    f' title="{html.escape(event["title"])}（{label}）">{html.escape(event["title"])}</div>'
                )
            if len(planned) > MAX_TITLES:
                parts.append(f'<div class="e">等 {len(planned)} 项计划</div>')
            if held:
                parts.append(f'<div class="h">已开展 {held} 场</div>')
            cls = ' class="today"' if day == today else ""
            cells.append(f"<td{cls}>{''.join(parts)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return STYLE + '<table class="month-grid">' + "".join(rows) + "</table>"
