"""队员: the roster with personal data masked by role, filters and Excel export, one member's record
(edit, move to another team, training, insurance, certificates, leave), the audited ID reveal, new member."""

import pandas as pd
import streamlit as st

from emergency import enums, imports, teams
from emergency.db import local_today
from emergency.ui import record_actions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    kept,
    label_of,
    lazy_expander,
    lazy_tabs,
    list_key,
    page_help,
    page_number,
    pager,
    picker,
    prepared_table,
    show_table,
    township_options,
    write_feedback,
)

PAGE_SIZE = 200  # paging.MAX_PAGE_SIZE: one page of the roster

user = require_login()
db = get_db()
st.title("队员")
record_actions.voided_note("members")
page_help("members")
st.caption(
    "手机号仅对管理员和本乡镇填报员完整显示；身份证号一律脱敏显示；出生日期仅对管理员完整显示，其他账号只显示出生年份。"
)

towns = township_options(db)
default = list(towns.values()).index(user.township_code) if user.township_code in towns.values() else 0
cols = st.columns([2, 2, 1])
with cols[0]:
    township = towns[st.selectbox("乡镇", list(towns), index=default)]
with cols[1]:
    search = st.text_input("按姓名或队伍名称查找")
with cols[2]:
    untrained_only = st.checkbox("只看未培训")
filters = {"township_code": township, "search": search, "untrained_only": untrained_only}
page = page_number("members", filters)
columns = {
    "name": "姓名",
    "team_name": "所属队伍",
    "role_in_team": "职务",
    "gender": "性别",
    "birth_date": teams.birth_label(user),
    "phone": "手机号",
    "id_masked": "身份证号",
    "specialty": "专长",
    "training_passed": "已培训",
    "insurance_until": "保险到期",
    "joined_on": "入队日期",
}


def _member_view() -> tuple:
    found = teams.member_page(db, user, page=page, page_size=PAGE_SIZE, **filters)
    return found, prepared_table(found.rows, columns, {"role_in_team": enums.MEMBER_ROLES})


result, table = kept(db, list_key("members", page, filters, user), _member_view)
frame = result.rows
pager("members", result, unit="人")
draw_prepared(table, height=420)

st.download_button(
    "导出 Excel（当前筛选）",
    data=lambda: imports.export_xlsx(db, user, "members", **filters),
    file_name=f"队员名单_{local_today():%Y%m%d}.xlsx",
    key="export_members",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click="ignore",
)

if user.is_admin:
    reveal_id_box = lazy_expander("查看完整身份证号（将记入审计日志）", "reveal_id_open")  # runs only while open
    if reveal_id_box.open:
        with reveal_id_box, st.form("reveal"):
            member_id = st.number_input("队员编号", min_value=1, step=1)
            if st.form_submit_button("查看"):
                try:
                    st.code(teams.reveal_id_number(db, user, int(member_id)))
                except ValueError as exc:
                    st.error(str(exc))

writable = frame if user.is_admin else frame[frame["township_code"] == user.township_code]
if user.role != "viewer" and len(writable):
    manage_member_box = lazy_expander(
        "管理某位队员：修改、调队、培训、保险、证书、离队", "manage_member_open"
    )  # runs only while open
    if manage_member_box.open:
        with manage_member_box:
            labels = {
                int(i): f"{n}（{t}，编号 {i}）"
                for i, n, t in zip(writable["id"], writable["name"], writable["team_name"])
            }
            member_id = st.selectbox("队员", list(labels), format_func=label_of(labels), key="manage_member")
            member = teams.member_record(db, member_id)  # the forms show the record as it is now, not the list's row
            seen, saved_as = drawn("member", member), "member"  # what a save is checked against
            tab_edit, tab_move, tab_training, tab_certs, tab_leave = lazy_tabs(
                ["基本信息", "调队", "培训与保险", "证书", "离队"], "member_tab"
            )
            with tab_edit:
                if tab_edit.open:
                    with st.form("edit_member"):
                        phone = st.text_input("手机号（留空不修改）", "")
                        roles = list(enums.MEMBER_ROLES)
                        role = st.selectbox(
                            "职务",
                            roles,
                            index=roles.index(member["role_in_team"]),
                            format_func=label_of(enums.MEMBER_ROLES),
                        )
                        specialty = st.text_input("专长", member["specialty"] or "")
                        if st.form_submit_button("保存"):
                            changes = {"role_in_team": role, "specialty": specialty or None}
                            if phone.strip():
                                changes["phone"] = phone
                            write_feedback(
                                lambda: teams.update_member(db, user, member_id, changes, expected=seen),
                                "已保存。",
                                saved_as,
                            )
            with tab_move:
                if tab_move.open:
                    target = picker(
                        "调入队伍",
                        "move_target",
                        lambda text: teams.team_choices(
                            db,
                            text,
                            township_code=None if user.is_admin else user.township_code,
                            exclude_id=int(member["team_id"]),
                        ),
                        what="队伍",
                    )
                    with st.form("move_member"):
                        if st.form_submit_button("调队", disabled=target is None) and target is not None:
                            write_feedback(
                                lambda: teams.move_member(db, user, member_id, int(target), expected=seen),
                                "已调队。",
                                saved_as,
                            )
            with tab_training:
                if tab_training.open:
                    with st.form("training"):
                        passed = st.checkbox("已通过培训", bool(member["training_passed"]))
                        on = st.date_input(
                            "培训日期", member["training_on"] if pd.notna(member["training_on"]) else local_today()
                        )
                        if st.form_submit_button("保存培训"):
                            write_feedback(
                                lambda: teams.record_training(db, user, member_id, passed, on, expected=seen),
                                "已保存。",
                                saved_as,
                            )
                    with st.form("insurance"):
                        current = member["insurance_until"]
                        until = st.date_input("意外伤害保险到期", current if pd.notna(current) else local_today())
                        if st.form_submit_button("保存保险"):
                            write_feedback(
                                lambda: teams.set_insurance(db, user, member_id, until, expected=seen),
                                "已保存。",
                                saved_as,
                            )
            with tab_certs:
                if tab_certs.open:
                    certs = teams.certificates_of(db, member_id)
                    if len(certs):
                        show_table(
                            certs, {"name": "证书", "number": "编号", "issued_on": "发证日期", "expires_on": "有效期至"}
                        )
                        cert_names = {int(i): n for i, n in zip(certs["id"], certs["name"])}
                        cert_id = st.selectbox(
                            "证书", list(cert_names), format_func=label_of(cert_names), key="edit_certificate_pick"
                        )
                        seen_cert = drawn("certificate", teams.certificate_record(db, cert_id))
                        with st.form("edit_certificate"):
                            expires = st.date_input("新的有效期至", local_today())
                            if st.form_submit_button("更新有效期"):
                                write_feedback(
                                    lambda: teams.update_certificate(
                                        db, user, cert_id, {"expires_on": expires}, expected=seen_cert
                                    ),
                                    "已更新。",
                                    "certificate",
                                )
                    record_actions.saved("add_certificate")
                    with record_actions.once_form("add_certificate"):
                        cert_name = st.text_input("证书名称")
                        cert_number = st.text_input("证书编号")
                        issued = st.date_input("发证日期", local_today())
                        expires = st.date_input("有效期至", local_today().replace(year=local_today().year + 3))
                        if st.form_submit_button("登记证书"):
                            data = {
                                "name": cert_name,
                                "number": cert_number,
                                "issued_on": issued,
                                "expires_on": expires,
                            }
                            record_actions.submit_once(
                                "add_certificate",
                                lambda: teams.add_certificate(db, user, member_id, data),
                                "已登记证书。",
                            )
            with tab_leave:
                if tab_leave.open:
                    with st.form("leave"):
                        left = st.date_input("离队日期", local_today())
                        if st.form_submit_button("办理离队"):
                            write_feedback(
                                lambda: teams.member_leaves(db, user, member_id, left, expected=seen),
                                "已办理离队。",
                                saved_as,
                            )
            record_actions.member_basics(db, user, member_id, seen)
            record_actions.void_section(db, user, "members", member_id, member["township_code"], str(member["name"]))

record_actions.voided_section(db, user, "members")

if user.role != "viewer":
    record_actions.saved("new_member")
    new_member_box = lazy_expander("新增队员", "new_member_open")  # runs only while open
    if new_member_box.open:
        with new_member_box:
            team_id = picker(
                "所属队伍",
                "new_member_team",
                lambda text: teams.team_choices(db, text, township_code=None if user.is_admin else user.township_code),
                what="队伍",
            )
            with st.form(record_actions.form_key("new_member")):
                name = st.text_input("姓名")
                phone = st.text_input("手机号")
                id_number = st.text_input("身份证号")
                role = st.selectbox("职务", list(enums.MEMBER_ROLES), index=2, format_func=label_of(enums.MEMBER_ROLES))
                specialty = st.text_input("专长")
                trained = st.checkbox("已通过培训")
                trained_on = st.date_input("培训日期", local_today())
                insured = st.date_input("意外伤害保险到期", local_today().replace(year=local_today().year + 1))
                joined = st.date_input("入队日期", local_today())
                if st.form_submit_button("保存", type="primary", disabled=team_id is None) and team_id is not None:
                    data = {
                        "team_id": int(team_id),
                        "name": name,
                        "phone": phone,
                        "role_in_team": role,
                        "specialty": specialty or None,
                        "training_passed": trained,
                        "training_on": trained_on if trained else None,
                        "insurance_until": insured,
                        "joined_on": joined,
                    }
                    record_actions.save_and_clear(
                        "new_member",
                        lambda: teams.add_member(db, user, data, id_number),
                        "已新增队员",
                        number=lambda made: made[0],
                        notes=lambda made: made[1],  # e.g. the same ID number in another team
                    )
