"""物资储备: supply depots, their stock per batch, receipts and issues (入库 / 出库), minimums."""

import pandas as pd
import streamlit as st

from emergency.db import local_today
from emergency.enums import DEPOT_LEVELS, RESOURCE_ITEMS, STOCK_DIRECTIONS
from emergency.resources import registry, stock
from emergency.ui import record_actions
from emergency.ui.resources_widgets import coordinate_text, registry_edit, registry_form, transfer_section
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import (
    draw_prepared,
    kept,
    label_of,
    lazy_expander,
    page_help,
    prepared_table,
    township_options,
    write_feedback,
)

user = require_login()
db = get_db()
st.title("应急物资储备")
page_help("resources-stock")
demo_banner(db)
ITEMS = {code: f"{name}（{unit}）" for code, (name, unit) in RESOURCE_ITEMS.items()}

towns = township_options(db)
names = {v: k for k, v in towns.items()}
default = list(towns).index(names[user.township_code]) if user.township_code in names else 0
township = towns[st.selectbox("乡镇", list(towns), index=default)]


def _stock_view() -> tuple:
    """The township's depots and stock, formatted once per data write (widgets.kept)."""
    depots = registry.listing(db, user, "depots", township_code=township)
    depots["coordinate"] = coordinate_text(depots)
    depots_table = prepared_table(
        depots,
        {
            "name": "储备库名称",
            "level": "级别",
            "township_name": "所属乡镇",
            "address": "地址",
            "coordinate": "坐标（WGS-84）",
            "custodian_name": "保管人",
            "custodian_phone": "保管人电话",
        },
        {"level": DEPOT_LEVELS},
    )

    rows = stock.stock_frame(db, township_code=township)
    rows["short"] = rows["min_quantity"].notna() & (rows["quantity"] < rows["min_quantity"].fillna(0))
    rows["state"] = rows["short"].map({True: "低于最低储备", False: "正常"})
    for column in ("expires_on", "maintain_on"):  # one type per column: a date as text, or "—"
        rows[column] = rows[column].map(lambda v: "—" if pd.isna(v) else f"{v:%Y-%m-%d}")
    rows["min_text"] = rows["min_quantity"].map(lambda v: "—" if pd.isna(v) else str(int(v)))
    stock_table = prepared_table(
        rows,
        {
            "depot_name": "储备库",
            "item_name": "物资",
            "unit": "单位",
            "batch": "批次",
            "quantity": "数量",
            "expires_on": "有效期至",
            "maintain_on": "下次保养",
            "min_text": "最低储备",
            "state": "储备状态",
        },
    )
    return depots, depots_table, stock_table


depots, depots_table, stock_table = kept(db, ("stock", user.role, user.township_code, township), _stock_view)
st.subheader("储备库")
draw_prepared(depots_table)
st.subheader("库存")
draw_prepared(stock_table)

if user.role != "viewer":
    options = kept(db, ("depot_options", township), lambda: registry.options(db, "depots", township))
    record_actions.saved("stock_in")
    record_actions.saved("stock_out")
    left, right = st.columns(2)
    with left, record_actions.once_form("stock_in"):
        st.markdown("**入库**")
        depot = st.selectbox("储备库", list(options), key="in_depot")
        item = st.selectbox("物资", list(ITEMS), format_func=label_of(ITEMS), key="in_item")
        quantity = st.number_input("数量", min_value=1, step=1, value=1, key="in_qty")
        batch = st.text_input("批次", key="in_batch")
        expires = st.date_input("有效期至（无则不填）", value=None, key="in_exp")
        maintain = st.date_input("下次保养（无则不填）", value=None, key="in_maint")
        handler = st.text_input("经手人", key="in_by")
        moved_on = st.date_input("日期", value=local_today(), key="in_on")
        note = st.text_input("来源或说明", key="in_note")
        if st.form_submit_button("确认入库") and depot:
            record_actions.submit_once(
                "stock_in",
                lambda: stock.receive(
                    db,
                    user,
                    options[depot],
                    item,
                    int(quantity),
                    moved_on=moved_on,
                    handled_by=handler,
                    batch=batch,
                    expires_on=expires,
                    maintain_on=maintain,
                    purpose=note,
                ),
                "已入库",
            )
    with right, record_actions.once_form("stock_out"):
        st.markdown("**出库**")
        depot = st.selectbox("储备库", list(options), key="out_depot")
        item = st.selectbox("物资", list(ITEMS), format_func=label_of(ITEMS), key="out_item")
        quantity = st.number_input("数量", min_value=1, step=1, value=1, key="out_qty")
        batch = st.text_input("批次（不填则先出先到期的）", key="out_batch")
        handler = st.text_input("领用人", key="out_by")
        moved_on = st.date_input("日期", value=local_today(), key="out_on")
        purpose = st.text_input("用于哪次事件或演练", key="out_purpose")
        if st.form_submit_button("确认出库") and depot:
            record_actions.submit_once(
                "stock_out",
                lambda: stock.issue(
                    db,
                    user,
                    options[depot],
                    item,
                    int(quantity),
                    moved_on=moved_on,
                    handled_by=handler,
                    batch=batch or None,
                    purpose=purpose,
                ),
                "已出库",
            )
    minimum_box = lazy_expander("最低储备（低于时提醒）", "stock_minimum_open")  # runs only while open
if user.role != "viewer" and minimum_box.open:
    with minimum_box, st.form("minimum"):
        depot = st.selectbox("储备库", list(options), key="min_depot")
        item = st.selectbox("物资", list(ITEMS), format_func=label_of(ITEMS), key="min_item")
        minimum = st.number_input("最低储备（0 为不设）", min_value=0, step=1, value=0)
        if st.form_submit_button("保存最低储备") and depot:
            write_feedback(lambda: stock.set_minimum(db, user, options[depot], item, int(minimum)), "已保存最低储备")
if user.role != "viewer":
    registry_form(db, user, "depots")
    registry_edit(db, user, "depots", depots)
transfer_section(db, user, "stock")  # opening balances and receipts from a file

st.subheader("出入库记录")


def _moves_view() -> pd.DataFrame | None:
    """The last 300 movements (of the township) as drawn, kept until a data write (widgets.kept)."""
    moves = stock.movements(db, limit=300)
    if township:
        moves = moves[moves["township_code"] == township]
    if moves.empty:
        return None
    return prepared_table(
        moves,
        {
            "moved_on": "日期",
            "depot_name": "储备库",
            "item_name": "物资",
            "batch": "批次",
            "direction": "方向",
            "quantity": "数量",
            "handled_by": "经手人",
            "purpose": "用途",
            "recorded_by": "登记人",
        },
        {"direction": STOCK_DIRECTIONS},
    )


moves_table = kept(db, ("stock_moves", township), _moves_view)
if moves_table is None:  # an empty grid draws blank cells
    st.info("暂无出入库记录。")
else:
    draw_prepared(moves_table)
