"""救援队伍: filterable list (export), a team's detail and members, and (for those allowed) new team /
edit / domains / group insurance / disband."""

import pandas as pd
import streamlit as st

from emergency import enums, imports, teams
from emergency.db import local_today
from emergency.hygiene import escape_markdown as md
from emergency.ui import record_actions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    enum_select,
    kept,
    label_of,
    lazy_expander,
    list_key,
    multiselect,
    page_help,
    page_number,
    pager,
    prepared_table,
    search_bar,
    township_options,
    write_feedback,
)

user = require_login()
db = get_db()
st.title("救援队伍")
record_actions.voided_note("teams")
page_help("teams")

towns = township_options(db)
cols = st.columns(4)
with cols[0]:
    default = list(towns.values()).index(user.township_code) if user.township_code in towns.values() else 0
    township = towns[st.selectbox("乡镇", list(towns), index=default)]
with cols[1]:
    kind = enum_select("队伍类别", enums.TEAM_KINDS)
with cols[2]:
    level = enum_select("层级", enums.TEAM_LEVELS)
with cols[3]:
    domain = enum_select("灾种领域", enums.HAZARD_DOMAINS)
include_disbanded = st.checkbox("包括已撤销的队伍")
found = search_bar("teams", text_label="按队伍名称或负责人查找")

filters = {
    "township_code": township,
    "kind": kind,
    "level": level,
    "domain": domain,
    "include_disbanded": include_disbanded,
    "search": found.text,
}
TEAM_COLUMNS = {
    "name": "队伍名称",
    "kind": "类别",
    "level": "层级",
    "township_name": "所属乡镇",
    "service_area": "服务范围",
    "domains": "覆盖领域",
    "leader_name": "负责人",
    "duty_phone": "值班电话",
    "member_count": "在册队员",
    "established_on": "成立日期",
    "disbanded_on": "撤销日期",
}
page = page_number("teams", filters)


def _team_view() -> tuple:
    summary = teams.team_summary(db, **filters)
    found = teams.team_page(db, user, page=page, summary=summary, **filters)
    table = prepared_table(found.rows, TEAM_COLUMNS, {"kind": enums.TEAM_KINDS, "level": enums.TEAM_LEVELS})
    return found, int(summary["members"]), table


result, on_roster, table = kept(db, list_key("teams", page, filters, user), _team_view)
frame = result.rows
pager("teams", result, unit="支队伍", note=f"在册队员 {on_roster} 人")
draw_prepared(table)
st.download_button(
    "导出 Excel（当前筛选）",
    data=lambda: imports.export_xlsx(db, user, "teams", **filters),
    file_name=f"队伍名单_{local_today():%Y%m%d}.xlsx",
    key="export_teams",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click="ignore",
)

if len(frame):
    names = dict(zip(frame["id"], frame["name"]))
    team_id = st.selectbox(
        "查看队伍详情", list(names), format_func=lambda i: f"{names[i]}（编号 {i}）", key="team_detail"
    )
    chosen = frame[frame["id"] == team_id].iloc[0]
    st.subheader(md(chosen["name"]))
    st.markdown(
        f"**服务范围**：{md(chosen['service_area'])}　**覆盖领域**：{md(chosen['domains']) or '未填写'}  \n"
        f"**村（社区）**：{md(chosen['village_name']) or '—'}　**装备**：{md(chosen['equipment']) or '—'}"
    )
    draw_prepared(
        kept(
            db,
            ("team_members", user.role, user.township_code, int(team_id)),
            lambda: prepared_table(
                teams.member_list(db, user, team_id=team_id),
                {
                    "name": "姓名",
                    "role_in_team": "职务",
                    "gender": "性别",
                    "phone": "手机号",
                    "id_masked": "身份证号",
                    "specialty": "专长",
                    "training_passed": "已培训",
                    "insurance_until": "保险到期",
                },
                {"role_in_team": enums.MEMBER_ROLES},
            ),
        )
    )

    team_township = None if pd.isna(chosen["township_code"]) else chosen["township_code"]
    if user.may_write(team_township):
        record = teams.team_record(db, int(team_id))
        seen, saved_as = drawn("team", record), "team"  # what a save is checked against
        domains_box = lazy_expander("修改覆盖领域、登记团体保险", "team_domains_open")  # run only while open
        if domains_box.open:
            with domains_box:
                current = record["domains"]
                with st.form("team_domains"):
                    new_domains = multiselect(
                        "覆盖领域",
                        list(enums.HAZARD_DOMAINS),
                        default=current,
                        format_func=label_of(enums.HAZARD_DOMAINS),
                    )
                    if st.form_submit_button("保存覆盖领域"):
                        write_feedback(
                            lambda: teams.set_team_domains(db, user, int(team_id), new_domains, expected=seen),
                            "已保存。",
                            saved_as,
                        )
                with st.form("team_insurance"):
                    until = st.date_input("团体意外伤害保险到期日", local_today().replace(year=local_today().year + 1))
                    if st.form_submit_button("为全体在册队员登记"):
                        write_feedback(
                            lambda: teams.renew_team_insurance(db, user, int(team_id), until),
                            "已为全体在册队员登记保险。",
                        )
        edit_box = lazy_expander("修改或撤销该队伍", "team_edit_open")
        if edit_box.open:
            with edit_box:
                with st.form("edit_team"):
                    name = st.text_input("队伍名称", chosen["name"])
                    leader = st.text_input("负责人", chosen["leader_name"] or "")
                    equipment = st.text_input("装备", chosen["equipment"] or "")
                    phone = st.text_input("值班电话", "")
                    st.caption("值班电话留空则不修改。")
                    if st.form_submit_button("保存修改"):
                        changes = {"name": name, "leader_name": leader, "equipment": equipment}
                        if phone.strip():
                            changes["duty_phone"] = phone.strip()
                        write_feedback(
                            lambda: teams.update_team(db, user, int(team_id), changes, expected=seen),
                            "已保存。",
                            saved_as,
                        )
                with st.form("disband_team"):
                    on = st.date_input("撤销日期", local_today())
                    reason = st.text_input("撤销原因")
                    if st.form_submit_button("撤销队伍（保留历史）"):
                        write_feedback(
                            lambda: teams.disband_team(db, user, int(team_id), on, reason, expected=seen),
                            "队伍已撤销。",
                            saved_as,
                        )
                record_actions.team_basics(db, user, int(team_id), seen)
                record_actions.void_section(db, user, "teams", int(team_id), team_township, str(chosen["name"]))

record_actions.voided_section(db, user, "teams")

if user.role != "viewer":
    record_actions.saved("new_team")
    create_box = lazy_expander("新增队伍", "new_team_open")
    if create_box.open:
        with create_box, st.form(record_actions.form_key("new_team")):
            name = st.text_input("队伍名称")
            kind_new = st.selectbox("类别", list(enums.TEAM_KINDS), format_func=label_of(enums.TEAM_KINDS))
            levels = list(enums.TEAM_LEVELS) if user.is_admin else [lv for lv in enums.TEAM_LEVELS if lv != "county"]
            level_new = st.selectbox("层级", levels, format_func=label_of(enums.TEAM_LEVELS))
            own = {k: v for k, v in towns.items() if v and (user.is_admin or v == user.township_code)}
            town_new = own[st.selectbox("所属乡镇（县级队伍不填）", list(own))] if own else None
            domains = multiselect("覆盖领域", list(enums.HAZARD_DOMAINS), format_func=label_of(enums.HAZARD_DOMAINS))
            leader = st.text_input("负责人")
            phone = st.text_input("值班电话")
            founded = st.date_input("成立日期", local_today())
            if st.form_submit_button("保存", type="primary"):
                data = {
                    "name": name,
                    "kind": kind_new,
                    "level": level_new,
                    "leader_name": leader,
                    "township_code": None if level_new == "county" else town_new,
                    "duty_phone": phone,
                    "established_on": founded,
                }
                record_actions.save_and_clear(
                    "new_team", lambda: teams.create_team(db, user, data, domains), "已新增队伍"
                )
