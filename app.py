"""Streamlit entry point: navigation over the pages (run with `./start.sh`)."""
import streamlit as st

st.set_page_config(page_title="应急准备登记与演练调度系统", page_icon=":material/shield:", layout="wide")

pages = {
    "概览": [st.Page("emergency/ui/overview.py", title="总览", icon=":material/dashboard:", default=True)],
    "基础数据": [
        st.Page("emergency/ui/plans_page.py", title="专项应急预案", icon=":material/menu_book:", url_path="plans"),
        st.Page("emergency/ui/places.py", title="乡镇与村（社区）", icon=":material/location_city:", url_path="places"),
    ],
}
st.navigation(pages).run()
