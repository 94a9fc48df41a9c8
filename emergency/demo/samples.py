"""Generated import files (members in the formats townships really send) for the tests and the benchmark.

Rows use the demo's teams and synthetic people whose ID numbers carry another district's code
(410303, never used by the demo) so that they never collide with the demo's members.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import date, timedelta
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .. import privacy
from ..imports import MEMBER_COLUMNS

if TYPE_CHECKING:
    from ..db import Database

HEADERS = [c.header for c in MEMBER_COLUMNS]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def synthetic_id(i: int) -> str:
    born = date(1970, 1, 1) + timedelta(days=(i // 1000) * 131)  # (birth day, sequence) unique below 91,000
    first17 = f"410303{born:%Y%m%d}{i % 1000:03d}"
    return first17 + privacy.id_check_char(first17)


def member_rows(db: Database, n: int, seed: int = 7) -> list[list]:
    """n member rows spread over the demo's active teams, in the formats townships really send."""
    rng = random.Random(seed)
    teams = db.query(
        "SELECT t.name, coalesce(tw.name, '') FROM teams t LEFT JOIN townships tw ON tw.code = t.township_code"
        " WHERE t.disbanded_on IS NULL AND t.established_on <= DATE '2024-12-31'"
        " QUALIFY count(*) OVER (PARTITION BY t.name, t.township_code) = 1 ORDER BY t.id"
    )
    rows = []
    for i in range(n):
        team, township = teams[i % len(teams)]
        if township and i % 3 == 1:
            township = township[:-1]  # 城关镇 -> 城关
        phone = "1" + rng.choice("3589") + f"{rng.randrange(10**9):09d}"
        joined = date(2015, 1, 1) + timedelta(days=rng.randrange(3500))
        style = i % 4
        joined_cell = (
            joined.isoformat(),
            f"{joined.year}/{joined.month}/{joined.day}",
            f"{joined.year}年{joined.month}月{joined.day}日",
            (joined - date(1899, 12, 30)).days,
        )[style]
        rows.append(
            [
                f"队员{i}",
                township,
                team,
                synthetic_id(i),
                "",
                "",
                phone.translate(FULL_WIDTH) if i % 5 == 0 else phone,
                ("队员", "副队长", "")[i % 3],
                "抢险救援",
                ("是", "否")[i % 7 == 0],
                "2024.5.20" if i % 7 else "",
                "2027-06-30",
                joined_cell,
            ]
        )
    return rows


def xlsx_bytes(headers: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("队员")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_EXCEL_PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_TYPE}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHEET_TYPE}.sharedStrings+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_TYPE}.styles+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
    f'<Relationship Id="rId3" Type="{_DOC}/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font/></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
    '<cellXfs count="1"><xf xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
}


def excel_xlsx_bytes(headers: list[str], rows: list[list], sheet: str = "队员") -> bytes:
    """One sheet written the way Excel and WPS save a workbook: every text once in the shared strings
    table (UTF-8), cells referring to it by number, numbers as numbers, booleans as booleans, empty cells left out.
    (openpyxl writes each text inline, every Chinese character as a character reference such as
    &#38431;: for the benchmark's 7,349 members 6.1 MB of sheet XML against 3.5 MB here, shared
    strings included, and about 1.6 times calamine's reading time.)"""
    from openpyxl.utils import get_column_letter

    shared: dict[str, int] = {}
    letters = [get_column_letter(i) for i in range(1, max(map(len, [headers, *rows])) + 1)]
    lines = []
    for number, row in enumerate([headers, *rows], start=1):
        cells = []
        for letter, value in zip(letters, row):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{letter}{number}" t="b"><v>{int(value)}</v></c>')
            elif not isinstance(value, int | float):
                index = shared.setdefault(str(value), len(shared))
                cells.append(f'<c r="{letter}{number}" t="s"><v>{index}</v></c>')
            else:
                cells.append(f'<c r="{letter}{number}"><v>{value}</v></c>')
        lines.append(f'<row r="{number}">{"".join(cells)}</row>')
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    parts = dict(_EXCEL_PARTS)
    parts["xl/workbook.xml"] = (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
        f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts["xl/worksheets/sheet1.xml"] = (
        f'<worksheet xmlns="{_MAIN}"><sheetData>{"".join(lines)}</sheetData></worksheet>'
    )
    parts["xl/sharedStrings.xml"] = (
        f'<sst xmlns="{_MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'
        + "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in shared)
        + "</sst>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, head + text)
    return buffer.getvalue()


def csv_bytes(headers: list[str], rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def workbook_bytes(
    sheets: dict[str, tuple[list[str], list[list]]], *, title: str | None = None, totals: bool = False
) -> bytes:
    """A workbook as townships keep them: one sheet per team or village, each with an optional merged
    title row above the header (城关镇应急救援队伍花名册（2024年）) and a 合计 row below the data."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, (headers, rows) in sheets.items():
        sheet = book.create_sheet(name)
        if title:
            sheet.append([title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
        sheet.append(headers)
        for row in rows:
            sheet.append(row)
        if totals:
            sheet.append(["合计", f"{len(rows)}人"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
