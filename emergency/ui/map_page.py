"""地图: township seats coloured by linkage status and sized by teams, offline (local Leaflet, no tiles
unless configured); the places without a coordinate beside it; a township's detail below."""

import streamlit as st

from emergency import linkage, mapview, regions
from emergency.hygiene import escape_markdown as md
from emergency.ui.folium_view import show_map
from emergency.ui.map_cache import (
    cached_drills,
    cached_teams,
    map_data_now,
    places_without_coordinates,
    township_villages,
)
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import draw_prepared, label_of, lazy_tabs, page_help, page_number, pager, write_feedback

MARKDOWN_COLOURS = {"green": "green", "amber": "orange", "red": "red"}

user = require_login()
db = get_db()
st.title("乡镇地图")
page_help("map")
demo_banner(db)

now = linkage._now()
data = map_data_now(db, now)  # kept per linkage status period and data write
towns = {t["code"]: t for t in data["townships"]}

left, right = st.columns([3, 1])
with left:
    # Built and rendered only when the data changed since the last view (folium_view caches it).
    result = show_map(
        data,
        lambda: mapview.build_map(data),
        key="township_map",
        height=620,
        returned_objects=["last_object_clicked", "last_active_drawing"],
    )
    tiles = data["tiles"]
    st.caption(
        (
            "底图：" + md(tiles["attribution"]) + "（" + mapview.DATUMS[tiles["datum"]] + "）"
            if tiles
            else "离线模式：无在线底图，仅绘制县界与乡镇驻地。"
        )
        + " "
        + data["attribution"]
    )
with right:
    st.markdown("**图例（联动状态）**")
    for status, label in linkage.STATUS_LABELS.items():
        count = sum(1 for t in data["townships"] if t["status"] == status)
        st.markdown(f"- :{MARKDOWN_COLOURS[status]}[●] {label}：{count} 个乡镇")
    st.caption(
        "圆点大小表示在册队伍数；图层可在地图右上角切换（队伍、企业、近12个月演练按乡镇驻地汇总；"
        "应急物资储备库、避难场所、隐患点和队伍驻地按登记的坐标标注，无坐标的不标注）。"
    )
    missing, unplaced_villages, total_villages = places_without_coordinates(db)
    st.markdown("**无坐标的单位（地图上不标注，不做推测）**")
    for unplaced in missing:
        st.markdown(f"- {unplaced['name']}" + ("" if unplaced["is_township"] else "（林场）"))
    placed_villages = len(data["villages"])
    st.caption(f"村（社区）坐标：已登记 {placed_villages} / {total_villages} 个。")
    if user.is_admin:
        with st.expander("设置坐标（管理员）", expanded=bool(missing)):
            options = {f"{m['name']}": m["code"] for m in missing}
            options.update({f"{v['township_name']} / {v['name']}": v["code"] for v in unplaced_villages})
            with st.form("set_coordinates"):
                place = st.selectbox("单位", list(options))
                lon = st.number_input("经度", min_value=0.0, max_value=180.0, value=None, format="%.6f")
                lat = st.number_input("纬度", min_value=0.0, max_value=90.0, value=None, format="%.6f")
                datum = st.radio("所填坐标系", list(mapview.DATUMS), format_func=label_of(mapview.DATUMS))
                note = st.text_input("来源说明", placeholder="如：乡镇政府提供，2026年实测")
                if st.form_submit_button("保存坐标"):
                    if lon is None or lat is None or place is None:
                        st.error("未保存：经度和纬度都必须填写")
                    else:
                        if datum == "gcj02":
                            lon, lat = mapview.gcj02_to_wgs84(lon, lat)
                        if write_feedback(
                            lambda: regions.set_coordinates(db, user, options[place], lon, lat, note),
                            f"已保存 {place} 的坐标（WGS-84 {lon:.5f}, {lat:.5f}）",
                        ):
                            st.rerun()

# A click on the map selects the township shown below.
clicked = mapview.clicked_township(data, result)
if clicked and clicked != st.session_state.get("map_last_click"):
    st.session_state["map_last_click"] = clicked
    st.session_state["map_township"] = towns[clicked]["name"]

st.subheader("乡镇详情")
names = [t["name"] for t in data["townships"]]
if st.session_state.get("map_township") not in names:
    st.session_state["map_township"] = names[0]
chosen = st.selectbox("乡镇（也可在地图上点击驻地）", names, key="map_township")
town = next(t for t in data["townships"] if t["name"] == chosen)
st.caption(
    f"{chosen} · 统计区划代码 {town['code']} · 驻地坐标（WGS-84）："
    + (f"{town['lon']:.5f}, {town['lat']:.5f}" if town["lon"] is not None else "缺失")
)
cols = st.columns(5)
cols[0].metric("联动状态", linkage.STATUS_LABELS[town["status"]])
cols[1].metric("在册队伍（支）", town["teams"])
cols[2].metric("在册队员（人）", f"{town['members']:,}")
cols[3].metric("近12个月演练（场）", town["drills"])
cols[4].metric("重点企业（家）", town["enterprises"])
if town["lon"] is None:
    st.info(f"{chosen} 没有可靠的驻地坐标，地图上未标注。")
if town["reasons"]:
    st.warning("需关注：" + "；".join(town["reasons"]))
# Lazy tabs: a view draws the open tab's table only (plain st.tabs draws all three grids).
tab_villages, tab_teams, tab_drills = lazy_tabs(["村（社区）", "救援队伍", "近12个月演练"], "map_tab")
if tab_villages.open:
    with tab_villages:
        draw_prepared(township_villages(db, town["code"], now))
if tab_teams.open:
    with tab_teams:
        team_page = page_number("map_teams", {"town": town["code"]})
        viewer = (user.role, user.township_code)
        listed = cached_teams(
            str(db.path), db.generation_of(*mapview.TEAM_READS), town["code"], team_page, viewer, user
        )
        pager("map_teams", listed, unit="支队伍")
        draw_prepared(listed.rows)
if tab_drills.open:
    with tab_drills:
        drill_page_number = page_number("map_drills", {"town": town["code"]})
        held = cached_drills(
            str(db.path), db.generation_of(*mapview.DRILL_READS), now.date(), town["code"], drill_page_number
        )
        pager("map_drills", held, unit="场演练")
        draw_prepared(held.rows)
st.page_link("emergency/ui/linkage_page.py", label="查看三级联动详情")

if user.is_admin:
    with st.expander("地图设置（管理员）：在线底图与乡镇边界"):
        st.markdown(
            "默认离线：不加载任何在线底图。内网有瓦片服务或可访问互联网时，可填写瓦片地址；"
            "高德等 GCJ-02 瓦片会自动把所有叠加图层从 WGS-84 换算到 GCJ-02。"
        )
        current = data["tiles"] or {}
        with st.form("tiles"):
            url = st.text_input(
                "瓦片地址（留空为离线模式）",
                value=current.get("url", ""),
                placeholder="https://t0.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=密钥",
            )
            datum = st.selectbox(
                "瓦片坐标系",
                list(mapview.DATUMS),
                format_func=label_of(mapview.DATUMS),
                index=list(mapview.DATUMS).index(current.get("datum", "wgs84")),
            )
            attribution = st.text_input("版权说明", value=current.get("attribution", ""))
            if st.form_submit_button("保存底图设置"):
                if write_feedback(lambda: mapview.set_tile_config(db, user, url, datum, attribution), "已保存底图设置"):
                    st.rerun()
        st.markdown(
            "乡镇边界（GeoJSON FeatureCollection，WGS-84；每个要素的 properties 含乡镇 `code`（统计区划代码）"
            "或 `name`）。上传后乡镇以边界面按联动状态着色。"
        )
        upload = st.file_uploader("上传乡镇边界 GeoJSON", type=["geojson", "json"])
        if upload is not None and st.button("校验并保存边界"):
            if write_feedback(lambda: mapview.set_boundaries(db, user, upload.getvalue()), "已保存乡镇边界"):
                st.rerun()
        if data["boundaries"] and st.button("删除已上传的乡镇边界"):
            if write_feedback(lambda: mapview.set_boundaries(db, user, None), "已删除乡镇边界"):
                st.rerun()
