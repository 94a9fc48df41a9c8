"""Streamlit entry point: the login gate, then navigation over the pages the role may see
(listed in emergency/ui/nav.py). Run with `./start.sh`. No page is built before a successful login,
but for the public pages of nav.PUBLIC_PAGES (the personal 叫应 link, whose token is its credential).
"""

import streamlit as st

from emergency.ui import nav, session, widgets

st.set_page_config(page_title="应急准备登记与演练调度系统", layout="wide")
widgets.chinese_widgets()

# No page icons anywhere: Streamlit fetches their favicons from a Google CDN, which an intranet lacks.
public = [st.Page(s.path, title=s.title, url_path=s.url_path, visibility="hidden") for s in nav.PUBLIC_PAGES]
user = session.current_user()
if user is None:
    # Every page's URL shows the login form (not "Page not found"), and opens that page after the login.
    hidden = [
        st.Page(session.login_page, title="登录", url_path=spec.url_path, visibility="hidden") for spec in nav.PAGES
    ]
    st.navigation([st.Page(session.login_page, title="登录", default=True), *hidden, *public]).run()
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
    # The pages this role may not see keep their URLs, hidden, and say so in Chinese (instead of
    # Streamlit's "Page not found ... Running the app's main page"); the pages refuse on their own too.
    navigation.setdefault("", []).extend(
        st.Page(widgets.no_access_page, title=spec.title, url_path=spec.url_path, visibility="hidden")
        for spec in nav.PAGES
        if user.role not in spec.roles
    )
    with session.checked_for_this_run(user):  # the page's require_login need not check the token again
        st.navigation(navigation, expanded=True).run()  # every page listed, none hidden under "View more"
