"""A drill's archive (演练档案): the documents it holds by kind, whether it is complete for its level,
the drills whose archive is incomplete, and the summary report (演练总结报告) written from the record.

AQ/T 9007-2019 §8.2 (文件归档与备案) asks that the drill's plan (方案), script (脚本), evaluation report,
summary report and the sign-in, photo, video and audio records be archived. Which kinds a drill of each
level must hold is the bureau's rule, kept as data (setting `archive_required`, defaults below).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .enums import DRILL_FORMS, DRILL_LEVELS
from .evaluation import ORGANISATION_FIELDS
from .paging import Page, fetch, limit_clause, page_size_of
from .records import live

if TYPE_CHECKING:
    from pathlib import Path

    from .db import Database

# kind -> (label, upload purpose in hygiene.UPLOAD_TYPES, size limit in MB), in the order of a drill.
KINDS: dict[str, tuple[str, str, int]] = {
    "scheme": ("演练方案", "attachment", 20),
    "script": ("演练脚本", "attachment", 20),
    "sign_in": ("签到表", "attachment", 20),
    "evaluation": ("评估报告", "attachment", 20),
    "summary": ("总结报告", "attachment", 20),
    "photo": ("照片", "photo", 20),
    "video": ("视频", "video", 200),
    "audio": ("音频", "audio", 200),
    "pdf": ("其他文件", "attachment", 20),
}
KIND_LABELS = {kind: label for kind, (label, _, _) in KINDS.items()}

# [I] The bureau's default rule, after AQ/T 9007-2019 §8.2: a county or enterprise drill keeps the full
# paper trail; a township drill its scheme, sign-in sheet and summary; a village drill the sign-in
# sheet and photos. Editable as the setting `archive_required` ({level: [kind, ...]}).
DEFAULT_REQUIRED: dict[str, list[str]] = {
    "county": ["scheme", "sign_in", "evaluation", "summary"],
    "township": ["scheme", "sign_in", "summary"],
    "village": ["sign_in", "photo"],
    "enterprise": ["scheme", "sign_in", "evaluation", "summary"],
}
SOURCE = "AQ/T 9007-2019《生产安全事故应急演练基本规范》8.2 文件归档与备案；各层级必备材料为本局规定（可在设置中修改）"


def required_kinds(db: Database) -> dict[str, list[str]]:
    """{level: [kind, ...]}: the setting archive_required over the defaults, unknown kinds left out."""
    stored = db.setting("archive_required", {}) or {}
    rule = {level: list(kinds) for level, kinds in DEFAULT_REQUIRED.items()}
    for level, kinds in stored.items():
        if level in DRILL_LEVELS and isinstance(kinds, list):
            rule[level] = [k for k in kinds if k in KINDS]
    return rule


def missing_kinds(level: str, present: list[str] | set[str], required: dict[str, list[str]]) -> list[str]:
    """The kinds a drill of `level` must hold and does not, in the rule's order."""
    have = set(present)
    return [kind for kind in required.get(level, []) if kind not in have]


def archive_status(db: Database, drill_id: int) -> dict:
    """{"required": [...], "present": [...], "missing": [...]} for one drill (kinds as codes)."""
    level = db.scalar("SELECT level FROM drills WHERE id = ?", [drill_id])
    present = [r[0] for r in db.query("SELECT DISTINCT kind FROM drill_attachments WHERE drill_id = ?", [drill_id])]
    required = required_kinds(db)
    return {
        "required": required.get(level, []),
        "present": sorted(present, key=list(KINDS).index),
        "missing": missing_kinds(level, present, required),
    }


def _incomplete_query(db: Database, year: int, township_code: str | None) -> tuple[str, list]:
    """The year's drills missing a required kind, the rule applied in SQL (a drill's kinds against
    its level's list, kept in the rule's order), so that a page reads one page of them."""
    required = required_kinds(db)
    levels = [level for level in required if required[level]]
    rule = " UNION ALL ".join("SELECT ? AS level, ?::VARCHAR[] AS kinds" for _ in levels) or (
        "SELECT NULL::VARCHAR AS level, []::VARCHAR[] AS kinds WHERE FALSE"
    )
    params: list = [*(v for level in levels for v in (level, required[level])), year]
    scope = ""
    if township_code:
        scope, params = " AND d.township_code = ?", [*params, township_code]
    sql = (
        f"WITH rule AS ({rule}), drilled AS ("
        " SELECT d.id, d.held_on, d.title, d.level, t.name AS township_name,"
        "  coalesce(list(DISTINCT a.kind) FILTER (WHERE a.kind IS NOT NULL), []) AS present"
        "  FROM drills d LEFT JOIN townships t ON t.code = d.township_code"
        "  LEFT JOIN drill_attachments a ON a.drill_id = d.id"
        f"  WHERE year(d.held_on) = ?{scope} AND {live('drills', 'd')}"
        "  GROUP BY d.id, d.held_on, d.title, d.level, t.name"
        "), checked AS ("
        " SELECT x.id, x.held_on, x.title, x.level, x.township_name, x.present,"
        "  list_filter(r.kinds, lambda k: NOT list_contains(x.present, k)) AS missing"
        " FROM drilled x JOIN rule r ON r.level = x.level)"
        " SELECT * FROM checked WHERE len(missing) > 0"
    )
    return sql, params


def incomplete_archives(
    db: Database, year: int, township_code: str | None = None, *, limit: int | None = None, offset: int = 0
) -> list[dict]:
    """The year's drills missing a required kind, latest first: id, held_on, title, level,
    township_name, present, missing (kinds in the rule's order); `limit`/`offset` for one page."""
    return _incomplete_rows(db, year, township_code, limit, offset)[0]


def _incomplete_rows(
    db: Database, year: int, township_code: str | None, limit: int | None, offset: int
) -> tuple[list[dict], int | None]:
    """The rows of incomplete_archives and the whole list's length, from one statement (the count a
    window over the same rows); the length is None when the page is past the end (no row)."""
    sql, params = _incomplete_query(db, year, township_code)
    rows = db.query_dicts(
        f"SELECT *, count(*) OVER () AS whole_list FROM ({sql}) ORDER BY held_on DESC, id DESC"
        f"{limit_clause(limit, offset)}",
        params,
    )
    total = None
    for row in rows:
        total = int(row.pop("whole_list"))
        row["present"] = sorted(row["present"], key=list(KINDS).index)
    return rows, total


def incomplete_count(db: Database, year: int, township_code: str | None = None) -> int:
    sql, params = _incomplete_query(db, year, township_code)
    return int(db.scalar(f"SELECT count(*) FROM ({sql})", params))


def incomplete_page(
    db: Database, year: int, township_code: str | None = None, page: int = 1, page_size: int | None = None
) -> Page[list[dict]]:
    """One page (paging.Page) of incomplete_archives, with the whole count: one run of the rule's
    aggregate (the count comes with the page's rows); only a page past the end (the list shrank
    since the page number was chosen) counts first, then reads the last page."""
    size = page_size_of(page_size)
    number = max(1, int(page or 1))
    rows, total = _incomplete_rows(db, year, township_code, size, (number - 1) * size)
    if total is None:
        if number == 1:
            return Page(rows, 0, 1, size)
        return fetch(
            lambda: incomplete_count(db, year, township_code),
            lambda limit, offset: incomplete_archives(db, year, township_code, limit=limit, offset=offset),
            number,
            size,
        )
    return Page(rows, total, number, size)


def labels(kinds: list[str]) -> str:
    return "、".join(KIND_LABELS.get(k, k) for k in kinds) or "—"


# The summary report ----------------------------------------------------------------------------------
def _or_blank(value) -> str:
    text = str(value).strip() if value is not None else ""
    return text or "（未填写）"


def summary_context(detail: dict, status: dict, issuer: str, issued_on: date) -> dict:
    """What the summary template is filled with, from drills.drill_detail and archive_status."""
    from .enums import DRILL_CONTENTS

    where = detail.get("enterprise_name") or detail.get("village_name") or detail.get("township_name") or "全县"
    held = detail["held_on"]
    span = ""
    if detail.get("started_at") and detail.get("ended_at"):
        span = f"{detail['started_at']:%H:%M}至{detail['ended_at']:%H:%M}"
    basics = (
        f"{held.year}年{held.month}月{held.day}日{span}，{detail.get('organiser') or where}"
        f"在{detail.get('place') or where}组织开展{DRILL_LEVELS.get(detail['level'], '')}"
        f"{DRILL_FORMS.get(detail['form'], '')}（{DRILL_CONTENTS.get(detail['content'], '')}），"
        f"参演单位：{detail.get('participating_units') or '（未填写）'}，参演{detail['participants']}人次。"
    )
    org = detail.get("organisation") or {}
    organisation = "；".join(f"{label}：{org[key]}" for key, label in ORGANISATION_FIELDS.items() if org.get(key))
    if org.get("teams"):
        organisation += ("；" if organisation else "") + "参演队伍：" + "、".join(t["name"] for t in org["teams"])
    assessment = "未进行结构化评估。"
    latest = detail.get("latest_evaluation")
    if latest:
        from .evaluation import GRADES, METHODS, SCORES
        from .evaluation import ITEMS as EVALUATION_ITEMS

        scores = "、".join(
            f"{EVALUATION_ITEMS.get(i, i)}{SCORES.get(r['score'], '')}" for i, r in latest["scores"].items()
        )
        met = sum(1 for o in latest["objectives"] if o["achieved"])
        assessment = (
            f"{latest['evaluated_on'].year}年{latest['evaluated_on'].month}月{latest['evaluated_on'].day}日由"
            f"{latest['evaluators']}以{METHODS.get(latest['method'], '')}方式评估，总体评价为"
            f"{GRADES.get(latest['grade'], '')}；评估项目：{scores or '无'}；"
            f"演练目标{len(latest['objectives'])}项，达成{met}项。"
        )
    actions = detail.get("actions", [])
    closed = sum(1 for a in actions if a.get("closed_on"))
    return {
        "title": f"{detail['title']}总结报告",
        "basics": basics,
        "plans": "、".join(f"{p['code']} {p['name']}" for p in detail.get("plans", [])) or "（未关联预案）",
        "scenario": _or_blank(detail.get("scenario")),
        "assessment": assessment,
        "organisation": (organisation + "。") if organisation else "（未填写组织情况）",
        "objectives": "；".join(o["objective"] for o in detail.get("objectives", [])) or "（未填写）",
        "problems": _or_blank(detail.get("problems")),
        "evaluation": _or_blank(detail.get("evaluation")),
        "lessons": "经验教训：" + _or_blank(detail.get("lessons")),
        "recommendations": "改进建议：" + _or_blank(detail.get("recommendations")),
        "actions_summary": f"本次演练形成整改事项{len(actions)}项，已完成{closed}项。"
        if actions
        else "本次演练未形成整改事项。",
        "action_rows": [
            (
                a["description"],
                a.get("owner") or "—",
                f"{a['due_on']}" if a.get("due_on") else "—",
                f"已于{a['closed_on']}完成" if a.get("closed_on") else "未完成",
            )
            for a in actions
        ],
        "archive_summary": (
            f"已归档：{labels(status['present'])}。"
            + (f"尚缺：{labels(status['missing'])}。" if status["missing"] else "档案齐全。")
        ),
        "issuer": detail.get("organiser") or issuer,
        "issued_on": f"{issued_on.year}年{issued_on.month}月{issued_on.day}日",
    }


def summary_docx(db: Database, drill_id: int, issued_on: date | None = None, template: Path | None = None) -> bytes:
    """The drill's summary report as a 公文 .docx, filled into the summary template."""
    from datetime import datetime

    from . import report_template, reports
    from .db import TZ
    from .drills import drill_detail
    from .evaluation import latest_evaluation, objectives, organisation

    detail = drill_detail(db, drill_id)
    detail["organisation"] = organisation(db, drill_id)
    detail["objectives"] = objectives(db, drill_id)
    detail["latest_evaluation"] = latest_evaluation(db, drill_id)
    context = summary_context(
        detail, archive_status(db, drill_id), reports.issuer(db), issued_on or datetime.now(TZ).date()
    )
    path = template or report_template.SUMMARY_TEMPLATE_PATH
    return report_template.render(path, context, context["title"], context["issuer"])
