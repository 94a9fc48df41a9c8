"""Import (all or nothing) and export of the resource registries: depots, shelters, hazard points,
experts.

Built on the shared machinery of emergency/imports.py, used as it is: `read_rows` (xlsx/CSV),
`_locate_columns` (the header row), `Column`, `ImportResult` and `_Checker` (row iteration, example
and blank rows skipped, one problem per (row, column)). Each row is checked with the forms' own
validator (registry.normalised + registry.problems_of) plus scope (a township operator imports only
its own township's records) and duplicates in the file; a file with any problem writes nothing, a
clean one is written in one transaction with one audit row. Exports use the import's headers, so an
export can be edited and imported again; phones are masked by the viewer's role (registry.listing).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import audit, exports, imports, normalise
from ..auth import PermissionDenied, User
from ..db import insert_frame
from ..enums import DEPOT_LEVELS, EXPERT_AVAILABILITY, HAZARD_DOMAINS, HAZARD_POINT_KINDS, SHELTER_KINDS
from ..hygiene import clean
from . import registry

if TYPE_CHECKING:
    from ..db import Cursor, Database

Column = imports.Column
WHAT = {"depots": "物资储备库", "shelters": "避难场所", "hazards": "隐患点", "experts": "专家"}
_TOWN = Column("所属乡镇", "township_code", example="城关镇", note="可写 城关镇、城关 或统计区划代码")
_VILLAGE = Column("所属村（社区）", "village_code", example="", note="须属于所属乡镇")
_LON = Column("经度", "lon", example="", note="WGS-84（GPS、天地图）；不知道就不填，不要估计")
_LAT = Column("纬度", "lat", example="", note="WGS-84；与经度同时填写")


def _choices(mapping: dict) -> tuple[str, ...]:
    return tuple(mapping.values())


COLUMNS: dict[str, list[Column]] = {
    "depots": [
        Column("储备库名称", "name", True, example="城关镇应急物资储备点"),
        Column("级别", "level", True, _choices(DEPOT_LEVELS), "乡镇储备点"),
        Column(_TOWN.header, _TOWN.key, example=_TOWN.example, note="县级储备库、县级协议储备不填"),
        _VILLAGE,
        Column("地址", "address", example="城关镇人民政府院内"),
        _LON,
        _LAT,
        Column("保管人", "custodian_name", example="张三"),
        Column("保管人电话", "custodian_phone", example="13800000000", note="11位手机号或 0379 开头的固话"),
    ],
    "shelters": [
        Column("场所名称", "name", True, example="城关镇第一初级中学避难场所"),
        Column("类型", "kind", True, _choices(SHELTER_KINDS), "学校"),
        Column(_TOWN.header, _TOWN.key, True, example="城关镇", note=_TOWN.note),
        _VILLAGE,
        Column("地址", "address", example=""),
        _LON,
        _LAT,
        Column("容纳人数", "capacity", True, example=800),
        Column("面积（平方米）", "area_m2", example=6000),
        Column("设施", "facilities", example="饮用水、应急照明、厕所"),
        Column("管理人", "manager_name", example="李四"),
        Column("管理人电话", "manager_phone", example="13900000000"),
        Column("开放状态", "is_open", False, ("开放", "关闭"), "开放", "不填为开放"),
    ],
    "hazards": [
        Column("隐患点编号", "code", True, example="410325100-H001"),
        Column("隐患点名称", "name", True, example="某村后山滑坡"),
        Column("类型", "kind", True, _choices(HAZARD_POINT_KINDS), "地质灾害隐患点"),
        Column(_TOWN.header, _TOWN.key, True, example="城关镇", note=_TOWN.note),
        _VILLAGE,
        _LON,
        _LAT,
        Column("威胁人数", "people_threatened", example=35),
        Column("威胁户数", "households", example=9),
        Column("责任人", "responsible_name", example="王五"),
        Column("责任人电话", "responsible_phone", example="13700000000"),
        Column("监测员", "monitor_name", example="赵六"),
        Column("监测员电话", "monitor_phone", example="13600000000"),
        Column("避险场所", "shelter_id", example="", note="已登记的本乡镇避难场所名称"),
        Column("撤离路线", "evacuation_route", example="沿村道向东撤至村委会"),
    ],
    "experts": [
        Column("姓名", "name", True, example="孙七"),
        Column("专业领域", "field", True, _choices(HAZARD_DOMAINS), "地质灾害"),
        Column("工作单位", "unit", example="县自然资源局"),
        Column("职称", "title", example="高级工程师"),
        Column("电话", "phone", example="13500000000"),
        Column("所属乡镇", "township_code", example="", note="县级专家库不填"),
        Column("可调用状态", "availability", False, _choices(EXPERT_AVAILABILITY), "可调用", "不填为可调用"),
    ],
}
# The headers townships write for the shared columns (the engine also ignores spaces, brackets, notes).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "所属乡镇": ("乡镇", "所在乡镇", "乡镇（街道）", "所属乡镇（街道）", "乡（镇）"),
    "所属村（社区）": ("村（社区）", "所属村", "所在村", "村"),
    "经度": ("东经", "经度（WGS-84）"),
    "纬度": ("北纬", "纬度（WGS-84）"),
}
for _key, _columns in COLUMNS.items():  # one import engine: these registries read files as teams do
    imports.register_kind(_key, _columns, {h: v for h, v in SYNONYMS.items() if any(c.header == h for c in _columns)})

ENUM_COLUMNS = {"level": DEPOT_LEVELS, "kind": None, "field": HAZARD_DOMAINS, "availability": EXPERT_AVAILABILITY}
KIND_ENUMS = {"shelters": SHELTER_KINDS, "hazards": HAZARD_POINT_KINDS}


class _ResourceRows(imports._Checker):
    """The rows of one registry's file (see the module docstring)."""

    def __init__(self, db: Database, actor: User, places: normalise.Places, key: str):
        super().__init__(db, actor, places)
        self.key, self.spec = key, registry.registry(key)
        self.columns = COLUMNS[key]
        self.header_of = {c.key: c.header for c in self.columns}
        self.in_file: dict[Any, int] = {}
        self.shelters = {
            (t, normalise._loose(n)): i for i, n, t in db.query("SELECT id, name, township_code FROM shelters")
        }

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        out: dict[str, Callable[[Any], Any]] = {}
        for column in self.columns:
            key = column.key
            mapping = KIND_ENUMS.get(self.key) if key == "kind" else ENUM_COLUMNS.get(key)
            if mapping is not None:
                out[key] = self._enum(mapping, column.required)
            elif key == "township_code":
                out[key] = lambda v: None if clean(v) in imports.COUNTY_WORDS else self.places.township(v)
            elif key == "is_open":
                out[key] = lambda v: clean(v) != "关闭"
            else:
                out[key] = lambda v: None if normalise.is_blank(v) else (v if isinstance(v, (int, float)) else clean(v))
        return out

    @staticmethod
    def _enum(mapping: dict, required: bool) -> Callable[[Any], Any]:
        return lambda v: normalise.enum(v, mapping, required=required)

    def check_row(self, number: int, values: dict) -> dict:
        township = values.get("township_code")
        village = values.get("village_code")
        if village:
            try:
                values["village_code"] = self.places.village(village, township)
            except ValueError as exc:
                self.bad(number, self.header_of["village_code"], str(exc))
                values["village_code"] = None
        if self.key == "hazards" and values.get("shelter_id"):
            name = values["shelter_id"]
            values["shelter_id"] = self.shelters.get((township, normalise._loose(str(name))))
            if values["shelter_id"] is None:
                self.bad(number, "避险场所", f"找不到本乡镇登记的避难场所“{name}”")
        record, problems = registry.normalised(self.spec, values)
        problems += registry.problems_of(self.db, self.spec, record)
        labels_to_headers = {self.spec.labels[k]: h for k, h in self.header_of.items() if k in self.spec.labels}
        for problem in problems:
            header = labels_to_headers.get(problem.field, problem.field)
            if problem.field == "经纬度":
                header = "经度"
            self.bad(number, header, problem.reason)
        if not self.actor.may_write(township):
            where = "县级" if township is None else f"其他乡镇（{township}）"
            self.bad(number, "所属乡镇", f"乡镇填报员只能导入本乡镇的数据，该行属于{where}")
        unique = record.get("code") if self.key == "hazards" else (township, normalise._loose(record.get("name") or ""))
        first = "隐患点编号" if self.key == "hazards" else self.columns[0].header
        if record.get(self.columns[0].key) and unique in self.in_file:
            self.bad(number, first, f"与第{self.in_file[unique]}行重复")
        self.in_file.setdefault(unique, number)
        return record


def run_import(
    db: Database,
    actor: User,
    key: str,
    file_name: str,
    data: bytes,
    *,
    dry_run: bool = False,
    mapping: dict[str, str] | None = None,
):
    """Validate the whole file (every sheet, headers by synonym or `mapping`, unknown columns refused);
    write it (one transaction, one audit row) only when no row is bad."""
    if key not in COLUMNS:
        raise ValueError(f"导入类型必须是 {'、'.join(COLUMNS)} 之一")
    if actor.role == "viewer":
        raise PermissionDenied("只读账号不能导入数据。")
    result = imports.ImportResult(key, file_name)
    try:
        sheets = [s for s in imports.layout(key, file_name, data, mapping) if s.header_index >= 0]
    except ValueError as exc:
        result.problems.append(imports.Problem("", str(exc), 0))
        return result
    if not sheets:
        result.problems.append(imports.Problem("", f"找不到表头行：应有一行列名（如“{COLUMNS[key][0].header}”）", 1))
        return result
    for sheet in sheets:
        result.problems.extend(imports._column_problems(key, sheet, f"{sheet.name} · " if len(sheets) > 1 else ""))
    if result.problems:
        return result
    checker = _ResourceRows(db, actor, normalise.Places.load(db), key)
    checker.check(sheets)
    result.rows, result.records = checker.rows, checker.records
    result.problems.extend(checker.sorted_problems())
    if not result.rows and not result.problems:
        result.problems.append(imports.Problem("", "文件中没有数据行", 0))
    if result.problems or dry_run:
        return result
    spec = registry.registry(key)

    def work(cur: Cursor):
        frame = pd.DataFrame(result.records, columns=list(spec.fields)).astype(object)
        frame = frame.where(frame.notna(), None)
        ids = [i for (i,) in insert_frame(cur, spec.table, frame, returning="RETURNING id")]
        audit.record(
            cur,
            actor,
            "import",
            spec.table,
            None,
            None,
            {"file": file_name, "rows": len(ids), "ids": [min(ids), max(ids)]},
        )
        return len(ids)

    result.written = db.write(work)
    result.committed = True
    return result


def template_xlsx(key: str) -> bytes:
    """The import template of a registry: headers (required ones shaded), one example row, notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = WHAT[key]
    columns = COLUMNS[key]
    sheet.append([c.header for c in columns])
    example = [c.example for c in columns]
    example[0] = imports.EXAMPLE_MARKS[0] + str(example[0])
    sheet.append(example)
    for i, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if column.required:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        sheet.column_dimensions[cell.column_letter].width = max(12, len(column.header) * 2 + 4)
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for column in columns:
        choices = "可选：" + "、".join(column.choices) + "。" if column.choices else ""
        notes.append([column.header, "必填" if column.required else "", choices + column.note])
    notes.append(["第2行以（示例）开头的是示例行，导入时忽略。导入为“全部或全不”：任何一行有错，整份文件都不写入。"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_frame(db: Database, viewer: User, key: str) -> pd.DataFrame:
    """A registry under its import headers, codes as labels, phones masked for the viewer."""
    frame = registry.listing(db, viewer, key)
    shelters = {i: n for n, i in registry.options(db, "shelters").items()}
    out = {}
    for column in COLUMNS[key]:
        k = column.key
        if k == "township_code":
            series = frame["township_name"]
        elif k == "village_code":
            series = frame["village_name"]
        elif k == "kind":
            series = frame[k].map(KIND_ENUMS[key])
        elif k in ENUM_COLUMNS and ENUM_COLUMNS[k] is not None:
            series = frame[k].map(ENUM_COLUMNS[k])
        elif k == "is_open":
            series = frame[k].map({True: "开放", False: "关闭"})
        elif k == "shelter_id":
            series = frame[k].map(lambda v: shelters.get(v) if pd.notna(v) else None)
        else:
            series = frame[k]
        out[column.header] = series
    return pd.DataFrame(out)


def export_xlsx(db: Database, actor: User, key: str) -> bytes:
    if key not in COLUMNS:
        raise ValueError(f"导出类型必须是 {'、'.join(COLUMNS)} 之一")
    return exports.export_xlsx(db, actor, export_frame(db, actor, key), WHAT[key])
