"""用户管理 (admin): accounts, new users, unlock, password reset, role, disable/enable.

A password reset, a role change or disabling ends every open session of that user (auth.py).
"""

import streamlit as st

from emergency import auth, enums
from emergency.ui import record_actions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import draw_frame, label_of, page_help, township_options, write_feedback

user = require_login()
db = get_db()
st.title("用户管理")
page_help("users")
if not user.is_admin:
    st.error("只有县应急管理局管理员可以管理用户。")
    st.stop()

frame = auth.list_users(db)
frame["角色"] = frame["角色"].map(enums.USER_ROLES.get)
draw_frame(frame)

record_actions.saved("new_user")  # what the last 创建 made; the form below is drawn empty after it
with st.form(record_actions.form_key("new_user")):
    st.subheader("新建用户")
    username = st.text_input("用户名")
    name = st.text_input("姓名")
    role = st.selectbox("角色", list(enums.USER_ROLES), format_func=label_of(enums.USER_ROLES))
    towns = township_options(db, include_all=False)
    township = towns[st.selectbox("所属乡镇（仅乡镇填报员）", list(towns))]
    password = st.text_input("初始密码", type="password")
    if st.form_submit_button("创建", type="primary"):
        record_actions.save_and_clear(
            "new_user",
            lambda: auth.create_user(
                db, user, username, name, role, password, township if role == "township" else None
            ),
            "已创建用户",
            number=lambda made: made.id,
        )

with st.form("unlock"):
    st.subheader("解锁账号 / 重置密码")
    target = st.selectbox("用户", frame["用户名"].tolist())
    new_password = st.text_input("新密码（留空则只解锁）", type="password")
    if st.form_submit_button("执行"):
        if new_password:
            write_feedback(lambda: auth.set_password(db, user, target, new_password), "已重置密码并解锁。")
        else:
            write_feedback(lambda: auth.unlock(db, user, target), "已解锁。")

with st.form("account"):
    st.subheader("调整角色 / 停用或启用账号")
    st.caption("重置密码、调整角色或停用账号后，该用户所有已登录的页面立即失效，须重新登录。")
    target = st.selectbox("用户", frame["用户名"].tolist(), key="account_user")
    new_role = st.selectbox(
        "新角色", list(enums.USER_ROLES), format_func=label_of(enums.USER_ROLES), key="account_role"
    )
    new_township = towns[st.selectbox("所属乡镇（仅乡镇填报员）", list(towns), key="account_township")]
    change_role = st.form_submit_button("修改角色")
    disable = st.form_submit_button("停用账号")
    enable = st.form_submit_button("启用账号")
if change_role:
    write_feedback(
        lambda: auth.set_role(db, user, target, new_role, new_township if new_role == "township" else None),
        "已修改角色，该用户须重新登录。",
    )
if disable:
    write_feedback(lambda: auth.set_active(db, user, target, False), "已停用账号，该用户已被退出登录。")
if enable:
    write_feedback(lambda: auth.set_active(db, user, target, True), "已启用账号。")
