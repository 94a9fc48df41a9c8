"""档案检查: the year's drills whose archive lacks a kind their level requires, and the rule itself."""

import pandas as pd
import streamlit as st

from emergency import archive, drills, enums
from emergency.db import local_today
from emergency.hygiene import escape_markdown as md
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import draw_prepared, kept, page_help, page_number, pager, prepared_table, township_options

user = require_login()
db = get_db()
st.title("演练档案检查")
page_help("drill-archives")
st.caption("按演练层级检查每场演练是否归档了必备材料。依据：" + md(archive.SOURCE))

years = drills.drill_years(db) or [local_today().year]
year = st.selectbox("年度", years, index=years.index(local_today().year) if local_today().year in years else 0)
if user.role == "township":
    township = user.township_code
else:
    towns = township_options(db)
    township = towns[st.selectbox("乡镇", list(towns))]

rule = archive.required_kinds(db)
st.markdown(
    "  \n".join(f"**{enums.DRILL_LEVELS[level]}演练**须有：{archive.labels(kinds)}" for level, kinds in rule.items())
)
page = page_number("archives", {"year": year, "township": township})


def _archive_view() -> tuple:
    """This page of incomplete archives and its table, kept until a data write (widgets.kept)."""
    found = archive.incomplete_page(db, year, township, page)
    frame = pd.DataFrame(
        [
            {
                "id": r["id"],
                "held_on": r["held_on"],
                "title": r["title"],
                "level": r["level"],
                "township_name": r["township_name"] or "县级",
                "present": archive.labels(r["present"]),
                "missing": archive.labels(r["missing"]),
            }
            for r in found.rows
        ]
    )
    if frame.empty:
        return found, None
    columns = {
        "id": "编号",
        "held_on": "演练日期",
        "title": "演练名称",
        "level": "层级",
        "township_name": "乡镇",
        "present": "已归档",
        "missing": "尚缺",
    }
    return found, prepared_table(frame, columns, {"level": enums.DRILL_LEVELS})


listed, table = kept(db, ("archives", year, township, page), _archive_view)
if not listed.total:
    st.success(f"{year}年的演练档案均已齐全。")
else:
    st.warning(f"{year}年有 {listed.total} 场演练档案不完整，请在“演练记录”中打开该演练补传材料。")
    pager("archives", listed, unit="场")
    if table is not None:
        draw_prepared(table)
