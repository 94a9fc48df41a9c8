"""演练计划: the annual drill plan per township and plan, by month; add, complete (link a record) or cancel."""

from datetime import date

import pandas as pd
import streamlit as st

from emergency import drills, plans
from emergency.rules import PLANNED_STATUS_LABELS
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    drawn,
    export_list,
    page_help,
    show_table,
    township_options,
    write_feedback,
    year_select,
)

user = require_login()
db = get_db()
today = date.today()
st.title("演练计划")
page_help("drill-calendar")

towns = township_options(db)
names = {v: k for k, v in towns.items()}
cols = st.columns(2)
year = year_select("年度", drills.planned_years(db), container=cols[0])
default = list(towns).index(names[user.township_code]) if user.township_code in names else 0
township = towns[cols[1].selectbox("乡镇", list(towns), index=default)]

rows = drills.planned_list(db, today, year=year, township_code=township)
counts = pd.Series([r["state"] for r in rows]).value_counts().to_dict() if rows else {}
st.caption(
    f"{year} 年共 {len(rows)} 项："
    + "、".join(f"{label} {counts.get(code, 0)}" for code, label in PLANNED_STATUS_LABELS.items())
)
PLANNED_COLUMNS = {
    "id": "编号",
    "planned_on": "计划日期",
    "title": "演练名称",
    "township_name": "乡镇",
    "plan_code": "预案",
    "state": "状态",
    "done_on": "实际开展",
    "cancel_reason": "取消原因",
}
for month, items in drills.by_month(rows).items():
    st.markdown(f"**{month}**")
    show_table(pd.DataFrame(items), PLANNED_COLUMNS, {"state": PLANNED_STATUS_LABELS})
if rows:
    export_list(
        db,
        user,
        pd.DataFrame(rows),
        PLANNED_COLUMNS,
        f"{year}年演练计划",
        key="export_planned",
        enum_columns={"state": PLANNED_STATUS_LABELS},
    )
else:
    st.info("该年度没有演练计划。")

if user.role != "viewer":
    own: dict[str, str | None] = {k: v for k, v in towns.items() if v and (user.is_admin or v == user.township_code)}
    if user.is_admin:
        own = {"县级（全县）": None, **own}
    active_plans = plans.active_plans(db)
    with st.expander("新增演练计划"), st.form("new_planned"):
        title = st.text_input("演练名称 *")
        town_label = st.selectbox("所属乡镇 *", list(own))
        plan_code = st.selectbox("演练预案", list(active_plans), format_func=lambda c: f"{c} {active_plans[c]}")
        planned_on = st.date_input("计划日期 *", today)
        note = st.text_input("备注")
        if st.form_submit_button("保存", type="primary"):
            town_code = own[town_label]
            data = {
                "title": title,
                "level": "county" if town_code is None else "township",
                "township_code": town_code,
                "plan_code": plan_code,
                "planned_on": planned_on,
                "note": note,
            }
            write_feedback(lambda: drills.create_planned(db, user, data), "已新增演练计划。")
    open_rows = {
        f"{r['id']} {r['planned_on']} {r['title']}": r
        for r in rows
        if r["status"] == "planned" and user.may_write(r["township_code"])
    }
    if open_rows:
        with st.expander("完成或取消计划"):
            label = st.selectbox("演练计划", list(open_rows), key="planned_pick")
            planned = open_rows[label]
            seen = drawn("planned", drills.planned_record(db, planned["id"]))  # what a save is checked against
            recorded = drills.drill_list(db, township_code=planned["township_code"])
            recorded = (
                recorded[recorded["held_on"].dt.date >= date(planned["planned_on"].year, 1, 1)]
                if len(recorded)
                else recorded
            )
            choices = {
                f"{r['id']} {r['held_on']:%Y-%m-%d} {r['title']}": int(r["id"]) for r in recorded.to_dict("records")
            }
            left, right = st.columns(2)
            with left.form("complete_planned"):
                st.markdown("已开展：关联演练记录（新演练请在“演练记录”页登记时选择对应计划）")
                drill_label = st.selectbox("演练记录", list(choices)) if choices else None
                if st.form_submit_button("标记为已完成") and drill_label:
                    write_feedback(
                        lambda: drills.link_planned(db, user, planned["id"], choices[drill_label], expected=seen),
                        "已标记为完成。",
                        "planned",
                    )
            with right.form("cancel_planned"):
                reason = st.text_input("取消原因 *")
                if st.form_submit_button("取消计划"):
                    write_feedback(
                        lambda: drills.cancel_planned(db, user, planned["id"], reason, expected=seen),
                        "已取消。",
                        "planned",
                    )
