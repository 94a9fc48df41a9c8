"""区划: the townships, forest farms and villages, with the coordinates we have and those we lack."""

import streamlit as st

from emergency import regions
from emergency.ui.session import require_login
from emergency.ui.state import get_db

user = require_login()
db = get_db()
st.title("乡镇与村（社区）")
st.caption(regions.ATTRIBUTION)

towns = regions.township_table(db)
st.dataframe(towns, hide_index=True, width="stretch")

missing = regions.missing_coordinates(db)
if missing:
    st.warning("以下单位没有可靠的驻地坐标，地图上不标注（不做推测）：" + "、".join(m["name"] for m in missing))

names = towns["名称"].tolist()
chosen = st.selectbox("查看村（社区）", names)
st.dataframe(regions.village_table(db, chosen), hide_index=True, width="stretch")
