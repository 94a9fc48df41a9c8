"""演练记录: the quick log form (township preset, today's date, required fields first, the rest
optional), the list, and one drill's full record with attachments and corrective actions."""

from datetime import datetime
from typing import Any

import streamlit as st

from emergency import drills, enterprises, enums, plans, printview, regions
from emergency.db import local_today
from emergency.hygiene import escape_markdown as md
from emergency.ui import drill_archive, drill_evaluation, record_actions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    export_list,
    kept,
    label_of,
    lazy_expander,
    list_key,
    page_help,
    page_number,
    pager,
    picker,
    prepared_table,
    search_bar,
    show_table,
    township_options,
    write_feedback,
    year_select,
)

user = require_login()
db = get_db()
today = local_today()
st.title("演练记录")
record_actions.voided_note("drills")
page_help("drills")

active_plans = plans.active_plans(db)
towns = township_options(db, include_all=False)
town_names: dict[str | None, str] = {v: k for k, v in towns.items()}


def _open_drill(drill_id: int) -> None:
    st.query_params["drill"] = str(drill_id)
    st.session_state.pop("drill_detail", None)


def _save_drill(values: dict, duplicate_ok: bool) -> int:
    return drills.create_drill(
        db, user, values["data"], values["plan_codes"], planned_id=values["planned_id"], duplicate_ok=duplicate_ok
    )


if user.role != "viewer":
    record_actions.saved("log_drill", _open_drill, "演练")
    record_actions.duplicate_prompt("log_drill", _save_drill, "已登记演练")
    v = record_actions.version("log_drill")  # a successful save draws the form afresh (empty)
    if user.role == "township":  # open for a township operator: a plain expander (no rerun of its own)
        log_box, log_open = st.expander("登记一次演练", expanded=True), True
    else:  # for the county, the form runs only once opened
        log_box = lazy_expander("登记一次演练", "log_drill_open")
        log_open = bool(log_box.open)
if user.role != "viewer" and log_open:
    with log_box:
        levels = list(enums.DRILL_LEVELS) if user.is_admin else ["township", "village", "enterprise"]
        c1, c2, c3 = st.columns(3)
        level = c1.selectbox("演练层级", levels, format_func=label_of(enums.DRILL_LEVELS), key="log_level")
        if user.is_admin:
            township = None if level == "county" else towns[c2.selectbox("所属乡镇", list(towns), key="log_town")]
        else:
            township = user.township_code
            c2.text_input("所属乡镇", town_names.get(township, ""), disabled=True)
        village = enterprise = None
        if level == "village" and township:
            villages = {name: code for code, name in regions.village_names(db, township).items()}
            village = villages.get(c3.selectbox("村（社区）", list(villages), key="log_village"))
        if level == "enterprise" and township:
            enterprise = picker(
                "企业（单位）",
                "log_enterprise",
                lambda text: {v: k for k, v in enterprises.enterprise_choices(db, text, township).items()},
                container=c3,
            )
        open_plans = kept(db, ("open_planned", township), lambda: drills.open_planned_choices(db, township))
        default_organiser = (
            "嵩县应急管理局"
            if level == "county"
            else (f"{town_names.get(township, '')}人民政府" if level == "township" else "")
        )
        with st.form(f"log_drill_{v}", clear_on_submit=False):
            st.caption("带 * 为必填；其余可稍后在详情中补充。")
            title = st.text_input("演练名称 *", key=f"log_title_{v}")
            a, b, c = st.columns(3)
            held = a.date_input("演练日期 *", today, max_value=today, key=f"log_held_{v}")
            participants = b.number_input("参演人次 *", min_value=0, step=1, key=f"log_participants_{v}")
            form = c.selectbox("演练形式 *", list(enums.DRILL_FORMS), index=1, format_func=label_of(enums.DRILL_FORMS))
            plan_codes = st.multiselect(
                "演练预案 *",
                list(active_plans),
                format_func=lambda c: f"{c} {active_plans[c]}",
                key=f"log_plans_{v}",
                placeholder="请选择预案",
            )
            organiser = st.text_input("组织单位 *", default_organiser, key=f"log_organiser_{v}")
            with st.expander("更多信息（可选）"):
                planned_label = st.selectbox(
                    "对应的演练计划", [None, *open_plans], format_func=lambda k: "无" if k is None else k
                )
                c4, c5, c6 = st.columns(3)
                content = c4.selectbox(
                    "演练内容", list(enums.DRILL_CONTENTS), format_func=label_of(enums.DRILL_CONTENTS)
                )
                purpose = c5.selectbox(
                    "演练目的", list(enums.DRILL_PURPOSES), format_func=label_of(enums.DRILL_PURPOSES)
                )
                place = c6.text_input("演练地点")
                g, h = st.columns(2)
                start_time = g.time_input("开始时间", None)
                end_time = h.time_input("结束时间", None)
                units = st.text_input("参演单位")
                scenario = st.text_area("演练科目（情景）")
                problems = st.text_area("发现的问题及原因")
                evaluation = st.text_area("评估意见")
                plan_problems = st.checkbox("评估发现预案本身存在问题（该预案将标记为需修订）")
            if st.form_submit_button("保存", type="primary"):
                data = {
                    "title": title,
                    "level": level,
                    "organiser": organiser,
                    "held_on": held,
                    "township_code": None if level == "county" else township,
                    "village_code": village,
                    "enterprise_id": enterprise,
                    "form": form,
                    "content": content,
                    "purpose": purpose,
                    "participants": int(participants),
                    "place": place,
                    "participating_units": units,
                    "started_at": datetime.combine(held, start_time) if start_time else None,
                    "ended_at": datetime.combine(held, end_time) if end_time else None,
                    "scenario": scenario,
                    "problems": problems,
                    "evaluation": evaluation,
                    "plan_problems_found": plan_problems,
                }
                record_actions.save_new_drill(
                    "log_drill",
                    _save_drill,
                    {"data": data, "plan_codes": plan_codes, "planned_id": open_plans.get(planned_label or "")},
                    "已登记演练",
                )

cols = st.columns(3)
year = year_select("年度", kept(db, ("drill_years",), lambda: drills.drill_years(db)), container=cols[0])
towns_all = township_options(db)
default_town = list(towns_all).index(town_names[user.township_code]) if user.township_code in town_names else 0
township_filter = towns_all[cols[1].selectbox("乡镇", list(towns_all), index=default_town)]
level_filter = cols[2].selectbox(
    "层级", [None, *enums.DRILL_LEVELS], format_func=lambda c: "全部" if c is None else enums.DRILL_LEVELS[c]
)
found = search_bar("drills", text_label="按名称或组织单位查找", dates="演练日期", plans=active_plans)
filters: dict[str, Any] = {
    "year": None if (found.since or found.until) else year,  # a date range chosen replaces the year
    "township_code": township_filter,
    "level": level_filter,
    "plan_code": found.plan_code,
    "search": found.text,
    "since": found.since,
    "until": found.until,
}
columns = {
    "id": "编号",
    "held_on": "日期",
    "title": "演练名称",
    "level": "层级",
    "township_name": "乡镇",
    "organiser": "组织单位",
    "form": "形式",
    "participants": "参演人次",
    "plans": "预案",
    "open_actions": "未完成整改",
}
enum_columns = {"level": enums.DRILL_LEVELS, "form": enums.DRILL_FORMS}
page = page_number("drills", filters)


def _drill_view() -> tuple:
    found = drills.drill_page(db, page=page, **filters)
    return (
        found,
        int(drills.drill_summary(db, **filters)["participants"]),
        prepared_table(found.rows, columns, enum_columns),
    )


result, participants, table = kept(db, list_key("drills", page, filters), _drill_view)
frame = result.rows
pager("drills", result, unit="场次", note=f"参演 {participants} 人次")
draw_prepared(table)
export_list(
    db,
    user,
    lambda: drills.drill_list(db, **filters),
    columns,
    "演练记录",
    key="export_drills",
    enum_columns=enum_columns,
)

record_actions.voided_section(db, user, "drills")

# One drill's full record -----------------------------------------------------------------------------
st.divider()
wanted = st.query_params.get("drill")
ids = [int(i) for i in frame["id"].tolist()]
if wanted and wanted.isdigit() and int(wanted) not in ids and drills.drill_exists(db, int(wanted)):
    ids = [int(wanted), *ids]
titles = dict(zip(frame["id"].astype(int), frame["title"]))
chosen = st.selectbox(
    "查看演练详情",
    [None, *ids],
    index=(ids.index(int(wanted)) + 1) if wanted and wanted.isdigit() and int(wanted) in ids else 0,
    format_func=lambda i: "请选择演练" if i is None else f"{i} {titles.get(i, '')}",
    key="drill_detail",
)
if chosen:
    d = drills.drill_detail(db, chosen)
    st.markdown(f"#### {md(d['title'])}")
    where = md(d["enterprise_name"] or d["village_name"] or d["township_name"] or "全县")
    time_span = f"{d['started_at']:%H:%M}–{d['ended_at']:%H:%M}" if d["started_at"] and d["ended_at"] else "未填写"
    st.markdown(
        f"层级：{enums.DRILL_LEVELS.get(d['level'])}　单位：{where}　组织：{md(d['organiser'])}  \n"
        f"日期：{d['held_on']}　时间：{time_span}　地点：{md(d['place']) or '未填写'}  \n"
        f"形式：{enums.DRILL_FORMS.get(d['form'])}　内容：{enums.DRILL_CONTENTS.get(d['content'])}　"
        f"目的：{enums.DRILL_PURPOSES.get(d['purpose'])}　参演：{d['participants']} 人次  \n"
        f"参演单位：{md(d['participating_units']) or '未填写'}  \n"
        f"演练预案：{md('、'.join(p['code'] + ' ' + p['name'] for p in d['plans']))}"
    )
    for label, key in (
        ("演练科目", "scenario"),
        ("发现的问题及原因", "problems"),
        ("评估意见", "evaluation"),
        ("经验教训", "lessons"),
        ("改进建议", "recommendations"),
    ):
        st.markdown(f"**{label}**：{md(d[key]) or '未填写'}")
    if d["note"]:  # a remark brought in by a drill log import (drill_notes)
        st.markdown(f"**备注**：{md(d['note'])}")
    if d["plan_problems_found"]:
        st.warning("本次演练发现预案存在问题，相关预案已标记为需修订。")
    st.download_button(
        "打印本记录",
        printview.drill_sheet_html(d, today),
        file_name=f"演练记录表_{d['id']}.html",
        mime="text/html",
        key="print_drill",
        on_click="ignore",
        help="下载可打印的演练记录表，用浏览器打开后按 Ctrl+P 打印或另存为 PDF",
    )
    if d["planned"]:
        st.caption("对应演练计划：" + md("、".join(f"{p['planned_on']} {p['title']}" for p in d["planned"])))
    voided = record_actions.voided_banner(db, "drills", chosen)
    may_write = user.may_write(d["township_code"]) and not voided
    if may_write:
        record_actions.edit_drill(db, user, chosen, active_plans, today)
        record_actions.void_section(db, user, "drills", chosen, d["township_code"], f"《{d['title']}》")

    drill_archive.draw(db, user, d, may_write)
    drill_evaluation.draw_organisation(db, user, d, may_write)
    drill_evaluation.draw(db, user, d, may_write, today)

    st.markdown("**整改事项**")
    if d["actions"]:
        import pandas as pd

        from emergency.rules import ACTION_STATUS_LABELS, action_status

        actions = pd.DataFrame(d["actions"])
        actions["status"] = [
            action_status(a["due_on"], a["closed_on"], today, verified_on=a["verified_on"]) for a in d["actions"]
        ]
        show_table(
            actions,
            {
                "description": "整改事项",
                "owner": "责任人",
                "due_on": "整改期限",
                "status": "状态",
                "closed_on": "完成日期",
                "closure_note": "整改情况",
            },
            {"status": ACTION_STATUS_LABELS},
        )
    else:
        st.caption("暂无整改事项")
    if may_write:
        seen = drawn("drill", drills.drill_record(db, chosen))  # what the evaluation form is checked against
        left, right = st.columns(2)
        record_actions.saved("add_action")
        with left.form(record_actions.form_key("add_action")):
            st.markdown("新增整改事项")
            description = st.text_input("整改事项")
            owner = st.text_input("责任人")
            due_on = st.date_input("整改期限", today)
            if st.form_submit_button("保存整改事项"):
                drill_id: int = chosen
                record_actions.save_and_clear(
                    "add_action",
                    lambda: drills.add_action(db, user, drill_id, description, owner, due_on),
                    "已新增整改事项",
                )
        with right.form("evaluate"):
            st.markdown("补充评估")
            problems = st.text_area("发现的问题及原因", d["problems"] or "")
            evaluation = st.text_area("评估意见", d["evaluation"] or "")
            lessons = st.text_area("经验教训", d["lessons"] or "")
            recommendations = st.text_area("改进建议", d["recommendations"] or "")
            plan_problems = st.checkbox("评估发现预案本身存在问题", d["plan_problems_found"])
            if st.form_submit_button("保存评估"):
                changes = {
                    "problems": problems,
                    "evaluation": evaluation,
                    "lessons": lessons,
                    "recommendations": recommendations,
                    "plan_problems_found": plan_problems,
                }
                write_feedback(
                    lambda: drills.update_drill(db, user, chosen, changes, expected=seen), "已保存。", "drill"
                )
