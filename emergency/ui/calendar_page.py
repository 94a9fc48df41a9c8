"""演练计划: the annual drill plan per township and plan, by month (a list or a month grid); add, complete
(link a record) or cancel; and the three-year exercise programme the yearly plans are drawn from."""

from datetime import date

import pandas as pd
import streamlit as st

from emergency import drills, paging, plans, programme
from emergency.db import local_today
from emergency.enums import DRILL_CONTENTS, DRILL_FORMS
from emergency.rules import PLANNED_STATUS_LABELS
from emergency.ui import record_actions
from emergency.ui.month_grid import month_grid_html
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    export_list,
    kept,
    label_of,
    lazy_expander,
    page_help,
    page_number,
    pager,
    picker,
    prepared_table,
    show_table,
    township_options,
    write_feedback,
    year_select,
)

user = require_login()
db = get_db()
today = local_today()
st.title("演练计划")
record_actions.voided_note("planned_drills")
page_help("drill-calendar")

towns = township_options(db)
names = {v: k for k, v in towns.items()}
cols = st.columns(2)
year = year_select("年度", kept(db, ("planned_years",), lambda: drills.planned_years(db)), container=cols[0])
default = list(towns).index(names[user.township_code]) if user.township_code in names else 0
township = towns[cols[1].selectbox("乡镇", list(towns), index=default)]

rows = kept(db, ("planned", year, township), lambda: drills.planned_list(db, today, year=year, township_code=township))
counts = kept(
    db,
    ("planned_counts", year, township),
    lambda: pd.Series([r["state"] for r in rows]).value_counts().to_dict() if rows else {},
)
st.caption(
    f"{year} 年共 {len(rows)} 项："
    + "、".join(f"{label} {counts.get(code, 0)}" for code, label in PLANNED_STATUS_LABELS.items())
)
view = st.radio("查看方式", ["按月列表", "月历", "三年演练规划"], horizontal=True, key="calendar_view")
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
if view == "按月列表":
    listed = paging.of_list(rows, page_number("planned", {"year": year, "township": township}))
    pager("planned", listed, unit="项")
    months = kept(  # this page's monthly tables, formatted once per data write
        db,
        ("planned_months", year, township, listed.page),
        lambda: [
            (month, prepared_table(pd.DataFrame(items), PLANNED_COLUMNS, {"state": PLANNED_STATUS_LABELS}))
            for month, items in drills.by_month(listed.rows).items()
        ],
    )
    for month, table in months:
        st.markdown(f"**{month}**")
        draw_prepared(table)
    if rows:
        export_list(
            db,
            user,
            lambda: pd.DataFrame(rows),  # built at the click, not at every rerun
            PLANNED_COLUMNS,
            f"{year}年演练计划",
            key="export_planned",
            enum_columns={"state": PLANNED_STATUS_LABELS},
        )
    else:
        st.info("该年度没有演练计划。")
elif view == "月历":
    default_month = today.month if year == today.year else 1
    grid_month = st.selectbox("月份", list(range(1, 13)), index=default_month - 1, format_func=lambda m: f"{m}月")
    events = programme.month_events(db, year, grid_month, today, township)
    st.html(month_grid_html(programme.month_grid(year, grid_month, events), today))
    st.caption(
        "色块为演练计划（绿：已完成，黄：待开展，红：已过计划日期未完成，灰：已取消）；“已开展”为当日登记的演练场次。"
    )
else:
    start = st.number_input("规划起始年度", min_value=2020, max_value=2100, value=year, step=1)
    start = int(start)
    entries = programme.programme(db, start, township)
    st.caption(
        f"{start}–{start + programme.SPAN_YEARS - 1} 年演练规划：宜先桌面后实战、先单项后综合；每年的演练计划由规划生成。"
    )
    for warning in programme.progression_warnings(entries):
        st.warning(warning)
    if entries:
        show_table(
            pd.DataFrame(entries),
            {
                "year": "年度",
                "month": "月份",
                "township_name": "乡镇",
                "plan_code": "预案",
                "plan_name": "预案名称",
                "title": "演练名称",
                "form": "形式",
                "content": "内容",
                "planned_on": "已生成计划",
            },
            {"form": DRILL_FORMS, "content": DRILL_CONTENTS},
        )
    else:
        st.info("该时段尚无演练规划。")
    if user.role != "viewer":
        own_towns: dict[str, str | None] = {
            k: v for k, v in towns.items() if v and (user.is_admin or v == user.township_code)
        }
        if user.is_admin:
            own_towns = {"县级（全县）": None, **own_towns}
        all_plans = plans.active_plans(db)
        with st.expander("新增规划项目"), st.form("new_programme"):
            a, b, c = st.columns(3)
            p_town = a.selectbox("所属乡镇 *", list(own_towns), key="prog_town")
            p_year = b.selectbox("年度 *", list(range(start, start + programme.SPAN_YEARS)), key="prog_year")
            p_month = c.selectbox("月份 *", list(range(1, 13)), format_func=lambda m: f"{m}月", key="prog_month")
            p_plan = st.selectbox("演练预案 *", list(all_plans), format_func=lambda c: f"{c} {all_plans[c]}")
            d, e = st.columns(2)
            p_form = d.selectbox("演练形式 *", list(DRILL_FORMS), format_func=label_of(DRILL_FORMS))
            p_content = e.selectbox("演练内容 *", list(DRILL_CONTENTS), format_func=label_of(DRILL_CONTENTS))
            p_title = st.text_input("演练名称 *", key="prog_title")
            if st.form_submit_button("保存规划项目"):
                entry = {
                    "township_code": own_towns[p_town],
                    "plan_code": p_plan,
                    "year": p_year,
                    "month": p_month,
                    "form": p_form,
                    "content": p_content,
                    "title": p_title,
                }
                write_feedback(lambda: programme.add_entry(db, user, entry, start), "已新增规划项目。")
        draw_town = st.selectbox("生成哪个单位的年度计划", list(own_towns), key="draw_town")
        draw_year = st.selectbox("生成年度", list(range(start, start + programme.SPAN_YEARS)), key="draw_year")
        if st.button("由规划生成年度演练计划"):
            write_feedback(
                lambda: programme.draw_year(db, user, draw_year, own_towns[draw_town]),
                "已生成年度演练计划（已生成过的项目不重复生成）。",
            )

if user.role != "viewer":
    own: dict[str, str | None] = {k: v for k, v in towns.items() if v and (user.is_admin or v == user.township_code)}
    if user.is_admin:
        own = {"县级（全县）": None, **own}
    active_plans = plans.active_plans(db)
    record_actions.saved("new_planned")
    new_box = lazy_expander("新增演练计划", "new_planned_open")  # the form runs only while open
if user.role != "viewer" and new_box.open:
    with new_box, st.form(record_actions.form_key("new_planned")):
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
            record_actions.save_and_clear(
                "new_planned", lambda: drills.create_planned(db, user, data), "已新增演练计划"
            )
if user.role != "viewer":
    open_rows = kept(  # the year's open plans this user may change (thousands at the county's size)
        db,
        ("planned_open", year, township, user.role, user.township_code),
        lambda: {
            f"{r['id']} {r['planned_on']} {r['title']}": r
            for r in rows
            if r["status"] == "planned" and user.may_write(r["township_code"])
        },
    )
    done_box = lazy_expander("完成或取消计划", "planned_done_open") if open_rows else None
if user.role != "viewer" and done_box is not None and done_box.open:
    with done_box:
        label = picker(  # the year's open plans can be thousands: the first matches only
            "演练计划",
            "planned_pick",
            lambda text: {k: k for k in [k for k in open_rows if text in k][: paging.PICK_LIMIT]},
            what="演练计划",
        )
        if label is not None:  # nothing matching the search: no plan to complete or cancel
            planned = open_rows[label]
            seen = drawn("planned", drills.planned_record(db, planned["id"]))  # what a save is checked against
            drill_id = picker(  # the township's drills since the plan's year began, found by a search
                "演练记录",
                "planned_drill_pick",
                lambda text: drills.drill_choices(
                    db,
                    text,
                    township_code=planned["township_code"],
                    since=date(planned["planned_on"].year, 1, 1),
                ),
                what="演练记录",
            )
            left, right = st.columns(2)
            with left.form("complete_planned"):
                st.markdown("已开展：关联演练记录（新演练请在“演练记录”页登记时选择对应计划）")
                if st.form_submit_button("标记为已完成", disabled=drill_id is None) and drill_id is not None:
                    write_feedback(
                        lambda: drills.link_planned(db, user, planned["id"], int(drill_id), expected=seen),
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
            record_actions.edit_planned(db, user, planned["id"], active_plans)
            record_actions.void_section(
                db, user, "planned_drills", planned["id"], planned["township_code"], planned["title"]
            )
if user.role != "viewer":
    record_actions.voided_section(db, user, "planned_drills")
