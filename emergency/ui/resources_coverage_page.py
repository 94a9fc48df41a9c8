"""资源覆盖: for each hazard point the nearest team and depot (straight line) and whether a team is
within the configured distance; shelter capacity against population; township shortages. The tab
乡镇人口与最低储备 shows the figures those use; the administrator edits them there."""

import pandas as pd
import streamlit as st

from emergency import regions
from emergency.enums import RESOURCE_ITEMS
from emergency.resources import coverage
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import draw_prepared, kept, lazy_tabs, page_help, prepared_table, show_table, write_feedback

user = require_login()
db = get_db()
st.title("应急资源覆盖")
page_help("resources-coverage")
demo_banner(db)

km = kept(db, ("within_km",), lambda: coverage.within_km(db))
tab_cover, tab_figures = lazy_tabs(["覆盖分析", "乡镇人口与最低储备"], "coverage_tab")


def near(value) -> str:
    return f"{value['name']}（{value['km']:.2f} 公里）" if value else "—"


def cover_view(km: float) -> dict:
    """The tab's figures and its three tables as drawn (prepared_table), kept (widgets.kept) until a
    data write: a rerun computes no distance and formats no cell."""
    rows = coverage.nearest_resources(db, km)
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
    capacity = pd.DataFrame(coverage.shelter_capacity(db))
    capacity["population_text"] = capacity["population"].map(lambda v: "未登记" if pd.isna(v) else f"{int(v):,}")
    capacity["per_100_text"] = capacity["per_100"].map(lambda v: "—" if pd.isna(v) else f"{v:.1f}")
    capacity["enough"] = capacity["covers_threatened"].map({True: "正常", False: "需关注"})
    short = pd.DataFrame(
        coverage.shortages(db), columns=["township_name", "item_name", "unit", "quantity", "minimum", "item_code"]
    )
    return {
        "points": len(rows),
        "covered": sum(r["covered"] for r in rows),
        "placed": sum(r["lat"] is not None for r in rows),
        "nearest": prepared_table(
            frame, {"code": "编号", "name": "隐患点", "team": "最近队伍", "depot": "最近储备库", "state": "覆盖状态"}
        ),
        "capacity": prepared_table(
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
        ),
        "short": None
        if short.empty
        else prepared_table(
            short,
            {"township_name": "乡镇", "item_name": "物资", "unit": "单位", "quantity": "现有", "minimum": "最低储备"},
        ),
    }


with tab_cover:
    if tab_cover.open:
        view = kept(db, ("resources_coverage", km), lambda: cover_view(km))
        st.subheader("隐患点最近的队伍和储备库")
        st.caption(
            f"直线（大圆）距离。{view['points']} 个隐患点中 {view['placed']} 个有坐标，{view['covered']} 个在 {km:g} "
            "公里内有救援队伍驻地；没有坐标的隐患点无法计算。"
        )
        draw_prepared(view["nearest"])
        st.subheader("各乡镇避难场所容量")
        draw_prepared(view["capacity"])
        st.subheader("低于乡镇最低储备的物资")
        if view["short"] is None:
            st.caption("未设置乡镇最低储备，或各乡镇均已达到。")
        else:
            draw_prepared(view["short"])


with tab_figures:
    if tab_figures.open:
        people = coverage.population(db)
        minimums = coverage.township_minimums(db)
        towns = regions.townships(db)
        if not user.is_admin:
            st.caption("人口和最低储备由管理员设置，用于“覆盖分析”中的避难场所容量和物资短缺。")
            show_table(
                pd.DataFrame(
                    [
                        {"name": t["name"], "people": f"{people[t['code']]:,}" if t["code"] in people else "未登记"}
                        for t in towns
                    ]
                ),
                {"name": "乡镇", "people": "人口"},
            )
            show_table(
                pd.DataFrame(
                    [
                        {"name": name, "unit": unit, "minimum": str(minimums[c]) if c in minimums else "未设置"}
                        for c, (name, unit) in RESOURCE_ITEMS.items()
                    ]
                ),
                {"name": "物资", "unit": "单位", "minimum": "每个乡镇最低储备"},
            )
        else:
            st.caption(
                "人口按统计年鉴或公安户籍数填写（不知道就留空，页面显示“未登记”，不做推测）；最低储备是每个乡镇"
                "各储备点合计至少应有的数量（留空或填 0 为不设）。保存即记入审计日志。"
            )
            with st.form("township_population"):
                st.markdown("**乡镇人口**")
                figures = {
                    t["code"]: st.number_input(
                        f"{t['name']}人口",
                        min_value=0,
                        value=people.get(t["code"]),
                        step=1,
                        key=f"population_{t['code']}",
                    )
                    for t in towns
                }
                if st.form_submit_button("保存乡镇人口"):
                    write_feedback(lambda: coverage.set_population(db, user, figures), "已保存乡镇人口")
            with st.form("township_minimums"):
                st.markdown("**每个乡镇的最低储备**")
                wanted = {
                    c: st.number_input(
                        f"{name}（{unit}）", min_value=0, value=minimums.get(c), step=1, key=f"minimum_{c}"
                    )
                    for c, (name, unit) in RESOURCE_ITEMS.items()
                }
                if st.form_submit_button("保存最低储备"):
                    write_feedback(lambda: coverage.set_township_minimums(db, user, wanted), "已保存最低储备")
            with st.form("coverage_settings"):
                st.markdown("**覆盖距离**")
                value = st.number_input("覆盖距离（公里）", min_value=0.5, value=float(km), step=0.5)
                if st.form_submit_button("保存"):
                    write_feedback(lambda: coverage.set_within_km(db, user, float(value)), "已保存覆盖距离")
