"""How values look on screen (emergency/display.py), table by table, and that a formatted frame
always converts to Arrow (the ArrowTypeError of a date column mixed with "—")."""

from datetime import UTC, date, datetime, time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from emergency import display, printview, regions
from emergency.db import TZ


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (float("nan"), "—"),
        (pd.NaT, "—"),
        (pd.NA, "—"),
        ("", "—"),
        ("  ", "—"),
        ("城关镇", "城关镇"),
        (date(2026, 11, 11), "2026-11-11"),
        (pd.Timestamp("2026-11-11"), "2026-11-11"),  # DuckDB's DATE arrives as a midnight stamp
        (datetime(2026, 11, 11, 18, 6, 0, tzinfo=TZ), "2026-11-11 18:06"),
        (datetime(2026, 11, 11, 10, 6, 0, tzinfo=UTC), "2026-11-11 18:06"),  # shown in the county's time
        (pd.Timestamp("2026-11-11 18:06:00+08:00"), "2026-11-11 18:06"),
        (time(8, 30), "08:30"),
        (54.5, "54.5"),
        (54.500000, "54.5"),
        (12.0, "12"),
        (24.8666666, "24.9"),
        (np.float64(3.14159), "3.1"),
        (True, "是"),
        (False, "否"),
        (7, "7"),
        (["ZR-01", "ZR-02"], "ZR-01、ZR-02"),
    ],
)
def test_cell(value, shown):
    assert display.cell(value) == shown


@pytest.mark.parametrize(
    ("value", "percent", "shown"),
    [
        (0.545, False, "54.5%"),
        (1, False, "100.0%"),
        (54.5, True, "54.5%"),
        (None, False, "—"),
        (float("nan"), True, "—"),
    ],
)
def test_rate(value, percent, shown):
    assert display.rate(value, percent=percent) == shown


@pytest.mark.parametrize(("value", "shown"), [(24.9, "24.9 分钟"), (24.86, "24.9 分钟"), (5.0, "5 分钟"), (None, "—")])
def test_minutes(value, shown):
    assert display.minutes(value) == shown


def test_a_date_column_with_gaps_converts_to_arrow_and_reads_dash():
    frame = pd.DataFrame(
        {
            "最近演练": [date(2024, 5, 1), None, pd.NaT],
            "到期日": pd.to_datetime(["2025-05-01", None, "2025-06-01"]),
            "发布时间": pd.to_datetime(["2026-11-11 10:06:00+00:00", None, None], utc=True),
            "参演": [10, 20, 30],
            "缺额": [1.0, None, 2.0],
            "应答率": [0.545, None, 1.0],
            "用时": [24.86, None, 3.0],
            "启用": [True, False, True],
            "说明": ["a", None, float("nan")],
        }
    )
    with pytest.raises((pa.ArrowTypeError, pa.ArrowInvalid)):  # the bug: dates and "—" in one column
        pa.Table.from_pandas(frame.assign(最近演练=frame["最近演练"].map(lambda v: "—" if pd.isna(v) else v)))
    shown = display.display_frame(frame, rates=["应答率"], durations=["用时"])
    pa.Table.from_pandas(shown)  # converts
    assert shown["最近演练"].tolist() == ["2024-05-01", "—", "—"]
    assert shown["到期日"].tolist() == ["2025-05-01", "—", "2025-06-01"]
    assert shown["发布时间"].tolist() == ["2026-11-11 18:06", "—", "—"]
    assert shown["参演"].dtype == "int64"  # whole numbers without gaps stay numbers (they sort)
    assert shown["缺额"].tolist() == ["1", "—", "2"]
    assert shown["应答率"].tolist() == ["54.5%", "—", "100.0%"]
    assert shown["用时"].tolist() == ["24.9 分钟", "—", "3 分钟"]
    assert shown["启用"].tolist() == ["是", "否", "是"]
    assert shown["说明"].tolist() == ["a", "—", "—"]
    assert not shown.isna().any().any()


def test_coordinate_notes_are_chinese():
    assert regions.coordinate_note(None, "no coordinate in any source found") == "各数据来源均无驻地坐标，地图上不标注"
    assert "同代码同名乡镇" in regions.coordinate_note("Vonng/adcode 2016 town centre (same code+name)", None)
    inferred = regions.coordinate_note(
        "Vonng/adcode 2016 centre of predecessor 九店乡 (410325208)",
        "predecessor inferred: 16/18 of this township's 2023 village base names occur under 九店乡 in the 2016 list;"
        " seat may have moved",
    )
    assert inferred.startswith("2016年区划数据（Vonng/adcode）中前身九店乡（410325208）的驻地")
    assert "18个村中16个" in inferred and "驻地可能已迁移" in inferred
    assert regions.coordinate_note("set by admin", "乡镇政府提供") == "乡镇政府提供"


def test_the_places_table_has_no_english_note(demo_db):
    import re

    notes = regions.township_table(demo_db)["说明"].tolist()
    assert len(notes) == 19 and all(notes)
    assert not [n for n in notes if re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", n)], notes


def test_the_print_sheet_of_a_drill(demo_db):
    from emergency import drills

    drill_id = int(demo_db.scalar("SELECT min(d.id) FROM drills d JOIN corrective_actions a ON a.drill_id = d.id"))
    detail = drills.drill_detail(demo_db, drill_id)
    detail["title"] = "<script>alert(1)</script>防汛演练"
    html = printview.drill_sheet_html(detail, date(2026, 12, 1))
    assert html.startswith("<!DOCTYPE html>") and "应急演练记录表" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # user text escaped
    assert f"<td>{drill_id}</td>" in html
    assert display.day(detail["held_on"]) in html
    assert detail["plans"][0]["code"] in html
    assert detail["actions"][0]["description"] in html and "整改事项" in html
    assert "None" not in html and "nan" not in html
    assert "http" not in html  # nothing fetched when printed offline
