"""资源覆盖: for each hazard point the nearest team and depot (straight line) and whether a team is
within the configured distance; shelter capacity against population; township shortages."""

import pandas as pd
import streamlit as st

from emergency.resources import coverage
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import page_help, show_table, write_feedback

user = require_login()
db = get_db()
st.title("应急资源覆盖")
page_help("resources-coverage")
demo_banner(db)

km = coverage.within_km(db)
rows = coverage.nearest_resources(db, km)


def near(value) -> str:
    return f"{value['name']}（{value['km']:.2f} 公里）" if value else "—"


frame = pd.DataFrame(
    [
        {
            "code": r["code"],
            "name": r["name"],
            "team": near(r["nearest_team"]),
            "depot": near(r["nearest_depot"]),
            "state": "已覆盖" if r["covered"] else ("无坐标" if r["lat"] is None else "未覆盖"),
        }
        for r in rows
    ],
    columns=["code", "name", "team", "depot", "state"],
)
covered = sum(r["covered"] for r in rows)
placed = sum(r["lat"] is not None for r in rows)
st.subheader("隐患点最近的队伍和储备库")
st.caption(
    f"直线（大圆）距离。{len(rows)} 个隐患点中 {placed} 个有坐标，{covered} 个在 {km:g} 公里内有救援队伍驻地；"
    "没有坐标的隐患点无法计算。"
)
show_table(frame, {"code": "编号", "name": "隐患点", "team": "最近队伍", "depot": "最近储备库", "state": "覆盖状态"})

st.subheader("各乡镇避难场所容量")
capacity = pd.DataFrame(coverage.shelter_capacity(db))
capacity["population_text"] = capacity["population"].map(lambda v: "未登记" if pd.isna(v) else f"{int(v):,}")
capacity["per_100_text"] = capacity["per_100"].map(lambda v: "—" if pd.isna(v) else f"{v:.1f}")
capacity["enough"] = capacity["covers_threatened"].map({True: "正常", False: "需关注"})
show_table(
    capacity,
    {
        "name": "乡镇",
        "shelters": "开放场所",
        "capacity": "可容纳（人）",
        "population_text": "人口",
        "per_100_text": "每百人容量",
        "threatened": "隐患点威胁人数",
        "enough": "容量状态",
    },
)

st.subheader("低于乡镇最低储备的物资")
short = pd.DataFrame(
    coverage.shortages(db), columns=["township_name", "item_name", "unit", "quantity", "minimum", "item_code"]
)
if short.empty:
    st.caption("未设置乡镇最低储备，或各乡镇均已达到。")
else:
    show_table(
        short, {"township_name": "乡镇", "item_name": "物资", "unit": "单位", "quantity": "现有", "minimum": "最低储备"}
    )

if user.is_admin:
    with st.expander("覆盖设置（管理员）"), st.form("coverage_settings"):
        value = st.number_input("覆盖距离（公里）", min_value=0.5, value=float(km), step=0.5)
        if st.form_submit_button("保存"):
            write_feedback(lambda: coverage.set_within_km(db, user, float(value)), "已保存覆盖距离")
