"""A drill's objectives and its structured evaluation (AQ/T 9009) on its record: the latest evaluation
shown, the objectives edited, a new evaluation scored item by item."""

from __future__ import annotations

from datetime import date

import streamlit as st

from emergency import evaluation
from emergency.hygiene import escape_markdown as md
from emergency.ui import record_actions
from emergency.ui.widgets import label_of, write_feedback

NOT_EXERCISED = "—"  # an item the drill did not exercise is left out of the scores


def _show_latest(latest: dict) -> None:
    st.markdown(
        f"最近一次评估：{latest['evaluated_on']}　方式：{evaluation.METHODS.get(latest['method'], '—')}　"
        f"评估人员：{md(latest['evaluators'])}　**总体评价：{evaluation.GRADES.get(latest['grade'], '—')}**"
    )
    scores = "　".join(
        f"{evaluation.ITEMS.get(item, item)} {evaluation.SCORES.get(row['score'], '—')}"
        for item, row in latest["scores"].items()
    )
    st.caption("评估项目：" + (scores or "—"))
    for result in latest["objectives"]:
        st.caption(f"{'✅ 已达成' if result['achieved'] else '❌ 未达成'}：{md(result['objective'])}")
    for key, label in evaluation.DIMENSIONS.items():
        if latest.get(key):
            st.markdown(f"**{label}**：{md(latest[key])}")


def draw(db, user, detail: dict, may_write: bool, today: date) -> None:
    drill_id = detail["id"]
    goals = evaluation.objectives(db, drill_id)
    latest = evaluation.latest_evaluation(db, drill_id)
    with st.expander("演练目标与评估（AQ/T 9009）", expanded=latest is None and may_write):
        st.caption("依据：" + md(evaluation.SOURCE))
        st.markdown("**演练目标**：" + ("；".join(md(g["objective"]) for g in goals) if goals else "未填写"))
        if latest:
            _show_latest(latest)
        else:
            st.caption("尚未进行结构化评估。")
        if not may_write:
            return
        with st.form("objectives"):
            text = st.text_area("演练目标（每行一条）", "\n".join(g["objective"] for g in goals))
            if st.form_submit_button("保存演练目标"):
                write_feedback(
                    lambda: evaluation.set_objectives(db, user, drill_id, text.splitlines()), "已保存演练目标。"
                )
        record_actions.saved("structured_evaluation")  # a double click must not record two evaluations
        with record_actions.once_form("structured_evaluation", clear_on_submit=True):
            st.markdown("**新的评估**（评为“差”的项目、未达成的目标和需修订的预案自动生成整改事项）")
            a, b, c = st.columns(3)
            method = a.selectbox("评估方式", list(evaluation.METHODS), format_func=label_of(evaluation.METHODS))
            evaluators = b.text_input("评估人员 *")
            evaluated_on = c.date_input("评估日期", today, min_value=detail["held_on"], max_value=today)
            choices = [NOT_EXERCISED, *evaluation.SCORES]
            shown = {NOT_EXERCISED: "未涉及", **evaluation.SCORES}
            columns = st.columns(4)
            picked = {
                item: columns[i % 4].selectbox(label, choices, format_func=label_of(shown), key=f"score_{item}")
                for i, (item, label) in enumerate(evaluation.ITEMS.items())
            }
            achieved = {g["id"]: st.checkbox(f"目标已达成：{g['objective']}", key=f"goal_{g['id']}") for g in goals}
            dims = {key: st.text_area(label, key=f"dim_{key}") for key, label in evaluation.DIMENSIONS.items()}
            grade = st.selectbox("总体评价", list(evaluation.GRADES), format_func=label_of(evaluation.GRADES))
            revise = st.checkbox("评估发现预案需修订（标记关联预案并生成修订整改事项）")
            if st.form_submit_button("保存评估结果"):
                form = {
                    "method": method,
                    "evaluators": evaluators,
                    "evaluated_on": evaluated_on,
                    "grade": grade,
                    "scores": {k: v for k, v in picked.items() if v != NOT_EXERCISED},
                    "objectives": achieved,
                    "plan_needs_revision": revise,
                    **dims,
                }
                record_actions.submit_once(
                    "structured_evaluation",
                    lambda: evaluation.record_evaluation(db, user, drill_id, form, today=today),
                    "已保存评估。",
                )


def draw_organisation(db, user, detail: dict, may_write: bool) -> None:
    """演练组织: 总指挥, the groups, registry teams, equipment, observers, safety measures, notice."""
    drill_id = detail["id"]
    org = evaluation.organisation(db, drill_id)
    with st.expander("演练组织（总指挥、工作组、参演队伍、装备、安全措施）"):
        lines = [
            f"**{label}**：{md(org.get(key)) or '未填写'}" for key, label in evaluation.ORGANISATION_FIELDS.items()
        ]
        lines.append(f"**通知方式**：{evaluation.NOTICES.get(org['notice'], '—')}")
        lines.append("**参演队伍**：" + ("、".join(md(t["name"]) for t in org["teams"]) or "未选择"))
        st.markdown("  \n".join(lines))
        if not may_write:
            return
        choices = evaluation.team_choices(db, detail["township_code"])
        with st.form("organisation"):
            values = {
                key: st.text_input(label, org.get(key) or "", key=f"org_{key}")
                for key, label in evaluation.ORGANISATION_FIELDS.items()
            }
            notice = st.radio(
                "通知方式",
                list(evaluation.NOTICES),
                index=list(evaluation.NOTICES).index(org["notice"]),
                format_func=label_of(evaluation.NOTICES),
                horizontal=True,
            )
            teams = st.multiselect(
                "参演队伍（在册队伍）",
                list(choices),
                default=[t["id"] for t in org["teams"] if t["id"] in choices],
                format_func=label_of(choices),
                placeholder="选择参演的救援队伍",
            )
            if st.form_submit_button("保存演练组织"):
                write_feedback(
                    lambda: evaluation.set_organisation(db, user, drill_id, {**values, "notice": notice}, teams),
                    "已保存演练组织情况。",
                )
