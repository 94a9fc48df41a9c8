"""总览: the year's figures, computed from the records."""
import streamlit as st

from emergency import reports
from emergency.stats import STAT_LABELS, year_stats
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db

user = require_login()
db = get_db()
st.title("总览")
demo_banner(db)

years = [int(y) for (y,) in db.query("SELECT DISTINCT year(held_on) FROM drills ORDER BY 1 DESC")] or [2024]
wanted = st.query_params.get("year")
default = years.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in years else 0
year = st.selectbox("统计年度", years, index=default)
figures = year_stats(db, year)

st.subheader(f"{year} 年度应急准备概况")
rows = [
    ("teams", "members", "plans", "plan_categories"),
    ("county_township_drills", "county_township_participants", "sector_drills", "sector_participants"),
    ("townships", "villages", "village_drills", "village_participants"),
]
for keys in rows:
    for column, key in zip(st.columns(len(keys)), keys):
        column.metric(STAT_LABELS[key], f"{figures[key]:,}")

st.subheader("年度报告段落")
st.write(reports.paragraph(figures))

with st.expander("统计口径"):
    st.markdown(
        "- 队伍：当年12月31日已成立且未撤销的队伍；队员：这些队伍当日在册的队员（一人参加两支队伍计两次，重复人员在队伍健康检查中单列）。\n"
        "- 预案：在用（未废止）的专项应急预案及其类别数。\n"
        "- 县乡两级演练：当年县级、乡镇级组织的演练；参演按人次计。\n"
        "- 非煤矿山等领域演练：当年重点企业（单位）开展的演练；村级演练另行统计。"
    )
