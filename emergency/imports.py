"""Excel (.xlsx, .xls) and CSV import of teams and members, the templates, and the role-masked exports.

An import is all or nothing. The file is read (python-calamine for .xlsx and .xls, every sheet; CSV in
UTF-8, UTF-8 with BOM or GB18030/GBK), its header row found below any title rows, each column matched
to a template column by its header, a synonym or the user's mapping (import_headers.py: a column
matched by none of them stops the import, naming it: nothing is dropped silently), every cell parsed
with emergency.normalise, every row checked with the same validators the forms use
(teams.team_problems, teams.validate_member) plus the import's own rules (scope, team matching,
duplicates), and every bad row reported as (row number as Excel shows it, column header, reason in
Chinese). Totals rows (合计) and signature lines at the bottom are ignored. Only a file without a
single problem is written, in one transaction: one bulk INSERT per table through a pandas DataFrame
registered on the cursor, and ONE audit row for the whole import (file name, row count, id range).

A workbook's sheets are imported together (one per team or per village is common); a members sheet
without a 所属队伍 column takes the sheet's name as its team.

Roster re-sync (`update=True`, members): a row matched to a member already in that team, by ID number
or, where the row has none, by name + birth date + team (a weaker match, shown as such), updates that
member field by field (an empty cell keeps the stored value); other rows are added; the members of the
file's teams that the file does not list are reported, and marked as left (离队) only with
`mark_left=True`. Still all or nothing, and audited per member (create / update / leave) besides the
import's own row. Teams re-sync alike, matched by (township, name).

Members are matched to teams by (township, team name) among teams not disbanded; a member row
with an empty township (or 全县) belongs to a county-wide team. ID numbers are protected as the
form does (HMAC, AES-GCM, masked), batched with keys derived once.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from operator import itemgetter
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import audit, exports, normalise, privacy
from .auth import PermissionDenied, User
from .db import first_row, insert_frame, local_today, row_dict
from .enums import HAZARD_DOMAINS, MEMBER_ROLES, TEAM_KINDS, TEAM_LEVELS
from .errors import Problem  # the forms' record too: (field = column header, reason, row as Excel shows it)
from .hygiene import FULL_WIDTH, clean, clean_text
from .import_headers import FileColumn, match_headers, recognised
from .teams import birth_label, member_list, team_list_for, team_problems, validate_member

if TYPE_CHECKING:
    import pyarrow as pa

    from .db import Cursor, Database

KINDS = {"teams": "队伍", "members": "队员"}
EXAMPLE_MARKS = ("（示例）", "(示例)")  # a template's example row starts with （示例） and is never imported
# A row whose first cell starts with one of these is a total or a signature line, not data.
FOOTER_MARKS = (
    "合计",
    "总计",
    "小计",
    "共计",
    "填表人",
    "填报人",
    "制表人",
    "审核人",
    "填表日期",
    "填报日期",
    "制表日期",
)
COUNTY_WORDS = {"", "全县", "县级", "县", "全县各乡镇"}
_NUMBER_TYPES = {int, float, bool}  # the types whose values compare equal across types
_MARK_STARTS = frozenset(m[0] for m in EXAMPLE_MARKS + FOOTER_MARKS)
HEADER_ROWS_SEARCHED = 15  # title rows and merged group headers above the real header
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    choices: tuple[str, ...] | None = None  # a dropdown in the template
    example: Any = None
    note: str = ""


def _labels(mapping: dict) -> tuple[str, ...]:
    return tuple(v[0] if isinstance(v, tuple) else v for v in mapping.values())


TEAM_COLUMNS = [
    Column("队伍名称", "name", True, example="城关镇应急救援二队"),
    Column("队伍类别", "kind", True, _labels(TEAM_KINDS), "基层应急救援队伍"),
    Column("队伍层级", "level", True, _labels(TEAM_LEVELS), "乡镇级"),
    Column("所属乡镇", "township", False, None, "城关镇", "县级队伍不填；可写 城关镇、城关 或统计区划代码"),
    Column("所属村（社区）", "village", False, example="", note="村级队伍填写，须属于所属乡镇"),
    Column(
        "覆盖领域",
        "domains",
        False,
        example="防汛抗旱、地质灾害",
        note="可填多个，用顿号或逗号分隔：" + "、".join(HAZARD_DOMAINS.values()),
    ),
    Column("负责人", "leader_name", example="张三"),
    Column(
        "值班电话",
        "duty_phone",
        example="13800000000",
        note="11位手机号或 0379 开头的固话（(0379)6123456、0379-6123456 或不带区号的7—8位均可）",
    ),
    Column("装备", "equipment", example="冲锋舟2艘、救生衣50件"),
    Column(
        "成立日期",
        "established_on",
        True,
        example="2024-03-05",
        note="2024-03-05、2024/3/5、2024.3.5、2024年3月5日均可",
    ),
]
MEMBER_COLUMNS = [
    Column("姓名", "name", True, example="李四"),
    Column("所属乡镇", "township", False, None, "城关镇", "所属队伍的乡镇；县级或全县性队伍不填"),
    Column(
        "所属队伍",
        "team",
        True,
        example="城关镇应急救援综合队",
        note="须与已登记的队伍名称一致；没有此列时以工作表名称为队伍",
    ),
    Column("身份证号", "id_number", example="", note="18位；请把本列设为文本格式"),
    Column("性别", "gender", False, ("男", "女"), "男", "填写身份证号时可不填"),
    Column(
        "出生日期",
        "birth_date",
        example="",
        note="填写身份证号时可不填；可只写年月（1985.03、1985年3月、198503），按身份证号补全",
    ),
    Column("手机号", "phone", example="13900000000", note="可写两个号码（用 / 、 ； 分隔）：第二个记为其他电话"),
    Column("队内职务", "role_in_team", False, _labels(MEMBER_ROLES), "队员", "不填为队员"),
    Column("专长", "specialty", example="抢险救援"),
    Column("已通过培训", "training_passed", False, ("是", "否"), "是"),
    Column("培训日期", "training_on", example="2024-05-20"),
    Column("保险到期", "insurance_until", example="2025-12-31"),
    Column("入队日期", "joined_on", True, example="2024-03-05"),
    Column("其他电话", "second_phone", example="", note="固定电话或第二个手机号"),
]
COLUMNS = {"teams": TEAM_COLUMNS, "members": MEMBER_COLUMNS}


LABELS = dict(KINDS)  # every registered kind's Chinese name (the template's sheet, the synonym table)


def register_kind(
    kind: str, columns: list[Column], synonyms: dict[str, tuple[str, ...]] | None = None, label: str | None = None
) -> None:
    """Another registry (resources, drills) reads its files with this engine: its template columns and
    header synonyms join the tables layout(), the mapping step and _column_problems read."""
    from .import_headers import SYNONYMS

    COLUMNS[kind] = columns
    SYNONYMS[kind] = synonyms or {}
    LABELS[kind] = label or kind


# What the preview calls the fields that are not a template column of their own.
EXTRA_LABELS = {
    "team_name": "所属队伍",
    "township_code": "所属乡镇",
    "id_masked": "身份证号",
    "village_code": "所属村（社区）",
}
# Member fields a re-sync compares and updates (the file's empty cells keep the stored value).
SYNC_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "second_phone",
    "role_in_team",
    "specialty",
    "training_passed",
    "training_on",
    "insurance_until",
    "joined_on",
)
STRONG, WEAK = "身份证号", "姓名+出生日期+队伍（弱匹配）"
TEAM_MATCH = "乡镇+队伍名称"
# Team fields a re-sync compares and updates (domains: the set, when the cell is filled).
TEAM_SYNC_FIELDS = (
    "kind",
    "level",
    "village_code",
    "leader_name",
    "duty_phone",
    "equipment",
    "established_on",
    "domains",
)


def header_of(kind: str, key: str) -> str:
    """The Chinese header of a field of that kind of row (a template column, or EXTRA_LABELS)."""
    for column in COLUMNS[kind]:
        if column.key == key:
            return column.header
    return EXTRA_LABELS.get(key, key)


@dataclass
class Sheet:
    """One sheet of a file as the import reads it: its header row and what each column becomes."""

    name: str
    rows: list[tuple[int, list]]
    workbook: bool = True  # a workbook's sheet (its name may stand for the team), not a CSV file
    header_index: int = -1
    columns: list[FileColumn] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        return self.rows[self.header_index][0] if self.header_index >= 0 else 1

    def positions(self, columns: list[Column]) -> dict[str, int]:
        keys = {c.header: c.key for c in columns}
        return {keys[c.target]: c.index for c in self.columns if c.target in keys}

    def samples(self, index: int, count: int = 3) -> list[str]:
        """The first non-empty values of a column, as text (the mapping step shows them)."""
        found = []
        for _, cells in self.rows[self.header_index + 1 :]:
            if index < len(cells) and not normalise.is_blank(cells[index]):
                found.append(clean(normalise.text(cells[index], max_length=10_000)))
                if len(found) == count:
                    break
        return found

    def has_data(self, index: int) -> bool:
        return bool(self.samples(index, 1))

    def counts(self, column: FileColumn) -> bool:
        """A column counts when it has a header of its own, or data below an empty header cell."""
        return not column.blank or self.has_data(column.index)


@dataclass
class Change:
    """A member (or team) a re-sync updates: field header -> (before, after), as the preview shows them."""

    row: int
    sheet: str
    record_id: int
    name: str
    team_name: str  # a team's township for a team
    match: str  # STRONG or WEAK (TEAM_MATCH for a team)
    fields: dict[str, tuple[Any, Any]]


@dataclass
class ImportResult:
    kind: str
    file_name: str
    rows: int = 0  # data rows read (blank, example and totals rows skipped)
    records: Sequence[dict] = field(default_factory=list)  # Records for members
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    committed: bool = False
    written: int = 0
    seconds: float = 0.0
    sheets: list[Sheet] = field(default_factory=list)  # the sheets imported
    notes: list[str] = field(default_factory=list)  # what was skipped and why (title rows, totals, sheets)
    update: bool = False
    changes: list[Change] = field(default_factory=list)  # update: matched members (teams) that change
    unchanged: list[dict] = field(default_factory=list)  # update: matched members left as they are
    missing: list[dict] = field(default_factory=list)  # update: members of the file's teams not in it
    marked_left: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row or 0 for p in self.problems})  # an import's problems always have a row

    @property
    def added(self) -> Sequence[dict]:
        if not self.update:
            return self.records  # a match only in a re-sync
        return [r for r in self.records if not r.get("match_id")]

    @property
    def unknown_columns(self) -> list[str]:
        return [c.header for s in self.sheets for c in s.columns if c.target is None and s.counts(c)]

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(p.row, p.column, p.reason) for p in self.problems], columns=["行号", "列", "问题"])

    def warnings_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(p.row, p.column, p.reason) for p in self.warnings], columns=["行号", "列", "提示"])

    def column_frame(self) -> pd.DataFrame:
        """The mapping step: each file column, its first values and what it becomes."""
        rows, seen = [], set()
        for sheet in self.sheets:
            for c in sheet.columns:
                if c.header in seen or (c.target is None and not sheet.counts(c)):
                    continue
                seen.add(c.header)
                target = c.target or "（未识别，请选择）"
                rows.append((c.header, "、".join(sheet.samples(c.index)) or "—", target, c.how))
        return pd.DataFrame(rows, columns=["文件中的列", "前几个值", "导入为", "识别方式"])

    def preview_frame(self, limit: int = 200, places: normalise.Places | None = None) -> pd.DataFrame:
        """The first rows as they will be stored, under Chinese headers with Chinese values (ID numbers
        masked, never in clear; "—" for an empty cell)."""
        columns = COLUMNS[self.kind]
        shown = []
        for record in self.records[:limit]:
            row: dict[str, str] = {}
            for column in columns:
                key = {"township": "township_code", "team": "team_name", "village": "village_code"}.get(
                    column.key, column.key
                )
                if key == "id_number":
                    value = privacy.mask_id(record["id_number"]) if record.get("id_number") else None
                else:
                    value = record.get(key)
                row[column.header] = display(key, value, places)
            shown.append(row)
        return pd.DataFrame(shown, columns=[c.header for c in columns])

    def changes_frame(self) -> pd.DataFrame:
        rows = [
            (c.row, c.name, c.team_name, c.match, header, display_value(before), display_value(after))
            for c in self.changes
            for header, (before, after) in c.fields.items()
        ]
        who = ["姓名", "所属队伍"] if self.kind == "members" else ["队伍名称", "所属乡镇"]
        return pd.DataFrame(rows, columns=["行号", *who, "匹配方式", "字段", "原值", "新值"])

    def missing_frame(self) -> pd.DataFrame:
        rows = [(m["name"], m["team_name"], m["id_masked"] or "—", display_value(m["joined_on"])) for m in self.missing]
        return pd.DataFrame(rows, columns=["姓名", "所属队伍", "身份证号", "入队日期"])


def display_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def display(key: str, value, places: normalise.Places | None = None) -> str:
    """A stored value as the preview shows it: labels for codes, township names, 是/否, "—"."""
    if key == "township_code" and not value:
        return "全县"  # a county-level (county-wide) team
    if value is None or value == "" or value == []:
        return "—"
    labels = {"role_in_team": MEMBER_ROLES, "kind": TEAM_KINDS, "level": TEAM_LEVELS}.get(key)
    if labels is not None:
        label = labels.get(value, value)
        return label[0] if isinstance(label, tuple) else str(label)
    if key == "domains":
        return "、".join(HAZARD_DOMAINS.get(d, d) for d in value)
    if places is not None and key == "township_code":
        return places.township_names.get(value, value)
    if places is not None and key == "village_code":
        return places.village_names.get(value, value)
    return display_value(value)


# Reading ----------------------------------------------------------------------------------------
def read_sheets(file_name: str, data: bytes) -> list[tuple[str, list[tuple[int, list]]]]:
    """(sheet name, [(Excel row number, cells)]) of every sheet of a workbook (.xlsx, .xls), or of the
    CSV file (one sheet named after the file)."""
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix in (".xlsx", ".xls", ".xlsm"):
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheets = [
                (name, book.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in book.sheet_names
            ]
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file problem
            raise ValueError(f"无法读取 Excel 文件：{exc}") from None
        return [(clean(name), _numbered(rows)) for name, rows in sheets]
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("无法识别 CSV 文件的编码（支持 UTF-8 和 GB18030/GBK）")
        rows = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text, newline="")))]
        return [(PurePath(file_name).stem, rows)]
    raise ValueError(f"不支持的文件类型 {suffix or '（无扩展名）'}，仅支持 .xlsx、.xls 和 .csv")


def _numbered(rows: list) -> list[tuple[int, list]]:
    """(Excel row number, cells) of each row of a sheet as python-calamine gives it (lists)."""
    if not all(r.__class__ is list for r in rows):
        rows = [r if r.__class__ is list else list(r) for r in rows]
    return list(zip(range(1, len(rows) + 1), rows))


def read_rows(file_name: str, data: bytes) -> list[tuple[int, list]]:
    """(Excel row number, cells) of the first sheet, or of the CSV file."""
    return read_sheets(file_name, data)[0][1]


def _locate(
    kind: str, name: str, rows: list[tuple[int, list]], mapping: dict[str, str] | None, workbook: bool
) -> Sheet:
    """The sheet with its header row: among the first rows, the one most of whose cells are known
    headers (at least two); title rows and merged group headers above it are skipped."""
    templates = [c.header for c in COLUMNS[kind]]
    sheet = Sheet(name, rows, workbook)
    best = 1
    for index, (_, cells) in enumerate(rows[:HEADER_ROWS_SEARCHED]):
        columns = match_headers(kind, templates, cells, mapping)
        if recognised(columns) > best:
            best, sheet.header_index, sheet.columns = recognised(columns), index, columns
    return sheet


def layout(kind: str, file_name: str, data: bytes, mapping: dict[str, str] | None = None) -> list[Sheet]:
    """Every sheet of the file with its header row and what each column becomes (no row is checked):
    what the preview's mapping step draws. Sheets without a header row have header_index -1."""
    workbook = PurePath(file_name or "").suffix.lower() != ".csv"
    return [_locate(kind, name, rows, mapping, workbook) for name, rows in read_sheets(file_name, data)]


def _column_problems(kind: str, sheet: Sheet, prefix: str) -> list[Problem]:
    """Unknown columns (unless mapped or skipped) and missing required ones, for one sheet."""
    problems = []
    for c in sheet.columns:
        if c.target is None and sheet.counts(c):
            reason = (
                "与前面的列对应同一目标列，请为它选择另一列或“不导入”"
                if c.how == "重复"
                else "无法识别的列：请在预览的列对应中选择目标列或“不导入”（命令行：--map 源列名=目标列名 或 --map 源列名=不导入）"
            )
            problems.append(Problem(prefix + c.header, reason, sheet.header_row))
    positions = sheet.positions(COLUMNS[kind])
    for column in COLUMNS[kind]:
        if (
            column.required
            and column.key not in positions
            and not (kind == "members" and column.key == "team" and sheet.workbook)
        ):
            problems.append(
                Problem(prefix + column.header, "缺少此列（可在列对应中把文件的某一列指定为此列）", sheet.header_row)
            )
    return problems


# Validation -------------------------------------------------------------------------------------
def _name_key(name) -> str:
    """Team names match whatever the width of their brackets and spaces: （演示） == (演示).
    (normalise._loose of the name, as one translate.)"""
    return name.translate(_NAME_KEY) if name.__class__ is str else normalise._loose(name or "")


WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"  # every character str.isspace() is true of
# What _name_key does, in one str.translate: hygiene.clean's full-width digits and letters to ASCII,
# and every whitespace character (clean's split, _loose's \s) and bracket (_loose) deleted.
_NAME_KEY = {**FULL_WIDTH, **dict.fromkeys(map(ord, WHITESPACE + "()（）"))}
# The team names whose key is not the name itself: SQL matches the others by name alone.
_SQL_NOT_PLAIN = "[" + "".join(map(chr, sorted(_NAME_KEY))) + "]"

UNIQUE_VALUED = {"name", "id_number", "phone", "second_phone", "duty_phone", "leader_name", "equipment"}


class _Checker:
    """Checks the data rows of one file: every problem (never more than one per (sheet, row, column)),
    the warnings, and the records a clean file writes. A subclass knows one kind of row: its columns,
    its parsers (`parsers`) and its rules (`check_row`)."""

    columns: list[Column]

    def __init__(self, db: Database, actor: User, places: normalise.Places, progress: Progress | None = None):
        self.db, self.actor, self.places, self.progress = db, actor, places, progress
        self.rows = 0  # data rows read (blank, example and totals rows skipped)
        self.footers = 0  # totals and signature rows ignored
        self.records: list[dict] | Records = []  # Records where clean_records takes rows as columns
        self.problems: list[Problem] = []
        self.order: list[tuple[int, int, int]] = []  # (sheet, row, column) of each problem, to sort them
        self.warnings: list[Problem] = []
        self.seen: set[tuple[int, int, str]] = set()
        self.caches: dict[str, dict] = {}
        self.sheet: Sheet | None = None
        self.sheet_index = 0
        self.prefix = ""  # "工作表名 · " when the file has several sheets
        self.positions: dict[str, int] = {}

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        raise NotImplementedError

    def check_row(self, number: int, values: dict) -> dict:
        """The record of one row, its problems reported with `bad` (and warnings with `warn`)."""
        raise NotImplementedError

    def batch_parsers(self) -> dict[str, Callable[[list], tuple[list, dict[int, str]]]]:
        """Columns parsed a whole column at a time: key -> (raw cells -> (the value of each cell, the
        reason by index of each cell refused)), each giving exactly what its `parsers()` entry gives
        cell by cell (or raises; a refused cell's value is None)."""
        return {}

    def check(self, sheets: list[Sheet]) -> None:
        """Each sheet's cells parsed column by column (the parse problems of a row are still reported
        before its rules'), the rows the whole-sheet pass (clean_records) passes kept as its columns,
        then every other row checked in order."""
        parsers, batches = self.parsers(), self.batch_parsers()
        headers = [c.header for c in self.columns]
        for index, sheet in enumerate(sheets):
            self.sheet, self.sheet_index = sheet, index
            self.prefix = f"{sheet.name} · " if len(sheets) > 1 else ""
            self.positions = sheet.positions(self.columns)
            self.headers = headers
            plan = self._cell_plan(parsers)
            numbers, cells = self._data_rows(sheet)
            table = _Columns(cells)
            share, start = 0.6 / len(sheets), 0.1 + 0.6 * index / len(sheets)  # of the progress bar
            columns = []
            for j, entry in enumerate(plan):
                if self.progress:
                    self.progress(
                        start + share * 0.8 * j / len(plan), f"正在校验“{entry[1]}”列（共 {len(numbers)} 行）"
                    )
                columns.append(self._parse_column(table, numbers, entry, batches.get(entry[0])))
            keys = [entry[0] for entry in plan]
            by_key = dict(zip(keys, columns))
            self.prepare(by_key)
            quick = self.clean_records(numbers, by_key)
            odd, clean = (range(len(numbers)), None) if quick is None else quick
            total = max(1, len(numbers))
            checked: dict[int, dict] = {}
            for n, i in enumerate(odd):
                if self.progress and n % 2000 == 0:
                    self.progress(start + share * (0.8 + 0.2 * n / len(odd)), f"正在校验第 {i + 1} / {total} 行")
                number = numbers[i]
                record = self.check_row(number, {k: column[i] for k, column in zip(keys, columns)})
                record["_row"], record["_sheet"] = number, sheet.name
                checked[i] = record
            if clean is None:
                self.records.extend(checked.values())
            else:
                assert isinstance(self.records, Records)
                self.records.add_columns(len(numbers), clean, checked, numbers, sheet.name)

    def prepare(self, values: dict[str, list]) -> None:
        """Optionally, before a sheet's rows are checked: read what its rules need of the database for
        the values of this sheet (its parsed columns by key), rather than the whole registry."""

    def clean_records(self, numbers: list[int], values: dict[str, list]) -> tuple[list[int], dict[str, list]] | None:
        """Optionally, worked out for the whole sheet at once: the rows check_row would pass without a
        problem or a warning and without touching another row's checks, as the columns of their
        records (field -> one value per row of the sheet; the other rows' values are not read), and
        the other rows (their indexes, in order), which check_row then checks. None: check every row."""
        return None

    def bad(self, row: int, column: str, reason: str) -> None:
        if (self.sheet_index, row, column) not in self.seen:
            self.seen.add((self.sheet_index, row, column))
            self.problems.append(Problem(self.prefix + column, reason, row))
            position = self.headers.index(column) if column in getattr(self, "headers", []) else 99
            self.order.append((self.sheet_index, row, position))

    def reported(self, row: int, column: str) -> bool:
        return (self.sheet_index, row, column) in self.seen

    def warn(self, row: int, column: str, reason: str) -> None:
        self.warnings.append(Problem(self.prefix + column, reason, row))

    def sorted_problems(self) -> list[Problem]:
        return [p for _, p in sorted(zip(self.order, self.problems), key=lambda pair: pair[0])]

    def check_scope(self, township_code: str | None, number: int) -> None:
        if not self.actor.may_write(township_code):
            where = "县级（全县性）队伍" if township_code is None else f"其他乡镇（{township_code}）"
            self.bad(number, "所属乡镇", f"乡镇填报员只能导入本乡镇的数据，该行属于{where}")

    def _data_rows(self, sheet: Sheet) -> tuple[list[int], list[list]]:
        """The data rows below the header (their numbers, their cells): blank rows (a 序号 alone is
        blank), the template's example row and totals or signature lines (合计, 填表人) skipped. The
        common row, a first cell of text that is a used column and not a mark, is taken without a scan
        (one pass over the first cells); only the others are looked at one by one."""
        body = sheet.rows[sheet.header_index + 1 :]
        used = sorted(self.positions.values())
        if used and used[0] == 0:
            marks = _MARK_STARTS
            odd = [
                i
                for i, (_, cells) in enumerate(body)
                if not (
                    cells and (head := cells[0]).__class__ is str and (lead := head.lstrip()) and lead[0] not in marks
                )
            ]
        else:
            odd = list(range(len(body)))
        if odd:
            skipped = {i for i in odd if not self._is_data(body[i][1], used)}
            if skipped:
                body = [row for i, row in enumerate(body) if i not in skipped]
        self.rows += len(body)
        if not body:
            return [], []
        numbers, cells = zip(*body)
        return list(numbers), list(cells)

    def _is_data(self, cells: list, used: list[int]) -> bool:
        """A row that is not blank in the used columns, not the example row and not a totals or
        signature line (counted in self.footers)."""
        blank = normalise.is_blank
        width = len(cells)
        if all(blank(cells[j]) for j in used if j < width):
            return False
        first = clean(next((c for c in cells if not blank(c)), "")).replace(" ", "")
        if first.startswith(EXAMPLE_MARKS):
            return False
        if first.startswith(FOOTER_MARKS):
            self.footers += 1
            return False
        return True

    def raw(self, key: str, cells: list):
        i = self.positions.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    def _cell_plan(self, parsers: dict) -> list[tuple[str, str, int | None, Callable, dict | None, Any]]:
        """Per column of this sheet, worked out once rather than per row: (key, header, position,
        parser, its cache of distinct raw values or None, the raw value of a missing cell)."""
        plan = []
        for column in self.columns:
            missing = None
            if column.key == "team" and "team" not in self.positions and self.sheet:
                missing = self.sheet.name  # a members sheet without a team column: the sheet's name is the team
            cache = self.caches.setdefault(column.key, {}) if column.key not in UNIQUE_VALUED else None
            plan.append(
                (column.key, column.header, self.positions.get(column.key), parsers[column.key], cache, missing)
            )
        return plan

    def _parse_column(self, table: _Columns, numbers: list[int], entry: tuple, batch: Callable | None) -> list:
        """One column's cells (`table`: the data rows' cells by column) through its parser, each
        problem reported at its row. Columns whose values repeat (townships, teams, dates, 是/否)
        parse each distinct raw value once: a 73,000-row file has a few hundred of them."""
        key, header, position, parser, cache, missing = entry
        raws = [missing] * len(numbers) if position is None else table.column(position)
        if cache is not None:
            # 1, 1.0 and True are equal keys but not the same cell: typed keys when a column mixes them
            # (a column without a number among its distinct values has none to mix)
            distinct_raws = dict.fromkeys(raws)
            typed = any(type(r) in _NUMBER_TYPES for r in distinct_raws) and (
                len(set(map(type, raws)) & _NUMBER_TYPES) > 1
            )
            if typed:
                distinct_raws = dict.fromkeys(zip(map(type, raws), raws))
            distinct: dict = {}
            same = not typed  # every distinct cell parses to itself (a text column as it is)
            for raw in distinct_raws:
                k = raw if typed else (type(raw), raw)
                found = cache.get(k)
                if found is None:
                    try:
                        found = (parser(k[1]), None)
                    except ValueError as exc:
                        found = (None, str(exc))
                    cache[k] = found
                distinct[raw] = found
                same = same and found[1] is None and found[0].__class__ is raw.__class__ and found[0] == raw
            if same:
                return raws
            keys = list(zip(map(type, raws), raws)) if typed else raws
            if not any(error for _, error in distinct.values()):
                return list(map({k: value for k, (value, _) in distinct.items()}.__getitem__, keys))
            results = list(map(distinct.__getitem__, keys))
        elif batch is not None:
            values, errors = batch(raws)
            for i, error in errors.items():
                self.bad(numbers[i], header, error)
            return values
        else:
            results = []
            empty: tuple | None = None  # an empty cell (most of a column like 其他电话) parsed once
            for raw in raws:
                if raw is None and empty is not None:
                    results.append(empty)
                    continue
                try:
                    found = (parser(raw), None)
                except ValueError as exc:
                    found = (None, str(exc))
                if raw is None:
                    empty = found
                results.append(found)
        values = []
        for number, (value, error) in zip(numbers, results):
            if error:
                self.bad(number, header, error)
            values.append(value)
        return values

    def _township(self, value):
        return None if clean(value) in COUNTY_WORDS else self.places.township(value)


class _TeamRows(_Checker):
    columns = TEAM_COLUMNS

    def __init__(
        self,
        db: Database,
        actor: User,
        places: normalise.Places,
        progress: Progress | None = None,
        update: bool = False,
    ):
        super().__init__(db, actor, places, progress)
        self.update = update
        self.existing = {
            (t, _name_key(n)): i
            for i, n, t in db.query("SELECT id, name, township_code FROM teams WHERE disbanded_on IS NULL")
        }
        self.in_file: dict[tuple, str] = {}
        self.current: dict[int, dict] = {}
        if update:
            scalar = [f for f in TEAM_SYNC_FIELDS if f != "domains"]
            for team in db.query_dicts(
                f"SELECT t.id, t.name, t.township_code, {', '.join('t.' + f for f in scalar)},"
                " coalesce(list(d.domain_code ORDER BY d.domain_code) FILTER (WHERE d.domain_code IS NOT NULL), [])"
                " AS domains FROM teams t LEFT JOIN team_domains d ON d.team_id = t.id"
                " WHERE t.disbanded_on IS NULL GROUP BY ALL"
            ):
                self.current[team["id"]] = team

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "name": lambda v: normalise.required_text(v, max_length=100),
            "kind": lambda v: normalise.enum(v, TEAM_KINDS),
            "level": lambda v: normalise.enum(v, TEAM_LEVELS),
            "township": self._township,
            "village": lambda v: normalise.text(v),
            "domains": lambda v: normalise.enum_list(v, HAZARD_DOMAINS),
            "leader_name": lambda v: normalise.text(v, max_length=50),
            "duty_phone": normalise.phone,
            "equipment": lambda v: normalise.text(v, max_length=500),
            "established_on": normalise.required_date,
        }

    def check_row(self, number: int, values: dict) -> dict:
        township = values["township"]
        record = {
            "name": values["name"],
            "kind": values["kind"],
            "level": values["level"],
            "township_code": township,
            "village_code": self._village(number, values["village"], township),
            "leader_name": values["leader_name"],
            "duty_phone": values["duty_phone"],
            "equipment": values["equipment"],
            "established_on": values["established_on"],
            "domains": values["domains"] or [],
        }
        if values["name"] and values["kind"] and values["level"] and values["established_on"]:
            for problem in team_problems(record, self.places):
                self.bad(number, problem.field, problem.reason)
        self.check_scope(township, number)
        if not record["domains"]:
            self.bad(number, "覆盖领域", "至少填写一个领域（覆盖分析按领域统计）")
        self._check_unique(number, township, values["name"])
        if self.update and values["name"] and (township, _name_key(values["name"])) in self.existing:
            self._match(record, values)
        return record

    def _match(self, record: dict, values: dict) -> None:
        """Update: the registered team of that township and name, and the fields that change. An empty
        cell keeps the stored value."""
        team_id = self.existing[(record["township_code"], _name_key(values["name"]))]
        before = self.current[team_id]
        given = {**{k: record[k] for k in TEAM_SYNC_FIELDS}, "domains": sorted(record["domains"]) or None}
        fields = {k: (before[k], given[k]) for k in TEAM_SYNC_FIELDS if given[k] is not None and given[k] != before[k]}
        record["match_id"], record["match"], record["sync"], record["before"] = team_id, TEAM_MATCH, fields, before

    def _village(self, number: int, village: str | None, township: str | None) -> str | None:
        if not village:
            return None
        try:
            return self.places.village(village, township)
        except ValueError as exc:
            self.bad(number, "所属村（社区）", str(exc))
            return None

    def _check_unique(self, number: int, township: str | None, name: str | None) -> None:
        """One team of a name per township, among the registry's teams not disbanded and in the file."""
        key = (township, _name_key(name))
        if name and key in self.existing and not self.update:
            self.bad(
                number,
                "队伍名称",
                "该乡镇已有同名队伍（未撤销），不能重复导入（更新已登记队伍请选择“更新”或 --update）",
            )
        elif name and key in self.in_file:
            self.bad(number, "队伍名称", f"与{self.in_file[key]}重复")
        self.in_file.setdefault(key, f"{self.prefix}第{number}行")


class _MemberRows(_Checker):
    columns = MEMBER_COLUMNS

    def __init__(
        self,
        db: Database,
        actor: User,
        places: normalise.Places,
        progress: Progress | None = None,
        update: bool = False,
    ):
        super().__init__(db, actor, places, progress)
        self.update = update
        self.records = Records()
        self.today = local_today()  # one date for the whole file
        self.hmac = privacy.id_hasher()  # the key resolved once, not per row
        self.masked_ids = 0  # masked ID numbers (from an export) read as empty
        # The teams (not disbanded) the file names, read per sheet (prepare): not every team of the county
        self.teams_by_key: dict[tuple, list[int]] = {}
        self.teams_by_name: dict[str, list[tuple[int, str | None]]] = {}
        self.team_names: dict[int, str] = {}
        self.team_keys_read: set[str] = set()
        self.digests: dict[str, str] = {}  # ID number -> its HMAC, each worked out once
        # The people of the file already registered, read per sheet (prepare): not every member of the county
        self.in_team: set[tuple[str, int]] = set()  # (person, team) already registered
        self.elsewhere: dict[str, str] = {}  # person -> the name of a team they are in
        self.looked_up: set[str] = set()  # the people already read
        self.seen_in_file: dict[tuple, str] = {}  # (person, team) -> first row
        self.file_people: dict[str, str] = {}  # person -> first row
        self.matched: dict[int, str] = {}  # member id -> the row that matched it (update)
        self.team_ids: set[int] = set()  # the teams the file's rows belong to
        self.team_lookups: dict[
            tuple, tuple[int | None, str | None, str | None]
        ] = {}  # (township, team, columns) -> _find_team
        self.current: dict[int, dict] = {}
        self.by_id: dict[tuple[str, int], int] = {}
        self.by_name: dict[tuple[int, str], list[int]] = {}
        if update:
            self._load_current()

    def prepare(self, values: dict[str, list]) -> None:
        """The teams this sheet names (one query, by their names' keys) and the registered members
        among its ID numbers (one query, by their HMACs)."""
        keys = {_name_key(t) for t in dict.fromkeys(values["team"]) if t is not None} - self.team_keys_read
        if keys:
            self._read_teams(keys)
        hmac, known = self.hmac, self.digests
        for n in dict.fromkeys(values["id_number"]):
            if n and n not in known:
                known[n] = hmac(n)
        self.sheet_digests = [known[n] if n else None for n in values["id_number"]]  # for clean_records
        digests = {d for d in dict.fromkeys(self.sheet_digests) if d is not None} - self.looked_up
        if not digests:
            return
        self.looked_up |= digests
        import pyarrow as pa

        cur = self.db.cursor()  # the digests as an arrow column: a list parameter costs more to convert
        cur.register("file_digests", pa.table({"h": pa.array(list(digests), pa.string())}))
        try:
            registered = cur.execute(
                "SELECT m.id_hmac, m.team_id, t.name FROM members m JOIN teams t ON t.id = m.team_id"
                " WHERE m.left_on IS NULL AND m.id_hmac IN (SELECT h FROM file_digests)"
            ).fetchall()
        finally:
            cur.unregister("file_digests")
        for h, team_id, team_name in registered:
            self.in_team.add((h, team_id))
            self.elsewhere.setdefault(h, team_name)

    def _read_teams(self, keys: set[str]) -> None:
        """The teams not disbanded whose names have one of these keys (_name_key), into the indexes
        _find_team reads: read in SQL by name (a name without brackets, spaces or full-width
        characters is its own key), the others' keys worked out here."""
        self.team_keys_read |= keys
        for team_id, name, township in self.db.query(
            "SELECT id, name, township_code FROM teams WHERE disbanded_on IS NULL"
            " AND (name IN (SELECT unnest(?::VARCHAR[])) OR regexp_matches(name, ?)) ORDER BY id",
            [sorted(keys), _SQL_NOT_PLAIN],
        ):
            key = _name_key(name)
            if key not in keys or team_id in self.team_names:
                continue
            self.teams_by_key.setdefault((township, key), []).append(team_id)
            self.teams_by_name.setdefault(key, []).append((team_id, township))
            self.team_names[team_id] = name

    def _load_current(self) -> None:
        """The members on the roster now, to match a re-sent roster's rows against."""
        fields = ", ".join(f"m.{f}" for f in SYNC_FIELDS if f != "second_phone")
        for member in self.db.query_dicts(
            f"SELECT m.id, m.team_id, m.id_hmac, m.id_masked, {fields}, p.second_phone"
            " FROM members m LEFT JOIN member_phones p ON p.member_id = m.id WHERE m.left_on IS NULL"
        ):
            self.current[member["id"]] = member
            if member["id_hmac"]:
                self.by_id[(member["id_hmac"], member["team_id"])] = member["id"]
            self.by_name.setdefault((member["team_id"], clean(member["name"])), []).append(member["id"])

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "name": lambda v: normalise.required_text(v, max_length=50),
            "township": self._township,
            "team": lambda v: normalise.required_text(v, max_length=100),
            "id_number": self._id_number,
            "gender": normalise.gender,
            "birth_date": normalise.birth,
            "phone": normalise.phones,
            "role_in_team": lambda v: normalise.enum(v, MEMBER_ROLES, required=False),
            "specialty": lambda v: normalise.text(v, max_length=100),
            "training_passed": lambda v: normalise.boolean(v, default=None),
            "training_on": normalise.parse_date,
            "insurance_until": normalise.parse_date,
            "joined_on": normalise.required_date,
            "second_phone": normalise.phone,
        }

    def batch_parsers(self) -> dict[str, Callable[[list], tuple[list, dict[int, str]]]]:
        """The columns of unique values, parsed a column at a time: the plain cells (text that is
        already what the parser returns: 队员1, 13812345678, 410303...) found for the whole column
        at once and taken as they are, every other cell through the parser."""
        parsers = self.parsers()
        return {
            "name": _plain_or(parsers["name"], _plain_names),
            "phone": _plain_or(parsers["phone"], self._plain_mobiles, phone=True),
            "id_number": self._id_numbers,
        }

    def _id_numbers(self, raws: list) -> tuple[list, dict[int, str]]:
        """The ID number column: plain 18-character numbers checked together (privacy.id_number_problems,
        one date for all), the rest cell by cell."""
        fullmatch = _PLAIN_ID.fullmatch
        odd = [i for i, raw in enumerate(raws) if raw.__class__ is not str or not fullmatch(raw)]
        values = list(raws)
        errors: dict[int, str] = {}
        if odd:
            for i in odd:
                values[i] = None
            skip = set(odd)
            plain: Sequence[int] = [i for i in range(len(raws)) if i not in skip]
        else:
            plain = range(len(raws))
        reasons = privacy.id_number_problems([raws[i] for i in plain] if odd else values, self.today)
        for i, reason in zip(plain, reasons):
            if reason:
                values[i], errors[i] = None, reason
        for i in odd:
            try:
                values[i] = self._id_number(raws[i])
            except ValueError as exc:
                errors[i] = str(exc)
        return values, dict(sorted(errors.items()))

    def _plain_mobiles(self, raws: list) -> list[int]:
        """The indexes of the phone cells that are not one mobile number in half-width digits (what
        normalise.phones returns unchanged, as (number, None)), kept for clean_records: the others
        hold a valid mobile already."""
        fullmatch = _PLAIN_MOBILE.fullmatch
        self.odd_phones = [i for i, raw in enumerate(raws) if raw.__class__ is not str or not fullmatch(raw)]
        return self.odd_phones

    sheet_digests: list[str | None] = []  # the HMAC of each row's ID number (prepare)
    odd_phones: list[int] | None = None  # of the sheet's phone column (None: not parsed a column at a time)
    quick = True  # clean_records on (tests compare it with check_row alone)

    def clean_records(self, numbers: list[int], values: dict[str, list]) -> tuple[list[int], dict[str, list]] | None:
        """The rows check_row passes without a word, a whole sheet at once (a new import, not a
        re-sync), as columns: no parse problem; one team found in scope; one phone beside the 其他电话
        column; an ID number alone (no birth date or gender to compare), of a person neither
        registered nor twice in the file (nor in an earlier sheet), or no ID number and not a year
        and month; the form's rules (validate_member) met; joined by today. Such a row neither warns
        nor is named by another row's duplicate check, so taking it out of the row-by-row pass
        changes no message. Every condition is tested a column at a time (the columns that repeat,
        each distinct value once); no record is built row by row."""
        if self.update or not self.quick:
            return None
        count = len(numbers)
        flagged = {row for sheet, row, _ in self.seen if sheet == self.sheet_index}
        ids, digests = values["id_number"], self.sheet_digests
        unique = dict.fromkeys(digests)
        repeated = {d for d, c in Counter(digests).items() if c > 1} if len(unique) < len(digests) else set()
        lookups: dict[tuple, tuple | None] = {}  # (township, team) -> (team id, township) when found in scope
        for township, team in dict.fromkeys(zip(values["township"], values["team"])):
            team_id, township_code, reason = self._find_team(township, team) if team is not None else (None, None, "")
            in_scope = not reason and self.actor.may_write(township_code)
            lookups[(township, team)] = (team_id, township_code) if in_scope else None
        today, elsewhere, people = self.today, self.elsewhere, self.file_people
        found = list(map(lookups.__getitem__, zip(values["township"], values["team"])))
        phones = values["phone"]
        mobiles = [p[0] if p else None for p in phones]
        others = [p[1] if p else None for p in phones]
        seconds, genders, births = values["second_phone"], values["gender"], values["birth_date"]
        # The rows check_row is left to check, validate_member's rules among them.
        odd = {i for i, f in enumerate(found) if f is None}
        if flagged:
            odd.update(i for i, n in enumerate(numbers) if n in flagged)
        odd.update(i for i, (s, o) in enumerate(zip(seconds, others)) if s and o and o != s)
        odd.update(_failing(values["name"], bool))
        valid = lambda m: m is None or privacy.validate_mobile(m) is None  # noqa: E731
        if self.odd_phones is None:
            odd.update(_failing(mobiles, valid))
        else:  # the plain cells are valid mobiles (_PLAIN_MOBILE)
            odd.update(i for i in self.odd_phones if not valid(mobiles[i]))
        odd.update(_failing(values["role_in_team"], lambda r: (r or "member") in MEMBER_ROLES))
        odd.update(_failing(values["joined_on"], lambda d: isinstance(d, date) and d <= today))
        for key in ("training_on", "insurance_until"):
            odd.update(_failing(values[key], lambda d: d is None or isinstance(d, date)))
        odd.update(_failing(values["specialty"], lambda t: len(t or "") <= 100))
        sensible = lambda d: d is None or (isinstance(d, date) and d.year >= 1900 and d <= today)  # noqa: E731
        # Birth date and gender: the ID number's (its date part read once per distinct date), or the row's
        born_of = {k: date(int(k[:4]), int(k[4:6]), int(k[6:])) for k in {n[6:14] for n in ids if n}}
        births = [born_of[n[6:14]] if n else b for n, b in zip(ids, births)]  # privacy.birth_date_from_id
        genders = [_GENDER_OF_DIGIT[n[16]] if n else g for n, g in zip(ids, genders)]
        for i in _failing(births, sensible):
            odd.add(i)
        given_births, given_genders = values["birth_date"], values["gender"]
        for i, digest in enumerate(digests):
            if digest is None:
                if given_genders[i] not in (None, "男", "女"):
                    odd.add(i)
            elif given_births[i] is not None or given_genders[i] is not None:
                odd.add(i)  # compared with the ID number's by check_row
            elif digest in repeated or digest in elsewhere or digest in people:  # people: of earlier sheets
                odd.add(i)
        team_ids = [f[0] if f else None for f in found]
        names, team_names = self.team_names, values["team"]
        columns = {
            "name": values["name"],
            "gender": genders,
            "birth_date": births,
            "phone": mobiles,
            "second_phone": [s or o for s, o in zip(seconds, others)],
            "role_in_team": [r or "member" for r in values["role_in_team"]],
            "specialty": values["specialty"],
            "training_passed": [bool(p) for p in values["training_passed"]],
            "training_on": values["training_on"],
            "insurance_until": values["insurance_until"],
            "joined_on": values["joined_on"],
            "team_id": team_ids,
            "team_name": [n if t is None else names.get(t, n) for t, n in zip(team_ids, team_names)],
            "township_code": [f[1] if f else None for f in found],
            "id_number": [n if d else None for n, d in zip(ids, digests)],
            "id_hmac": digests,
        }
        clean = [i for i in range(count) if i not in odd] if odd else range(count)
        self.team_ids.update(t for i in clean if (t := team_ids[i]) is not None)
        # As _check_person records them, for the rows (and sheets) after these ones
        prefix = self.prefix
        for i in clean:
            digest = digests[i]
            if digest is not None:
                where = f"{prefix}第{numbers[i]}行"
                self.seen_in_file[(digest, team_ids[i])] = where
                people[digest] = where
        return sorted(odd), columns

    def _id_number(self, value) -> str | None:
        """An exported roster's masked number (410325**********2X) holds no number: the row has none."""
        if isinstance(value, str) and "*" in value:
            self.masked_ids += 1
            return None
        return normalise.id_number(value)

    def check_row(self, number: int, v: dict) -> dict:
        team_id, township = None, v["township"]
        if v["team"] is not None and not self.reported(number, "所属乡镇"):
            team_id, township = self._team_id(number, v["township"], v["team"])
        self.check_scope(township, number)
        mobile, second = v["phone"] or (None, None)
        if v["second_phone"]:
            if second and second != v["second_phone"]:
                self.bad(number, "手机号", f"已在“其他电话”列填写 {v['second_phone']}，本格只能再写一个手机号")
            second = v["second_phone"]
        given = {  # what the row says (None: the cell is empty)
            "name": v["name"],
            "gender": v["gender"],
            "birth_date": v["birth_date"],
            "phone": mobile,
            "second_phone": second,
            "role_in_team": v["role_in_team"],
            "specialty": v["specialty"],
            "training_passed": v["training_passed"],
            "training_on": v["training_on"],
            "insurance_until": v["insurance_until"],
            "joined_on": v["joined_on"],
        }
        record = {
            **given,
            "team_id": team_id,
            "role_in_team": v["role_in_team"] or "member",
            "training_passed": bool(v["training_passed"]),
            "team_name": self.team_names.get(team_id, v["team"]) if team_id else v["team"],
            "township_code": township,
        }
        if v["id_number"]:
            record.update(self._identity(number, v))
            given["birth_date"], given["gender"] = record["birth_date"], record["gender"]
        elif isinstance(v["birth_date"], tuple):
            year, month = v["birth_date"]
            record["birth_date"] = given["birth_date"] = date(year, month, 1)
            self.warn(number, "出生日期", f"只有出生年月且没有身份证号，出生日期按 {year}年{month}月1日 记录")
        if team_id is not None:
            self.team_ids.add(team_id)
            if self.update:
                self._match(number, record, given, v)
            if record.get("id_hmac") and not record.get("match_id"):
                self._check_person(number, record["id_hmac"], team_id)
        for problem in validate_member(record, self.today):  # the form's rules; a column reported stays reported once
            self.bad(number, problem.field, problem.reason)
        if isinstance(record["joined_on"], date) and record["joined_on"] > self.today:
            self.bad(number, "入队日期", "不能晚于今天")
        return record

    def _team_id(self, number: int, township: str | None, team: str) -> tuple[int | None, str | None]:
        """The one team not disbanded of that name in that township (None and a problem otherwise).
        Without a township column, the team's name alone (an operator's own township first). Worked
        out once per (township, team) of the file."""
        key = (township, team, "township" in self.positions, "team" in self.positions)
        found = self.team_lookups.get(key)
        if found is None:
            found = self.team_lookups[key] = self._find_team(township, team)
        team_id, township, reason = found
        if reason:
            self.bad(number, "所属队伍", reason)
        return team_id, township

    def _find_team(self, township: str | None, team: str) -> tuple[int | None, str | None, str | None]:
        """(team id or None, township, the problem or None) of _team_id."""
        if "township" in self.positions:
            candidates = self.teams_by_key.get((township, _name_key(team)), [])
        else:
            found = self.teams_by_name.get(_name_key(team), [])
            own = [t for t in found if self.actor.township_code and t[1] == self.actor.township_code]
            pairs = own or found
            candidates = [t for t, _ in pairs]
            township = pairs[0][1] if len(pairs) == 1 else None
        if not candidates:
            if "team" not in self.positions:
                return (
                    None,
                    township,
                    f"文件没有“所属队伍”列，以工作表名“{team}”为队伍，但找不到这支队伍（未撤销的队伍中）；"
                    "请把工作表改名为队伍名称，或增加“所属队伍”列",
                )
            place = self.places.township_names.get(township, "全县") if township else "全县（县级）"
            return None, township, f"找不到{place}的队伍“{team}”（未撤销的队伍中），请核对名称或先导入队伍"
        if len(candidates) > 1:
            return (
                None,
                township,
                f"“{team}”有 {len(candidates)} 支同名队伍，无法确定是哪一支（请填写所属乡镇，或先在“救援队伍”页面为其改名）",
            )
        return candidates[0], township, None

    def _identity(self, number: int, v: dict) -> dict:
        """Birth date and gender as the ID number has them (a different one in the file is a problem;
        a year and month alone are checked and completed), the number and its HMAC."""
        number_id = v["id_number"]
        born, sex = privacy.birth_date_from_id(number_id), privacy.gender_from_id(number_id)
        given = v["birth_date"]
        if isinstance(given, tuple):
            if given != (born.year, born.month):
                self.bad(number, "出生日期", f"出生年月 {given[0]}年{given[1]}月 与身份证号中的出生日期（{born}）不符")
        elif given and given != born:
            self.bad(number, "出生日期", f"与身份证号中的出生日期（{born}）不符")
        if v["gender"] and v["gender"] != sex:
            self.bad(number, "性别", f"与身份证号中的性别（{sex}）不符")
        digest = self.digests.get(number_id) or self.hmac(number_id)
        return {"birth_date": born, "gender": sex, "id_number": number_id, "id_hmac": digest}

    def _match(self, number: int, record: dict, given: dict, v: dict) -> None:
        """Update: the member on the roster this row is (by ID number, or by name + birth date + team),
        and the fields that change (header -> (before, after))."""
        team_id, match, member_id = record["team_id"], None, 0
        if record.get("id_hmac"):
            member_id = self.by_id.get((record["id_hmac"], team_id), 0)
            match = STRONG if member_id else None
        born = v["birth_date"] if isinstance(v["birth_date"], tuple) else given["birth_date"]
        if match is None and record.get("name"):
            candidates = [
                m
                for m in self.by_name.get((team_id, clean(record["name"])), [])
                if _same_birth(self.current[m]["birth_date"], born)
            ]
            candidates = [m for m in candidates if not (record.get("id_hmac") and self.current[m]["id_hmac"])]
            if len(candidates) == 1:
                member_id, match = candidates[0], WEAK
        if match is None:
            return
        where = f"{self.prefix}第{number}行"
        if member_id in self.matched:
            self.bad(number, "姓名", f"与{self.matched[member_id]}对应同一名已登记队员")
            return
        self.matched[member_id] = where
        before = self.current[member_id]
        fields = {}
        for key in SYNC_FIELDS:
            after = given[key]
            if key == "birth_date" and isinstance(born, tuple) and _same_birth(before[key], born):
                continue  # a year and month that agree with the stored date change nothing
            if after is not None and after != before[key]:
                fields[key] = (before[key], after)
        if record.get("id_hmac") and not before["id_hmac"]:
            fields["id_number"] = (None, record["id_number"])
        record["match_id"], record["match"], record["sync"] = member_id, match, fields
        record["before"] = before

    def _check_person(self, number: int, digest: str, team_id: int) -> None:
        """A person once per team (registry and file); in another team too is a warning (flagged duplicate)."""
        key = (digest, team_id)
        where = f"{self.prefix}第{number}行"
        if key in self.in_team:
            self.bad(
                number, "身份证号", "此人已在该队伍中登记，不能重复导入（更新名单请选择“更新已登记队员”或 --update）"
            )
        elif key in self.seen_in_file:
            self.bad(number, "身份证号", f"与{self.seen_in_file[key]}是同一队伍的同一人")
        else:
            self.seen_in_file[key] = where
            if digest in self.elsewhere:
                self.warn(number, "身份证号", f"此人已在“{self.elsewhere[digest]}”登记，将被标记为重复人员")
            elif digest in self.file_people:
                self.warn(number, "身份证号", f"与{self.file_people[digest]}是同一人（不同队伍），将被标记为重复人员")
            self.file_people.setdefault(digest, where)

    def missing(self) -> list[dict]:
        """Update: the members of the file's teams that no row matched."""
        return [
            {**m, "team_name": self.team_names.get(m["team_id"], "")}
            for member_id, m in self.current.items()
            if m["team_id"] in self.team_ids and member_id not in self.matched
        ]


class Records(Sequence):
    """An import's records in file order, as dicts (what check_row returns, with _row and _sheet).
    The rows the whole-sheet pass took are kept as that pass's columns, and a dict is made for one
    of them only when it is asked for; the write reads the columns (`column`)."""

    OPTIONAL = ("id_number", "id_hmac")  # fields a record has only when they have a value

    def __init__(self) -> None:
        self._blocks: list[list[dict] | _Block] = []
        self._length = 0

    def extend(self, records) -> None:
        records = list(records)
        if records:
            if not self._blocks or not isinstance(self._blocks[-1], list):
                self._blocks.append([])
            self._blocks[-1].extend(records)  # type: ignore[union-attr]
            self._length += len(records)

    def append(self, record: dict) -> None:
        self.extend([record])

    def add_columns(
        self, count: int, columns: dict[str, list], checked: dict[int, dict], numbers: list[int], sheet: str
    ):
        """A sheet's `count` rows: the columns of its clean rows, the records check_row made for the others (by index)."""
        if count:
            self._blocks.append(_Block(count, columns, checked, numbers, sheet))
            self._length += count

    def __len__(self) -> int:
        return self._length

    def __iter__(self):
        for block in self._blocks:
            if isinstance(block, list):
                yield from block
            else:
                yield from map(block.record, range(block.count))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        for block in self._blocks:
            size = len(block) if isinstance(block, list) else block.count
            if index < size:
                return block[index] if isinstance(block, list) else block.record(index)
            index -= size
        raise IndexError(index)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def column(self, key: str) -> list:
        """The field `key` of every record (None where a record has none), without making the dicts."""
        out: list = []
        for block in self._blocks:
            if isinstance(block, list):
                out.extend(r.get(key) for r in block)
            else:
                out.extend(block.column(key))
        return out


@dataclass
class _Block:
    """One sheet's records: its clean rows' columns and the records check_row made for the other rows."""

    count: int
    columns: dict[str, list]
    checked: dict[int, dict]
    numbers: list[int]
    sheet: str

    def record(self, i: int) -> dict:
        found = self.checked.get(i)
        if found is not None:
            return found
        record = {k: column[i] for k, column in self.columns.items()}
        for key in Records.OPTIONAL:
            if record.get(key) is None:
                record.pop(key, None)
        record["_row"], record["_sheet"] = self.numbers[i], self.sheet
        return record

    def column(self, key: str) -> list:
        if key == "_row":
            return list(self.numbers)
        if key == "_sheet":
            return [self.sheet] * self.count
        values = list(self.columns[key]) if key in self.columns else [None] * self.count
        for i, record in self.checked.items():
            values[i] = record.get(key)
        return values


class _Columns:
    """The data rows' cells read by column (a short row's missing cells None)."""

    def __init__(self, rows: list[list]):
        self.rows = rows
        self.width = min(map(len, rows), default=0)  # every row has at least this many cells

    def column(self, position: int) -> list:
        if position < self.width:
            return list(map(itemgetter(position), self.rows))
        return [cells[position] if position < len(cells) else None for cells in self.rows]


_PLAIN_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # what normalise.phones returns unchanged, as (number, None)
_PLAIN_ID = re.compile(r"[0-9]{17}[0-9X]")  # what normalise.id_number returns unchanged (when valid)
_GENDER_OF_DIGIT = {str(d): ("男" if d % 2 else "女") for d in range(10)}  # privacy.gender_from_id
# What hygiene.clean_text changes in a text: a full-width digit or letter or an ideographic space, any
# white space but the plain space, and a plain space at either end or beside another one (texts joined by
# NUL, which is neither, so that one search covers a whole column).
_UNCLEAN = re.compile(
    "["
    + "".join(sorted(map(chr, FULL_WIDTH)))
    + re.escape(WHITESPACE.replace(" ", ""))
    + "]|(?:^|(?<=\x00)) | (?=\x00|\\Z)|  "
)


def _unclean(texts: list[str]) -> set[int]:
    """The indexes of the texts that hygiene.clean_text changes, found by one search over the column."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(0, len(texts) - 1):  # a text holding NUL itself: one at a time
        return {i for i, t in enumerate(texts) if t != clean_text(t)}
    found = [m.start() for m in _UNCLEAN.finditer(joined)]
    if not found:
        return set()
    starts = list(accumulate((len(t) + 1 for t in texts), initial=0))
    return {bisect_right(starts, position) - 1 for position in found}


def _plain_names(raws: list) -> list[int]:
    """The indexes of the name cells normalise.required_text(max_length=50) would change or refuse."""
    texts = [raw if raw.__class__ is str else "" for raw in raws]
    odd = {i for i, t in enumerate(texts) if not 0 < len(t) <= 50}
    odd |= _unclean(texts)
    return sorted(odd)


def _plain_or(
    parser: Callable[[Any], Any], odd_cells: Callable[[list], list[int]], phone: bool = False
) -> Callable[[list], tuple[list, dict[int, str]]]:
    """A column parser: (the parsed values, the problems by index). The cells `odd_cells` does not
    name are plain text, which `parser` would return unchanged (`phone`: as (number, None), what
    normalise.phones returns for one mobile); the others go through `parser`."""

    def column(raws: list) -> tuple[list, dict[int, str]]:
        odd = odd_cells(raws)
        values = list(raws)
        errors: dict[int, str] = {}
        for i in odd:
            raw = values[i]
            if phone and raw.__class__ is str:
                half = clean_text(raw)
                if _PLAIN_MOBILE.fullmatch(half):  # full-width digits: the number without the cell parser
                    values[i] = (half, None)
                    continue
            try:
                values[i] = parser(raw)
            except ValueError as exc:
                values[i], errors[i] = None, str(exc)
        if phone:
            skip = set(odd)
            values = (
                [(v, None) if i not in skip else v for i, v in enumerate(values)]
                if skip
                else [(v, None) for v in values]
            )
        return values, errors

    return column


def _failing(values: list, ok: Callable[[Any], bool]) -> list[int]:
    """The indexes of the values `ok` is false of, each distinct value tested once."""
    bad = {v for v in dict.fromkeys(values) if not ok(v)}
    return [i for i, v in enumerate(values) if v in bad] if bad else []


def _same_birth(stored: date | None, given: date | tuple[int, int] | None) -> bool:
    """A row's birth date (or year and month) agrees with the stored one (or one of them is empty)."""
    if stored is None or given is None:
        return True
    if isinstance(given, tuple):
        return (stored.year, stored.month) == given
    return stored == given


def lay_out_sheets(
    result: ImportResult, kind: str, file_name: str, data: bytes, mapping: dict | None, no_header: str
) -> bool:
    """Lay the file out into result.sheets (the sheets with a header row), with a note for each sheet
    skipped or with title rows above its header; False (and the problem in result) when the file
    cannot be read or no sheet has a header (`no_header` says what to do)."""
    try:
        sheets = layout(kind, file_name, data, mapping)
    except ValueError as exc:
        result.problems.append(Problem("", str(exc), 0))
        return False
    result.sheets = [s for s in sheets if s.header_index >= 0]
    for sheet in sheets:
        if sheet.header_index < 0 and any(not normalise.is_blank(c) for _, cells in sheet.rows for c in cells):
            result.notes.append(f"工作表“{sheet.name}”中没有可识别的表头行，未导入")
        elif sheet.header_index > 0:
            result.notes.append(f"工作表“{sheet.name}”：表头在第 {sheet.header_row} 行，上方的标题行已跳过")
    if not result.sheets:
        result.problems.append(Problem("", no_header, 1))
        return False
    return True


def run_import(
    db: Database,
    actor: User,
    kind: str,
    file_name: str,
    data: bytes,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    mapping: dict[str, str] | None = None,
    update: bool = False,
    mark_left: bool = False,
) -> ImportResult:
    """Validate the whole file; write it (one transaction) only when not dry_run and no row is bad.

    `mapping`: file header -> template header or "不导入" (import_headers.SKIP), before the synonyms.
    `update` (members): re-sync a roster (see the module's docstring); `mark_left` marks the members
    of the file's teams that the file does not list as left today.

    Python's cyclic garbage collector is paused meanwhile: the file's cells, parsed values and records
    (a million objects for 50,000 rows) hold no cycles, and its collections, set off by every few
    hundred objects made, only walked them again and again (a fifth of a large import's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_import(db, actor, kind, file_name, data, dry_run, progress, mapping, update, mark_left)
    finally:
        if enabled:
            gc.enable()


def _run_import(
    db: Database,
    actor: User,
    kind: str,
    file_name: str,
    data: bytes,
    dry_run: bool,
    progress: Progress | None,
    mapping: dict[str, str] | None,
    update: bool,
    mark_left: bool,
) -> ImportResult:
    import time

    if kind not in KINDS:
        raise ValueError(f"导入类型必须是 {'、'.join(KINDS)} 之一")
    if actor.role == "viewer":
        raise PermissionDenied("只读账号不能导入数据。")
    started = time.perf_counter()
    result = ImportResult(kind, file_name, update=update)
    progress and progress(0.0, "正在读取文件")
    no_header = f"找不到表头行：应有一行列名（如“{COLUMNS[kind][0].header}”），可使用下载的模板，或在列对应中指定"
    if not lay_out_sheets(result, kind, file_name, data, mapping, no_header):
        return result
    for sheet in result.sheets:
        result.problems.extend(_column_problems(kind, sheet, f"{sheet.name} · " if len(result.sheets) > 1 else ""))
    if result.problems:
        return result
    places = normalise.Places.load(db)
    checker: _Checker = (
        _TeamRows(db, actor, places, progress, update)
        if kind == "teams"
        else _MemberRows(db, actor, places, progress, update)
    )
    checker.check(result.sheets)
    result.rows, result.records = checker.rows, checker.records
    result.problems.extend(checker.sorted_problems())
    result.warnings.extend(checker.warnings)
    if isinstance(checker, _MemberRows) and checker.masked_ids:
        result.notes.append(
            f"{checker.masked_ids} 行的身份证号是脱敏号码（如导出文件中的 410325**********2X），按未填写处理"
        )
    if checker.footers:
        result.notes.append(f"已忽略 {checker.footers} 行合计、小计或签名行")
    if update:
        _sync_summary(result, checker, places)
    if not result.rows and not result.problems:
        result.problems.append(Problem("", "文件中没有数据行", 0))
    if result.problems or dry_run:
        result.seconds = time.perf_counter() - started
        progress and progress(1.0, "校验完成")
        return result
    progress and progress(0.7, "正在加密身份证号并写入")
    if kind == "teams" and update:
        result.written = _write_team_sync(db, actor, result)
    elif kind == "teams":
        result.written = _write_teams(db, actor, result)
    elif update:
        result.written = _write_member_sync(db, actor, result, mark_left)
    else:
        result.written = _write_members(db, actor, result)
    result.committed = True
    result.seconds = time.perf_counter() - started
    progress and progress(1.0, f"已导入 {result.written} 行")
    return result


def _sync_summary(result: ImportResult, checker: _Checker, places: normalise.Places) -> None:
    for record in result.records:
        if not record.get("match_id"):
            continue
        if record["sync"]:
            fields = {
                header_of(result.kind, k): (_shown_sync(k, before, places), _shown_sync(k, after, places))
                for k, (before, after) in record["sync"].items()
            }
            where = (
                record["team_name"]
                if result.kind == "members"
                else display("township_code", record["township_code"], places)
            )
            result.changes.append(
                Change(
                    record["_row"], record["_sheet"], record["match_id"], record["name"], where, record["match"], fields
                )
            )
        else:
            result.unchanged.append(record)
    if isinstance(checker, _MemberRows):
        result.missing = checker.missing()


def _shown_sync(key: str, value, places: normalise.Places | None = None) -> str:
    """A before/after value of a re-sync as the preview shows it (ID numbers masked; phones in full: the
    importer may write, so may see, every member the file touches)."""
    if value is None:
        return "—"
    if key == "id_number":
        return privacy.mask_id(value)
    return display(key, value, places)


# Writing ----------------------------------------------------------------------------------------
TEAM_TABLE_COLUMNS = [
    "id",
    "name",
    "kind",
    "level",
    "township_code",
    "village_code",
    "leader_name",
    "duty_phone",
    "equipment",
    "established_on",
]
MEMBER_TABLE_COLUMNS = [
    "id",
    "team_id",
    "name",
    "gender",
    "birth_date",
    "phone",
    "id_hmac",
    "id_cipher",
    "id_masked",
    "role_in_team",
    "specialty",
    "training_passed",
    "training_on",
    "insurance_until",
    "joined_on",
]


def _typed(frame: pd.DataFrame, dates: list[str], strings: list[str]) -> pd.DataFrame:
    """Object columns holding date / str / None (never NaN), which DuckDB reads as DATE / VARCHAR."""
    for column in dates + strings:
        frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
    return frame


def _new_ids(cur: Cursor, table: str, n: int) -> list[int]:
    """n new ids of the table's sequence, in order. Drawn in one statement they are almost always
    consecutive, and then only their bounds are fetched (n distinct values within a span of n are
    exactly that range); otherwise n others are drawn and fetched (a gap in the ids harms nothing)."""
    if n <= 0:
        return []
    low, high = cur.execute(
        f"SELECT min(v), max(v) FROM (SELECT nextval('seq_{table}') AS v FROM range(?))", [n]
    ).fetchall()[0]
    if high - low + 1 == n:
        return list(range(low, high + 1))
    return sorted(i for (i,) in cur.execute(f"SELECT nextval('seq_{table}') FROM range(?)", [n]).fetchall())


def _insert_teams(cur: Cursor, records: Sequence[dict]) -> list[int]:
    ids = _new_ids(cur, "teams", len(records))
    if not records:
        return ids
    frame = pd.DataFrame(
        [{**{k: r[k] for k in TEAM_TABLE_COLUMNS if k != "id"}, "id": i} for r, i in zip(records, ids)]
    )[TEAM_TABLE_COLUMNS]
    frame["id"] = frame["id"].astype("int64")
    insert_frame(cur, "teams", _typed(frame, ["established_on"], ["township_code", "village_code"]))
    domains = pd.DataFrame(
        [(i, d) for r, i in zip(records, ids) for d in r["domains"]], columns=["team_id", "domain_code"]
    )
    if len(domains):
        insert_frame(cur, "team_domains", domains)
    return ids


def _write_team_sync(db: Database, actor: User, result: ImportResult) -> int:
    """Teams re-sync in one transaction: new teams, and the changed fields (and domains) of the
    matched ones, checked against the state the import read; one audit row per team and one for the import."""
    added = result.added
    changed = [r for r in result.records if r.get("match_id") and r["sync"]]

    def work(cur: Cursor):
        ids = _insert_teams(cur, added)
        for record, team_id in zip(added, ids):
            audit.record(cur, actor, "create", "teams", team_id, None, {k: record[k] for k in TEAM_SYNC_FIELDS})
        for record in changed:
            _update_team(cur, actor, record)
        audit.record(
            cur,
            actor,
            "import",
            "teams",
            None,
            None,
            {
                "file": result.file_name,
                "update": True,
                "added": len(ids),
                "changed": len(changed),
                "unchanged": len(result.unchanged),
            },
        )
        return len(ids) + len(changed)

    return db.write(work)


def _update_team(cur: Cursor, actor: User, record: dict) -> None:
    """One matched team's changed fields and domains, checked against the state the import read."""
    team_id, fields, before = record["match_id"], record["sync"], record["before"]
    scalar = [f for f in TEAM_SYNC_FIELDS if f != "domains"]
    now = row_dict(cur, f"SELECT {', '.join(scalar)}, disbanded_on FROM teams WHERE id = ?", [team_id])
    domains = sorted(
        d for (d,) in cur.execute("SELECT domain_code FROM team_domains WHERE team_id = ?", [team_id]).fetchall()
    )
    if not now or now["disbanded_on"] or domains != before["domains"] or any(now[k] != before[k] for k in scalar):
        raise ValueError(f"队伍“{record['name']}”在预览后已被修改，未写入任何数据，请重新导入")
    columns = {k: after for k, (_, after) in fields.items() if k != "domains"}
    if columns:
        cur.execute(
            f"UPDATE teams SET {', '.join(f'{k} = ?' for k in columns)}, updated_at = current_timestamp WHERE id = ?",
            [*columns.values(), team_id],
        )
    if "domains" in fields:
        old, new = fields["domains"]
        for code in set(old) - set(new):
            cur.execute("DELETE FROM team_domains WHERE team_id = ? AND domain_code = ?", [team_id, code])
        for code in set(new) - set(old):
            cur.execute("INSERT INTO team_domains VALUES (?, ?)", [team_id, code])
    old_values = {k: b for k, (b, _) in fields.items()}
    new_values = {k: a for k, (_, a) in fields.items()}
    audit.record(cur, actor, "update", "teams", team_id, old_values, new_values)


def _write_teams(db: Database, actor: User, result: ImportResult) -> int:
    records = result.records

    def work(cur: Cursor):
        ids = _insert_teams(cur, records)
        audit.record(
            cur,
            actor,
            "import",
            "teams",
            None,
            None,
            {"file": result.file_name, "rows": len(records), "first_id": ids[0], "last_id": ids[-1]},
        )
        return len(records)

    return db.write(work)


_MEMBER_TYPES = {
    "id": "int64",
    "team_id": "int64",
    "training_passed": "bool_",
    **dict.fromkeys(("birth_date", "training_on", "insurance_until", "joined_on"), "date32"),
}


def _record_column(records: Sequence[dict], key: str) -> list:
    return records.column(key) if isinstance(records, Records) else [r.get(key) for r in records]


def _member_frame(records: Sequence[dict], ids: list[int]) -> pa.Table:
    """The members table's columns of the new members, read a column at a time (from the import's
    columns: no dict per row) into an arrow table (no per-cell conversion on the way into DuckDB).
    ID numbers encrypted with the cipher resolved once."""
    import pyarrow as pa

    data = {k: _record_column(records, k) for k in MEMBER_TABLE_COLUMNS if k not in ("id", "id_cipher", "id_masked")}
    numbers = _record_column(records, "id_number")
    data["id"] = ids
    data["id_cipher"] = privacy.encrypt_ids(numbers)
    mask = privacy.ID_MASK  # privacy.mask_id of a checked number (18 characters, no spaces)
    data["id_masked"] = [f"{n[:6]}{mask}{n[-2:]}" if n else None for n in numbers]
    data["training_passed"] = [bool(v) for v in data["training_passed"]]
    return pa.table(
        {k: pa.array(data[k], type=getattr(pa, _MEMBER_TYPES.get(k, "string"))()) for k in MEMBER_TABLE_COLUMNS}
    )


def _insert_members(cur: Cursor, records: Sequence[dict]) -> list[int]:
    """The new members (ids assigned here, so that each row's second phone finds its member)."""
    ids = _new_ids(cur, "members", len(records))
    if not records:
        return ids
    insert_frame(cur, "members", _member_frame(records, ids))
    phones = [{"member_id": i, "second_phone": p} for p, i in zip(_record_column(records, "second_phone"), ids) if p]
    if phones:
        insert_frame(cur, "member_phones", phones)
    return ids


def _write_members(db: Database, actor: User, result: ImportResult) -> int:
    flagged = len(result.warnings)

    def work(cur: Cursor):
        ids = _insert_members(cur, result.records)
        audit.record(
            cur,
            actor,
            "import",
            "members",
            None,
            None,
            {
                "file": result.file_name,
                "rows": len(ids),
                "first_id": min(ids),
                "last_id": max(ids),
                "flagged_duplicates": flagged,
            },
        )
        return len(ids)

    return db.write(work)


def _write_member_sync(db: Database, actor: User, result: ImportResult, mark_left: bool) -> int:
    """A roster re-sync in one transaction: the new members, the changed fields of the matched ones,
    and (mark_left) the missing ones as left today; one audit row per member and one for the import.
    A matched member changed since the check refuses the whole write (nothing is written)."""
    added = result.added
    changed = [r for r in result.records if r.get("match_id") and r["sync"]]
    today = local_today()

    def work(cur: Cursor):
        ids = _insert_members(cur, added)
        for record, member_id in zip(added, ids):
            after = {k: record.get(k) for k in SYNC_FIELDS} | {"team_id": record["team_id"]}
            after["id_masked"] = privacy.mask_id(record["id_number"]) if record.get("id_number") else None
            audit.record(cur, actor, "create", "members", member_id, None, after)
        for record in changed:
            _update_member(cur, actor, record)
        left = 0
        if mark_left:
            for member in result.missing:
                now = first_row(cur, "SELECT left_on FROM members WHERE id = ?", [member["id"]])
                if now is None or now[0] is not None:
                    raise ValueError(f"队员“{member['name']}”在预览后已发生变化，未写入任何数据，请重新导入")
                cur.execute(
                    "UPDATE members SET left_on = ?, updated_at = current_timestamp WHERE id = ?", [today, member["id"]]
                )
                audit.record(cur, actor, "leave", "members", member["id"], {"left_on": None}, {"left_on": today})
                left += 1
        audit.record(
            cur,
            actor,
            "import",
            "members",
            None,
            None,
            {
                "file": result.file_name,
                "update": True,
                "added": len(ids),
                "changed": len(changed),
                "unchanged": len(result.unchanged),
                "marked_left": left,
            },
        )
        return left

    result.marked_left = db.write(work)
    return len(added) + len(changed)


def _update_member(cur: Cursor, actor: User, record: dict) -> None:
    """One matched member's changed fields, checked against the state the import read."""
    member_id, fields, before = record["match_id"], record["sync"], record["before"]
    stored = [k for k in SYNC_FIELDS if k != "second_phone"]
    now = row_dict(
        cur,
        f"SELECT {', '.join('m.' + k for k in stored)}, m.id_hmac, m.left_on, p.second_phone FROM members m"
        " LEFT JOIN member_phones p ON p.member_id = m.id WHERE m.id = ?",
        [member_id],
    )
    if not now or now["left_on"] is not None or any(now[k] != before[k] for k in SYNC_FIELDS):
        raise ValueError(f"队员“{before['name']}”在预览后已被修改，未写入任何数据，请重新导入")
    columns = {k: after for k, (_, after) in fields.items() if k in stored}
    if "id_number" in fields:
        number = fields["id_number"][1]
        columns["id_hmac"], columns["id_cipher"], columns["id_masked"] = privacy.protect_id(number)
    if columns:
        cur.execute(
            f"UPDATE members SET {', '.join(f'{k} = ?' for k in columns)}, updated_at = current_timestamp WHERE id = ?",
            [*columns.values(), member_id],
        )
    if "second_phone" in fields:
        cur.execute(
            "INSERT INTO member_phones (member_id, second_phone) VALUES (?, ?) ON CONFLICT (member_id)"
            " DO UPDATE SET second_phone = excluded.second_phone, updated_at = current_timestamp",
            [member_id, fields["second_phone"][1]],
        )
    old = {k: b for k, (b, _) in fields.items() if k != "id_number"}
    new = {k: a for k, (_, a) in fields.items() if k != "id_number"}
    if "id_number" in fields:
        old["id_masked"], new["id_masked"] = None, columns["id_masked"]
    audit.record(cur, actor, "update", "members", member_id, old, new)


# Templates --------------------------------------------------------------------------------------
def template_xlsx(db: Database, kind: str) -> bytes:
    """The import template: Chinese headers, dropdowns for enumerations, one example row, notes."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = COLUMNS[kind]
    townships = [name for (name,) in db.query("SELECT name FROM townships WHERE is_township ORDER BY sort_order")]
    book = Workbook()
    sheet = book.active
    sheet.title = LABELS[kind]
    sheet.append([c.header for c in columns])
    example = [c.example for c in columns]
    example[0] = "（示例）" + str(example[0])
    sheet.append(example)
    bold, required = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    for i, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = bold
        if column.required:
            cell.fill = required
        note = ("必填。" if column.required else "") + column.note
        if note:
            cell.comment = Comment(note, "模板")
        sheet.cell(row=2, column=i).font = Font(italic=True, color="808080")
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4)
        if column.key in ("id_number", "phone", "duty_phone"):
            sheet.column_dimensions[letter].number_format = "@"  # text: an ID number keeps all 18 digits
        choices = townships if column.key in ("township", "township_code") else column.choices
        if choices:
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="请从下拉列表中选择",
                error=f"{column.header}应为：{'、'.join(choices)}",
            )
            sheet.add_data_validation(rule)
            rule.add(f"{letter}3:{letter}5000")
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for column in columns:
        notes.append([column.header, "必填" if column.required else "", column.note])
    notes.append([])
    notes.append(["第2行以（示例）开头的是示例行，导入时忽略，可删除。"])
    notes.append(["导入为“全部或全不”：任何一行有错，整份文件都不会写入，并列出每个错误的行号、列名和原因。"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Exports ----------------------------------------------------------------------------------------
def team_export_frame(db: Database, viewer: User, **filters) -> pd.DataFrame:
    """Teams under the template's headers (an export can be edited and imported again); phones masked."""
    frame = team_list_for(db, viewer, **filters)
    out = pd.DataFrame(
        {
            "队伍名称": frame["name"],
            "队伍类别": frame["kind"].map(TEAM_KINDS),
            "队伍层级": frame["level"].map(TEAM_LEVELS),
            "所属乡镇": frame["township_name"].where(frame["township_code"].notna(), None),
            "所属村（社区）": frame["village_name"],
            "覆盖领域": frame["domains"],
            "负责人": frame["leader_name"],
            "值班电话": frame["duty_phone"],
            "装备": frame["equipment"],
            "成立日期": pd.to_datetime(frame["established_on"]).dt.date,
            "撤销日期": pd.to_datetime(frame["disbanded_on"]).dt.date,
            "在册队员": frame["member_count"],
        }
    )
    return out


def member_export_frame(db: Database, viewer: User, **filters) -> pd.DataFrame:
    """Members under Chinese headers, as the viewer sees them on the page: phones masked by role, ID
    numbers always masked, and for every role but the administrator the birth year only."""
    frame = member_list(db, viewer, **filters)

    def day(column):
        return pd.to_datetime(frame[column]).dt.date

    birth = day("birth_date") if viewer.is_admin else frame["birth_date"]  # the year only (teams.mask_personal)
    seconds = dict(db.query("SELECT member_id, second_phone FROM member_phones"))
    second = [
        None if s is None else (s if viewer.sees_full_phone(t) else privacy.mask_phone(s))
        for s, t in zip(frame["id"].map(seconds.get), frame["township_code"])
    ]
    return pd.DataFrame(
        {
            "姓名": frame["name"],
            "所属乡镇": frame["township_name"],
            "所属队伍": frame["team_name"],
            "身份证号": frame["id_masked"],
            "性别": frame["gender"],
            birth_label(viewer): birth,
            "手机号": frame["phone"],
            "队内职务": frame["role_in_team"].map(MEMBER_ROLES),
            "专长": frame["specialty"],
            "已通过培训": frame["training_passed"].map({True: "是", False: "否"}),
            "培训日期": day("training_on"),
            "保险到期": day("insurance_until"),
            "入队日期": day("joined_on"),
            "其他电话": pd.Series(second, index=frame.index, dtype=object),
            "离队日期": day("left_on"),
        }
    )


def export_xlsx(db: Database, actor: User, registry: str, /, **filters) -> bytes:
    """Any filtered list of teams or members as an audited, masked workbook. (`registry` is
    positional-only: the team filters have a `kind` of their own.)"""
    if registry == "teams":
        return exports.export_xlsx(db, actor, team_export_frame(db, actor, **filters), "队伍名单")
    if registry == "members":
        return exports.export_xlsx(db, actor, member_export_frame(db, actor, **filters), "队员名单")
    raise ValueError(f"导出类型必须是 {'、'.join(KINDS)} 之一")
