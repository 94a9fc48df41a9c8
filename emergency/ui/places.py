"""区划: the townships, forest farms and villages, with the coordinates we have and those we lack."""

import streamlit as st

from emergency import regions
from emergency.ui.session import require_login
from emergency.ui.state import get_db

user = require_login()
db = get_db()
st.title("乡镇与村（社区）")
st.caption(regions.ATTRIBUTION)

towns = db.frame(
    "SELECT t.name AS 名称, t.kind AS 类型, t.code AS 统计区划代码,"
    " CASE WHEN t.is_township THEN '乡镇' ELSE '林场（不计入乡镇）' END AS 性质,"
    " (SELECT count(*) FROM villages v WHERE v.township_code = t.code AND NOT v.is_virtual) AS 村社区数,"
    " coalesce(CAST(round(t.lon, 6) AS VARCHAR) || ', ' || CAST(round(t.lat, 6) AS VARCHAR), '坐标缺失') AS 驻地坐标WGS84,"
    " t.coord_note AS 说明 FROM townships t ORDER BY t.sort_order"
)
st.dataframe(towns, hide_index=True, width="stretch")

missing = regions.missing_coordinates(db)
if missing:
    st.warning("以下单位没有可靠的驻地坐标，地图上不标注（不做推测）：" + "、".join(m["name"] for m in missing))

names = towns["名称"].tolist()
chosen = st.selectbox("查看村（社区）", names)
st.dataframe(
    db.frame(
        "SELECT v.name AS 名称, v.kind AS 类型, v.code AS 统计区划代码 FROM villages v"
        " JOIN townships t ON t.code = v.township_code WHERE t.name = ? ORDER BY v.code",
        [chosen],
    ),
    hide_index=True,
    width="stretch",
)
