"""The annual statistics and the emergency paragraph of the county's report, written from the data,
and the same as a Word document (title, headings, tables) and an Excel workbook.

Every figure is computed from the records (stats.year_stats and the tables below); nothing is typed
in. The "三级联动 / 16个乡镇互联互通" clauses come from emergency.linkage.connected_townships when that
module is present; without it they are left out rather than asserted.
"""

from __future__ import annotations

import io
from datetime import date
from typing import TYPE_CHECKING

from . import audit
from .enums import DRILL_LEVELS, ENTERPRISE_SECTORS, HAZARD_DOMAINS, PLAN_CATEGORIES
from .errors import ValidationError
from .records import live
from .stats import STAT_LABELS, about, year_stats

if TYPE_CHECKING:
    from .db import Database

CHINESE_DIGITS = "一二三四五六七八九十"
FORMATS = {
    "text": ("txt", "text/plain"),
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _chinese_count(n: int) -> str:
    return CHINESE_DIGITS[n - 1] if 0 < n <= 10 else str(n)


def _connected_townships(db: Database, year: int) -> int:
    """The one definition of "connected" (linkage.connected_townships)."""
    from . import linkage

    return int(linkage.connected_townships(db, year))


def top_domains(db: Database, year: int, n: int = 2) -> tuple[list[str], int]:
    """The hazard domains most covered by teams active at year end, and how many domains are covered."""
    from .teams import domain_counts

    rows = domain_counts(db, date(year, 12, 31))
    names = [HAZARD_DOMAINS.get(r["domain_code"], r["domain_code"]).removesuffix("抗旱") for r in rows]
    return names[:n], len(rows)


def report_figures(db: Database, year: int) -> dict:
    """year_stats plus what the report text and tables need: linkage, domains, drills by level and sector."""
    from .drills import by_level_and_sector

    figures = year_stats(db, year)
    figures["connected_townships"] = _connected_townships(db, year)
    figures["top_domains"], figures["domains_covered"] = top_domains(db, year)
    figures["by_level"], figures["by_sector"] = by_level_and_sector(db, year)
    figures["by_township"] = db.query_dicts(
        "SELECT t.name AS township_name, count(d.id) AS drills, coalesce(sum(d.participants), 0) AS participants"
        f" FROM townships t LEFT JOIN drills d ON d.township_code = t.code AND year(d.held_on) = ? AND {live('drills', 'd')}"
        " WHERE t.is_township GROUP BY t.name, t.sort_order ORDER BY t.sort_order",
        [year],
    )
    figures["plans_by_category"] = dict(
        db.query("SELECT category, count(*) FROM plans WHERE status = 'active' GROUP BY 1")
    )
    figures["plans_drilled"] = db.scalar(
        "SELECT count(DISTINCT dp.plan_code) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id"
        f" JOIN plans p ON p.code = dp.plan_code WHERE p.status = 'active' AND year(d.held_on) = ? AND {live('drills', 'd')}",
        [year],
    )
    figures["actions"], figures["actions_closed"] = db.query(
        "SELECT count(*), count(a.closed_on) FROM corrective_actions a JOIN drills d ON d.id = a.drill_id"
        f" WHERE year(d.held_on) = ? AND {live('drills', 'd')} AND {live('corrective_actions', 'a')}",
        [year],
    )[0]
    return figures


def report_paragraph(figures: dict) -> str:
    """The emergency paragraph of the county's report, in its style, from report_figures()."""
    f = figures
    connected = f.get("connected_townships")
    domains = "、".join(f["top_domains"])
    parts = [f"{f['year']}年，全县{f['townships']}个乡镇、{f['villages']}个村（社区）"]
    if connected is not None and connected >= f["townships"] > 0:
        parts.append("实现县、乡（镇）、村（社区）三级联动，")
    else:
        parts.append("扎实推进应急准备工作，")
    parts.append(f"现有应急救援队伍{f['teams']}支、队员{f['members']}人，")
    if domains:
        parts.append(f"覆盖{domains}等{f['domains_covered']}个领域；")
    parts.append(
        f"修订完善{_chinese_count(f['plan_categories'])}类{f['plans']}项专项应急预案，"
        f"开展县乡两级演练{f['county_township_drills']}场次，参演{about(f['county_township_participants'])}人次，"
        f"非煤矿山等领域演练{f['sector_drills']}场次，参演{f['sector_participants']}人次"
    )
    if f.get("village_drills"):
        parts.append(f"，村（社区）演练{f['village_drills']}场次，参演{f['village_participants']}人次")
    if connected is not None and connected > 0:
        if connected >= f["townships"]:
            parts.append(f"；构建应急信息“大中枢”，实现数据整合，全县{connected}个乡镇互联互通")
        else:
            parts.append(f"；全县{f['townships']}个乡镇中已有{connected}个实现互联互通")
    parts.append("。")
    return "".join(parts)


def level_rows(figures: dict) -> list[tuple[str, int, int]]:
    found = {r["level"]: r for r in figures["by_level"]}
    rows = [
        (label, int(found.get(code, {}).get("drills", 0)), int(found.get(code, {}).get("participants", 0)))
        for code, label in DRILL_LEVELS.items()
    ]
    rows.append(("合计", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    return rows


def sector_rows(figures: dict) -> list[tuple[str, int, int, int]]:
    found = {r["sector"]: r for r in figures["by_sector"]}
    rows = [
        (
            label,
            int(found.get(code, {}).get("enterprises", 0)),
            int(found.get(code, {}).get("drills", 0)),
            int(found.get(code, {}).get("participants", 0)),
        )
        for code, (label, _) in ENTERPRISE_SECTORS.items()
    ]
    rows.append(("合计", sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)))
    return rows


def figure_rows(figures: dict) -> list[tuple[str, int]]:
    return [(label, figures[key]) for key, label in STAT_LABELS.items()]


def linkage_note(figures: dict) -> str | None:
    if figures.get("connected_townships") is None:
        return "说明：三级联动与乡镇互联互通情况待联动模块提供数据后写入。"
    return None


# Output formats --------------------------------------------------------------------------------------
def title(year: int) -> str:
    return f"嵩县{year}年度应急准备与演练工作统计报告"


def as_text(figures: dict) -> str:
    lines = [title(figures["year"]), "", report_paragraph(figures), "", "主要数据："]
    lines += [f"  {label}：{value}" for label, value in figure_rows(figures)]
    lines += ["", "演练按层级（场次 / 参演人次）："]
    lines += [f"  {label}：{drills} / {people}" for label, drills, people in level_rows(figures)]
    lines += ["", "非煤矿山等领域演练按行业（企业数 / 场次 / 参演人次）："]
    lines += [f"  {label}：{ents} / {drills} / {people}" for label, ents, drills, people in sector_rows(figures)]
    note = linkage_note(figures)
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _docx_table(document, header: list[str], rows: list[tuple]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = str(value)


def as_docx(figures: dict) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "SimSun", Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    document.core_properties.title = title(figures["year"])
    document.add_heading(title(figures["year"]), level=0)
    document.add_heading("一、总体情况", level=1)
    document.add_paragraph(report_paragraph(figures))
    note = linkage_note(figures)
    if note:
        document.add_paragraph(note)
    document.add_heading("二、主要数据", level=1)
    _docx_table(document, ["指标", "数值"], figure_rows(figures))
    document.add_heading("三、演练情况", level=1)
    document.add_heading("（一）按演练层级", level=2)
    _docx_table(document, ["层级", "场次", "参演人次"], level_rows(figures))
    document.add_heading("（二）非煤矿山等领域（按行业）", level=2)
    _docx_table(document, ["行业领域", "开展演练的企业数", "场次", "参演人次"], sector_rows(figures))
    document.add_heading("（三）按乡镇", level=2)
    _docx_table(
        document,
        ["乡镇", "场次", "参演人次"],
        [(r["township_name"], r["drills"], r["participants"]) for r in figures["by_township"]],
    )
    document.add_heading("四、预案与整改", level=1)
    categories = "、".join(f"{c}{figures['plans_by_category'].get(c, 0)}项" for c in PLAN_CATEGORIES)
    document.add_paragraph(
        f"在用专项应急预案{figures['plans']}项（{categories}），本年度有{figures['plans_drilled']}项预案开展了演练。"
        f"本年度演练发现问题形成整改事项{figures['actions']}项，已完成整改{figures['actions_closed']}项。"
    )
    document.add_paragraph("本报告中的数字均由系统根据登记记录自动计算。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def as_xlsx(figures: dict) -> bytes:
    import pandas as pd

    from .exports import sheets_xlsx

    sheets = {
        "主要数据": pd.DataFrame(figure_rows(figures), columns=["指标", "数值"]),
        "按层级": pd.DataFrame(level_rows(figures), columns=["层级", "场次", "参演人次"]),
        "按行业领域": pd.DataFrame(sector_rows(figures), columns=["行业领域", "开展演练的企业数", "场次", "参演人次"]),
        "按乡镇": pd.DataFrame(
            [(r["township_name"], r["drills"], r["participants"]) for r in figures["by_township"]],
            columns=["乡镇", "场次", "参演人次"],
        ),
        "报告段落": pd.DataFrame({"段落": [report_paragraph(figures)]}),
    }
    return sheets_xlsx(sheets)


def render(db: Database, year: int, fmt: str = "text") -> bytes | str:
    figures = report_figures(db, year)
    if fmt == "text":
        return as_text(figures)
    if fmt == "docx":
        return as_docx(figures)
    if fmt == "xlsx":
        return as_xlsx(figures)
    raise ValidationError.single("格式", f"必须是 {'、'.join(FORMATS)} 之一")


def export(db: Database, actor, year: int, fmt: str) -> bytes:
    """The report as a download, with an audit row (who exported which year in which format)."""
    data = render(db, year, fmt)
    data = data.encode("utf-8") if isinstance(data, str) else data
    db.write(lambda cur: audit.record(cur, actor, "export", "annual_report", year, None, {"format": fmt}))
    return data
