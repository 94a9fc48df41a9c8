"""定时任务 (admin): the scheduled jobs with their next and last runs, the outbox by status, the
deliveries that failed for good (with a retry), and the database backups."""

import pandas as pd
import streamlit as st

from emergency import backup, scheduler
from emergency.db import TIME_ZONE
from emergency.notify import channels
from emergency.ui.session import require_login
from emergency.ui.state import get_db, get_scheduler
from emergency.ui.widgets import page_help, show_table, write_feedback

user = require_login()
db = get_db()
st.title("定时任务")
page_help("scheduler")
if not user.is_admin:
    st.error("只有县应急管理局管理员可以查看定时任务。")
    st.stop()

running = get_scheduler()
if running is None or not running.running:
    st.warning(
        "本进程未运行调度器（环境变量 EMERGENCY_SCHEDULER=off）：提醒不会自动生成和发送，"
        "可用下方按钮或命令 python -m emergency remind 手动运行。"
    )
else:
    st.caption(f"调度器运行中（时区 {TIME_ZONE}）。重启后会立即补扫一次，停机期间到期的提醒各生成一次。")


def when(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:%Y-%m-%d %H:%M:%S}"


jobs = scheduler.job_table(db, running)
frame = pd.DataFrame(jobs)
frame["next_run"] = frame["next_run"].map(when)
frame["last_finished"] = frame["last_finished"].map(when)
frame["ok"] = frame["ok"].map(lambda v: "—" if v is None or pd.isna(v) else ("成功" if v else "出错"))
frame["summary"] = frame["summary"].map(lambda v: "—" if v is None or pd.isna(v) else v)
show_table(
    frame,
    {
        "label": "任务",
        "next_run": "下次运行",
        "last_finished": "上次运行",
        "ok": "结果",
        "summary": "上次结果",
        "runs": "累计次数",
    },
)

a, b, c = st.columns(3)
if a.button("立即扫描提醒"):
    write_feedback(lambda: scheduler.run_job(db, "sweep"), "已完成提醒扫描。")
if b.button("立即发送消息"):
    write_feedback(lambda: scheduler.run_job(db, "deliver"), "已完成一次发送。")
if c.button("立即备份"):
    write_feedback(lambda: scheduler.run_job(db, "backup"), "已完成备份。")

st.subheader("发送队列")
counts = channels.outbox_counts(db)
totals = {status: sum(r["n"] for r in counts if r["status"] == status) for status in channels.DELIVERY_STATUSES}
cols = st.columns(3)
for col, (status, label) in zip(cols, channels.DELIVERY_STATUSES.items()):
    col.metric(label, totals[status])
if counts:
    show_table(
        pd.DataFrame(counts),
        {"kind": "渠道类型", "status": "状态", "n": "条数"},
        {"kind": channels.CHANNEL_KINDS, "status": channels.DELIVERY_STATUSES},
    )

st.subheader("发送失败")
failed = channels.failures(db)
if failed:
    st.error(f"有 {len(failed)} 条消息多次重试后仍发送失败（站内消息不受影响）。请检查渠道地址或邮件服务器后重新发送。")
    frame = pd.DataFrame(failed)
    frame["last_attempt"] = frame["last_attempt"].map(when)
    show_table(
        frame,
        {
            "id": "编号",
            "title": "消息",
            "recipient": "接收方",
            "kind": "渠道",
            "address": "地址",
            "attempts": "尝试次数",
            "last_attempt": "最后尝试",
            "last_error": "错误",
        },
        {"kind": channels.CHANNEL_KINDS},
    )
    with st.form("retry"):
        chosen = st.selectbox(
            "重新发送",
            [r["id"] for r in failed],
            format_func=lambda i: next(f"#{r['id']} {r['title']}" for r in failed if r["id"] == i),
        )
        if st.form_submit_button("重新加入发送队列"):
            write_feedback(lambda: channels.retry_failed(db, user, chosen), "已重新加入发送队列。")
else:
    st.success("没有发送失败的消息。")

st.subheader("数据库备份")
backups = backup.list_backups(backup.backup_dir(db))
if backups:
    frame = pd.DataFrame(backups)
    frame["name"] = frame["path"].map(lambda p: p.name)
    frame["taken_at"] = frame["taken_at"].map(when)
    frame["size"] = frame["size"].map(lambda n: f"{n / 1e6:.1f} MB")
    show_table(frame, {"name": "文件", "taken_at": "时间", "size": "大小"})
else:
    st.info("尚无备份（每晚 02:30 自动备份）。")
st.caption(f"备份目录：`{backup.backup_dir(db)}`。恢复须先停止服务器，再运行 `python -m emergency restore 备份文件`。")
