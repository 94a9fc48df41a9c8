"""Generated import files (members in the formats townships really send) for the tests and the benchmark.

Rows use the demo's teams and synthetic people whose ID numbers carry another district's code
(410303, never used by the demo) so that they never collide with the demo's members.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

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
