"""审计日志 (admin): who changed what, when, before and after; filter and export."""

from datetime import timedelta
from typing import Any

import streamlit as st

from emergency import audit, exports
from emergency.db import local_today
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import draw_frame, page_help, page_number, pager

user = require_login()
db = get_db()
st.title("审计日志")
page_help("audit")
if not user.is_admin:
    st.error("只有县应急管理局管理员可以查看审计日志。")
    st.stop()

cols = st.columns(5)
usernames = [None, *audit.usernames(db)]
who = cols[0].selectbox("用户", usernames, format_func=lambda u: "全部" if u is None else u)
tables = [None, *audit.table_names(db)]
table = cols[1].selectbox("数据表", tables, format_func=lambda t: "全部" if t is None else t)
actions = [None, *audit.ACTION_LABELS]
action = cols[2].selectbox("操作", actions, format_func=lambda a: "全部" if a is None else audit.ACTION_LABELS[a])
since = cols[3].date_input("起始日期", local_today() - timedelta(days=30))
until = cols[4].date_input("截止日期", local_today())

filters: dict[str, Any] = {"username": who, "table": table, "action": action, "since": since, "until": until}
result = audit.search_page(db, page=page_number("audit", filters), **filters)
frame = result.rows
frame["操作"] = frame["操作"].map(lambda a: audit.ACTION_LABELS.get(a, a))
pager("audit", result)
draw_frame(frame)


def whole_trail():
    trail = audit.search(db, **filters)
    trail["操作"] = trail["操作"].map(lambda a: audit.ACTION_LABELS.get(a, a))
    return exports.export_xlsx(db, user, trail, "审计日志")


st.download_button(
    "导出 Excel",
    data=whole_trail,
    file_name=f"审计日志_{local_today():%Y%m%d}.xlsx",
    on_click="ignore",
)
