"""总览: the year's figures, computed from the records; the current work status (KPI tiles) and
charts, each with a way down to its list."""

from datetime import date
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from emergency import drills, reports, stats, teams
from emergency.db import Database, local_today
from emergency.deadlines import is_late, plan_deadlines
from emergency.enums import DRILL_LEVELS, HAZARD_DOMAINS
from emergency.stats import STAT_LABELS, year_stats
from emergency.ui import nav
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import draw_prepared, kept, lazy_expander, page_help, prepared_frame, year_select


def overview(db: Database, year: int, today: date) -> dict:
    """What the page shows (about 30 queries, two chart specifications validated by altair, its tables
    as drawn): kept (widgets.kept) until a committed write touches a table family it reads
    (stats.OVERVIEW_READS; the scheduler's bookkeeping does not), per year shown and day. Shared by
    every session, never changed."""
    plans_late = [p for p in plan_deadlines(db, today) if is_late(p["drill_status"]) or is_late(p["evaluation_status"])]
    monthly = drills.monthly_by_level(db, year)
    monthly["层级"] = monthly["level"].map(DRILL_LEVELS)
    monthly["月份"] = monthly["month"].map(lambda m: f"{m:02d}月")
    coverage = pd.DataFrame(teams.domain_counts(db, date(year, 12, 31)), columns=["domain_code", "teams", "townships"])
    coverage["领域"] = coverage["domain_code"].map(HAZARD_DOMAINS)
    coverage = coverage.sort_values("teams", ascending=False)
    monthly_chart = (
        alt.Chart(monthly)
        .mark_bar()
        .encode(
            x=alt.X("月份:N", title=None),
            y=alt.Y("drills:Q", title="场次"),
            color=alt.Color("层级:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["月份", "层级", alt.Tooltip("drills:Q", title="场次")],
        )
    )
    coverage_chart = (
        alt.Chart(coverage)
        .mark_bar(color="#c0392b")
        .encode(
            x=alt.X("teams:Q", title="队伍（支）"),
            y=alt.Y("领域:N", sort="-x", title=None),
            tooltip=["领域", alt.Tooltip("teams:Q", title="队伍"), alt.Tooltip("townships:Q", title="涉及乡镇")],
        )
    )
    return {
        "figures": year_stats(db, year),
        "paragraph": reports.report_paragraph(reports.report_figures(db, year)),
        "kpi": year_stats(db, today.year, as_of=today),
        "actions": drills.action_counts(db, today),
        "plans_late_count": len(plans_late),
        "plans_late": prepared_frame(
            pd.DataFrame(
                [
                    {
                        "预案": p["name"],
                        "最近演练": p["last_drill_on"],
                        "演练到期": p["drill_due_on"],
                        "最近评估（或修订）": p["evaluation_clock_from"],
                        "评估到期": p["evaluation_due_on"],
                    }
                    for p in plans_late
                ],
                columns=["预案", "最近演练", "演练到期", "最近评估（或修订）", "评估到期"],
            )
        ),
        "monthly_chart": monthly_chart.to_dict(),
        "monthly_table": prepared_frame(
            monthly.pivot_table(index="月份", columns="层级", values="drills", aggfunc="sum", fill_value=0)
        ),
        "coverage_chart": coverage_chart.to_dict(),
        "coverage_table": prepared_frame(
            coverage.rename(columns={"teams": "队伍（支）", "townships": "涉及乡镇（个）"})[
                ["领域", "队伍（支）", "涉及乡镇（个）"]
            ]
        ),
    }


user = require_login()
db = get_db()
st.title("总览")
page_help("overview")
demo_banner(db)

# This year is always offered (widgets.default_year), even before its first drill; then every year with drills.
year = year_select("统计年度", kept(db, ("overview_years",), lambda: drills.drill_years(db), stats.OVERVIEW_READS))
today = local_today()
shown = kept(db, ("overview", year), lambda: overview(db, year, today), stats.OVERVIEW_READS)
figures = shown["figures"]

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
st.write(shown["paragraph"])

with st.expander("统计口径"):
    st.markdown(
        "- 队伍：当年12月31日已成立且未撤销的队伍；队员：这些队伍当日在册的队员（一人参加两支队伍计两次，重复人员在队伍健康检查中单列）。\n"
        "- 预案：在用（未废止）的专项应急预案及其类别数。\n"
        "- 县乡两级演练：当年县级、乡镇级组织的演练；参演按人次计。\n"
        "- 非煤矿山等领域演练：当年重点企业（单位）开展的演练；村级演练另行统计。"
    )


# Current work status: KPI tiles, each drilling down to its list ---------------------------------------
pages = {spec.path for specs in nav.pages_for(user.role).values() for spec in specs}


def link(path: str, label: str) -> None:
    """A link to a list page, when that page exists and the user's role sees it."""
    if path in pages and (Path(__file__).resolve().parents[2] / path).exists():
        st.page_link(path, label=label)


kpi, actions, plans_late = shown["kpi"], shown["actions"], shown["plans_late"]

st.subheader(f"当前工作状态（截至 {today:%Y-%m-%d}）")
tiles = st.columns(6)
tiles[0].metric("在册队伍（支）", f"{kpi['teams']:,}")
tiles[1].metric("在册队员（人）", f"{kpi['members']:,}")
tiles[2].metric(f"{today.year}年演练（场次）", f"{kpi['drills']:,}")
tiles[3].metric(f"{today.year}年参演（人次）", f"{int(kpi['participants']):,}")
tiles[4].metric("逾期预案（项）", shown["plans_late_count"], help="演练或评估已逾期（或从未开展）的在用专项预案")
tiles[5].metric("未关闭整改（项）", actions["open"], help="演练发现问题的整改措施中尚未关闭的")
tiles[5].caption(f"其中已过整改期限 {actions['overdue']} 项")
with tiles[0]:
    link("emergency/ui/teams_page.py", "队伍名单")
with tiles[1]:
    link("emergency/ui/members_page.py", "队员名单")
with tiles[2]:
    link("emergency/ui/drills_page.py", "演练记录")
with tiles[4]:
    link("emergency/ui/plans_page.py", "预案清单")
with tiles[5]:
    link("emergency/ui/actions_page.py", "整改跟踪")
late_box = lazy_expander(f"逾期的预案（{shown['plans_late_count']} 项）", "late_plans_open")  # drawn once open
if late_box.open:
    with late_box:
        draw_prepared(plans_late)

# Charts of the selected year -----------------------------------------------------------------------
st.subheader(f"{year} 年演练与队伍覆盖")
chart_left, chart_right = st.columns(2)
with chart_left:
    st.markdown("**各月演练场次（按层级）**")
    st.vega_lite_chart(spec=shown["monthly_chart"], width="stretch")
    monthly_box = lazy_expander("查看各月演练明细", "monthly_table_open")
    if monthly_box.open:
        with monthly_box:
            draw_prepared(shown["monthly_table"])
    link("emergency/ui/drills_page.py", "全部演练记录")
with chart_right:
    st.markdown("**队伍覆盖领域（支）**")
    st.vega_lite_chart(spec=shown["coverage_chart"], width="stretch")
    coverage_box = lazy_expander("查看覆盖明细", "coverage_table_open")
    if coverage_box.open:
        with coverage_box:
            draw_prepared(shown["coverage_table"])
    link("emergency/ui/coverage_page.py", "队伍覆盖分析")
    link("emergency/ui/teams_page.py", "按领域筛选队伍")
