"""演练记录: the list, and the quick log form (township preset, today's date, required fields first)."""
from datetime import date

import streamlit as st

from emergency import drills, enums
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import show_table, township_options, write_feedback

user = require_login()
db = get_db()
st.title("演练记录")

if user.role != "viewer":
    with st.expander("登记一次演练", expanded=False):
        towns = township_options(db, include_all=False)
        plans = dict(db.query("SELECT code, name FROM plans WHERE status = 'active' ORDER BY code"))
        with st.form("log_drill"):
            levels = list(enums.DRILL_LEVELS) if user.is_admin else ["township", "village", "enterprise"]
            level = st.selectbox("演练层级", levels, format_func=enums.DRILL_LEVELS.get)
            own = {k: v for k, v in towns.items() if user.is_admin or v == user.township_code}
            township = own[st.selectbox("所属乡镇（县级演练不适用）", list(own))]
            title = st.text_input("演练名称")
            held = st.date_input("演练日期", date.today(), max_value=date.today())
            plan_codes = st.multiselect("演练预案", list(plans), format_func=lambda c: f"{c} {plans[c]}")
            participants = st.number_input("参演人次", min_value=0, step=1)
            form = st.selectbox("形式", list(enums.DRILL_FORMS), index=1, format_func=enums.DRILL_FORMS.get)
            content = st.selectbox("内容", list(enums.DRILL_CONTENTS), format_func=enums.DRILL_CONTENTS.get)
            organiser = st.text_input("组织单位", "" if user.is_admin else f"{next(k for k, v in own.items())}人民政府")
            scenario = st.text_area("演练科目（可选）")
            problems = st.text_area("发现的问题（可选）")
            if st.form_submit_button("保存", type="primary"):
                data = {"title": title, "level": level, "organiser": organiser, "held_on": held,
                        "township_code": None if level == "county" else township, "form": form,
                        "content": content, "purpose": "testing", "participants": int(participants),
                        "scenario": scenario or None, "problems": problems or None}
                write_feedback(lambda: drills.create_drill(db, user, data, plan_codes), "已登记演练。")

years = [int(y) for (y,) in db.query("SELECT DISTINCT year(held_on) FROM drills ORDER BY 1 DESC")] or [date.today().year]
cols = st.columns(3)
year = cols[0].selectbox("年度", years)
towns_all = township_options(db)
township_filter = towns_all[cols[1].selectbox("乡镇", list(towns_all))]
level_filter = cols[2].selectbox("层级", [None, *enums.DRILL_LEVELS],
                                 format_func=lambda c: "全部" if c is None else enums.DRILL_LEVELS[c])
frame = drills.drill_list(db, year=year, township_code=township_filter, level=level_filter)
st.caption(f"共 {len(frame)} 场次，参演 {int(frame['participants'].sum()) if len(frame) else 0} 人次")
show_table(frame, {"held_on": "日期", "title": "演练名称", "level": "层级", "township_name": "乡镇",
                   "organiser": "组织单位", "form": "形式", "participants": "参演人次", "plans": "预案"},
           {"level": enums.DRILL_LEVELS, "form": enums.DRILL_FORMS})
