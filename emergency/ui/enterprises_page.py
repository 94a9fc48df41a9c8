"""重点企业: the registry of regulated enterprises (create, edit, close) and their drill compliance."""

from typing import Any

import pandas as pd
import streamlit as st

from emergency import deadlines, enterprises, enums, paging, teams
from emergency.db import local_today
from emergency.rules import STATUS_LABELS
from emergency.ui import record_actions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    export_list,
    kept,
    label_of,
    lazy_expander,
    list_key,
    page_help,
    page_number,
    pager,
    prepared_table,
    search_bar,
    township_options,
    write_feedback,
)

user = require_login()
db = get_db()
today = local_today()
st.title("重点企业（单位）")
record_actions.voided_note("enterprises")
page_help("enterprises")
SECTORS = {code: label for code, (label, _) in enums.ENTERPRISE_SECTORS.items()}

towns = township_options(db)
names = {v: k for k, v in towns.items()}
cols = st.columns(3)
default = list(towns).index(names[user.township_code]) if user.township_code in names else 0
township = towns[cols[0].selectbox("乡镇", list(towns), index=default)]
sector = cols[1].selectbox("行业领域", [None, *SECTORS], format_func=lambda c: "全部" if c is None else SECTORS[c])
only_late = cols[2].checkbox("只看逾期或从未演练")

st.subheader("演练合规情况")
clock_filters = {"t": township, "s": sector, "l": only_late}
clock_page = page_number("enterprise_clocks", clock_filters)


def _compliance_view() -> tuple:
    """The counts per status, the page of clocks and its table as drawn for these filters: kept with
    the clocks (widgets.kept) until a data write, per day, so that a rerun filters and formats nothing."""
    rows = [
        r
        for r in kept(  # the rule over every enterprise: kept until a data write, per day
            db,
            ("enterprise_clocks", township),
            lambda: deadlines.enterprise_deadlines(db, today, township_code=township),
        )
        if (sector is None or r["sector"] == sector) and (not only_late or deadlines.is_late(r["status"]))
    ]
    if not rows:
        return None, None, None
    counts = pd.Series([r["status"] for r in rows]).value_counts().to_dict()
    clocks = paging.of_list(rows, clock_page)
    compliance = pd.DataFrame(clocks.rows)
    compliance["status_label"] = compliance["status"].map(STATUS_LABELS)
    return (
        counts,
        clocks,
        prepared_table(
            compliance,
            {
                "name": "企业名称",
                "sector": "行业领域",
                "township_name": "乡镇",
                "last_drill_on": "最近演练",
                "interval_months": "周期（月）",
                "due_on": "下次截止",
                "status_label": "状态",
                "drills_12m": "近12个月演练",
                "source": "依据",
            },
            {"sector": SECTORS},
        ),
    )


counts, clocks, clocks_table = kept(
    db, ("enterprise_compliance", township, sector, only_late, clock_page), _compliance_view
)
if counts is not None:
    st.caption(
        "、".join(f"{label} {counts.get(code, 0)} 家" for code, label in STATUS_LABELS.items())
        + "。半年一次：矿山、尾矿库、危化品、金属冶炼、建筑施工、人员密集场所、旅游景区（生产安全事故应急条例第8条）；"
        "其他单位每年一次（生产安全事故应急预案管理办法第33条）。"
    )
    pager("enterprise_clocks", clocks, unit="家")
    draw_prepared(clocks_table)
else:
    st.info("没有符合条件的企业。")

st.subheader("企业名录")
found = search_bar("enterprises", text_label="按企业名称或地址查找")
filters: dict[str, Any] = {"township_code": township, "sector": sector, "include_closed": True, "search": found.text}
columns = {
    "id": "编号",
    "name": "企业名称",
    "sector": "行业领域",
    "township_name": "乡镇",
    "village_name": "村（社区）",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "closed_on": "关闭日期",
}
page = page_number("enterprises", filters)


def _enterprise_view() -> tuple:
    found = enterprises.enterprise_page(db, page=page, **filters)
    masked = teams.mask_personal(found.rows, user, "contact_phone")
    return found, masked, prepared_table(masked, columns, {"sector": SECTORS})


result, frame, table = kept(db, list_key("enterprises", page, filters, user), _enterprise_view)
pager("enterprises", result, unit="家")
draw_prepared(table)
export_list(
    db,
    user,
    lambda: teams.mask_personal(enterprises.enterprise_list(db, **filters), user, "contact_phone"),
    columns,
    "重点企业名录",
    key="export_enterprises",
    enum_columns={"sector": SECTORS},
)

if user.role != "viewer":
    own = {k: v for k, v in towns.items() if v and (user.is_admin or v == user.township_code)}
    record_actions.saved("new_enterprise")
    create_box = lazy_expander("登记企业", "new_enterprise_open")  # the form runs only while open
if user.role != "viewer" and create_box.open:
    with create_box, st.form(record_actions.form_key("new_enterprise")):
        name = st.text_input("企业名称 *")
        sector_new = st.selectbox("行业领域 *", list(SECTORS), format_func=label_of(SECTORS))
        town_new = own[st.selectbox("所属乡镇 *", list(own))]
        address = st.text_input("地址")
        contact = st.text_input("联系人")
        phone = st.text_input("联系电话")
        registered = st.date_input("登记日期", today)
        if st.form_submit_button("保存", type="primary"):
            data = {
                "name": name,
                "sector": sector_new,
                "township_code": town_new,
                "address": address,
                "contact_name": contact,
                "contact_phone": phone,
                "registered_on": registered,
            }
            record_actions.save_and_clear(
                "new_enterprise", lambda: enterprises.create_enterprise(db, user, data), "已登记企业"
            )
if user.role != "viewer":
    editable = {
        f"{r['id']} {r['name']}": int(r["id"])
        for r in frame.to_dict("records")
        if user.may_write(r["township_code"]) and pd.isna(r["closed_on"])
    }
    edit_box = lazy_expander("修改或关闭企业", "edit_enterprise_open") if editable else None
if user.role != "viewer" and edit_box is not None and edit_box.open:
    with edit_box:
        chosen = editable[st.selectbox("企业", list(editable), key="edit_enterprise_pick")]
        current = frame[frame["id"] == chosen].iloc[0]
        seen = drawn("enterprise", enterprises.enterprise_record(db, chosen))  # what a save is checked against
        with st.form("edit_enterprise"):
            name = st.text_input("企业名称", current["name"])
            sector_edit = st.selectbox(
                "行业领域",
                list(SECTORS),
                index=list(SECTORS).index(current["sector"]),
                format_func=label_of(SECTORS),
            )
            contact = st.text_input("联系人", current["contact_name"] or "")
            phone = st.text_input("联系电话（留空不修改）")
            if st.form_submit_button("保存修改"):
                changes = {"name": name, "sector": sector_edit, "contact_name": contact}
                if phone.strip():
                    changes["contact_phone"] = phone
                write_feedback(
                    lambda: enterprises.update_enterprise(db, user, chosen, changes, expected=seen),
                    "已保存。",
                    "enterprise",
                )
        with st.form("close_enterprise"):
            on = st.date_input("关闭日期", today)
            reason = st.text_input("关闭原因（停产、注销、整合等）")
            if st.form_submit_button("关闭企业（保留历史）"):
                write_feedback(
                    lambda: enterprises.close_enterprise(db, user, chosen, on, reason, expected=seen),
                    "已关闭。",
                    "enterprise",
                )
        record_actions.enterprise_basics(db, user, chosen, seen)
        record_actions.void_section(db, user, "enterprises", chosen, current["township_code"], str(current["name"]))
if user.role != "viewer":
    record_actions.voided_section(db, user, "enterprises")
