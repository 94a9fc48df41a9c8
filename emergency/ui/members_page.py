"""队员: the roster with personal data masked by role, Excel export, and the audited ID reveal."""
from datetime import date

import streamlit as st

from emergency import enums, exports, teams
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import show_table, township_options, write_feedback

user = require_login()
db = get_db()
st.title("队员")
st.caption("手机号仅对管理员和本乡镇填报员完整显示；身份证号一律脱敏显示。")

towns = township_options(db)
default = list(towns.values()).index(user.township_code) if user.township_code in towns.values() else 0
township = towns[st.selectbox("乡镇", list(towns), index=default)]
frame = teams.member_list(db, user, township_code=township)
columns = {"name": "姓名", "team_name": "所属队伍", "role_in_team": "职务", "gender": "性别", "birth_date": "出生日期",
           "phone": "手机号", "id_masked": "身份证号", "specialty": "专长", "training_passed": "已培训",
           "insurance_until": "保险到期", "joined_on": "入队日期"}
st.caption(f"共 {len(frame)} 人")
shown = show_table(frame, columns, {"role_in_team": enums.MEMBER_ROLES}, height=420)

st.download_button("导出 Excel", data=lambda: exports.export_xlsx(db, user, shown, "队员名单"),
                   file_name=f"队员名单_{date.today():%Y%m%d}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

if user.is_admin:
    with st.expander("查看完整身份证号（将记入审计日志）"):
        with st.form("reveal"):
            member_id = st.number_input("队员编号", min_value=1, step=1)
            if st.form_submit_button("查看"):
                try:
                    st.code(teams.reveal_id_number(db, user, int(member_id)))
                except ValueError as exc:
                    st.error(str(exc))

if user.role != "viewer":
    with st.expander("新增队员"):
        team_frame = teams.team_list(db, township_code=None if user.is_admin else user.township_code)
        names = dict(zip(team_frame["id"], team_frame["name"]))
        with st.form("new_member"):
            team_id = st.selectbox("所属队伍", list(names), format_func=lambda i: names[i])
            name = st.text_input("姓名")
            phone = st.text_input("手机号")
            id_number = st.text_input("身份证号")
            role = st.selectbox("职务", list(enums.MEMBER_ROLES), index=2, format_func=enums.MEMBER_ROLES.get)
            trained = st.checkbox("已通过培训")
            joined = st.date_input("入队日期", date.today())
            if st.form_submit_button("保存", type="primary"):
                data = {"team_id": int(team_id), "name": name, "phone": phone, "role_in_team": role,
                        "training_passed": trained, "joined_on": joined}
                result = {}
                if write_feedback(lambda: result.update(r=teams.add_member(db, user, data, id_number)), "已新增队员。"):
                    for warning in result["r"][1]:
                        st.warning(warning)
