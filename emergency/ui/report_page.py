"""年度报告: the emergency paragraph of the county's report and its tables, with Word/Excel downloads."""

import pandas as pd
import streamlit as st

from emergency import drills, reports
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import LIST_READS, draw_frame, kept, page_help, year_select

user = require_login()
db = get_db()
st.title("年度报告")
page_help("annual-report")

year = year_select("报告年度", drills.drill_years(db), report=True)  # the last complete year
# Kept until a write touches what the report reads (the lists' families and the 叫应 records), per day.
figures = kept(db, ("report_figures", year), lambda: reports.report_figures(db, year), (*LIST_READS, "calls"))

st.subheader(reports.title(year))
st.markdown(reports.report_paragraph(figures))
note = reports.linkage_note(figures)
if note:
    st.caption(note)

cols = st.columns(3)
cols[0].download_button(
    "下载 Word",
    data=lambda: reports.export(db, user, year, "docx"),
    file_name=f"应急工作报告_{year}.docx",
    mime=reports.FORMATS["docx"][1],
    on_click="ignore",
)
cols[1].download_button(
    "下载 Excel",
    data=lambda: reports.export(db, user, year, "xlsx"),
    file_name=f"应急工作统计_{year}.xlsx",
    mime=reports.FORMATS["xlsx"][1],
    on_click="ignore",
)
cols[2].download_button(
    "下载文本",
    data=lambda: reports.export(db, user, year, "text"),
    file_name=f"应急工作报告_{year}.txt",
    mime="text/plain",
    on_click="ignore",
)

st.markdown("**主要数据**")
draw_frame(pd.DataFrame(reports.figure_rows(figures), columns=["指标", "数值"]))
left, right = st.columns(2)
left.markdown("**演练按层级**")
with left:
    draw_frame(pd.DataFrame(reports.level_rows(figures), columns=["层级", "场次", "参演人次"]))
right.markdown("**非煤矿山等领域演练按行业**")
with right:
    draw_frame(pd.DataFrame(reports.sector_rows(figures), columns=["行业领域", "开展演练的企业数", "场次", "参演人次"]))
