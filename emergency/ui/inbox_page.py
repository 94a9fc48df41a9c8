"""消息: the user's inbox of reminders. A township operator sees its township's reminders; admins and
viewers the county bureau's (and, on request, every township's). Read marks are per user."""

from typing import Any

import pandas as pd
import streamlit as st

from emergency.hygiene import escape_markdown as md
from emergency.notify import channels, reminders
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import multiselect, page_help, page_number, pager, show_table, write_feedback

user = require_login()
db = get_db()
st.title("消息")
page_help("inbox")
if user.role == "township":
    st.caption(
        "本乡镇的提醒：演练临近、演练逾期、证书和保险到期、整改逾期等。由系统每天 07:30 自动生成，节假日顺延到工作日。"
    )
else:
    st.caption("县应急管理局的提醒：预案演练与评估、县级演练、点名未应答和预警未确认的上报等。")

left, middle, right = st.columns(3)
unread_only = left.toggle("只看未读", value=False)
kind = middle.selectbox(
    "类型", [None, *reminders.KINDS], format_func=lambda k: "全部" if k is None else reminders.KINDS[k]
)
everything = right.toggle("显示各乡镇的提醒", value=False) if user.role != "township" else False

filters: dict[str, Any] = {"unread_only": unread_only, "everything": everything, "kind": kind}
counts = reminders.inbox_counts(db, user, **filters)
result = reminders.inbox_page(db, user, page=page_number("inbox", filters), **filters)
rows = result.rows  # this page's messages: the detail and 标为已读 choices below are among them
st.markdown(f"共 **{counts['messages']}** 条，其中未读 **{counts['unread']}** 条。")


def delivery_text(value: str | None) -> str:
    if not value:
        return "站内"
    parts = []
    for item in value.split(","):
        kind_code, status = item.split(":")
        parts.append(
            f"{channels.CHANNEL_KINDS.get(kind_code, kind_code)}{channels.DELIVERY_STATUSES.get(status, status)}"
        )
    return "站内；" + "；".join(parts)


if rows:
    pager("inbox", result)
    frame = pd.DataFrame(rows)
    frame["状态"] = frame["read_at"].map(lambda v: "未读" if v is None or pd.isna(v) else "已读")
    frame["接收方"] = frame["township_name"].fillna("县应急管理局")
    frame["发送"] = frame["deliveries"].map(delivery_text)
    frame["created_at"] = frame["created_at"].map(lambda v: f"{v:%Y-%m-%d %H:%M}")
    show_table(
        frame,
        {
            "id": "编号",
            "状态": "状态",
            "kind": "类型",
            "title": "标题",
            "due_on": "到期日",
            "接收方": "接收方",
            "created_at": "生成时间",
            "发送": "发送情况",
        },
        {"kind": reminders.KINDS},
    )

    unread_rows = [r for r in rows if r["read_at"] is None]
    with st.expander("查看详情", expanded=False):
        chosen = st.selectbox(
            "消息",
            [r["id"] for r in rows],
            format_func=lambda i: next(f"#{r['id']} {r['title']}" for r in rows if r["id"] == i),
        )
        detail = next(r for r in rows if r["id"] == chosen)
        st.markdown(f"**{md(detail['title'])}**")
        st.text(detail["body"] or "")
    with st.form("mark_read"):
        picked = multiselect(
            "标为已读",
            [r["id"] for r in unread_rows],
            format_func=lambda i: next(f"#{r['id']} {r['title']}" for r in unread_rows if r["id"] == i),
        )
        one, all_ = st.columns(2)
        mark_some = one.form_submit_button("将所选标为已读")
        mark_all = all_.form_submit_button("全部标为已读")
    if mark_some and picked:
        if write_feedback(lambda: reminders.mark_read(db, user, picked), f"已将 {len(picked)} 条标为已读。"):
            st.rerun()
    if mark_all:
        if write_feedback(lambda: reminders.mark_read(db, user, None), "已全部标为已读。"):
            st.rerun()
else:
    st.info("没有消息。")
