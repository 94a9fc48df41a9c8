"""Streamlit entry point: the login gate, then navigation over the pages the role may see.

Run with `./start.sh`. No page is built before a successful login.
"""
import streamlit as st

from emergency.ui import session

st.set_page_config(page_title="应急准备登记与演练调度系统", layout="wide")

user = session.current_user()
if user is None:
    st.navigation([st.Page(session.login_page, title="登录")]).run()
else:
    session.sidebar(user)
    pages = {
        "概览": [st.Page("emergency/ui/overview.py", title="总览", default=True)],
        "队伍与演练": [
            st.Page("emergency/ui/teams_page.py", title="救援队伍", url_path="teams"),
            st.Page("emergency/ui/members_page.py", title="队员", url_path="members"),
            st.Page("emergency/ui/drills_page.py", title="演练记录",
                    url_path="drills"),
        ],
        "基础数据": [
            st.Page("emergency/ui/plans_page.py", title="专项应急预案", url_path="plans"),
            st.Page("emergency/ui/places.py", title="乡镇与村（社区）",
                    url_path="places"),
        ],
    }
    if user.is_admin:
        pages["系统管理"] = [
            st.Page("emergency/ui/users_page.py", title="用户管理", url_path="users"),
            st.Page("emergency/ui/audit_page.py", title="审计日志", url_path="audit"),
        ]
    # No page icons: Streamlit fetches their favicons from a Google CDN, which an intranet lacks.
    st.navigation(pages).run()
