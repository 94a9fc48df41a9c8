"""专项应急预案: the plans by category with their two clocks (drill, evaluation), the drills that
exercised each, and (admin) recording a revision or an evaluation."""

from datetime import date

import pandas as pd
import streamlit as st

from emergency import deadlines, drills, enums, plans
from emergency.hygiene import escape_markdown as md
from emergency.rules import STATUS_LABELS
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import drawn, export_list, page_help, show_table, write_feedback

user = require_login()
db = get_db()
today = date.today()
st.title("专项应急预案")
page_help("plans")

rows = deadlines.plan_deadlines(db, today)
frame = pd.DataFrame(rows)
counts = frame["category"].value_counts().to_dict() if len(frame) else {}
st.caption(
    "、".join(f"{c} {counts.get(c, 0)} 项" for c in enums.PLAN_CATEGORIES)
    + f"；共 {len(frame)} 项。状态取演练与评估两个期限中较紧的一个，90天内到期即提示。"
)
if len(frame):
    by_status = frame["status"].value_counts().to_dict()
    cols = st.columns(5)
    for column, (code, label) in zip(cols, STATUS_LABELS.items()):
        column.metric(label, by_status.get(code, 0))
    cols[4].metric("需修订", int(frame["needs_revision"].sum()))

COLUMNS = {
    "code": "编号",
    "name": "名称",
    "status_label": "状态",
    "last_drill_on": "最近演练",
    "drill_due_on": "下次演练截止",
    "last_evaluated_on": "最近评估",
    "evaluation_due_on": "下次评估截止",
    "revision_flag": "修订",
    "version": "版本",
    "revised_on": "修订日期",
    "lead_department": "牵头单位",
    "drill_count": "演练次数",
}
if len(frame):
    frame["revision_flag"] = frame["needs_revision"].map(lambda v: "需修订" if v else "")
    for category in enums.PLAN_CATEGORIES:
        st.subheader(category)
        show_table(frame[frame["category"] == category], COLUMNS)
    export_list(db, user, frame, {"category": "类别", **COLUMNS}, "专项应急预案", key="export_plans")

with st.expander("期限规则及法律依据"):
    for rule in deadlines.all_rules(db):
        every = f"每{rule['interval_months']}个月" if rule["interval_months"] else f"{rule['due_before_month']}月前"
        st.markdown(f"- **{md(rule['label'])}**（{every}）——依据：{md(rule['source'])}")
    st.markdown(
        "- 演练期限自该预案最近一次演练起算；评估期限自最近一次评估或修订（取较晚者）起算；"
        "演练发现预案问题时，该预案标记为“需修订”，登记修订后清除。"
    )

st.divider()
codes = [r["code"] for r in rows]
names = {r["code"]: r["name"] for r in rows}
wanted = st.query_params.get("plan")
chosen = st.selectbox(
    "查看预案详情",
    [None, *codes],
    index=(codes.index(wanted) + 1) if wanted in codes else 0,
    format_func=lambda c: "请选择预案" if c is None else f"{c} {names[c]}",
    key="plan_detail",
)
if chosen:
    plan = next(r for r in rows if r["code"] == chosen)
    st.markdown(f"#### {md(plan['code'])} {md(plan['name'])}")
    st.markdown(
        f"牵头单位：{md(plan['lead_department'])}　现行版本：{md(plan['version'])}（{plan['revised_on']}）  \n"
        f"演练：最近 {plan['last_drill_on'] or '无'}，截止 {plan['drill_due_on'] or '应尽快开展'}，"
        f"{STATUS_LABELS[plan['drill_status']]}（{md(plan['drill_rule'])}；{md(plan['drill_source'])}）  \n"
        f"评估：最近 {plan['last_evaluated_on'] or '无'}，截止 {plan['evaluation_due_on'] or '应尽快开展'}，"
        f"{STATUS_LABELS[plan['evaluation_status']]}（{md(plan['evaluation_source'])}）"
    )
    if plan["needs_revision"]:
        st.warning("演练或评估发现该预案存在问题，需修订。")
    exercised = drills.drill_list(db, plan_code=chosen)
    st.markdown(f"**演练过该预案的演练（{len(exercised)} 场次）**")
    if len(exercised):
        show_table(
            exercised,
            {
                "held_on": "日期",
                "title": "演练名称",
                "level": "层级",
                "township_name": "乡镇",
                "participants": "参演人次",
                "plan_problems_found": "发现预案问题",
            },
            {"level": enums.DRILL_LEVELS},
        )
    history = plans.plan_history(db, chosen)
    if history:
        st.markdown("**修订与评估记录**")
        show_table(
            pd.DataFrame(history),
            {"revised_on": "日期", "kind": "类别", "version": "版本", "note": "说明", "recorded_by": "登记人"},
            {"kind": {"revision": "修订", "evaluation": "评估"}},
        )
    if user.is_admin:
        seen = drawn("plan", plans.plan_record(db, chosen))  # what a revision or evaluation is checked against
        left, right = st.columns(2)
        with left.form("revision"):
            st.markdown("**登记修订**（重新起算评估期限）")
            version = st.text_input("新版本号", f"{today.year}版")
            revised_on = st.date_input("修订日期", today, max_value=today)
            note = st.text_input("修订说明")
            if st.form_submit_button("保存修订", type="primary"):
                write_feedback(
                    lambda: plans.record_revision(db, user, chosen, version, revised_on, note, expected=seen),
                    "已登记修订，评估期限重新起算。",
                    "plan",
                )
        with right.form("evaluation"):
            st.markdown("**登记评估**")
            evaluated_on = st.date_input("评估日期", today, max_value=today)
            flag = st.checkbox("评估认为需要修订")
            note = st.text_input("评估结论")
            if st.form_submit_button("保存评估"):
                write_feedback(
                    lambda: plans.record_evaluation(
                        db, user, chosen, evaluated_on, note, needs_revision=flag, expected=seen
                    ),
                    "已登记评估。",
                    "plan",
                )
