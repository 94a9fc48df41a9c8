"""覆盖分析: township x hazard-domain matrix of the teams serving each cell, gaps highlighted, drill-down."""

from datetime import date

import pandas as pd
import streamlit as st

from emergency import enums, roster
from emergency.db import Database, local_today
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import AMBER, RED, draw_prepared, kept, label_of, lazy_expander, page_help, prepared_table


def coverage_view(db: Database, today: date, value: str):
    """The township x domain cells, the matrix drawn (domains as rows), the gaps and the table of the
    county-only cells as drawn: kept (widgets.kept) until a committed write touches a table family
    they read (roster.COVERAGE_READS), per day and measure; shared, never changed."""
    cells = roster.coverage(db, today)
    matrix = roster.coverage_matrix(cells, value).T
    matrix.index.name = "领域"
    shown = marked(matrix, roster.coverage_matrix(cells, "teams").T, roster.coverage_matrix(cells, "local_teams").T)
    found = roster.gaps(cells)
    county_only = prepared_table(found[found["kind"] != "无任何队伍"], {"township_name": "乡镇", "domain_name": "领域"})
    return cells, shown, found, county_only


def marked(values: pd.DataFrame, teams: pd.DataFrame, local: pd.DataFrame) -> pd.DataFrame:
    """The matrix as text, gaps marked in the cell as the status columns are (no pandas Styler, whose
    per-cell rendering cost more than the rest of the page): 🔴 no team at all, 🟡 county-wide only."""
    rows = [
        [f"{RED} {v}" if t == 0 else f"{AMBER} {v}" if n == 0 else str(v) for v, t, n in zip(*row)]
        for row in zip(values.to_numpy(dtype=int), teams.to_numpy(), local.to_numpy())
    ]
    return pd.DataFrame(rows, index=values.index, columns=values.columns)


user = require_login()
db = get_db()
st.title("覆盖分析")
page_help("coverage")
st.caption(
    "每个乡镇、每个灾种领域有多少支在册队伍（及其队员）可以服务。县级队伍和未指定乡镇的社会应急力量服务全县，"
    f"计入每个乡镇。{RED}：没有任何队伍；{AMBER}：只有县级/全县性队伍，本乡镇没有。"
)

today = local_today()
measure = st.radio("单元格显示", ["队伍数（支）", "队员数（人）"], horizontal=True)
value = "teams" if measure.startswith("队伍") else "members"
# Domains as rows, townships as columns: 16 short township names fit the width of the page.
cells, matrix, found, county_only = kept(
    db, ("coverage", value), lambda: coverage_view(db, today, value), roster.COVERAGE_READS
)
no_team = found[found["kind"] == "无任何队伍"]
cols = st.columns(3)
cols[0].metric("乡镇 × 领域", f"{len(cells)}")
cols[1].metric("无任何队伍的单元", f"{len(no_team)}")
cols[2].metric("仅有县级队伍的单元", f"{len(found) - len(no_team)}")
st.dataframe(
    matrix,
    width="stretch",
    height=(len(matrix) + 1) * 35 + 3,
    column_config={c: st.column_config.TextColumn(c, width=60) for c in matrix.columns},
)

st.subheader("缺口清单")
if len(no_team):
    by_domain = no_team.groupby("domain_name", sort=False)["township_name"].apply(lambda s: "、".join(s))
    for domain_name, townships in by_domain.items():
        st.error(f"{domain_name}：{townships} 没有任何队伍覆盖")
else:
    st.success("每个乡镇的每个领域都至少有一支队伍覆盖。")
county_box = lazy_expander("仅有县级/全县性队伍覆盖的单元", "coverage_county_only")
with county_box:
    if county_box.open:
        draw_prepared(county_only)

st.subheader("查看某一单元的队伍")
names = dict(zip(cells["township_code"], cells["township_name"]))
pickers = st.columns(2)
with pickers[0]:
    default = list(names).index(user.township_code) if user.township_code in names else 0
    township = st.selectbox("乡镇", list(names), index=default, format_func=label_of(names), key="drill_township")
with pickers[1]:
    domain = st.selectbox(
        "领域", list(enums.HAZARD_DOMAINS), format_func=label_of(enums.HAZARD_DOMAINS), key="drill_domain"
    )


def _serving_view() -> tuple[pd.DataFrame, pd.DataFrame | None]:
    serving = roster.teams_serving(db, user, township, domain, today)
    if not len(serving):
        return serving, None
    return serving, prepared_table(
        serving,
        {
            "name": "队伍名称",
            "kind": "类别",
            "level": "层级",
            "service_area": "服务范围",
            "leader_name": "负责人",
            "duty_phone": "值班电话",
            "member_count": "在册队员",
        },
        {"kind": enums.TEAM_KINDS, "level": enums.TEAM_LEVELS},
    )


# the cell's teams as drawn, per viewer (phones masked for the role and township), kept like the matrix
serving, serving_table = kept(
    db, ("coverage_serving", user.role, user.township_code, township, domain), _serving_view, roster.COVERAGE_READS
)
st.caption(
    f"{names[township]} · {enums.HAZARD_DOMAINS[domain]}：{len(serving)} 支队伍，"
    f"在册队员 {int(serving['member_count'].sum()) if len(serving) else 0} 人"
)
if serving_table is not None:
    draw_prepared(serving_table)
else:
    st.warning("该单元没有任何队伍。")
