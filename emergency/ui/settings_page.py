"""提醒设置 (admin): lead times, quiet hours, retries, the mail server, and the channels of each
township and of the bureau. Secrets (passwords, signing secrets, webhook tokens) are shown masked."""

from datetime import datetime

import pandas as pd
import streamlit as st

from emergency.hygiene import escape_markdown as md
from emergency.notify import channels, reminders
from emergency.ui import record_actions
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import label_of, page_help, show_table, township_options, write_feedback

user = require_login()
db = get_db()
st.title("提醒设置")
page_help("reminder-settings")
if not user.is_admin:
    st.error("只有县应急管理局管理员可以修改提醒设置。")
    st.stop()

current = reminders.get_settings(db)
st.subheader("提醒参数")
with st.form("reminder_settings"):
    a, b, c = st.columns(3)
    lead = a.text_input("演练提前提醒天数（逗号分隔）", ",".join(str(d) for d in current["lead_days"]))
    expiry = b.number_input("证书/保险提前提醒天数", 1, 365, current["expiry_days"])
    evaluation = c.number_input("预案评估提前提醒天数", 0, 365, current["evaluation_lead_days"])
    roll = a.number_input("点名未应答上报时限（分钟）", 1, 1440, current["roll_call_minutes"])
    b.caption("预警叫应的时限是各乡镇、村（社区）叫应链每一步的“限时（分钟）”，在“三级联动”页设置。")
    window = c.number_input("未应答/未确认追溯天数", 1, 90, current["escalation_window_days"])
    quiet_start = a.time_input("免打扰开始", datetime.strptime(current["quiet_start"], "%H:%M").time())
    quiet_end = b.time_input("免打扰结束", datetime.strptime(current["quiet_end"], "%H:%M").time())
    keep = c.number_input("备份保留天数", 1, 365, current["backup_keep_days"])
    attempts = a.number_input("最多发送次数", 1, 20, current["max_attempts"])
    base = b.number_input("重试间隔基数（秒）", 10, 3600, current["retry_base_seconds"])
    st.caption(
        "免打扰时段内不发送邮件和机器人消息（点名、预警上报除外），时段结束后补发；开始与结束相同表示不设免打扰。"
        "演练临近、到期、逾期等非紧急提醒只在工作日（含调休上班日）生成。"
    )
    if st.form_submit_button("保存提醒参数", type="primary"):
        write_feedback(
            lambda: reminders.save_settings(
                db,
                user,
                {
                    "lead_days": lead,
                    "expiry_days": expiry,
                    "evaluation_lead_days": evaluation,
                    "roll_call_minutes": roll,
                    "escalation_window_days": window,
                    "quiet_start": quiet_start.strftime("%H:%M"),
                    "quiet_end": quiet_end.strftime("%H:%M"),
                    "backup_keep_days": keep,
                    "max_attempts": attempts,
                    "retry_base_seconds": base,
                },
            ),
            "已保存提醒参数。",
        )

st.subheader("邮件服务器（SMTP）")
smtp = channels.smtp_settings_masked(db)
with st.form("smtp"):
    a, b = st.columns(2)
    host = a.text_input("服务器地址", smtp["host"])
    port = b.number_input("端口", 1, 65535, int(smtp["port"]))
    sender = a.text_input("发件人地址", smtp["sender"])
    username = b.text_input("登录用户名（可空）", smtp["username"])
    password = a.text_input(
        "登录密码（留空则不修改）",
        type="password",
        placeholder=f"已保存：{smtp['password']}" if smtp["password"] else "未设置",
    )
    starttls = b.checkbox("使用 STARTTLS", smtp["starttls"])
    use_ssl = b.checkbox("使用 SSL（端口 465）", smtp["ssl"])
    if st.form_submit_button("保存邮件服务器"):
        write_feedback(
            lambda: channels.save_smtp_settings(
                db,
                user,
                {
                    "host": host,
                    "port": port,
                    "sender": sender,
                    "username": username,
                    "password": password,
                    "starttls": starttls,
                    "ssl": use_ssl,
                },
            ),
            "已保存邮件服务器设置。",
        )

st.subheader("接收渠道")
st.caption("每条提醒总会出现在接收方的站内“消息”中；此外按接收方（乡镇或县应急管理局）的渠道发送邮件或群机器人消息。")
rows = channels.list_channels(db)
if rows:
    frame = pd.DataFrame(rows)
    frame["is_active"] = frame["is_active"].map({True: "启用", False: "停用"})
    show_table(
        frame,
        {
            "id": "编号",
            "recipient": "接收方",
            "kind": "类型",
            "address": "地址",
            "secret": "加签密钥",
            "is_active": "状态",
        },
        {"kind": channels.CHANNEL_KINDS},
    )
else:
    st.info("尚未配置任何渠道：提醒只在站内“消息”中显示。")

recipients = {"县应急管理局": None, **township_options(db, include_all=False)}
record_actions.saved("add_channel")
with record_actions.once_form("add_channel"):
    st.markdown("**新增渠道**")
    a, b = st.columns(2)
    recipient = a.selectbox("接收方", list(recipients))
    kind = b.selectbox("类型", list(channels.CHANNEL_KINDS), format_func=label_of(channels.CHANNEL_KINDS))
    address = st.text_input("地址（电子邮件地址，或机器人 Webhook 地址）")
    secret = st.text_input("加签密钥（仅钉钉群机器人，以 SEC 开头）", type="password")
    if st.form_submit_button("新增"):
        record_actions.submit_once(
            "add_channel",
            lambda: channels.add_channel(db, user, recipients[recipient], kind, address, secret),
            "已新增渠道。",
        )

if rows:
    with st.form("edit_channel"):
        st.markdown("**修改 / 停用渠道**")
        labels = {
            r["id"]: f"#{r['id']} {r['recipient']} · {channels.CHANNEL_KINDS[r['kind']]} · {r['address']}" for r in rows
        }
        chosen = st.selectbox("渠道", list(labels), format_func=label_of(labels))
        new_address = st.text_input("新地址（留空则不修改）")
        new_secret = st.text_input("新加签密钥（留空则不修改）", type="password")
        active = st.checkbox("启用", value=True)
        one, two = st.columns(2)
        save = one.form_submit_button("保存修改")
        test = two.form_submit_button("发送测试消息")
    if save:
        write_feedback(
            lambda: channels.update_channel(db, user, chosen, address=new_address, secret=new_secret, is_active=active),
            "已保存渠道。",
        )
    if test:
        try:
            channels.send_test(db, user, chosen)
            st.success("测试消息已发送。")
        except channels.SendError as exc:
            st.error(f"发送失败：{md(exc)}")
