"""Streamlit entry point: the login gate, then navigation over the pages the role may see
(listed in emergency/ui/nav.py). Run with `./start.sh`. No page is built before a successful login,
but for the public pages of nav.PUBLIC_PAGES (the personal 叫应 link, whose token is its credential).
"""

import streamlit as st

from emergency.ui import nav, session

st.set_page_config(page_title="应急准备登记与演练调度系统", layout="wide")

# No page icons anywhere: Streamlit fetches their favicons from a Google CDN, which an intranet lacks.
public = [st.Page(s.path, title=s.title, url_path=s.url_path, visibility="hidden") for s in nav.PUBLIC_PAGES]
user = session.current_user()
if user is None:
    st.navigation([st.Page(session.login_page, title="登录"), *public]).run()
else:
    session.sidebar(user)
    sections = nav.pages_for(user.role)
    first = True
    navigation = {}
    for section, specs in sections.items():
        navigation[section] = []
        for spec in specs:
            navigation[section].append(st.Page(spec.path, title=spec.title, url_path=spec.url_path, default=first))
            first = False
    navigation[next(iter(navigation))] += public  # hidden: only their links lead there
    st.navigation(navigation, expanded=True).run()  # every page listed, none hidden under "View more"
