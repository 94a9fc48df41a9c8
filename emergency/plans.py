"""Emergency plans kept as Markdown files with YAML front matter (plans/<CODE>.md).

The files are the source of truth for a plan's text and its catalogue fields; ``sync_plans``
copies them into the ``plans`` / ``plan_domains`` tables. Fields the registry maintains itself
(last_evaluated_on, needs_revision, status) are never overwritten by a sync.

Every validation problem raises ``PlanFileError`` with a Chinese message naming the file and the
field, so that the person editing the file can find and fix it.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from emergency.enums import HAZARD_DOMAINS, PLAN_CATEGORIES
from emergency.errors import Problem, ValidationError

from .db import first_row, first_value, local_today

if TYPE_CHECKING:
    from .db import Cursor, Database

PLANS_DIR = Path(__file__).resolve().parent.parent / "plans"

CODE_PATTERN = re.compile(r"[A-Z]{2}-\d{2}", re.ASCII)

REQUIRED_FIELDS = (
    "code",
    "name",
    "category",
    "lead_department",
    "response_levels",
    "drill_rule",
    "version",
    "revised_on",
    "hazard_domains",
)

# Plan types: a special plan (专项), a support plan (保障, e.g. 通信保障), a departmental plan (部门).
PLAN_TYPES = ("专项", "保障", "部门")

# Columns of plan_meta that a sync writes (what a file says beyond the plans table).
META_COLUMNS = (
    "plan_type",
    "drill_rule",
    "evaluation_rule",
    "drill_months_override",
    "evaluation_months_override",
    "issued_on",
    "doc_number",
)

# Columns of the plans table that a sync writes (the order of the INSERT).
SYNCED_COLUMNS = (
    "code",
    "name",
    "category",
    "lead_department",
    "response_levels",
    "drill_every_months",
    "review_every_months",
    "version",
    "revised_on",
    "is_template",
    "source_file",
    "body",
)

TEMPLATE_MARKER = "模板"

_DELIMITER = "---"


class PlanFileError(ValueError):
    """A plan file that cannot be loaded; ``path`` and ``field`` say where the problem is."""

    def __init__(self, path, field, message):
        self.path = Path(path)
        self.field = field
        super().__init__(f"预案文件 {self.path.name}：{message}")


def _show(value):
    if value is None:
        return "空"
    if isinstance(value, str):
        return value if value.strip() else "空字符串"
    return str(value)


def _field_error(path, field, requirement, value):
    return PlanFileError(path, field, f"字段“{field}”{requirement}（当前值：{_show(value)}）")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last one)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"重复的键 {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _split_front_matter(path, text):
    """(front matter text, body text); the file must open with a line of exactly ``---``."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != _DELIMITER:
        raise PlanFileError(
            path, "front matter", "缺少 front matter（文件第一行必须是“---”，其后是 YAML 字段，再以“---”结束）"
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == _DELIMITER:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise PlanFileError(path, "front matter", "front matter 没有结束行“---”")


def _positive_int(path, data, field, maximum=None):
    value = data[field]
    # bool is a subclass of int: ``true`` in YAML must not count as 1.
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        requirement = f"必须是 1 到 {maximum} 之间的整数" if maximum else "必须是正整数"
        raise _field_error(path, field, requirement, value)
    return value


def _non_empty_text(path, data, field):
    value = data[field]
    if isinstance(value, int) and not isinstance(value, bool) and field == "version":
        value = str(value)  # ``version: 2024`` reads as an integer
    if not isinstance(value, str) or not value.strip():
        raise _field_error(path, field, "必须是非空文本", value)
    return value.strip()


def _date(path, data, field):
    value = data[field]
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _field_error(path, field, "必须是日期，格式为 YYYY-MM-DD", value)


def _hazard_domains(path, data, field):
    value = data[field]
    if not isinstance(value, list) or not value:
        raise _field_error(path, field, "必须是至少包含一项的列表", value)
    domains = []
    for item in value:
        if not isinstance(item, str) or item not in HAZARD_DOMAINS:
            known = "、".join(HAZARD_DOMAINS)
            raise _field_error(path, field, f"含有未知的灾种代码 {_show(item)}，可用代码：{known}", value)
        if item in domains:
            raise _field_error(path, field, f"重复列出了灾种代码 {item}", value)
        domains.append(item)
    return domains


def parse_plan_file(path):
    """Read and validate one plan file; return a dict shaped like a ``plans`` row.

    The dict also carries ``hazard_domains`` (list of HAZARD_DOMAINS codes).
    """
    path = Path(path)
    try:
        # utf-8-sig: a BOM left by a Windows editor is tolerated.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PlanFileError(path, "encoding", "文件不是 UTF-8 编码，请另存为 UTF-8") from None

    front, body = _split_front_matter(path, text)
    try:
        data = yaml.load(front, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        # The front matter starts on the file's second line; PyYAML counts lines from 0.
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 2} 行" if mark is not None else "位置不明"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanFileError(path, "YAML", f"front matter 不是有效的 YAML（{where}：{problem}）") from None
    if not isinstance(data, dict):
        raise PlanFileError(path, "front matter", "front matter 必须是“字段: 值”形式的 YAML 映射")

    for field in REQUIRED_FIELDS:
        if field not in data:
            raise PlanFileError(path, field, f"缺少必填字段“{field}”")

    code = data["code"]
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise _field_error(path, "code", "必须形如 ZR-01（两个大写字母、短横线、两位数字）", code)
    if code != path.stem:
        raise _field_error(path, "code", f"必须与文件名一致（应为 {path.stem}）", code)

    category = data["category"]
    if category not in PLAN_CATEGORIES:
        raise _field_error(path, "category", f"必须是 {'、'.join(PLAN_CATEGORIES)} 之一", category)

    body = body.strip("\n").rstrip() + "\n" if body.strip() else ""
    meta = _meta(path, data)
    return {
        **meta,
        "code": code,
        "name": _non_empty_text(path, data, "name"),
        "category": category,
        "lead_department": _non_empty_text(path, data, "lead_department"),
        "response_levels": _positive_int(path, data, "response_levels", maximum=4),
        # The plans table's interval columns keep the interval in force at sync time (for reading
        # only): the clocks read the rule (deadline_rules) or the file's explicit override.
        "drill_every_months": meta["drill_months_override"] or _default_interval(meta["drill_rule"]),
        "review_every_months": meta["evaluation_months_override"] or _default_interval(meta["evaluation_rule"]),
        "version": _non_empty_text(path, data, "version"),
        "revised_on": _date(path, data, "revised_on"),
        "body": body,
        "source_file": path.name,
        "is_template": TEMPLATE_MARKER in body,
        "hazard_domains": _hazard_domains(path, data, "hazard_domains"),
    }


def _rule_codes(applies_to: str) -> list[str]:
    from .rules import DEFAULT_RULES

    return [r["code"] for r in DEFAULT_RULES if r["applies_to"] == applies_to]


def _default_interval(rule_code: str) -> int:
    from .rules import DEFAULT_RULES

    return next(int(r["interval_months"]) for r in DEFAULT_RULES if r["code"] == rule_code)


def _rule(path, data, field, applies_to, default=None):
    value = data.get(field, default)
    known = _rule_codes(applies_to)
    if value not in known:
        raise _field_error(path, field, f"必须是期限规则 {'、'.join(known)} 之一", value)
    return value


def _optional_int(path, data, field, maximum=None):
    return _positive_int(path, data, field, maximum) if data.get(field) is not None else None


def _optional_text(path, data, field):
    return _non_empty_text(path, data, field) if data.get(field) is not None else None


def _meta(path, data) -> dict:
    """The plan_meta fields of a file: its rules (drill_rule required, evaluation_rule by default
    plan_evaluation), an explicit interval override (drill_every_months / review_every_months, shown
    as such on the page), its type, and its issue (issued_on, by default revised_on; doc_number)."""
    plan_type = data.get("plan_type", "专项")
    if plan_type not in PLAN_TYPES:
        raise _field_error(path, "plan_type", f"必须是 {'、'.join(PLAN_TYPES)} 之一", plan_type)
    return {
        "plan_type": plan_type,
        "drill_rule": _rule(path, data, "drill_rule", "plan"),
        "evaluation_rule": _rule(path, data, "evaluation_rule", "plan_evaluation", "plan_evaluation"),
        "drill_months_override": _optional_int(path, data, "drill_every_months"),
        "evaluation_months_override": _optional_int(path, data, "review_every_months"),
        "issued_on": _date(path, data, "issued_on")
        if data.get("issued_on") is not None
        else _date(path, data, "revised_on"),
        "doc_number": _optional_text(path, data, "doc_number"),
    }


def check_unique_codes(plans):
    """Raise PlanFileError (naming the later file) when two parsed plans share a code."""
    seen: dict[str, str] = {}
    for plan in plans:
        if plan["code"] in seen:
            raise _field_error(plan["source_file"], "code", f"与预案文件 {seen[plan['code']]} 重复", plan["code"])
        seen[plan["code"]] = plan["source_file"]


def load_plan_dir(directory=PLANS_DIR):
    """Parse every ``*.md`` in ``directory`` (sorted by name); the first bad file raises."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"预案目录不存在：{directory}")
    plans = [parse_plan_file(path) for path in sorted(directory.glob("*.md"))]
    check_unique_codes(plans)
    return plans


def sync_plans(cur: Cursor, plans):
    """Insert or update ``plans`` (from load_plan_dir) in one transaction; return (inserted, updated).

    Existing rows keep last_evaluated_on, needs_revision and status, and their version and revision
    date when the registry recorded a later revision than the file's. Each plan's plan_domains rows
    are made equal to its hazard_domains. Plans in the table but not in ``plans`` are left alone.
    """
    plans = list(plans)
    check_unique_codes(plans)
    insert_sql = f"INSERT INTO plans ({', '.join(SYNCED_COLUMNS)}) VALUES ({', '.join('?' for _ in SYNCED_COLUMNS)})"
    update_columns = [c for c in SYNCED_COLUMNS if c != "code"]
    update_sql = f"UPDATE plans SET {', '.join(f'{c} = ?' for c in update_columns)} WHERE code = ?"
    inserted = updated = 0
    cur.begin()
    try:
        for plan in plans:
            code = plan["code"]
            exists = cur.execute("SELECT 1 FROM plans WHERE code = ?", [code]).fetchone()
            wanted = list(plan["hazard_domains"])
            if exists:
                current = {
                    row[0]
                    for row in cur.execute(
                        "SELECT domain_code FROM plan_domains WHERE plan_code = ?", [code]
                    ).fetchall()
                }
                # Only delete/insert what changed: DuckDB may refuse to delete and re-insert the
                # same key within one transaction.
                for domain in sorted(current - set(wanted)):
                    cur.execute(
                        "DELETE FROM plan_domains WHERE plan_code = ? AND domain_code = ?",
                        [code, domain],
                    )
                values = dict(plan)
                kept = first_row(cur, "SELECT version, revised_on FROM plans WHERE code = ?", [code])
                if kept[1] is not None and kept[1] > plan["revised_on"]:
                    # A revision recorded in the registry (record_revision) is newer than the file:
                    # keep it, so that a restart does not turn the plan's clock back.
                    values["version"], values["revised_on"] = kept
                cur.execute(update_sql, [values[c] for c in update_columns] + [code])
                new_domains = [d for d in wanted if d not in current]
                updated += 1
            else:
                cur.execute(insert_sql, [plan[c] for c in SYNCED_COLUMNS])
                new_domains = wanted
                inserted += 1
            for domain in new_domains:
                cur.execute(
                    "INSERT INTO plan_domains (plan_code, domain_code) VALUES (?, ?)",
                    [code, domain],
                )
            _sync_meta(cur, plan)
        cur.commit()
    except BaseException:
        cur.rollback()
        raise
    return inserted, updated


def _sync_meta(cur: Cursor, plan: dict) -> None:
    """plan_meta follows the file (a leaf table: updated in place)."""
    values = [plan[c] for c in META_COLUMNS]
    if cur.execute("SELECT 1 FROM plan_meta WHERE plan_code = ?", [plan["code"]]).fetchone():
        cur.execute(
            f"UPDATE plan_meta SET {', '.join(f'{c} = ?' for c in META_COLUMNS)} WHERE plan_code = ?",
            [*values, plan["code"]],
        )
    else:
        cur.execute(
            f"INSERT INTO plan_meta (plan_code, {', '.join(META_COLUMNS)}) VALUES (?{', ?' * len(META_COLUMNS)})",
            [plan["code"], *values],
        )


# The plan lifecycle kept in the registry: revisions and evaluations ------------------------------
PLAN_LABELS = {
    "name": "名称",
    "version": "版本",
    "revised_on": "修订日期",
    "last_evaluated_on": "最近评估",
    "needs_revision": "需修订",
    "status": "状态",
}


def active_plans(db: Database) -> dict[str, str]:
    """{code: name} of the plans in force (not retired), in code order: what a drill can exercise."""
    rows = db.memo(
        ("plans",),
        ("active_plans",),
        lambda: db.query("SELECT code, name FROM plans WHERE status = 'active' ORDER BY code"),
    )
    return dict(rows)  # a copy: the kept rows are shared


def _plan_row(cur: Cursor, code: str) -> dict:
    from .db import row_dict

    row = row_dict(
        cur,
        "SELECT code, name, version, revised_on, last_evaluated_on, needs_revision, status FROM plans WHERE code = ?",
        [code],
    )
    if not row:
        raise ValueError(f"预案 {code} 不存在")
    return row


def plan_record(db: Database, code: str) -> dict:
    """A plan's registry state as the revision / evaluation forms draw it; passed back as `expected`."""
    return _plan_row(db.cursor(), code)


def _fresh_plan(cur: Cursor, actor, code: str, expected: dict | None) -> dict:
    """Inside the write: the plan as it is now, unchanged since the form was drawn (stale.py)."""
    from . import stale

    before = _plan_row(cur, code)
    stale.check_fresh(before, expected, table="plans", record_id=code, labels=PLAN_LABELS, viewer=actor)
    return before


def record_revision(
    db: Database,
    actor,
    code: str,
    version: str,
    revised_on,
    note: str = "",
    *,
    today=None,
    expected: dict | None = None,
) -> int:
    """A new version of a plan (admin): restarts its evaluation clock and clears the revision flag."""
    from . import audit
    from .auth import require_admin
    from .hygiene import clean

    require_admin(actor, "登记预案修订")
    version = clean(version)
    today = today or local_today()

    def work(cur: Cursor):
        before = _fresh_plan(cur, actor, code, expected)  # read inside: two revisions at once cannot both pass
        problems = []
        if not version:
            problems.append(Problem("版本号", "不能为空"))
        elif version == before["version"]:
            problems.append(Problem("版本号", f"与现行版本 {version} 相同"))
        if not isinstance(revised_on, datetime.date):
            problems.append(Problem("修订日期", "必须填写日期"))
        elif revised_on > today:
            problems.append(Problem("修订日期", "不能晚于今天"))
        elif before["revised_on"] and revised_on < before["revised_on"]:
            problems.append(Problem("修订日期", f"不能早于现行版本的修订日期 {before['revised_on']}"))
        if problems:
            raise ValidationError(problems)
        cur.execute(
            "UPDATE plans SET version = ?, revised_on = ?, needs_revision = FALSE WHERE code = ?",
            [version, revised_on, code],
        )
        rid = first_value(
            cur,
            "INSERT INTO plan_revisions (plan_code, version, revised_on, kind, note, recorded_by)"
            " VALUES (?, ?, ?, 'revision', ?, ?) RETURNING id",
            [code, version, revised_on, clean(note) or None, actor.username],
        )
        audit.record(
            cur,
            actor,
            "update",
            "plans",
            code,
            {k: before[k] for k in ("version", "revised_on", "needs_revision")},
            {"version": version, "revised_on": revised_on, "needs_revision": False, "revision_id": rid},
        )
        from .evaluation import close_revision_actions

        close_revision_actions(cur, actor, code, revised_on, version)  # the revision is their evidence
        return rid

    return db.write(work)


PLAN_STATUSES = {"active": "现行", "retired": "已废止"}


def update_plan(db: Database, actor, code: str, changes: dict, *, expected: dict | None = None) -> dict:
    """Correct what the registry keeps of a plan (admin): in force or retired (status), and the
    "needs revision" flag. The catalogue fields (name, department, intervals) come from plans/*.md
    and are corrected there (sync_plans would overwrite them)."""
    from . import audit
    from .auth import require_admin

    require_admin(actor, "修改预案")

    def work(cur: Cursor):
        before = _fresh_plan(cur, actor, code, expected)
        after = {"status": before["status"], "needs_revision": before["needs_revision"]}
        after.update({k: v for k, v in changes.items() if k in after})
        if after["status"] not in PLAN_STATUSES:
            raise ValidationError.single("状态", f"必须是 {'、'.join(PLAN_STATUSES.values())} 之一")
        after["needs_revision"] = bool(after["needs_revision"])
        old, new = audit.changed({k: before[k] for k in after}, after)
        if new:
            cur.execute(f"UPDATE plans SET {', '.join(f'{k} = ?' for k in new)} WHERE code = ?", [*new.values(), code])
            audit.record(cur, actor, "update", "plans", code, old, new)
        return _plan_row(cur, code)

    return db.write(work)


def record_evaluation(
    db: Database,
    actor,
    code: str,
    evaluated_on,
    note: str = "",
    *,
    needs_revision: bool = False,
    today=None,
    expected: dict | None = None,
) -> int:
    """An evaluation (评估) of a plan (admin): restarts the evaluation clock; may flag the plan for revision."""
    from . import audit
    from .auth import require_admin
    from .hygiene import clean

    require_admin(actor, "登记预案评估")
    today = today or local_today()
    if not isinstance(evaluated_on, datetime.date):
        raise ValidationError.single("评估日期", "必须填写日期")
    if evaluated_on > today:
        raise ValidationError.single("评估日期", "不能晚于今天")

    def work(cur: Cursor):
        before = _fresh_plan(cur, actor, code, expected)
        if before["last_evaluated_on"] and evaluated_on < before["last_evaluated_on"]:
            raise ValidationError.single("评估日期", f"不能早于上次评估日期 {before['last_evaluated_on']}")
        flag = bool(needs_revision) or bool(before["needs_revision"])
        cur.execute(
            "UPDATE plans SET last_evaluated_on = ?, needs_revision = ? WHERE code = ?", [evaluated_on, flag, code]
        )
        rid = first_value(
            cur,
            "INSERT INTO plan_revisions (plan_code, version, revised_on, kind, note, recorded_by)"
            " VALUES (?, ?, ?, 'evaluation', ?, ?) RETURNING id",
            [code, before["version"] or "", evaluated_on, clean(note) or None, actor.username],
        )
        audit.record(
            cur,
            actor,
            "update",
            "plans",
            code,
            {"last_evaluated_on": before["last_evaluated_on"], "needs_revision": before["needs_revision"]},
            {"last_evaluated_on": evaluated_on, "needs_revision": flag, "evaluation_id": rid},
        )
        return rid

    return db.write(work)


def plan_history(db: Database, code: str) -> list[dict]:
    """Revisions and evaluations recorded in the registry, newest first."""
    return db.query_dicts(
        "SELECT id, kind, version, revised_on, note, recorded_by FROM plan_revisions"
        " WHERE plan_code = ? ORDER BY revised_on DESC, id DESC",
        [code],
    )


FILING_SUBJECTS = {"plan": "县级预案", "local_plan": "乡镇/村（社区）预案", "enterprise_plan": "企业预案"}


def record_filing(
    db: Database,
    actor,
    subject_type: str,
    subject_id: str,
    filed_with: str,
    filed_on,
    receipt_no: str = "",
    *,
    today=None,
) -> int:
    """A plan version's 备案 (to whom, when, receipt number): admin for county and enterprise plans, the
    township's own operator (or the admin) for a township or village plan; audited. Restarts nothing:
    it satisfies the filing clock of the version issued on or before `filed_on`."""
    from . import audit
    from .auth import require_admin, require_write
    from .hygiene import clean

    if subject_type not in FILING_SUBJECTS:
        raise ValidationError.single("备案对象", f"未知的类型 {subject_type}")
    today = today or local_today()
    filed_with, receipt_no = clean(filed_with), clean(receipt_no)

    def work(cur: Cursor) -> int:
        if subject_type == "plan":
            require_admin(actor, "登记预案备案")
            version: tuple | None = cur.execute("SELECT version FROM plans WHERE code = ?", [subject_id]).fetchone()
        elif subject_type == "local_plan":
            row = cur.execute(
                "SELECT version, township_code FROM local_plans WHERE id = ?", [int(subject_id)]
            ).fetchone()
            if row is None:
                raise ValidationError.single("预案", f"乡镇/村（社区）预案 {subject_id} 不存在")
            require_write(actor, row[1], "登记预案备案")
            version = (row[0],)
        else:
            require_admin(actor, "登记企业预案备案")
            found = cur.execute("SELECT name FROM enterprise_plans WHERE id = ?", [int(subject_id)]).fetchone()
            version = (None,) if found else None
        if version is None:
            raise ValidationError.single("预案", f"{FILING_SUBJECTS[subject_type]} {subject_id} 不存在")
        problems = []
        if not filed_with:
            problems.append(Problem("备案单位", "不能为空"))
        if not isinstance(filed_on, datetime.date):
            problems.append(Problem("备案日期", "必须填写日期"))
        elif filed_on > today:
            problems.append(Problem("备案日期", "不能晚于今天"))
        if problems:
            raise ValidationError(problems)
        values = {
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "version": version[0],
            "filed_with": filed_with,
            "filed_on": filed_on,
            "receipt_no": receipt_no or None,
            "recorded_by": actor.username,
        }
        fid = first_value(
            cur,
            f"INSERT INTO filings ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) RETURNING id",
            list(values.values()),
        )
        audit.record(cur, actor, "insert", "filings", fid, None, values)
        return fid

    return db.write(work)
