"""Excel (.xlsx) and CSV import of teams and members, the templates, and the role-masked exports.

An import is all or nothing. The file is read (python-calamine for .xlsx; CSV in UTF-8, UTF-8 with
BOM or GB18030), every cell parsed with emergency.normalise, every row checked with the same
validators the forms use (teams.team_problems, teams.validate_member) plus the import's own rules
(scope, team matching, duplicates), and every bad row reported as (row number as Excel shows it,
column header, reason in Chinese). Only a file without a single problem is written, in one
transaction: one bulk INSERT per table through a pandas DataFrame registered on the cursor, and ONE
audit row for the whole import (file name, row count, id range), not one per row.

Members are matched to teams by (township, team name) among teams not disbanded; a member row
with an empty township (or 全县) belongs to a county-wide team. ID numbers are protected as the
form does (HMAC, AES-GCM, masked), batched with keys derived once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import audit, exports, normalise, privacy
from .auth import PermissionDenied, User
from .db import insert_frame
from .enums import HAZARD_DOMAINS, MEMBER_ROLES, TEAM_KINDS, TEAM_LEVELS
from .errors import Problem  # the forms' record too: (field = column header, reason, row as Excel shows it)
from .hygiene import clean
from .teams import birth_label, member_list, team_list_for, team_problems, validate_member

if TYPE_CHECKING:
    from .db import Cursor, Database

KINDS = {"teams": "队伍", "members": "队员"}
EXAMPLE_MARKS = ("（示例）", "(示例)")  # a template's example row starts with （示例） and is never imported
COUNTY_WORDS = {"", "全县", "县级", "县", "全县各乡镇"}
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
    Column("值班电话", "duty_phone", example="13800000000", note="11位手机号或 0379 开头的固话"),
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
    Column("所属队伍", "team", True, example="城关镇应急救援综合队", note="须与已登记的队伍名称一致"),
    Column("身份证号", "id_number", example="", note="18位；请把本列设为文本格式"),
    Column("性别", "gender", False, ("男", "女"), "男", "填写身份证号时可不填"),
    Column("出生日期", "birth_date", example="", note="填写身份证号时可不填"),
    Column("手机号", "phone", example="13900000000"),
    Column("队内职务", "role_in_team", False, _labels(MEMBER_ROLES), "队员", "不填为队员"),
    Column("专长", "specialty", example="抢险救援"),
    Column("已通过培训", "training_passed", False, ("是", "否"), "是"),
    Column("培训日期", "training_on", example="2024-05-20"),
    Column("保险到期", "insurance_until", example="2025-12-31"),
    Column("入队日期", "joined_on", True, example="2024-03-05"),
]
COLUMNS = {"teams": TEAM_COLUMNS, "members": MEMBER_COLUMNS}


@dataclass
class ImportResult:
    kind: str
    file_name: str
    rows: int = 0  # data rows read (blank and example rows skipped)
    records: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    committed: bool = False
    written: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row or 0 for p in self.problems})  # an import's problems always have a row

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(p.row, p.column, p.reason) for p in self.problems], columns=["行号", "列", "问题"])

    def warnings_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(p.row, p.column, p.reason) for p in self.warnings], columns=["行号", "列", "提示"])

    def preview_frame(self, limit: int = 200) -> pd.DataFrame:
        """The first rows as they will be stored (ID numbers masked, never in clear)."""
        shown = []
        for record in self.records[:limit]:
            row = {k: v for k, v in record.items() if k not in ("id_number", "domains", "team_id")}
            if "id_number" in record:
                row["id_masked"] = privacy.mask_id(record["id_number"])
            if "domains" in record:
                row["domains"] = "、".join(HAZARD_DOMAINS[d] for d in record["domains"])
            shown.append(row)
        return pd.DataFrame(shown)


# Reading ----------------------------------------------------------------------------------------
def read_rows(file_name: str, data: bytes) -> list[tuple[int, list]]:
    """(Excel row number, cells) of the first sheet, or of the CSV file."""
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheet = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file problem
            raise ValueError(f"无法读取 Excel 文件：{exc}") from None
        return [(i + 1, list(r)) for i, r in enumerate(sheet)]
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("无法识别 CSV 文件的编码（支持 UTF-8 和 GB18030/GBK）")
        return [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text, newline="")))]
    raise ValueError(f"不支持的文件类型 {suffix or '（无扩展名）'}，仅支持 .xlsx 和 .csv")


def _header_name(cell) -> str:
    name = clean(cell).replace(" ", "")
    for mark in ("*", "(必填)", "(选填)"):
        name = name.replace(mark, "")
    return normalise._loose(name)


def _locate_columns(rows: list[tuple[int, list]], columns: list[Column]) -> tuple[int, dict[str, int], list[Problem]]:
    """The header row (among the first 10) and the position of each known column."""
    wanted = {normalise._loose(c.header): c for c in columns}
    first_required = normalise._loose(next(c.header for c in columns if c.required))
    for index, (number, cells) in enumerate(rows[:10]):
        names = [_header_name(c) for c in cells]
        if first_required in names:
            positions = {}
            for i, name in enumerate(names):
                if name in wanted and wanted[name].key not in positions:
                    positions[wanted[name].key] = i
            missing = [c for c in columns if c.required and c.key not in positions]
            return index, positions, [Problem(c.header, "缺少此列（请使用下载的模板）", number) for c in missing]
    return (
        -1,
        {},
        [Problem("", f"找不到表头行：第一行应为模板中的列名（如“{columns[0].header}”），请使用下载的模板", 1)],
    )


# Validation -------------------------------------------------------------------------------------
def _name_key(name) -> str:
    """Team names match whatever the width of their brackets and spaces: （演示） == (演示)."""
    return normalise._loose(name or "")


UNIQUE_VALUED = {"name", "id_number", "phone", "duty_phone", "leader_name", "equipment"}


class _Checker:
    """Checks the data rows of one file: every problem (never more than one per (row, column)), the
    warnings, and the records a clean file writes. A subclass knows one kind of row: its columns, its
    parsers (`parsers`) and its rules (`check_row`)."""

    columns: list[Column]

    def __init__(self, db: Database, actor: User, places: normalise.Places, progress: Progress | None = None):
        self.db, self.actor, self.places, self.progress = db, actor, places, progress
        self.rows = 0  # data rows read (blank and example rows skipped)
        self.records: list[dict] = []
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.seen: set[tuple[int, str]] = set()
        self.caches: dict[str, dict] = {}

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        raise NotImplementedError

    def check_row(self, number: int, values: dict) -> dict:
        """The record of one row, its problems reported with `bad` (and warnings with `warn`)."""
        raise NotImplementedError

    def check(self, table_rows: list[tuple[int, list]], header_index: int, positions: dict[str, int]) -> None:
        parsers = self.parsers()
        for number, cells in self._data_rows(table_rows, header_index):
            self.records.append(self.check_row(number, self._parse_cells(number, cells, positions, parsers)))

    def bad(self, row: int, column: str, reason: str) -> None:
        if (row, column) not in self.seen:
            self.seen.add((row, column))
            self.problems.append(Problem(column, reason, row))

    def warn(self, row: int, column: str, reason: str) -> None:
        self.warnings.append(Problem(column, reason, row))

    def check_scope(self, township_code: str | None, number: int) -> None:
        if not self.actor.may_write(township_code):
            where = "县级（全县性）队伍" if township_code is None else f"其他乡镇（{township_code}）"
            self.bad(number, "所属乡镇", f"乡镇填报员只能导入本乡镇的数据，该行属于{where}")

    def _data_rows(self, rows: list[tuple[int, list]], header_index: int) -> Iterator[tuple[int, list]]:
        """The data rows below the header, blank rows and the template's example row skipped."""
        data = rows[header_index + 1 :]
        total = max(1, len(data))
        for i, (number, cells) in enumerate(data):
            if self.progress and i % 2000 == 0:
                self.progress(0.1 + 0.6 * i / total, f"正在校验第 {i + 1} / {total} 行")
            if all(normalise.is_blank(c) for c in cells):
                continue
            first = next((c for c in cells if not normalise.is_blank(c)), "")
            if clean(first).startswith(EXAMPLE_MARKS):
                continue
            self.rows += 1
            yield number, cells

    def _parse_cells(self, number: int, cells: list, positions: dict[str, int], parsers: dict) -> dict:
        """Each cell through its column's parser. Columns whose values repeat (townships, teams, dates,
        是/否) remember each distinct raw value's result: a 73,000-row file has a few hundred of them."""
        values = {}
        for column in self.columns:
            i = positions.get(column.key)
            raw = cells[i] if i is not None and i < len(cells) else None
            cache = self.caches.setdefault(column.key, {}) if column.key not in UNIQUE_VALUED else None
            key = (type(raw), raw)
            if cache is not None and key in cache:
                value, error = cache[key]
            else:
                try:
                    value, error = parsers[column.key](raw), None
                except ValueError as exc:
                    value, error = None, str(exc)
                if cache is not None:
                    cache[key] = (value, error)
            if error:
                self.bad(number, column.header, error)
            values[column.key] = value
        return values

    def _township(self, value):
        return None if clean(value) in COUNTY_WORDS else self.places.township(value)


class _TeamRows(_Checker):
    columns = TEAM_COLUMNS

    def __init__(self, db: Database, actor: User, places: normalise.Places, progress: Progress | None = None):
        super().__init__(db, actor, places, progress)
        self.existing = {
            (t, _name_key(n)): i
            for i, n, t in db.query("SELECT id, name, township_code FROM teams WHERE disbanded_on IS NULL")
        }
        self.in_file: dict[tuple, int] = {}

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
        return record

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
        if name and key in self.existing:
            self.bad(number, "队伍名称", "该乡镇已有同名队伍（未撤销），不能重复导入")
        elif name and key in self.in_file:
            self.bad(number, "队伍名称", f"与第{self.in_file[key]}行重复")
        self.in_file.setdefault(key, number)


class _MemberRows(_Checker):
    columns = MEMBER_COLUMNS

    def __init__(self, db: Database, actor: User, places: normalise.Places, progress: Progress | None = None):
        super().__init__(db, actor, places, progress)
        self.teams_by_key: dict[tuple, list[int]] = {}
        for team_id, name, township in db.query("SELECT id, name, township_code FROM teams WHERE disbanded_on IS NULL"):
            self.teams_by_key.setdefault((township, _name_key(name)), []).append(team_id)
        active = db.query(
            "SELECT m.id_hmac, m.team_id, t.name FROM members m JOIN teams t ON t.id = m.team_id"
            " WHERE m.left_on IS NULL AND m.id_hmac IS NOT NULL"
        )
        self.in_team = {(h, team_id) for h, team_id, _ in active}  # (person, team) already registered
        self.elsewhere: dict[str, str] = {}  # person -> the name of a team they are in
        for h, _, team_name in active:
            self.elsewhere.setdefault(h, team_name)
        self.seen_in_file: dict[tuple, int] = {}  # (person, team) -> first row
        self.file_people: dict[str, int] = {}  # person -> first row

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "name": lambda v: normalise.required_text(v, max_length=50),
            "township": self._township,
            "team": lambda v: normalise.required_text(v, max_length=100),
            "id_number": normalise.id_number,
            "gender": normalise.gender,
            "birth_date": normalise.parse_date,
            "phone": normalise.mobile,
            "role_in_team": lambda v: normalise.enum(v, MEMBER_ROLES, required=False) or "member",
            "specialty": lambda v: normalise.text(v, max_length=100),
            "training_passed": normalise.boolean,
            "training_on": normalise.parse_date,
            "insurance_until": normalise.parse_date,
            "joined_on": normalise.required_date,
        }

    def check_row(self, number: int, v: dict) -> dict:
        team_id = None
        if v["team"] is not None and (number, "所属乡镇") not in self.seen:
            team_id = self._team_id(number, v["township"], v["team"])
        self.check_scope(v["township"], number)
        record = {
            "team_id": team_id,
            "name": v["name"],
            "gender": v["gender"],
            "birth_date": v["birth_date"],
            "phone": v["phone"],
            "role_in_team": v["role_in_team"],
            "specialty": v["specialty"],
            "training_passed": bool(v["training_passed"]),
            "training_on": v["training_on"],
            "insurance_until": v["insurance_until"],
            "joined_on": v["joined_on"],
            "team_name": v["team"],
            "township_code": v["township"],
        }
        if v["id_number"]:
            record.update(self._identity(number, v))
            if team_id is not None:
                self._check_person(number, record["id_hmac"], team_id)
        for problem in validate_member(record):  # the form's rules; a column already reported stays reported once
            self.bad(number, problem.field, problem.reason)
        if isinstance(record["joined_on"], date) and record["joined_on"] > date.today():
            self.bad(number, "入队日期", "不能晚于今天")
        return record

    def _team_id(self, number: int, township: str | None, team: str) -> int | None:
        """The one team not disbanded of that name in that township (None and a problem otherwise)."""
        candidates = self.teams_by_key.get((township, _name_key(team)), [])
        if not candidates:
            place = self.places.township_names.get(township, "全县") if township else "全县（县级）"
            self.bad(number, "所属队伍", f"找不到{place}的队伍“{team}”（未撤销的队伍中），请核对名称或先导入队伍")
            return None
        if len(candidates) > 1:
            self.bad(
                number,
                "所属队伍",
                f"“{team}”在该乡镇有 {len(candidates)} 支同名队伍，无法确定是哪一支（请先在“救援队伍”页面为其改名）",
            )
            return None
        return candidates[0]

    def _identity(self, number: int, v: dict) -> dict:
        """Birth date and gender as the ID number has them (a different one in the file is a problem),
        the number and its HMAC."""
        number_id = v["id_number"]
        born, sex = privacy.birth_date_from_id(number_id), privacy.gender_from_id(number_id)
        if v["birth_date"] and v["birth_date"] != born:
            self.bad(number, "出生日期", f"与身份证号中的出生日期（{born}）不符")
        if v["gender"] and v["gender"] != sex:
            self.bad(number, "性别", f"与身份证号中的性别（{sex}）不符")
        return {"birth_date": born, "gender": sex, "id_number": number_id, "id_hmac": privacy.id_hmac(number_id)}

    def _check_person(self, number: int, digest: str, team_id: int) -> None:
        """A person once per team (registry and file); in another team too is a warning (flagged duplicate)."""
        key = (digest, team_id)
        if key in self.in_team:
            self.bad(number, "身份证号", "此人已在该队伍中登记，不能重复导入")
        elif key in self.seen_in_file:
            self.bad(number, "身份证号", f"与第{self.seen_in_file[key]}行是同一队伍的同一人")
        else:
            self.seen_in_file[key] = number
            if digest in self.elsewhere:
                self.warn(number, "身份证号", f"此人已在“{self.elsewhere[digest]}”登记，将被标记为重复人员")
            elif digest in self.file_people:
                self.warn(
                    number, "身份证号", f"与第{self.file_people[digest]}行是同一人（不同队伍），将被标记为重复人员"
                )
            self.file_people.setdefault(digest, number)


def run_import(
    db: Database,
    actor: User,
    kind: str,
    file_name: str,
    data: bytes,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the whole file; write it (one transaction) only when not dry_run and no row is bad."""
    import time

    if kind not in KINDS:
        raise ValueError(f"导入类型必须是 {'、'.join(KINDS)} 之一")
    if actor.role == "viewer":
        raise PermissionDenied("只读账号不能导入数据。")
    started = time.perf_counter()
    result = ImportResult(kind, file_name)
    progress and progress(0.0, "正在读取文件")
    try:
        table_rows = read_rows(file_name, data)
    except ValueError as exc:
        result.problems.append(Problem("", str(exc), 0))
        return result
    columns = COLUMNS[kind]
    index, positions, header_problems = _locate_columns(table_rows, columns)
    result.problems.extend(header_problems)
    if index < 0 or header_problems:
        return result
    checker = (_TeamRows if kind == "teams" else _MemberRows)(db, actor, normalise.Places.load(db), progress)
    checker.check(table_rows, index, positions)
    result.rows, result.records = checker.rows, checker.records
    result.problems.extend(checker.problems)
    result.warnings.extend(checker.warnings)
    result.problems.sort(
        key=lambda p: (
            p.row or 0,
            [c.header for c in columns].index(p.column) if p.column in [c.header for c in columns] else 99,
        )
    )
    if not result.rows and not result.problems:
        result.problems.append(Problem("", "文件中没有数据行", 0))
    if result.problems or dry_run:
        result.seconds = time.perf_counter() - started
        progress and progress(1.0, "校验完成")
        return result
    progress and progress(0.7, "正在加密身份证号并写入")
    result.written = (_write_teams if kind == "teams" else _write_members)(db, actor, result)
    result.committed = True
    result.seconds = time.perf_counter() - started
    progress and progress(1.0, f"已导入 {result.written} 行")
    return result


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


def _write_teams(db: Database, actor: User, result: ImportResult) -> int:
    records = result.records

    def work(cur: Cursor):
        ids = sorted(i for (i,) in cur.execute("SELECT nextval('seq_teams') FROM range(?)", [len(records)]).fetchall())
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


def _write_members(db: Database, actor: User, result: ImportResult) -> int:
    rows = []
    for r in result.records:
        row = {k: r.get(k) for k in MEMBER_TABLE_COLUMNS}
        number = r.get("id_number")
        if number:
            row["id_cipher"], row["id_masked"] = privacy.encrypt_id(number), privacy.mask_id(number)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=MEMBER_TABLE_COLUMNS)
    frame["team_id"] = frame["team_id"].astype("int64")
    frame["training_passed"] = frame["training_passed"].astype(bool)
    frame = _typed(
        frame,
        ["birth_date", "training_on", "insurance_until", "joined_on"],
        ["gender", "phone", "id_hmac", "id_cipher", "id_masked", "specialty"],
    )
    flagged = len(result.warnings)

    def work(cur: Cursor):
        ids = [i for (i,) in insert_frame(cur, "members", frame, returning="RETURNING id")]
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
    sheet.title = KINDS[kind]
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
        choices = townships if column.key == "township" else column.choices
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
