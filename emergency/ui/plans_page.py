"""专项应急预案: the plans by category with their clocks (drill, evaluation, 备案), every rule with
its source (admin: edit a rule), the township and village plans, the drills that exercised each
plan, and (admin) recording a revision, an evaluation or a filing."""

import pandas as pd
import streamlit as st

from emergency import deadlines, drills, enums, plans
from emergency.db import local_today
from emergency.hygiene import escape_markdown as md
from emergency.rules import CERTAINTY_LABELS, STATUS_LABELS, rule_period
from emergency.ui import record_actions
from emergency.ui.clocks_cache import COLUMNS, cached_clocks, cached_tables, every, filing_text
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    drawn,
    export_list,
    lazy_expander,
    page_help,
    paged_frame,
    show_table,
    write_feedback,
)

user = require_login()
db = get_db()
today = local_today()
st.title("专项应急预案")
page_help("plans")

generations = db.generation_of(*deadlines.CLOCK_READS)
rows, rule_rows, own, villages = cached_clocks(str(db.path), generations, today)
tables = cached_tables(str(db.path), generations, today)
frame = tables["frame"]
counts = frame["category"].value_counts().to_dict() if len(frame) else {}
st.caption(
    "、".join(f"{c} {counts.get(c, 0)} 项" for c in enums.PLAN_CATEGORIES)
    + f"；共 {len(frame)} 项。状态取演练、评估、备案三个期限中最紧的一个；演练、评估90天内到期、"
    "备案10天内到期即提示。各期限自现行版本印发（或修订）之日起算，从未演练的预案在首个周期届满后才算逾期。"
)
if len(frame):
    by_status = frame["status"].value_counts().to_dict()
    cols = st.columns(5)
    for column, (code, label) in zip(cols, STATUS_LABELS.items()):
        column.metric(label, by_status.get(code, 0))
    cols[3].metric("未备案", int(frame["filed_on"].isna().sum()))
    cols[4].metric("需修订", int(frame["needs_revision"].sum()))

if len(frame):
    for category, table in tables["by_category"].items():
        st.subheader(category)
        draw_prepared(table)
    export_list(db, user, frame, {"category": "类别", **COLUMNS}, "专项应急预案", key="export_plans")

rules_box = lazy_expander("期限规则及法律依据", "plan_rules_open")  # drawn only while open
if rules_box.open:
    with rules_box:
        for rule in rule_rows:
            when = rule_period(rule)
            sure = CERTAINTY_LABELS.get(rule["certainty"] or "", "")
            st.markdown(
                f"- **{md(rule['label'])}**（{md(when)}；规则 `{md(rule['code'])}`）——依据：{md(rule['source'])}"
                f"（{md(sure)}）"
            )
        st.markdown(
            "- 演练、评估、备案期限均自现行版本印发（或登记修订）之日起算，演练期限此后自最近一次演练起算；"
            "演练发现预案问题时，该预案标记为“需修订”，登记修订后清除。备案按中国法定节假日和调休计算工作日。"
        )
        if user.is_admin:
            with st.form("rule_edit"):
                st.markdown("**修改期限规则**（记入审计日志，规则下的所有对象随即重新计算）")
                codes_ = [r["code"] for r in rule_rows]
                labels = {r["code"]: r["label"] for r in rule_rows}
                code = st.selectbox("规则", codes_, format_func=lambda c: f"{c} {labels[c]}")
                months = st.number_input("间隔（月，季节性规则不填）", min_value=0, max_value=120, value=0, step=1)
                season = st.text_input("季节起止（MM-DD至MM-DD，仅季节性规则）", "")
                if st.form_submit_button("保存规则"):
                    start, _, end = season.partition("至")

                    def save_rule():
                        return deadlines.set_rule(
                            db,
                            user,
                            code,
                            months=int(months) or None,
                            season_start=start.strip() or None,
                            season_end=end.strip() or None,
                        )

                    write_feedback(save_rule, "已修改规则。")

own_box = lazy_expander(f"乡镇应急预案（{len(own)} 项）", "township_plans_open")
if own_box.open:
    with own_box:
        if own:
            draw_prepared(tables["own"])
            st.caption(f"演练依据：{md(own[0]['source'])}；备案依据：{md(own[0]['filing_source'])}")
        else:
            st.info("尚未登记乡镇应急预案。")
villages_box = lazy_expander(f"村（社区）应急预案（{len(villages)} 个村（社区））", "village_plans_open")
if villages_box.open:
    with villages_box:
        if tables["villages"] is not None:  # one page of the county's 337 villages
            draw_prepared(paged_frame("village_plans", tables["villages"], {}, unit="个村（社区）"))
            st.caption(f"演练依据：{md(villages[0]['source'])}")

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
    ever = plan["last_drill_ever"]
    before = f"（{ever} 的演练早于现行版本，不计入）" if ever and not plan["last_drill_on"] else ""
    st.markdown(
        f"牵头单位：{md(plan['lead_department'])}　现行版本：{md(plan['version'])}（修订 {plan['revised_on']}）　"
        f"印发：{plan['clock_start'] or '—'}　文号：{md(plan['doc_number'] or '—')}　"
        f"响应分级：{plan['response_levels']}级　类型：{md(plan['plan_type'] or '专项')}预案  \n"
        f"演练（{every(plan['drill_interval_months'], plan['drill_override'])}）：最近 {plan['last_drill_on'] or '无'}"
        f"{before}，截止 {plan['drill_due_on'] or '—'}，"
        f"{STATUS_LABELS[plan['drill_status']]}（{md(plan['drill_rule'])}；{md(plan['drill_source'])}）  \n"
        f"评估：最近 {plan['last_evaluated_on'] or '无'}，截止 {plan['evaluation_due_on'] or '—'}，"
        f"{STATUS_LABELS[plan['evaluation_status']]}（{md(plan['evaluation_source'])}）  \n"
        f"备案：{md(filing_text(plan))}{'，回执 ' + md(plan['receipt_no']) if plan['receipt_no'] else ''}，"
        f"截止 {plan['filing_due_on'] or '—'}，{STATUS_LABELS[plan['filing_status']]}（{md(plan['filing_source'])}）"
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
        for slot in ("revision", "filing", "evaluation"):  # what the last save of each said
            record_actions.saved(slot)
        left, right = st.columns(2)
        with left, record_actions.once_form("revision"):
            st.markdown("**登记修订**（重新起算评估期限）")
            version = st.text_input("新版本号", f"{today.year}版")
            revised_on = st.date_input("修订日期", today, max_value=today)
            note = st.text_input("修订说明")
            if st.form_submit_button("保存修订", type="primary"):
                record_actions.submit_once(
                    "revision",
                    lambda: plans.record_revision(db, user, chosen, version, revised_on, note, expected=seen),
                    "已登记修订，评估期限重新起算。",
                    "plan",
                )
        with record_actions.once_form("filing"):
            st.markdown("**登记备案**（现行版本印发后20个工作日内）")
            filed_with = st.text_input("备案单位", "嵩县人民政府")
            filed_on = st.date_input("备案日期", today, max_value=today)
            receipt = st.text_input("备案回执编号")
            if st.form_submit_button("保存备案"):
                record_actions.submit_once(
                    "filing",
                    lambda: plans.record_filing(db, user, "plan", chosen, filed_with, filed_on, receipt),
                    "已登记备案。",
                )
        with right, record_actions.once_form("evaluation"):
            st.markdown("**登记评估**")
            evaluated_on = st.date_input("评估日期", today, max_value=today)
            flag = st.checkbox("评估认为需要修订")
            note = st.text_input("评估结论")
            if st.form_submit_button("保存评估"):
                record_actions.submit_once(
                    "evaluation",
                    lambda: plans.record_evaluation(
                        db, user, chosen, evaluated_on, note, needs_revision=flag, expected=seen
                    ),
                    "已登记评估。",
                    "plan",
                )
        record_actions.plan_status(db, user, chosen, seen)
