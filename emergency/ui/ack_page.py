"""确认收到预警: the page a personal 叫应 link opens (…/ack?token=…), reachable WITHOUT log-in.

The token is the credential, and it shows only what its own call holds: the warning (level, type,
title, time) and the person's own name, role and place; nothing else of the registry. It is
single use and expires (calls.check_token refuses an unknown, used or expired one in Chinese). The
page draws no sidebar and needs no session; app.py lists it hidden, for visitors and users alike.
"""

import streamlit as st

from emergency import calls
from emergency.enums import WARNING_ACTIONS, WARNING_LEVELS
from emergency.hygiene import escape_markdown as md
from emergency.ui.state import get_db

db = get_db()
st.title("确认收到预警")
token = st.query_params.get("token", "")
done = st.session_state.get("ack_done")
if done and done.get("token") == token:
    st.success(
        f"已确认收到（{done['at']:%Y-%m-%d %H:%M}）。"
        + (f"已报告措施：{md(done['action'])}。" if done["action"] else "")
    )
    st.caption("谢谢。请按预警要求做好防范；情况变化请及时报告县应急值班室。")
    st.stop()
try:
    call = calls.lookup(db, token)
except calls.AckRefused as exc:
    st.error(str(exc))
    st.stop()

place = (call["township_name"] or "") + (call["village_name"] or "")
st.markdown(
    f"### {WARNING_LEVELS.get(call['level'], '')}{md(call['hazard'])}预警\n"
    f"**{md(call['title'])}**  \n发布时间：{calls._local(call['issued_at']):%Y-%m-%d %H:%M}"
)
st.markdown(
    f"叫应对象：{md(place)} · {md(calls.ROLE_LABELS.get(call['role'], ''))} · {md(call['name'])}"
    + (f"  \n请在叫应后 {call['limit_minutes']} 分钟内确认。" if call["limit_minutes"] else "")
)
with st.form("ack"):
    actions = st.multiselect("已采取的措施（可不选）", list(WARNING_ACTIONS), placeholder="请选择")
    other = st.text_input("其他措施（可不填）")
    if st.form_submit_button("已收到", type="primary"):
        action = "、".join([*actions, *([other.strip()] if other.strip() else [])])
        try:
            answered = calls.acknowledge(db, token, action=action or None)
        except (calls.AckRefused, ValueError) as exc:
            st.error(str(exc))
        else:
            st.session_state["ack_done"] = {"token": token, "at": answered["answered_at"], "action": answered["action"]}
            st.rerun()
