"""队伍健康检查: duplicate persons, expiring certificates and insurance, training, phones, ages, small teams."""

import json
from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from emergency import auth, enums, exports, roster, teams
from emergency.db import local_today
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    draw_prepared,
    page_help,
    paged_frame,
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


@st.cache_resource(max_entries=16, show_spinner="正在检查……")
def cached_findings(
    db_path: str,
    generations: tuple[int, ...],
    role: str,
    user_township: str | None,
    today: date,
    township: str | None,
    settings_json: str,
):
    """The checks read every member (735,000 at 100 times the county): kept until a committed write
    touches a table they read (db.generation_of(*roster.HEALTH_READS); the scheduler's bookkeeping
    does not), per role and township scope, per day and settings. Shared and read-only (a resource:
    neither pickled nor copied on a rerun; at 100 times the county the findings are hundreds of
    thousands of rows, and formatting them all took 16 s of CPU: a view formats its page only)."""
    viewer = auth.User(None, "", "", role, user_township)
    findings = roster.roster_health(get_db(), viewer, today, township, json.loads(settings_json))
    return findings, roster.health_counts(findings)


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
key_of_findings = (
    str(db.path),
    db.generation_of(*roster.HEALTH_READS),
    user.role,
    user.township_code,
    today,
    township,
    json.dumps(settings, sort_keys=True),
)
findings, counts = cached_findings(*key_of_findings)

cols = st.columns(len(roster.HEALTH_CHECKS))
for col, (key, label) in zip(cols, roster.HEALTH_CHECKS.items()):
    col.metric(label, f"{counts[key]}")

COLUMNS = columns_of(teams.birth_label(user))


def page_table(key: str, shown: pd.DataFrame) -> pd.DataFrame:
    """One page of a check's findings as drawn (formatted and marked)."""
    kinds = {"kind": enums.TEAM_KINDS, "level": enums.TEAM_LEVELS} if key == "small_teams" else None
    return prepared_table(shown, COLUMNS[key], kinds)


def export_findings(key: str, label: str) -> bytes:
    """The whole list of one check, at the click only."""
    frame, columns = findings[key], COLUMNS[key]
    return exports.export_xlsx(db, user, frame[list(columns)].rename(columns=columns), label)


tabs = st.tabs([f"{label}（{counts[key]}）" for key, label in roster.HEALTH_CHECKS.items()])
for tab, (key, label) in zip(tabs, roster.HEALTH_CHECKS.items()):
    with tab:
        if findings[key].empty:
            st.success(f"没有发现“{label}”问题。")
            continue
        shown = paged_frame(f"health_{key}", findings[key], {"township": township})  # the export has them all
        page = st.session_state[f"health_{key}_page"]
        draw_prepared(  # this page formatted once per write to what the checks read (Database.memo)
            db.memo(
                roster.HEALTH_READS, ("health_page", key, page, *key_of_findings[2:]), partial(page_table, key, shown)
            )
        )
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
