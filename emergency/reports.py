"""The annual statistics and the emergency paragraph of the county's report, written from the data,
and the same as a Word document (title, headings, tables) and an Excel workbook.

Every figure is computed from the records (stats.year_stats and the tables below); nothing is typed
in. The "三级联动 / 16个乡镇互联互通" clauses come from emergency.linkage.connected_townships when that
module is present; without it they are left out rather than asserted.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from . import audit, report_template
from .enums import DRILL_LEVELS, ENTERPRISE_SECTORS, HAZARD_DOMAINS, PLAN_CATEGORIES
from .errors import ValidationError
from .records import live
from .stats import STAT_LABELS, about, year_stats

if TYPE_CHECKING:
    from .db import Database

DEFAULT_ISSUER = "嵩县应急管理局"
OWN_TEMPLATE_NAME = "report_template.docx"  # a template the bureau edited, beside the database file
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


# The county's report names fire first, as the backbone of its rescue forces ("覆盖消防、防汛等多个领域").
LEAD_DOMAIN = "fire"


def top_domains(db: Database, year: int, n: int = 2) -> tuple[list[str], int]:
    """The hazard domains the report names (fire first when covered, then the most covered) and how many
    domains teams active at year end cover."""
    from .teams import domain_counts

    rows = domain_counts(db, date(year, 12, 31))
    codes = [r["domain_code"] for r in rows]
    if LEAD_DOMAIN in codes:
        codes.remove(LEAD_DOMAIN)
        codes.insert(0, LEAD_DOMAIN)
    names = [HAZARD_DOMAINS.get(code, code).removesuffix("抗旱") for code in codes]
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
        parts.append(f"覆盖{domains}等{'多个' if f['domains_covered'] > len(f['top_domains']) else ''}领域；")
    parts.append(
        f"修订完善{_chinese_count(f['plan_categories'])}类{f['plans']}项专项应急预案，"
        f"开展县乡两级演练{f['county_township_drills']}场次，参演{about(f['county_township_participants'])}人次，"
        f"非煤矿山等领域演练{f['sector_drills']}场次，参演{about(f['sector_participants'])}人次"
    )
    if f.get("village_drills"):
        parts.append(f"，村（社区）演练{f['village_drills']}场次，参演{about(f['village_participants'])}人次")
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


def plans_paragraph(figures: dict) -> str:
    categories = "、".join(f"{c}{figures['plans_by_category'].get(c, 0)}项" for c in PLAN_CATEGORIES)
    return (
        f"在用专项应急预案{figures['plans']}项（{categories}），本年度有{figures['plans_drilled']}项预案开展了演练。"
        f"本年度演练发现问题形成整改事项{figures['actions']}项，已完成整改{figures['actions_closed']}项。"
    )


def report_context(figures: dict, issuer: str, issued_on: date) -> dict:
    """What the Word template is filled with: every figure, as text."""
    return {
        "title": title(figures["year"]),
        "paragraph": report_paragraph(figures),
        "note": linkage_note(figures) or "",
        "figure_rows": figure_rows(figures),
        "level_rows": level_rows(figures),
        "sector_rows": sector_rows(figures),
        "township_rows": [(r["township_name"], r["drills"], r["participants"]) for r in figures["by_township"]],
        "plans_paragraph": plans_paragraph(figures),
        "issuer": issuer,
        # GB/T 9704-2012 writes the 成文日期 in Arabic numerals: 2025年2月5日.
        "issued_on": f"{issued_on.year}年{issued_on.month}月{issued_on.day}日",
    }


def issuer(db: Database) -> str:
    """The 落款 (issuing body): the setting report_issuer, by default the county bureau."""
    return str(db.setting("report_issuer", DEFAULT_ISSUER) or DEFAULT_ISSUER)


def template_path(db: Database | None = None) -> Path:
    """The bureau's own template (report_template.docx beside the database) if there is one, else the default."""
    if db is not None and str(db.path) != ":memory:":
        own = Path(db.path).parent / OWN_TEMPLATE_NAME
        if own.is_file():
            return own
    return report_template.TEMPLATE_PATH


def as_docx(figures: dict, template: Path | None = None, issuer: str = DEFAULT_ISSUER, issued_on=None) -> bytes:
    """The report as a 公文: docxtpl fills the template; the layout is the template's."""
    from datetime import datetime

    from .db import TZ

    context = report_context(figures, issuer, issued_on or datetime.now(TZ).date())
    return report_template.render(template or report_template.TEMPLATE_PATH, context, title(figures["year"]), issuer)


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


def render(
    db: Database, year: int, fmt: str = "text", template: Path | None = None, issued_on: date | None = None
) -> bytes | str:
    figures = report_figures(db, year)
    if fmt == "text":
        return as_text(figures)
    if fmt == "docx":
        return as_docx(figures, template or template_path(db), issuer(db), issued_on)
    if fmt == "xlsx":
        return as_xlsx(figures)
    raise ValidationError.single("格式", f"必须是 {'、'.join(FORMATS)} 之一")


def export(db: Database, actor, year: int, fmt: str) -> bytes:
    """The report as a download, with an audit row (who exported which year in which format)."""
    data = render(db, year, fmt)
    data = data.encode("utf-8") if isinstance(data, str) else data
    db.write(lambda cur: audit.record(cur, actor, "export", "annual_report", year, None, {"format": fmt}))
    return data
