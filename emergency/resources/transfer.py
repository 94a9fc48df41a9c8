"""Import (all or nothing) and export of the resource registries: depots, shelters, hazard points,
experts; and the imports of stock (opening balances and receipts), team bases and team equipment.

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
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from emergency.db import local_today

from .. import audit, exports, imports, normalise
from ..auth import PermissionDenied, User
from ..db import insert_frame
from ..enums import (
    DEPOT_LEVELS,
    EXPERT_AVAILABILITY,
    HAZARD_DOMAINS,
    HAZARD_POINT_KINDS,
    RESOURCE_ITEMS,
    SHELTER_KINDS,
    TEAM_READINESS,
    TEAM_STAFFING,
)
from ..hygiene import clean
from ..records import live
from . import bases, registry, stock

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
    if key not in KINDS:
        raise ValueError(f"导入类型必须是 {'、'.join(KINDS)} 之一")
    if actor.role == "viewer":
        raise PermissionDenied("只读账号不能导入数据。")
    result = imports.ImportResult(key, file_name)
    try:
        sheets = [s for s in imports.layout(key, file_name, data, mapping) if s.header_index >= 0]
    except ValueError as exc:
        result.problems.append(imports.Problem("", str(exc), 0))
        return result
    if not sheets:
        first = next(c.header for c in KINDS[key] if c.required)
        result.problems.append(imports.Problem("", f"找不到表头行：应有一行列名（如“{first}”）", 1))
        return result
    for sheet in sheets:
        result.problems.extend(imports._column_problems(key, sheet, f"{sheet.name} · " if len(sheets) > 1 else ""))
    if result.problems:
        return result
    places = normalise.Places.load(db)
    checker: imports._Checker = (
        _HoldingRows(db, actor, places, key) if key in HOLDING_COLUMNS else _ResourceRows(db, actor, places, key)
    )
    checker.check(sheets)
    result.rows, result.records = checker.rows, checker.records
    result.problems.extend(checker.sorted_problems())
    if not result.rows and not result.problems:
        result.problems.append(imports.Problem("", "文件中没有数据行", 0))
    if result.problems or dry_run:
        return result
    if key in HOLDING_COLUMNS:
        result.written = _write_holdings(db, actor, key, file_name, result.records)
        result.committed = True
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


@cache  # the same bytes for a registry on every page run
def template_xlsx(key: str) -> bytes:
    """The import template of a registry: headers (required ones shaded), one example row, notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = WHAT[key]
    columns = KINDS[key]
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


# Stock, team bases and team equipment -------------------------------------------------------------
# Three more files on the same engine: stock (opening balances and receipts into a named depot), team
# bases (a team by township and name: address, coordinate inside the county outline, 专职/兼职,
# supervising unit, readiness) and team equipment (a team, an item of the catalogue, a quantity).
# The same rules: every bad row named, all or nothing (one transaction, each write audited as the
# form's is, plus one 'import' audit row), a township operator only for its own township.
HOLDINGS_WHAT = {"stock": "库存", "team-bases": "队伍驻地", "equipment": "队伍装备"}
WHAT.update(HOLDINGS_WHAT)
_ITEM_NOTE = "物资目录中的名称：" + "、".join(f"{n}（{u}）" for n, u in RESOURCE_ITEMS.values())
_TEAM_TOWN = Column("所属乡镇", "township_code", example="城关镇", note="县级队伍填“县级”或不填")
_TEAM = Column("队伍名称", "team", True, example="城关镇应急救援队", note="已登记的队伍名称")
HOLDING_COLUMNS: dict[str, list[Column]] = {
    "stock": [
        Column("储备库", "depot", True, example="城关镇应急物资储备点", note="已登记的储备库名称"),
        Column("所属乡镇", "township_code", example="", note="同名储备库时填写以区分"),
        Column("物资", "item", True, example="帐篷", note=_ITEM_NOTE),
        Column("数量", "quantity", True, example=20, note="正整数，按目录单位"),
        Column("批次", "batch", example="2026-01"),
        Column("有效期至", "expires_on", example="", note="食品、药品、灭火器等填写"),
        Column("下次保养日期", "maintain_on", example="", note="水泵、发电机等填写"),
        Column("入库日期", "moved_on", example="2026-01-05", note="不填为导入当天"),
        Column("经手人", "handled_by", example="张三", note="不填为导入人"),
        Column("备注", "purpose", example="期初库存", note="不填为“期初库存导入”"),
    ],
    "team-bases": [
        _TEAM_TOWN,
        _TEAM,
        Column("驻地地址", "address", example="城关镇人民政府院内"),
        Column(_LON.header, "lon", example="", note="WGS-84，须在县界以内；不知道就不填，不要估计"),
        Column(_LAT.header, "lat", example="", note="WGS-84；与经度同时填写"),
        Column("专兼职", "staffing", False, _choices(TEAM_STAFFING), "兼职"),
        Column("主管单位", "supervising_unit", example="城关镇人民政府"),
        Column("备勤状态", "readiness", False, _choices(TEAM_READINESS), "备勤"),
    ],
    "equipment": [
        _TEAM_TOWN,
        _TEAM,
        Column("装备", "item", True, example="冲锋舟", note=_ITEM_NOTE),
        Column("数量", "quantity", True, example=2, note="正整数；文件中的装备按此数量登记，其他装备不变"),
    ],
}
for _key, _columns in HOLDING_COLUMNS.items():
    imports.register_kind(_key, _columns, {h: v for h, v in SYNONYMS.items() if any(c.header == h for c in _columns)})
KINDS = {**COLUMNS, **HOLDING_COLUMNS}  # every kind this module imports


def item_code_of(value) -> str:
    """An item of the catalogue from its name (帐篷, 编织袋（沙袋）, 帐篷（顶）) or code; ValueError naming it."""
    word = clean(value)
    if not word:
        raise ValueError("不能为空")
    loose = normalise._loose(word)
    for code, (name, unit) in RESOURCE_ITEMS.items():
        if loose in (code, normalise._loose(name), normalise._loose(f"{name}（{unit}）")):
            return code
    raise ValueError(f"“{word}”不在物资目录中")


def positive_integer(value) -> int:
    if normalise.is_blank(value):
        raise ValueError("不能为空")
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        raise ValueError(f"“{clean(value)}”不是数字") from None
    if number != int(number) or number <= 0:
        raise ValueError(f"“{clean(value)}”须为正整数")
    return int(number)


def _optional_enum(mapping: dict) -> Callable[[Any], Any]:
    return lambda v: normalise.enum(v, mapping, required=False)


def _optional_date(value):
    return normalise.parse_date(value)


class _HoldingRows(imports._Checker):
    """The rows of a stock, team-bases or equipment file (see the section comment)."""

    def __init__(self, db: Database, actor: User, places: normalise.Places, key: str):
        super().__init__(db, actor, places)
        self.key = key
        self.columns = HOLDING_COLUMNS[key]
        self.in_file: dict[Any, int] = {}
        self.depots: dict[str, list[dict]] = {}
        for row in db.query_dicts("SELECT id, name, township_code FROM depots ORDER BY id"):
            self.depots.setdefault(normalise._loose(row["name"]), []).append(row)
        self.teams: dict[tuple[str | None, str], int] = {}
        for team_id, name, township in db.query(
            "SELECT t.id, t.name, t.township_code FROM teams t"
            f" WHERE t.disbanded_on IS NULL AND {live('teams', 't')} ORDER BY t.id"
        ):
            self.teams.setdefault((township, normalise._loose(name)), team_id)

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        def text(v):
            return normalise.text(v)

        out: dict[str, Callable[[Any], Any]] = {c.key: text for c in self.columns}
        out["township_code"] = self._township
        if "item" in out:
            out["item"] = item_code_of
        if "quantity" in out:
            out["quantity"] = positive_integer
        for key in ("expires_on", "maintain_on", "moved_on"):
            if key in out:
                out[key] = _optional_date
        for key, mapping in (("staffing", TEAM_STAFFING), ("readiness", TEAM_READINESS)):
            if key in out:
                out[key] = _optional_enum(mapping)
        for key in ("lon", "lat"):
            if key in out:
                out[key] = lambda v: None if normalise.is_blank(v) else float(str(v).strip())
        return out

    def _team_id(self, number: int, values: dict) -> int | None:
        township, name = values.get("township_code"), values.get("team")
        if not name:
            return None
        team_id = self.teams.get((township, normalise._loose(name)))
        if team_id is None:
            where = self.places.township_names.get(township, "县级") if township else "县级"
            self.bad(number, "队伍名称", f"{where}没有名为“{name}”的在册队伍")
        return team_id

    def check_row(self, number: int, values: dict) -> dict:
        if self.key == "stock":
            return self._stock_row(number, values)
        team_id = self._team_id(number, values)
        self.check_scope(values.get("township_code"), number)
        if self.key == "team-bases":
            record = {"team_id": team_id, **{k: values.get(k) for k in bases.BASE_FIELDS}}
            for problem in bases.base_problems(record):
                self.bad(
                    number, "经度" if problem.field in ("经纬度", "经度", "纬度") else problem.field, problem.reason
                )
            unique: Any = team_id
            label = "队伍名称"
        else:
            record = {"team_id": team_id, "item_code": values.get("item"), "quantity": values.get("quantity")}
            unique = (team_id, values.get("item"))
            label = "装备"
        if team_id is not None and record.get("item_code", True) is not None:
            if unique in self.in_file:
                self.bad(number, label, f"与第{self.in_file[unique]}行重复")
            self.in_file.setdefault(unique, number)
        return record

    def _stock_row(self, number: int, values: dict) -> dict:
        name, township = values.get("depot"), values.get("township_code")
        depot_id = None
        if name:
            found = self.depots.get(normalise._loose(name), [])
            if township:
                found = [d for d in found if d["township_code"] == township]
            if not found:
                self.bad(number, "储备库", f"找不到储备库“{name}”" + ("（所属乡镇不符）" if township else ""))
            elif len(found) > 1:
                self.bad(number, "储备库", f"有 {len(found)} 个储备库都叫“{name}”，请填写所属乡镇以区分")
            else:
                depot_id = found[0]["id"]
                if not self.actor.may_write(found[0]["township_code"]):
                    where = "县级" if found[0]["township_code"] is None else "其他乡镇"
                    self.bad(number, "储备库", f"乡镇填报员只能为本乡镇的储备库导入库存，“{name}”属于{where}")
        return {
            "depot_id": depot_id,
            "item_code": values.get("item"),
            "quantity": values.get("quantity"),
            "batch": values.get("batch") or "",
            "expires_on": values.get("expires_on"),
            "maintain_on": values.get("maintain_on"),
            "moved_on": values.get("moved_on") or local_today(),
            "handled_by": values.get("handled_by") or self.actor.display_name or self.actor.username,
            "purpose": values.get("purpose") or "期初库存导入",
        }


def _write_holdings(db: Database, actor: User, key: str, file_name: str, records: Sequence[dict]) -> int:
    """A clean file in one transaction: each row written as its form writes it (and audited so),
    plus one 'import' audit row."""

    def work(cur: Cursor):
        if key == "stock":
            for r in records:
                stock.receive_in(
                    cur,
                    actor,
                    r["depot_id"],
                    r["item_code"],
                    r["quantity"],
                    moved_on=r["moved_on"],
                    handled_by=r["handled_by"],
                    batch=r["batch"],
                    expires_on=r["expires_on"],
                    maintain_on=r["maintain_on"],
                    purpose=r["purpose"],
                )
            table = "stock_movements"
        elif key == "team-bases":
            for r in records:
                bases.put_base(cur, actor, r["team_id"], {k: r[k] for k in bases.BASE_FIELDS})
            table = "team_bases"
        else:
            by_team: dict[int, dict[str, int]] = {}
            for r in records:
                by_team.setdefault(r["team_id"], {})[r["item_code"]] = r["quantity"]
            for team_id, items in by_team.items():
                bases.put_equipment(cur, actor, team_id, items, replace=False)
            table = "team_equipment"
        audit.record(cur, actor, "import", table, None, None, {"file": file_name, "kind": key, "rows": len(records)})
        return len(records)

    return db.write(work)


def preview_frame(db: Database, key: str, records: list[dict], limit: int = 200) -> pd.DataFrame:
    """What a checked stock / team-bases / equipment file will write, in Chinese (the import preview)."""
    depots = dict(db.query("SELECT id, name FROM depots"))
    teams = dict(db.query("SELECT id, name FROM teams"))
    rows = []
    for r in records[:limit]:
        if key == "stock":
            rows.append(
                {
                    "行": r.get("_row"),
                    "储备库": depots.get(r["depot_id"], ""),
                    "物资": stock.item_name(r["item_code"]),
                    "数量": f"{r['quantity']}{stock.item_unit(r['item_code'])}",
                    "批次": r["batch"] or "—",
                    "有效期至": f"{r['expires_on']:%Y-%m-%d}" if r["expires_on"] else "—",
                    "入库日期": f"{r['moved_on']:%Y-%m-%d}",
                    "经手人": r["handled_by"],
                }
            )
        elif key == "team-bases":
            placed = r["lon"] is not None and r["lat"] is not None
            rows.append(
                {
                    "行": r.get("_row"),
                    "队伍": teams.get(r["team_id"], ""),
                    "驻地地址": r["address"] or "—",
                    "坐标（WGS-84）": f"{r['lon']:.5f}, {r['lat']:.5f}" if placed else "—",
                    "专兼职": TEAM_STAFFING.get(r["staffing"], "—"),
                    "备勤状态": TEAM_READINESS.get(r["readiness"], "—"),
                }
            )
        else:
            rows.append(
                {
                    "行": r.get("_row"),
                    "队伍": teams.get(r["team_id"], ""),
                    "装备": stock.item_name(r["item_code"]),
                    "数量": f"{r['quantity']}{stock.item_unit(r['item_code'])}",
                }
            )
    return pd.DataFrame(rows)
