"""三级联动: county -> township -> village status, "N of 16 townships connected", and the forms for
roll calls, warnings (issued and pushed down the call chains, emergency/calls.py), acknowledgements
(叫应), the warnings' timelines, the call chains and contacts."""

from datetime import datetime

import pandas as pd
import streamlit as st

from emergency import calls, linkage, regions
from emergency.db import TZ
from emergency.enums import CONTACT_ROLES, WARNING_HAZARDS, WARNING_LEVELS
from emergency.notify import personal
from emergency.ui import record_actions
from emergency.ui.linkage_cache import (
    cached_contacts,
    cached_warning,
    cached_warnings,
    pending_now,
    status_now,
    township_table_now,
    village_table_now,
)
from emergency.ui.session import require_login
from emergency.ui.state import demo_banner, get_db
from emergency.ui.widgets import (
    draw_prepared,
    export_list,
    label_of,
    lazy_expander,
    lazy_tabs,
    page_help,
    paged_frame,
    show_table,
    township_options,
    write_feedback,
    year_select,
)


def _delivered(issued: dict) -> list[str]:
    """What a warning's push reached, said under 已发布预警并推送."""
    sent = sum(1 for m in issued["delivery"].get("personal", []) if m["status"] == "sent")
    return [f"已叫应 {len(issued['recipients'])} 人次，个人短信/邮件/语音已送达 {sent} 条。"]


user = require_login()
db = get_db()
calls_generation = db.generation_of(*linkage.CALLS_READS)
st.title("三级联动")
record_actions.voided_note("contacts")
page_help("linkage")
demo_banner(db)
st.caption(
    "县级主战、乡镇主防、村（社区）主备：县值班室视频点名乡镇值班室，预警逐级下发并“叫应”，"
    "村（社区）设灾害信息员A/B岗。"
)

now = linkage._now()
year = year_select("互联互通统计年度", linkage.roll_call_years(db))
th, indicators, summary, rules, detail = status_now(db, year, now)
connected = sum(1 for r in detail if r["connected"])
cols = st.columns(4)
cols[0].metric(f"{year}年互联互通乡镇", f"{connected} / {len(detail)}")
cols[1].metric("当前正常（绿）", summary["green"])
cols[2].metric("当前需关注（黄）", summary["amber"])
cols[3].metric("当前异常（红）", summary["red"])
st.caption(f"全县{len(detail)}个乡镇中 {connected} 个互联互通。口径：" + linkage.connected_definition(rules))
not_connected = [f"{r['name']}（{'；'.join(r['reasons'])}）" for r in detail if not r["connected"]]
if not_connected:
    st.warning(f"{year}年未达到互联互通口径的乡镇：" + "、".join(not_connected))

st.subheader(f"县 → 乡镇：近{th['period_days']}天联动状态")
rate = summary["plans_evaluated_rate"]
st.markdown(
    f"**县级**：专项应急预案按期评估 {summary['plans_evaluated_on_time']} / {summary['plans']} 项"
    f"（{'—' if rate is None else f'{rate:.0%}'}）；乡镇状态 绿 {summary['green']}、黄 {summary['amber']}、"
    f"红 {summary['red']}。"
)
draw_prepared(township_table_now(db, year, now))

st.subheader("乡镇 → 村（社区）")
options = township_options(db, include_all=False)
default = next((i for i, code in enumerate(options.values()) if code == user.township_code), 0)
town_name = st.selectbox("乡镇", list(options), index=default, key="linkage_township")
town_code = options[town_name]
draw_prepared(village_table_now(db, town_code, th, now))
contacts_box = lazy_expander(f"{town_name}联络人（电话按权限脱敏）", "linkage_contacts_open")  # drawn once open
if contacts_box.open:
    with contacts_box:
        draw_prepared(
            cached_contacts(str(db.path), calls_generation, user.role, user.township_code, town_code, now.date())[1]
        )

st.subheader("登记")
tabs = lazy_tabs(["预警叫应", "视频点名", "发布预警", "预警记录", "叫应链", "联络人"], "linkage_tab")
with tabs[0]:
    if tabs[0].open:
        scope = None if user.is_admin else user.township_code
        pending, labels = pending_now(db, scope) if (user.is_admin or user.role == "township") else (None, {})
        if user.role == "viewer":
            st.info("只读账号不能登记叫应。")
        elif pending is None:
            st.success("没有待叫应的预警。")
        else:
            st.caption(
                "预警发布后系统立即按叫应链推送到责任人；在每步限时内未确认的，每分钟自动再次叫应一次并推送下一步，"
                "最后报县应急值班室。此处登记电话答复：登记后该乡镇（村）的叫应即停止。"
            )
            draw_prepared(paged_frame("pending_acks", pending, {"scope": scope}))
            # Versioned forms (record_actions.save_and_clear): after a save the form is drawn afresh, so
            # a double click's second click, made for the warning just answered, answers no other.
            record_actions.saved("acknowledge")
            with st.form(record_actions.form_key("acknowledge")):
                chosen = st.selectbox("待叫应预警", list(labels))
                day = st.date_input("叫应日期", value=now.date())
                time_ = st.time_input("叫应时间", value=now.time().replace(second=0, microsecond=0))
                who = st.text_input("叫应人（乡镇/村负责人）")
                if st.form_submit_button("登记叫应"):
                    when = datetime.combine(day, time_, tzinfo=TZ)
                    ack_id = labels[chosen]
                    record_actions.save_and_clear(
                        "acknowledge",
                        lambda: linkage.acknowledge(db, user, ack_id, when, who),
                        "已登记叫应",
                        number=lambda _: ack_id,
                    )
with tabs[1]:
    if tabs[1].open:
        if not user.is_admin:
            st.info("视频点名由县应急值班室（管理员）登记。")
        else:
            record_actions.saved("roll_call")
            with st.form(record_actions.form_key("roll_call")):
                town = st.selectbox("被点名乡镇", list(options))
                day = st.date_input("点名日期", value=now.date())
                called = st.time_input("点名时间", value=now.time().replace(second=0, microsecond=0))
                answered = st.checkbox("已应答", value=True)
                answered_time = st.time_input("应答时间", value=now.time().replace(second=0, microsecond=0))
                answered_by = st.text_input("应答人")
                note = st.text_input("备注")
                if st.form_submit_button("登记点名"):
                    called_at = datetime.combine(day, called, tzinfo=TZ)
                    answered_at = datetime.combine(day, answered_time, tzinfo=TZ) if answered else None
                    record_actions.save_and_clear(
                        "roll_call",
                        lambda: linkage.log_roll_call(
                            db, user, options[town], called_at, answered_at, answered_by if answered else None, note
                        ),
                        "已登记视频点名",
                    )
            draw_prepared(cached_warnings(str(db.path), calls_generation)[1])
with tabs[2]:
    if tabs[2].open:
        if not user.is_admin:
            st.info("预警由县应急值班室（管理员）发布。")
        else:
            record_actions.saved("warning")  # what the last 发布 pushed; the form is drawn empty after it
            with st.form(record_actions.form_key("warning")):
                level = st.selectbox("预警级别", list(WARNING_LEVELS), format_func=lambda v: f"{WARNING_LEVELS[v]}预警")
                hazard = st.selectbox("预警类型", list(WARNING_HAZARDS))
                title = st.text_input("预警标题")
                towns = st.multiselect("接收乡镇", list(options), placeholder="请选择乡镇")
                st.caption("红色、橙色预警同时叫应所选乡镇的全部村（社区）；黄色、蓝色预警只叫应乡镇。发布后立即推送。")
                if st.form_submit_button("发布并叫应", type="primary"):
                    # a double click must not push the warning twice: the form saves once
                    record_actions.save_and_clear(
                        "warning",
                        lambda: calls.issue(
                            db,
                            user,
                            level=level,
                            hazard=hazard,
                            title=title,
                            township_codes=[options[t] for t in towns],
                        ),
                        "已发布预警并推送",
                        number=lambda issued: issued["warning_id"],
                        notes=_delivered,
                    )
with tabs[3]:
    if tabs[3].open:
        recent = cached_warnings(str(db.path), calls_generation)[0]
        if not recent:
            st.info("暂无预警记录。")
        else:
            choices = {
                f"{w['issued_at']:%Y-%m-%d %H:%M} {WARNING_LEVELS.get(w['level'], '')}{w['hazard']} {w['title']}"
                f"（叫应 {w['acknowledged']}/{w['places']}）": w["id"]
                for w in recent
            }
            chosen_warning = choices[st.selectbox("预警", list(choices), key="timeline_warning")]
            rates, events = cached_warning(str(db.path), calls_generation, chosen_warning)
            draw_prepared(rates)
            if events is None:
                st.caption("该预警没有逐人叫应记录（系统逐人叫应之前登记的预警）。")
            else:
                draw_prepared(events)
with tabs[4]:
    if tabs[4].open:
        chain_town = st.selectbox("乡镇", list(options), key="chain_township")
        chain_villages = {
            "（乡镇本级）": None,
            **{n: c for c, n in regions.village_names(db, options[chain_town]).items()},
        }
        chain_place = st.selectbox("叫应单位", list(chain_villages), key="chain_village")
        current_chain = calls.chain(db, options[chain_town], chain_villages[chain_place])
        st.markdown("**当前叫应链**：" + calls.chain_text(current_chain))
        if user.is_admin:
            allowed = calls.TOWNSHIP_LEVEL_ROLES + (calls.VILLAGE_LEVEL_ROLES if chain_villages[chain_place] else ())
            with st.form("chain"):
                new_steps = []
                for number in range(1, 5):
                    existing = next((s for s in current_chain if s.step == number), None)
                    c1, c2 = st.columns([3, 1])
                    roles = c1.multiselect(
                        f"第{number}步岗位（留空表示无此步）",
                        list(allowed),
                        default=[r for r in (existing.roles if existing else ()) if r in allowed],
                        format_func=label_of(CONTACT_ROLES),
                        placeholder="请选择岗位",
                    )
                    minutes = c2.number_input(
                        f"第{number}步限时（分钟）",
                        min_value=1,
                        max_value=1440,
                        value=existing.limit_minutes if existing else calls.DEFAULT_STEP_MINUTES,
                    )
                    if roles:
                        new_steps.append({"roles": roles, "limit_minutes": int(minutes)})
                save_chain, reset_chain = st.columns(2)
                if save_chain.form_submit_button("保存叫应链"):
                    if write_feedback(
                        lambda: calls.set_chain(db, user, options[chain_town], chain_villages[chain_place], new_steps),
                        "已保存叫应链",
                    ):
                        st.rerun()
                if reset_chain.form_submit_button("恢复默认叫应链"):
                    if write_feedback(
                        lambda: calls.set_chain(db, user, options[chain_town], chain_villages[chain_place], None),
                        "已恢复默认叫应链",
                    ):
                        st.rerun()
            st.markdown("**短信 / 语音电话网关**（按联络人手机号推送个人叫应消息）")
            gateways = pd.DataFrame(personal.list_gateways(db))
            if gateways.empty:
                st.caption("尚未配置网关：个人叫应只通过个人邮箱、乡镇消息和乡镇群机器人送达。")
            else:
                gateways["kind"] = gateways["kind"].map(personal.GATEWAY_KINDS)
                gateways["is_active"] = gateways["is_active"].map({True: "启用", False: "停用"})
                show_table(gateways, {"kind": "类型", "url": "地址", "is_active": "状态"})
            record_actions.saved("gateway")
            with record_actions.once_form("gateway"):
                g_kind = st.selectbox(
                    "网关类型", list(personal.GATEWAY_KINDS), format_func=label_of(personal.GATEWAY_KINDS)
                )
                g_url = st.text_input("网关地址（http:// 或 https://）")
                if st.form_submit_button("添加网关"):
                    record_actions.submit_once(
                        "gateway", lambda: personal.add_gateway(db, user, g_kind, g_url), "已添加网关"
                    )
            j = calls.settings(db)
            with st.form("jiaoying_settings"):
                hours = st.number_input(calls.SETTING_LABELS["ack_link_hours"], 1, 168, int(j["ack_link_hours"]))
                url = st.text_input(calls.SETTING_LABELS["public_url"], j["public_url"] or calls.public_url(db))
                if st.form_submit_button("保存叫应设置"):
                    if write_feedback(
                        lambda: calls.save_settings(db, user, {"ack_link_hours": int(hours), "public_url": url}),
                        "已保存叫应设置",
                    ):
                        st.rerun()
with tabs[5]:
    if tabs[5].open:
        if user.role == "viewer":
            st.info("只读账号不能登记联络人。")
        else:
            own = options if user.is_admin else {n: c for n, c in options.items() if c == user.township_code}
            c_town = st.selectbox("联络人所属乡镇", list(own), key="contact_township")
            record_actions.saved("contact")
            with st.form(record_actions.form_key("contact")):
                role = st.selectbox("岗位", list(CONTACT_ROLES), format_func=label_of(CONTACT_ROLES))
                village_names = {v: c for c, v in regions.village_names(db, own[c_town]).items()} if c_town else {}
                village = st.selectbox("村（社区）（村级岗位必填）", [""] + list(village_names))
                name = st.text_input("姓名")
                phone = st.text_input("电话")
                email = st.text_input("电子邮箱（接收个人叫应消息，可不填）")
                since = st.date_input("到岗日期", value=now.date())
                if st.form_submit_button("登记联络人"):
                    data = {
                        "township_code": own[c_town],
                        "village_code": village_names.get(village),
                        "role": role,
                        "name": name,
                        "phone": phone,
                        "email": email,
                        "active_from": since,
                    }
                    record_actions.save_and_clear(
                        "contact", lambda: linkage.add_contact(db, user, data), "已登记联络人（同一岗位的前任自动离岗）"
                    )
            scoped = None if user.is_admin else user.township_code
            record_actions.contact_tools(
                db,
                user,
                cached_contacts(str(db.path), calls_generation, user.role, user.township_code, scoped, now.date())[0],
            )
        record_actions.voided_section(db, user, "contacts")

rules_box = lazy_expander("指标定义与阈值", "linkage_rules_open")
if rules_box.open:
    with rules_box:
        st.markdown(
            f"- 统计周期：近 {th['period_days']} 天的视频点名和预警。\n"
            f"- 点名应答率 = 已应答点名 / 点名次数；正常 ≥ {th['roll_call_answer_rate'][0]:.0%}，"
            f"需关注 ≥ {th['roll_call_answer_rate'][1]:.0%}。应答用时中位数：正常 ≤ {th['roll_call_median_minutes'][0]} 分钟，"
            f"需关注 ≤ {th['roll_call_median_minutes'][1]} 分钟。\n"
            f"- 叫应率 = 乡镇已叫应的预警 / 下发到乡镇的预警；正常 ≥ {th['ack_rate'][0]:.0%}，需关注 ≥ {th['ack_rate'][1]:.0%}。"
            f"叫应用时中位数：正常 ≤ {th['ack_median_minutes'][0]} 分钟，需关注 ≤ {th['ack_median_minutes'][1]} 分钟；"
            "叫应时限为叫应链每一步的限时（分钟），超时未确认即再次叫应并推送下一步。\n"
            f"- 信息员在岗率 = 有在岗灾害信息员（A或B岗）的村 / 全部村（社区）；正常 ≥ {th['officer_coverage'][0]:.0%}，"
            f"需关注 ≥ {th['officer_coverage'][1]:.0%}。\n"
            "- 无在册救援队伍或无在岗乡镇应急站人员：异常；近12个月无乡镇级演练、本期无点名或预警记录：需关注。\n"
            "- 乡镇状态取各项中最差的一项；村（社区）：无信息员为异常，缺A/B岗之一、叫应率偏低或近12个月无演练为需关注。"
        )
        if user.is_admin:
            with st.form("thresholds"):
                period = st.number_input("统计周期（天）", min_value=7, max_value=730, value=int(th["period_days"]))
                rc = st.slider(
                    "点名应答率（需关注线, 正常线）",
                    0.0,
                    1.0,
                    (float(th["roll_call_answer_rate"][1]), float(th["roll_call_answer_rate"][0])),
                )
                ak = st.slider(
                    "叫应率（需关注线, 正常线）", 0.0, 1.0, (float(th["ack_rate"][1]), float(th["ack_rate"][0]))
                )
                oc = st.slider(
                    "信息员在岗率（需关注线, 正常线）",
                    0.0,
                    1.0,
                    (float(th["officer_coverage"][1]), float(th["officer_coverage"][0])),
                )
                rcm = st.slider(
                    "点名应答用时（正常线, 需关注线，分钟）",
                    0,
                    120,
                    (int(th["roll_call_median_minutes"][0]), int(th["roll_call_median_minutes"][1])),
                )
                akm = st.slider(
                    "叫应用时（正常线, 需关注线，分钟）",
                    0,
                    480,
                    (int(th["ack_median_minutes"][0]), int(th["ack_median_minutes"][1])),
                )
                if st.form_submit_button("保存阈值"):
                    values = {
                        "period_days": int(period),
                        "roll_call_answer_rate": [rc[1], rc[0]],
                        "ack_rate": [ak[1], ak[0]],
                        "officer_coverage": [oc[1], oc[0]],
                        "roll_call_median_minutes": list(rcm),
                        "ack_median_minutes": list(akm),
                    }
                    if write_feedback(lambda: linkage.set_thresholds(db, user, values), "已保存阈值"):
                        st.rerun()

with st.expander("导出名单：联络人、视频点名、预警叫应"):
    st.caption("导出全县记录（电话按本账号权限脱敏），每次导出记入审计日志。")
    e1, e2, e3 = st.columns(3)
    with e1:
        export_list(
            db,
            user,
            lambda: linkage.contact_list(db, user, None, now.date()),
            {
                "township_name": "乡镇",
                "village_name": "村（社区）",
                "role": "岗位",
                "name": "姓名",
                "phone": "电话",
                "active_from": "到岗日期",
            },
            "联络人名单",
            key="export_contacts",
            enum_columns={"role": CONTACT_ROLES},
        )
    with e2:
        export_list(
            db,
            user,
            lambda: linkage.recent_roll_calls(db, limit=100_000),
            {
                "called_at": "点名时间",
                "township_name": "乡镇",
                "answered_at": "应答时间",
                "answered_by": "应答人",
                "minutes": "用时（分钟）",
                "note": "备注",
            },
            "视频点名记录",
            key="export_roll_calls",
        )
    with e3:
        export_list(
            db,
            user,
            lambda: linkage.warning_list(db, limit=100_000),
            {
                "issued_at": "发布时间",
                "level": "级别",
                "title": "预警",
                "township_name": "乡镇",
                "acknowledged_at": "叫应时间",
                "acknowledged_by": "叫应人",
                "minutes": "叫应用时（分钟）",
                "escalated_at": "升级催办时间",
            },
            "预警叫应记录",
            key="export_warnings",
            enum_columns={"level": WARNING_LEVELS},
        )
