"""整改跟踪: corrective actions from drills, overdue first; close one with a note and its evidence, then
复查 / 验收 by someone other than its owner (a failed check reopens it)."""

from typing import Any

import pandas as pd
import streamlit as st

from emergency import deadlines, drills, evaluation, paging
from emergency.db import local_today
from emergency.hygiene import escape_markdown as md
from emergency.rules import ACTION_STATUS_LABELS
from emergency.ui import record_actions
from emergency.ui.clocks_cache import cached_overdue
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    export_list,
    kept,
    label_of,
    list_key,
    page_help,
    page_number,
    pager,
    prepared_table,
    show_table,
    township_options,
    write_feedback,
)

user = require_login()
db = get_db()
today = local_today()
st.title("整改跟踪")
record_actions.voided_note("corrective_actions")
page_help("corrective-actions")

towns = township_options(db)
names = {v: k for k, v in towns.items()}
cols = st.columns(2)
default = list(towns).index(names[user.township_code]) if user.township_code in names else 0
township = towns[cols[0].selectbox("乡镇", list(towns), index=default)]
only_open = cols[1].checkbox("只看未完成", value=False)

filters: dict[str, Any] = {"township_code": township, "only_open": only_open}
columns = {
    "id": "编号",
    "status": "状态",
    "days_overdue": "逾期天数",
    "description": "整改事项",
    "owner": "责任人",
    "due_on": "整改期限",
    "township_name": "乡镇",
    "drill_title": "来源演练",
    "held_on": "演练日期",
    "closed_on": "完成日期",
    "closure_note": "整改情况",
    "evidence": "佐证材料",
    "verified_on": "验收日期",
    "verification_note": "复查意见",
}
page = page_number("actions", filters)


def _action_view() -> tuple:
    counted = drills.action_status_counts(db, today, **filters)  # once: the metrics and the page's total
    found = drills.action_page(db, today, page=page, counts=counted, **filters)
    table = prepared_table(pd.DataFrame(found.rows), columns, {"status": ACTION_STATUS_LABELS}) if found.rows else None
    return counted, found, table


counts, result, table = kept(db, list_key("actions", page, filters), _action_view)
metric_cols = st.columns(len(ACTION_STATUS_LABELS))
for column, (code, label) in zip(metric_cols, ACTION_STATUS_LABELS.items()):
    column.metric(label, counts.get(code, 0))
rows = result.rows  # this page's actions: the close / verify / edit pickers below choose among them
if rows:
    pager("actions", result, unit="项")
    draw_prepared(table)
    export_list(
        db,
        user,
        lambda: pd.DataFrame(drills.action_list(db, today, **filters)),
        columns,
        "整改事项",
        key="export_actions",
        enum_columns={"status": ACTION_STATUS_LABELS},
    )
else:
    st.info("没有符合条件的整改事项。")

closable = {
    f"{r['id']} {r['description'][:30]}（{r['owner']}）": r["id"]
    for r in rows
    if r["closed_on"] is None and r["origin"] != "plan" and user.may_write(r["township_code"])
}
if closable:
    st.markdown("**关闭整改事项**")
    label = st.selectbox("整改事项", list(closable), key="close_action_pick")  # outside the form: see widgets.drawn
    seen = drawn("action", drills.action_record(db, closable[label]))  # what closing it is checked against
    with st.form("close_action"):
        closed_on = st.date_input("完成日期", today, max_value=today)
        note = st.text_input("整改情况说明 *")
        evidence = st.text_input("佐证材料（文件名、文号或照片说明，验收时核对）*")
        if st.form_submit_button("关闭", type="primary"):
            write_feedback(
                lambda: drills.close_action(
                    db, user, closable[label], closed_on, note, expected=seen, evidence=evidence
                ),
                "已关闭整改事项，待复查或验收。",
                "action",
            )
    st.caption("修订预案的整改事项在“专项应急预案”页登记修订后自动完成。")

verifiable = {
    f"{r['id']} {r['description'][:30]}（{r['owner']}，{r['closed_on']} 完成）": r["id"]
    for r in rows
    if r["status"] == "closed" and user.may_write(r["township_code"])
}
if verifiable:
    st.markdown("**复查 / 验收**")
    st.caption("由责任人和登记完成者以外的人员核对佐证材料；不通过的整改事项重新打开。")
    label = st.selectbox("待验收的整改事项", list(verifiable), key="verify_action_pick")
    record = drills.action_record(db, verifiable[label])
    seen = drawn("action_verify", record)
    st.markdown(f"佐证材料：{md(record['evidence'] or '（未提交）')}　整改情况：{md(record['closure_note'] or '—')}")
    with st.form("verify_action"):
        a, b, c = st.columns(3)
        kind = a.selectbox("方式", list(evaluation.VERIFICATIONS), format_func=label_of(evaluation.VERIFICATIONS))
        on = b.date_input("日期", today, max_value=today)
        passed = c.radio("结论", ["通过", "不通过"], horizontal=True) == "通过"
        note = st.text_input("复查意见 *")
        if st.form_submit_button("保存复查结果"):
            write_feedback(
                lambda: evaluation.verify_action(db, user, verifiable[label], kind, passed, note, on=on, expected=seen),
                "已验收。" if passed else "未通过，整改事项已重新打开。",
                "action_verify",
            )

record_actions.action_tools(db, user, rows)
record_actions.voided_section(db, user, "corrective_actions")

st.subheader("逾期事项总表")
st.caption("预案、企业、村（社区）和乡镇的演练或评估期限已过或从未开展的，逐项列出，并注明依据。")
overdue = cached_overdue(str(db.path), db.generation_of(*deadlines.OVERDUE_READS), today, township)
if overdue:
    late = paging.of_list(overdue, page_number("overdue", {"township": township}))
    pager("overdue", late, unit="项")
    show_table(
        pd.DataFrame(late.rows),
        {
            "kind": "类别",
            "subject": "对象",
            "township_name": "乡镇",
            "last_on": "最近一次",
            "due_on": "截止日期",
            "status_label": "状态",
            "source": "依据",
        },
    )
else:
    st.success("没有逾期事项。")
