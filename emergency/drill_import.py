"""Import of drill records (演练记录) from the drill logs townships keep in spreadsheets (issue 17).

Built on the one import engine of emergency/imports.py, as the resource registries are
(resources/transfer.py): the kind "drills" is registered with its template columns and header
synonyms (`imports.register_kind`), so the file is read, its header row found, every sheet taken,
each column matched by header, synonym or the user's mapping (`--map`, the page's mapping step) and
an unknown column refused, by the engine's `layout` and `_column_problems`; the rows are checked by
a `_Checker` subclass.

Each row is parsed with emergency.normalise (dates as 2024.5.12, 2024年5月12日 or Excel serials,
full-width digits) and checked with the drill form's own validator, `drills.validate_drill` (one
rule, not a copy), plus the import's rules: scope (a township operator imports only its own
township's drills), and duplicates (a row with the township, date and title of a live drill already
recorded, or of an earlier row of the file, is refused: the double-save guard of issue 15,
`drills.title_key`). Every problem names its row as Excel shows it, its column and the reason in
Chinese. Only a file without a single problem is written, in one transaction: the drills, the plans
each exercised (drill_plans), their remarks (drill_notes, migration 013) and ONE audit row.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import audit, drills, imports, normalise
from .auth import PermissionDenied, User
from .db import insert_frame, local_today
from .enums import DRILL_CONTENTS, DRILL_FORMS, DRILL_LEVELS
from .errors import Problem
from .hygiene import clean
from .records import live

if TYPE_CHECKING:
    from .db import Cursor, Database

KIND = "drills"
WHAT = "演练记录"
Column = imports.Column
COLUMNS: list[Column] = [
    Column("演练名称", "title", True, example="城关镇防汛抢险综合演练"),
    Column(
        "演练日期",
        "held_on",
        True,
        example="2024.5.12",
        note="2024-05-12、2024/5/12、2024.5.12、2024年5月12日或 Excel 日期均可；不能晚于今天",
    ),
    Column("所属乡镇", "township_code", False, None, "城关镇", "县级演练不填；可写 城关镇、城关 或统计区划代码"),
    Column("村（社区）", "village_code", example="", note="村级演练必填，须属于所属乡镇"),
    Column("演练级别", "level", True, tuple(DRILL_LEVELS.values()), "乡镇级"),
    Column(
        "演练形式",
        "form",
        True,
        None,  # no dropdown: 综合实战演练 is written in one cell too
        "实战演练",
        "桌面演练或实战演练；可连同单项、综合一起写，如“综合实战演练”",
    ),
    Column(
        "演练内容",
        "content",
        False,
        tuple(DRILL_CONTENTS.values()),
        "综合演练",
        "单项演练或综合演练；不填时按“演练形式”中的单项、综合，都没有写为单项演练",
    ),
    Column("参演人数", "participants", True, example=120, note="参演人次，整数（可写 120 或 120人）"),
    Column(
        "关联预案",
        "plans",
        True,
        example="ZR-01 防汛应急预案",
        note="预案编号（如 ZR-01）或名称，多个用顿号、逗号或分号分隔",
    ),
    Column("地点", "place", example="城关镇伊河滩"),
    Column("组织单位", "organiser", True, example="城关镇人民政府"),
    Column("参演单位", "participating_units", example="城关镇应急救援队、镇卫生院"),
    Column("企业（单位）", "enterprise_id", example="", note="企业演练填写已登记的本乡镇企业名称"),
    Column("备注", "note", example=""),
]
# The headers township drill logs use (the engine also ignores spaces, brackets' widths and notes).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "演练名称": ("演练项目", "演练科目", "演练主题", "演练题目", "项目名称", "名称"),
    "演练日期": ("演练时间", "日期", "时间", "开展时间", "开展日期", "演练开展时间"),
    "所属乡镇": ("乡镇（街道）", "乡镇", "所在乡镇", "所属乡镇（街道）", "乡镇街道", "乡（镇）", "所在乡镇（街道）"),
    "村（社区）": ("所属村（社区）", "所属村", "所在村", "村", "村社区", "所在村（社区）"),
    "演练级别": ("级别", "演练层级", "层级", "演练等级"),
    "演练形式": ("形式", "演练方式", "方式", "演练类型", "类型"),
    "演练内容": ("单项/综合", "演练规模"),
    "参演人数": ("参加人数", "参演人员数", "参演人次", "参与人数", "人数", "参演人员", "参加人员数"),
    "关联预案": ("预案", "演练预案", "相关预案", "依据预案", "预案名称", "对应预案", "检验预案"),
    "地点": ("演练地点", "地址", "演练地址", "演练场所"),
    "组织单位": ("组织部门", "主办单位", "牵头单位", "组织者", "演练组织单位"),
    "参演单位": ("参加单位", "参与单位", "参演部门"),
    "企业（单位）": ("企业", "企业名称", "企业单位"),
    "备注": ("说明", "其他"),
}
imports.register_kind(KIND, COLUMNS, SYNONYMS, WHAT)
HEADERS = {c.key: c.header for c in COLUMNS}
# What drills.validate_drill calls a field -> the column of this file that holds it.
FIELD_HEADERS = {
    "演练层级": "演练级别",
    "参演人次": "参演人数",
    "演练预案": "关联预案",
    "所属村（社区）": "村（社区）",
    "演练地点": "地点",
}
LEVEL_WORDS = {
    "县": "county",
    "县级演练": "county",
    "乡镇": "township",
    "乡级": "township",
    "镇级": "township",
    "街道级": "township",
    "乡镇级演练": "township",
    "村": "village",
    "村级": "village",
    "社区": "village",
    "社区级": "village",
    "村（社区）": "village",
    "企业": "enterprise",
    "企业级": "enterprise",
    "行业领域": "enterprise",
}
PLAN_SEPARATORS = re.compile(r"[、,，;；\n]+")
FORM_WORDS = {"桌面": "tabletop", "实战": "live"}
CONTENT_WORDS = {"单项": "single", "综合": "comprehensive"}
INSERTED = (
    "id",
    "title",
    "level",
    "organiser",
    "township_code",
    "village_code",
    "enterprise_id",
    "held_on",
    "place",
    "form",
    "content",
    "purpose",
    "participants",
    "participating_units",
    "plan_problems_found",
    "created_by",
)


# Parsers (pure) ---------------------------------------------------------------------------------
def parse_level(value) -> str:
    """演练级别 by its label (县级, 乡镇级, 村（社区）级, 企业（行业领域）), code or a usual short form."""
    word = clean(value).replace(" ", "")
    if word in LEVEL_WORDS:
        return LEVEL_WORDS[word]
    return normalise.enum(value, DRILL_LEVELS)  # type: ignore[return-value]


def _keyword(text: str, words: dict[str, str], labels: dict[str, str]) -> str | None:
    """The code a text names by keyword (桌面 / 实战) or code; ValueError when it names both."""
    if text in labels:
        return text
    found = {code for word, code in words.items() if word in text}
    if len(found) > 1:
        raise ValueError(f"“{text}”同时写了{'和'.join(words)}，只能是其中一种")
    return found.pop() if found else None


def parse_form(value) -> tuple[str, str | None]:
    """演练形式: (tabletop | live, single | comprehensive | None) from 实战演练, 桌面推演, 综合实战演练 …"""
    text = clean(value).replace(" ", "")
    if not text:
        raise ValueError("不能为空")
    form = _keyword(text, FORM_WORDS, DRILL_FORMS)
    if form is None:
        raise ValueError(f"“{text}”不是可选值，应为 桌面演练、实战演练 之一（可写“综合实战演练”）")
    return form, _keyword(text, CONTENT_WORDS, DRILL_CONTENTS)


def parse_content(value) -> str | None:
    """演练内容: 单项演练 / 综合演练 (or 单项, 综合); None when empty."""
    text = clean(value).replace(" ", "")
    if not text:
        return None
    content = _keyword(text, CONTENT_WORDS, DRILL_CONTENTS)
    if content is None:
        raise ValueError(f"“{text}”不是可选值，应为 单项演练、综合演练 之一")
    return content


def parse_participants(value) -> int:
    """参演人数 as a whole number: 120, 120.0 (a number cell), １２０ (full-width), 120人, 120人次."""
    if normalise.is_blank(value):
        raise ValueError("不能为空")
    if isinstance(value, bool):
        raise ValueError("应为整数人数")
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            return int(value)
        raise ValueError(f"应为整数人数，不能是 {value:g}")
    text = clean(value).replace(" ", "").removesuffix("人次").removesuffix("人").removesuffix("名")
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text))
    raise ValueError(f"“{clean(value)}”不是整数人数")


class PlanIndex:
    """Plans by code (ZR-01, zr01) or name (防汛应急预案, 防汛预案), loaded once."""

    def __init__(self, plans: list[tuple[str, str]]):
        self.names = dict(plans)
        self._by: dict[str, set[str]] = {}
        for code, name in plans:
            for key in (self._code_key(code), self._name_key(name), self._name_key(name).replace("应急", "")):
                self._by.setdefault(key, set()).add(code)

    @staticmethod
    def _code_key(word: str) -> str:
        return re.sub(r"[-_－—\s]", "", clean(word)).upper()

    @staticmethod
    def _name_key(word: str) -> str:
        return normalise._loose(word).replace("《", "").replace("》", "")

    def code(self, word: str) -> str:
        """One plan's code from its code, its name (应急 may be left out), or both (ZR-01 防汛应急预案)."""
        word = clean(word)
        name = self._name_key(word)
        keys = [self._code_key(word), name, name.replace("应急", "")]
        if " " in word:  # the code and the name together, as the template's example writes it
            keys.append(self._code_key(word.split(" ", 1)[0]))
        for key in keys:
            found = self._by.get(key, set())
            if len(found) == 1:
                return next(iter(found))
        raise ValueError(f"找不到预案“{word}”（可写预案编号如 ZR-01，或预案全称）")

    def codes(self, value) -> list[str]:
        """Several plans in one cell, separated by 、 , ， ; ； or a line break, in order, without repeats."""
        if normalise.is_blank(value):
            raise ValueError("不能为空：至少填写一项预案")
        parts = [p.strip() for p in PLAN_SEPARATORS.split(clean(value)) if p.strip()]
        if not parts:
            raise ValueError("不能为空：至少填写一项预案")
        return list(dict.fromkeys(self.code(p) for p in parts))


# Checking ---------------------------------------------------------------------------------------
class _DrillRows(imports._Checker):
    """The rows of a drill log (see the module docstring)."""

    columns = COLUMNS

    def __init__(self, db: Database, actor: User, places: normalise.Places, today: date):
        super().__init__(db, actor, places)
        self.today = today
        self.plans = PlanIndex(db.query("SELECT code, name FROM plans ORDER BY code"))
        self.existing = {
            (t, h, drills.title_key(title)): i
            for i, title, h, t in db.query(
                f"SELECT id, title, held_on, township_code FROM drills d WHERE {live('drills', 'd')} ORDER BY id"
            )
        }
        self.enterprises: dict[tuple[str, str], list[int]] = {}
        for i, name, township in db.query(
            f"SELECT id, name, township_code FROM enterprises e WHERE {live('enterprises', 'e')}"
        ):
            self.enterprises.setdefault((township, normalise._loose(name)), []).append(i)
        self.in_file: dict[tuple, str] = {}

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        def text(limit: int) -> Callable[[Any], Any]:
            return lambda v: normalise.text(v, max_length=limit)

        return {
            "title": lambda v: normalise.required_text(v, max_length=100),
            "held_on": normalise.required_date,
            "township_code": self._township,
            "village_code": text(100),
            "level": parse_level,
            "form": parse_form,
            "content": parse_content,
            "participants": parse_participants,
            "plans": self.plans.codes,
            "place": text(200),
            "organiser": lambda v: normalise.required_text(v, max_length=100),
            "participating_units": text(500),
            "enterprise_id": text(100),
            "note": text(500),
        }

    def check_row(self, number: int, values: dict) -> dict:
        township = values["township_code"]
        form, content = values["form"] or (None, None)
        if values["content"] and content and values["content"] != content:
            self.bad(number, "演练内容", f"与“演练形式”中的{DRILL_CONTENTS[content]}不一致")
        data = {
            "title": values["title"],
            "level": values["level"],
            "organiser": values["organiser"],
            "township_code": township,
            "village_code": self._village(number, values["village_code"], township),
            "enterprise_id": self._enterprise(number, values["enterprise_id"], township),
            "held_on": values["held_on"],
            "place": values["place"],
            "form": form,
            "content": values["content"] or content,
            "participants": values["participants"],
            "participating_units": values["participating_units"],
        }
        record = drills._normalise(data)
        plans = values["plans"] or []
        for problem in drills.validate_drill(self.db, record, plans, self.today):  # the form's own rules
            self.bad(number, FIELD_HEADERS.get(problem.field, problem.field), problem.reason)
        if not self.actor.may_write(township) and not self.reported(number, "所属乡镇"):
            where = (
                "县级演练" if township is None else f"其他乡镇（{self.places.township_names.get(township, township)}）"
            )
            self.bad(number, "所属乡镇", f"乡镇填报员只能导入本乡镇的演练，该行属于{where}")
        self._check_duplicate(number, record)
        return {**record, "plans": plans, "note": values["note"]}

    def _village(self, number: int, village: str | None, township: str | None) -> str | None:
        if not village:
            return None
        try:
            return self.places.village(village, township)
        except ValueError as exc:
            self.bad(number, "村（社区）", str(exc))
            return None

    def _enterprise(self, number: int, name: str | None, township: str | None) -> int | None:
        if not name:
            return None
        found = self.enterprises.get((township, normalise._loose(name)), []) if township else []
        if len(found) == 1:
            return found[0]
        place = self.places.township_names.get(township, "") if township else "（未填写所属乡镇）"
        reason = f"有 {len(found)} 家同名企业" if found else "找不到已登记的企业"
        self.bad(number, "企业（单位）", f"{place}{reason}“{name}”")
        return None

    def _check_duplicate(self, number: int, record: dict) -> None:
        """Same township, date and title as a live drill, or as an earlier row of the file."""
        if not record["title"] or not isinstance(record["held_on"], date):
            return
        key = (record["township_code"], record["held_on"], drills.title_key(record["title"]))
        if key in self.existing:
            self.bad(
                number,
                "演练名称",
                f"与已登记的第 {self.existing[key]} 号演练重复（同一乡镇、同一天、同名），不能重复导入",
            )
        elif key in self.in_file:
            self.bad(number, "演练名称", f"与{self.in_file[key]}重复（同一乡镇、同一天、同名）")
        self.in_file.setdefault(key, f"{self.prefix}第{number}行")


# The import -------------------------------------------------------------------------------------
def run_import(
    db: Database,
    actor: User,
    file_name: str,
    data: bytes,
    *,
    dry_run: bool = False,
    mapping: dict[str, str] | None = None,
    today: date | None = None,
) -> imports.ImportResult:
    """Validate the whole drill log (every sheet, headers by synonym or `mapping`, unknown columns
    refused); write it (one transaction, one audit row) only when no row is bad and not dry_run."""
    if actor.role == "viewer":
        raise PermissionDenied("只读账号不能导入数据。")
    result = imports.ImportResult(KIND, file_name)
    no_header = "找不到表头行：应有一行列名（如“演练名称”“演练日期”），可使用下载的模板"
    if not imports.lay_out_sheets(result, KIND, file_name, data, mapping, no_header):
        return result
    several = len(result.sheets) > 1
    for sheet in result.sheets:
        result.problems.extend(imports._column_problems(KIND, sheet, f"{sheet.name} · " if several else ""))
    if result.problems:
        return result
    checker = _DrillRows(db, actor, normalise.Places.load(db), today or local_today())
    checker.check(result.sheets)
    result.rows, result.records = checker.rows, checker.records
    result.problems.extend(checker.sorted_problems())
    if checker.footers:
        result.notes.append(f"已忽略 {checker.footers} 行合计、小计或签名行")
    if not result.rows and not result.problems:
        result.problems.append(Problem("", "文件中没有数据行", 0))
    if result.problems or dry_run:
        return result
    result.written = _write(db, actor, result)
    result.committed = True
    return result


def _write(db: Database, actor: User, result: imports.ImportResult) -> int:
    """The drills, their plans and remarks in one transaction, with one audit row for the import.
    A drill with the same township, date and title saved since the preview refuses the whole write."""
    records = result.records

    def work(cur: Cursor):
        _refuse_saved_since(cur, records)
        ids = imports._new_ids(cur, "drills", len(records))
        rows = [
            {**{k: r.get(k) for k in INSERTED}, "id": i, "created_by": actor.username} for r, i in zip(records, ids)
        ]
        frame = pd.DataFrame(rows, columns=list(INSERTED)).astype(object)
        frame = frame.where(frame.notna(), None)
        frame["id"] = frame["id"].astype("int64")
        frame["participants"] = frame["participants"].astype("int64")
        frame["plan_problems_found"] = frame["plan_problems_found"].astype(bool)
        insert_frame(cur, "drills", frame)
        links = pd.DataFrame(
            [(i, code) for r, i in zip(records, ids) for code in r["plans"]], columns=["drill_id", "plan_code"]
        )
        insert_frame(cur, "drill_plans", links)
        notes = [{"drill_id": i, "note": r["note"]} for r, i in zip(records, ids) if r.get("note")]
        if notes:
            insert_frame(cur, "drill_notes", notes)
        audit.record(
            cur,
            actor,
            "import",
            "drills",
            None,
            None,
            {
                "file": result.file_name,
                "rows": len(ids),
                "first_id": ids[0],
                "last_id": ids[-1],
                "plans_linked": len(links),
            },
        )
        return len(ids)

    return db.write(work)


def _refuse_saved_since(cur: Cursor, records: Sequence[dict]) -> None:
    days = sorted({r["held_on"] for r in records})
    saved = {
        (t, h, drills.title_key(title))
        for title, h, t in cur.execute(
            f"SELECT title, held_on, township_code FROM drills d WHERE held_on IN (SELECT unnest(?))"
            f" AND {live('drills', 'd')}",
            [days],
        ).fetchall()
    }
    for r in records:
        if (r["township_code"], r["held_on"], drills.title_key(r["title"])) in saved:
            raise ValueError(f"第{r['_row']}行的演练“{r['title']}”在预览后已被登记，未写入任何数据，请重新导入")


# Preview and template ---------------------------------------------------------------------------
def preview_frame(result: imports.ImportResult, places: normalise.Places, plan_names: dict[str, str]) -> pd.DataFrame:
    """The first rows as they will be stored, under the template's headers with Chinese values."""
    shown = []
    for r in result.records[:200]:
        row = {
            "演练名称": r["title"],
            "演练日期": imports.display_value(r["held_on"]),
            "所属乡镇": places.township_names.get(r["township_code"], "全县") if r["township_code"] else "全县",
            "村（社区）": places.village_names.get(r["village_code"], "—") if r["village_code"] else "—",
            "演练级别": DRILL_LEVELS.get(r["level"], "—"),
            "演练形式": DRILL_FORMS.get(r["form"], "—"),
            "演练内容": DRILL_CONTENTS.get(r["content"], "—"),
            "参演人数": str(r["participants"]) if r["participants"] is not None else "—",
            "关联预案": "、".join(f"{c} {plan_names.get(c, '')}".strip() for c in r["plans"]) or "—",
            "地点": r["place"],
            "组织单位": r["organiser"],
            "参演单位": r["participating_units"],
            "企业（单位）": "—" if r["enterprise_id"] is None else f"第 {r['enterprise_id']} 号",
            "备注": r["note"],
        }
        shown.append({k: imports.display_value(v) for k, v in row.items()})
    return pd.DataFrame(shown, columns=[c.header for c in COLUMNS])


def plan_names(db: Database) -> dict[str, str]:
    return dict(db.query("SELECT code, name FROM plans"))


def template_xlsx(db: Database) -> bytes:
    """The drill log template: the engine's (headers, required ones shaded, dropdowns, one example row,
    notes), with the county's plans listed on a sheet of their own."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(imports.template_xlsx(db, KIND)))
    sheet = book.create_sheet("预案清单")
    sheet.append(["预案编号", "预案名称"])
    for code, name in db.query("SELECT code, name FROM plans WHERE status = 'active' ORDER BY code"):
        sheet.append([code, name])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
