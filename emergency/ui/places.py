"""区划: the townships, forest farms and villages, with the coordinates we have and those we lack."""

import streamlit as st

from emergency import regions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import draw_frame, page_help

user = require_login()
db = get_db()
st.title("乡镇与村（社区）")
page_help("places")
st.caption(regions.ATTRIBUTION)

towns = regions.township_table(db)
draw_frame(towns)

missing = regions.missing_coordinates(db)
if missing:
    st.warning("以下单位没有可靠的驻地坐标，地图上不标注（不做推测）：" + "、".join(m["name"] for m in missing))

names = towns["名称"].tolist()
chosen = st.selectbox("查看村（社区）", names)
draw_frame(regions.village_table(db, chosen))
