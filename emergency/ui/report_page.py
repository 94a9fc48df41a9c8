"""年度报告: the emergency paragraph of the county's report and its tables, with Word/Excel downloads."""

from datetime import date

import pandas as pd
import streamlit as st

from emergency import drills, reports
from emergency.ui.session import require_login
from emergency.ui.state import get_db

user = require_login()
db = get_db()
st.title("年度报告")

years = drills.drill_years(db) or [date.today().year]
wanted = st.query_params.get("year")
last_year = date.today().year - 1  # the report is written for the last complete year
default = (
    years.index(int(wanted))
    if wanted and wanted.isdigit() and int(wanted) in years
    else (years.index(last_year) if last_year in years else 0)
)
year = st.selectbox("报告年度", years, index=default)
figures = reports.report_figures(db, year)

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
st.dataframe(pd.DataFrame(reports.figure_rows(figures), columns=["指标", "数值"]), hide_index=True, width="stretch")
left, right = st.columns(2)
left.markdown("**演练按层级**")
left.dataframe(
    pd.DataFrame(reports.level_rows(figures), columns=["层级", "场次", "参演人次"]), hide_index=True, width="stretch"
)
right.markdown("**非煤矿山等领域演练按行业**")
right.dataframe(
    pd.DataFrame(reports.sector_rows(figures), columns=["行业领域", "开展演练的企业数", "场次", "参演人次"]),
    hide_index=True,
    width="stretch",
)
