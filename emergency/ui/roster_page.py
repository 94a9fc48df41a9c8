"""队伍健康检查: duplicate persons, expiring certificates and insurance, training, phones, ages, small teams."""

import json
from functools import partial

import pandas as pd
import streamlit as st

from emergency import enums, exports, paging, roster, teams
from emergency.db import local_today
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    lazy_tabs,
    page_help,
    page_number,
    pager,
    prepared_table,
    township_options,
    write_feedback,
)

MEMBER = {"name": "姓名", "team_name": "所属队伍", "township_name": "乡镇", "phone": "手机号"}


def columns_of(birth_label: str) -> dict[str, dict[str, str]]:
    """Each check's columns under their Chinese headers (the birth date's header depends on the role)."""
    return {
        "duplicates": {
            "person": "人员序号",
            "memberships": "登记次数",
            "name": "姓名",
            "id_masked": "身份证号",
            "team_name": "所属队伍",
            "township_name": "乡镇",
            "phone": "手机号",
        },
        "certificates": {
            "certificate": "证书",
            "number": "证书编号",
            "expires_on": "有效期至",
            "status": "状态",
            "days_left": "剩余天数",
            **MEMBER,
        },
        "insurance": {"insurance_until": "保险到期", "status": "状态", **MEMBER},
        "untrained": {**MEMBER, "id_masked": "身份证号"},
        "phones": {"problem": "问题", **MEMBER},
        "ages": {"age": "年龄", "birth_date": birth_label, **MEMBER},
        "small_teams": {
            "name": "队伍名称",
            "kind": "类别",
            "level": "层级",
            "township_name": "乡镇",
            "member_count": "在册队员",
            "leader_name": "负责人",
        },
    }


user = require_login()
db = get_db()
st.title("队伍健康检查")
page_help("roster-health")

settings = roster.health_settings(db)
st.caption(
    f"检查口径：证书和保险在 {settings['expiry_window_days']} 天内到期即预警；年龄 {settings['min_age']}—"
    f"{settings['max_age']} 岁；队伍少于 {settings['min_team_size']} 人为人数不足。只统计在册队伍的在册队员。"
    "手机号对非本乡镇账号脱敏显示。"
)

towns = township_options(db)
default = list(towns.values()).index(user.township_code) if user.township_code in towns.values() else 0
township = towns[st.selectbox("乡镇", list(towns), index=default)]
today = local_today()
settings_key = json.dumps(settings, sort_keys=True)
# The checks' counts, kept until a committed write touches a table they read (roster.
# health_summary_kept; the county's are computed at the server's start). At 100 times the county the
# lists are hundreds of thousands of rows: the page counts them in SQL and fetches the one page it
# shows of the open tab.
summary = roster.health_summary_kept(db, today, township, settings)

cols = st.columns(len(roster.HEALTH_CHECKS))
for col, (key, label) in zip(cols, roster.HEALTH_CHECKS.items()):
    col.metric(label, f"{summary.counts[key]}")

COLUMNS = columns_of(teams.birth_label(user))


def page_view(key: str, number: int) -> tuple[paging.Page, pd.DataFrame]:
    """Page `number` of a check's findings and its table as drawn (formatted and marked)."""
    found = roster.health_page(db, user, today, key, township, settings, page=number, summary=summary)
    kinds = {"kind": enums.TEAM_KINDS, "level": enums.TEAM_LEVELS} if key == "small_teams" else None
    return found, prepared_table(found.rows, COLUMNS[key], kinds)


def export_findings(key: str, label: str) -> bytes:
    """The whole list of one check, at the click only."""
    frame, columns = roster.check_findings(db, user, today, key, township, settings), COLUMNS[key]
    return exports.export_xlsx(db, user, frame[list(columns)].rename(columns=columns), label)


# Lazy tabs: only the open check's page is read. The labels carry the counts, which change with the
# township and after a write: the open check is kept (health_open) and its new label chosen.
labels = {key: f"{label}（{summary.counts[key]}）" for key, label in roster.HEALTH_CHECKS.items()}
if st.session_state.get("health_tab") not in labels.values():
    st.session_state["health_tab"] = labels.get(st.session_state.get("health_open", ""), labels["duplicates"])
tabs = lazy_tabs(labels.values(), "health_tab")
for tab, (key, label) in zip(tabs, roster.HEALTH_CHECKS.items()):
    if not tab.open:
        continue
    st.session_state["health_open"] = key
    with tab:
        if summary.rows[key] == 0:
            st.success(f"没有发现“{label}”问题。")
            continue
        number = page_number(f"health_{key}", {"township": township})
        found, table = db.memo(  # this page read and formatted once per write to what the checks read
            roster.HEALTH_READS,
            ("health_page", key, number, user.role, user.township_code, today, township, settings_key),
            partial(page_view, key, number),
        )
        pager(f"health_{key}", found)  # the export has them all
        draw_prepared(table)
        st.download_button(
            "导出 Excel",
            data=partial(export_findings, key, label),
            file_name=f"健康检查_{label}_{today:%Y%m%d}.xlsx",
            key=f"export_{key}",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            on_click="ignore",
        )

if user.is_admin:
    with st.expander("修改检查参数（管理员）"), st.form("health_settings"):
        values = {
            key: int(st.number_input(label, min_value=0, value=settings[key], step=1, key=f"set_{key}"))
            for key, label in roster.SETTING_LABELS.items()
        }
        if st.form_submit_button("保存参数"):
            if write_feedback(lambda: roster.save_health_settings(db, user, values), "参数已保存。"):
                st.rerun()
