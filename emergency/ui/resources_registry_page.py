"""避难场所、隐患点与专家: shelters, hazard points (with the people the village chain calls), experts,
team bases; each with its create and edit forms and import/export."""

import streamlit as st

from emergency.enums import (
    EXPERT_AVAILABILITY,
    HAZARD_DOMAINS,
    HAZARD_POINT_KINDS,
    RESOURCE_ITEMS,
    SHELTER_KINDS,
    TEAM_READINESS,
    TEAM_STAFFING,
)
from emergency.resources import bases, registry
from emergency.ui.resources_widgets import (
    coordinate_picker,
    coordinate_text,
    hazard_record,
    registry_edit,
    registry_form,
    transfer_section,
)
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import (
    draw_prepared,
    kept_paged,
    label_of,
    lazy_tabs,
    page_help,
    prepared_table,
    township_options,
    write_feedback,
)

user = require_login()
db = get_db()
st.title("避难场所、隐患点与专家")
page_help("resources-registry")
demo_banner(db)

towns = township_options(db)
names = {v: k for k, v in towns.items()}
default = list(towns).index(names[user.township_code]) if user.township_code in names else 0
township = towns[st.selectbox("乡镇", list(towns), index=default)]
viewer = (user.role, user.township_code)  # what masks the lists' phones

tab_shelters, tab_hazards, tab_experts, tab_bases, tab_depots = lazy_tabs(
    ["应急避难场所", "隐患点", "专家库", "队伍驻地与备勤", "储备库导入导出"], "registry_tab"
)
with tab_shelters:
    if tab_shelters.open:

        def _shelter_table(rows):
            rows["coordinate"] = coordinate_text(rows)  # for the page's rows only
            rows["open"] = rows["is_open"].map({True: "开放", False: "关闭"})
            return prepared_table(
                rows,
                {
                    "name": "场所名称",
                    "kind": "类型",
                    "township_name": "所属乡镇",
                    "capacity": "容纳人数",
                    "facilities": "设施",
                    "manager_name": "管理人",
                    "manager_phone": "管理人电话",
                    "coordinate": "坐标（WGS-84）",
                    "open": "开放状态",
                },
                {"kind": SHELTER_KINDS},
            )

        _, shelters, table = kept_paged(
            db,
            "shelters",
            {"township": township},
            lambda: registry.listing(db, user, "shelters", township_code=township),
            _shelter_table,
            depends=viewer,
        )
        draw_prepared(table)
        registry_form(db, user, "shelters")
        registry_edit(db, user, "shelters", shelters)
        transfer_section(db, user, "shelters")
with tab_hazards:
    if tab_hazards.open:

        def _hazard_table(rows):
            rows["coordinate"] = coordinate_text(rows)
            return prepared_table(
                rows,
                {
                    "code": "编号",
                    "name": "隐患点名称",
                    "kind": "类型",
                    "township_name": "所属乡镇",
                    "village_name": "所属村（社区）",
                    "people_threatened": "威胁人数",
                    "households": "威胁户数",
                    "responsible_name": "责任人",
                    "responsible_phone": "责任人电话",
                    "monitor_name": "监测员",
                    "monitor_phone": "监测员电话",
                    "coordinate": "坐标（WGS-84）",
                },
                {"kind": HAZARD_POINT_KINDS},
            )

        all_hazards, hazards, table = kept_paged(
            db,
            "hazards",
            {"township": township},
            lambda: registry.listing(db, user, "hazards", township_code=township),
            _hazard_table,
            depends=viewer,
        )
        unplaced = int((all_hazards["lon"].isna() | all_hazards["lat"].isna()).sum())
        threatened = int(all_hazards["people_threatened"].sum()) if len(all_hazards) else 0
        st.caption(
            f"共 {len(all_hazards)} 个隐患点，威胁 {threatened} 人；"
            f"无坐标的 {unplaced} 个不在地图上标注（不做推测）。"
            "责任人和监测员是所在村叫应时要呼叫的人。"
        )
        draw_prepared(table)
        hazard_record(db, user, township)
        registry_form(db, user, "hazards")
        registry_edit(db, user, "hazards", hazards)
        transfer_section(db, user, "hazards")
with tab_experts:
    if tab_experts.open:
        _, experts, table = kept_paged(
            db,
            "experts",
            {"township": township},
            lambda: registry.listing(db, user, "experts"),
            lambda rows: prepared_table(
                rows,
                {
                    "name": "姓名",
                    "field": "专业领域",
                    "unit": "工作单位",
                    "title": "职称",
                    "phone": "电话",
                    "availability": "可调用状态",
                },
                {"field": HAZARD_DOMAINS, "availability": EXPERT_AVAILABILITY},
            ),
            depends=viewer,
        )
        draw_prepared(table)
        registry_form(db, user, "experts")
        registry_edit(db, user, "experts", experts)
        transfer_section(db, user, "experts")
with tab_bases:
    if tab_bases.open:

        def _base_table(rows):
            rows["coordinate"] = coordinate_text(rows)
            return prepared_table(
                rows,
                {
                    "name": "队伍名称",
                    "township_name": "所属乡镇",
                    "address": "驻地地址",
                    "coordinate": "驻地坐标（WGS-84）",
                    "staffing": "专兼职",
                    "supervising_unit": "主管单位",
                    "readiness": "备勤状态",
                },
                {"staffing": TEAM_STAFFING, "readiness": TEAM_READINESS},
            )

        _, frame, table = kept_paged(
            db, "bases", {"township": township}, lambda: bases.base_frame(db, township), _base_table
        )
        draw_prepared(table)
        if user.role != "viewer" and len(frame):
            teams = dict(
                zip(frame["name"] + "（" + frame["township_name"].fillna("县级") + "）", frame["id"], strict=True)
            )
            chosen = st.selectbox("队伍", list(teams), key="base_team")
            current = bases.team_base(db, int(teams[chosen]))
            lon_key, lat_key = f"base_lon_{teams[chosen]}", f"base_lat_{teams[chosen]}"
            st.session_state.setdefault(lon_key, current["lon"])
            st.session_state.setdefault(lat_key, current["lat"])
            coordinate_picker(db, f"base_{teams[chosen]}", lon_key, lat_key)
            with st.form("team_base"):
                address = st.text_input("驻地地址", value=current["address"] or "")
                lon = st.number_input("经度（WGS-84，不知道就不填）", value=None, format="%.6f", key=lon_key)
                lat = st.number_input("纬度（WGS-84）", value=None, format="%.6f", key=lat_key)
                staffing = st.selectbox("专兼职", list(TEAM_STAFFING), format_func=label_of(TEAM_STAFFING))
                unit = st.text_input("主管单位", value=current["supervising_unit"] or "")
                readiness = st.selectbox("备勤状态", list(TEAM_READINESS), format_func=label_of(TEAM_READINESS))
                if st.form_submit_button("保存驻地"):
                    data = {
                        "address": address,
                        "lon": lon,
                        "lat": lat,
                        "staffing": staffing,
                        "supervising_unit": unit,
                        "readiness": readiness,
                    }
                    write_feedback(lambda: bases.set_team_base(db, user, int(teams[chosen]), data), "已保存驻地")
            equipment = bases.equipment_of(db, int(teams[chosen]))
            st.caption(
                "装备与车辆："
                + ("、".join(f"{e['name']}{e['quantity']}{e['unit']}" for e in equipment) if equipment else "未登记")
            )
            with st.form("team_equipment"):
                item = st.selectbox(
                    "装备",
                    list(RESOURCE_ITEMS),
                    format_func=lambda c: f"{RESOURCE_ITEMS[c][0]}（{RESOURCE_ITEMS[c][1]}）",
                )
                quantity = st.number_input("数量（0 为删除）", min_value=0, step=1, value=0)
                if st.form_submit_button("保存装备"):
                    items = {e["item_code"]: e["quantity"] for e in equipment} | {item: int(quantity)}
                    write_feedback(lambda: bases.set_team_equipment(db, user, int(teams[chosen]), items), "已保存装备")
        transfer_section(db, user, "team-bases")
        transfer_section(db, user, "equipment")
with tab_depots:
    if tab_depots.open:
        st.caption("储备库的登记、库存和出入库在“物资储备”页面。")
        transfer_section(db, user, "depots")
