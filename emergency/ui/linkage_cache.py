"""三级联动's cached status and tables (the page's st.cache functions). Defined here, not in the page
script, so that they are decorated once per process: the page script runs again at every rerun, and
Streamlit's decorator reads the function's source each time (inspect.getsource, milliseconds each)."""

import json
from datetime import datetime

import pandas as pd
import streamlit as st

from emergency import auth, calls, linkage, regions
from emergency.enums import CONTACT_ROLES, WARNING_LEVELS
from emergency.notify import personal
from emergency.ui.state import get_db
from emergency.ui.widgets import (
    default_year,
    prepared_frame,
    prepared_table,
)


@st.cache_resource(max_entries=8, show_spinner=False)
def cached_status(db_path: str, generation: tuple[int, ...], period: datetime, year: int, _now: datetime):
    """Thresholds, township indicators, the county row, the connected rules and the year's detail,
    computed at `_now` (not part of the key): kept until the next committed write to what it reads
    (linkage.STATUS_READS) or the next status period (linkage.status_period); read-only, shared."""
    db = get_db()
    th = linkage.thresholds(db)
    indicators = linkage.township_indicators(db, _now, th)
    rules = linkage.connected_rules(db)
    summary = linkage.county_summary(db, _now.date(), indicators)
    return th, indicators, summary, rules, linkage.connected_detail(db, year, _now.date(), rules)


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_villages(
    db_path: str, generation: tuple[int, ...], period: datetime, township_code: str, th_json: str, _now: datetime
):
    return linkage.village_indicators(get_db(), township_code, _now, json.loads(th_json))


# The tables below are cached as drawn (widgets.prepared_table: formatted and marked), with the data
# they show: a rerun with unchanged data formats nothing.
@st.cache_data(max_entries=8, show_spinner=False)
def cached_township_table(
    db_path: str, generation: tuple[int, ...], period: datetime, year: int, _now: datetime
) -> pd.DataFrame:
    frame = pd.DataFrame(cached_status(db_path, generation, period, year, _now)[1])
    frame["status_label"] = frame["status"].map(linkage.STATUS_LABELS)
    frame["rc"] = [f"{a}/{n}" for a, n in zip(frame["roll_calls_answered"], frame["roll_calls"])]
    frame["ak"] = [f"{a}/{n}" for a, n in zip(frame["warnings_acknowledged"], frame["warnings"])]
    frame["officers"] = [f"{a}/{n}" for a, n in zip(frame["villages_with_officer"], frame["villages"])]
    for column in ("roll_call_rate", "ack_rate", "officer_coverage"):
        frame[column] = frame[column].map(lambda v: None if v is None or pd.isna(v) else round(v * 100, 1))
    for column in ("roll_call_median", "ack_median"):
        frame[column] = frame[column].map(lambda v: None if v is None or pd.isna(v) else round(v, 1))
    frame["reasons"] = frame["reasons"].map("；".join)
    return prepared_table(
        frame,
        {
            "name": "乡镇",
            "status_label": "状态",
            "rc": "点名应答/次",
            "roll_call_rate": "应答率",
            "roll_call_median": "应答用时中位数",
            "ak": "预警叫应/次",
            "ack_rate": "叫应率",
            "ack_median": "叫应用时中位数",
            "officers": "有信息员的村",
            "officer_coverage": "信息员在岗率",
            "station_staff": "应急站在岗",
            "teams": "在册队伍",
            "township_drills_12m": "近12月乡镇演练",
            "village_drills_12m": "近12月村级演练",
            "reasons": "需关注",
        },
        percents=["roll_call_rate", "ack_rate", "officer_coverage"],
        durations=["roll_call_median", "ack_median"],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def cached_village_table(
    db_path: str, generation: tuple[int, ...], period: datetime, township_code: str, th_json: str, _now: datetime
) -> pd.DataFrame:
    villages = pd.DataFrame(cached_villages(db_path, generation, period, township_code, th_json, _now))
    villages["status"] = villages["status"].map(linkage.STATUS_LABELS)
    villages["reasons"] = villages["reasons"].map("；".join)
    villages["ack_rate"] = villages["ack_rate"].map(lambda v: None if v is None or pd.isna(v) else round(v * 100, 1))
    return prepared_table(
        villages,
        {
            "name": "村（社区）",
            "status": "状态",
            "officer_a": "信息员A岗",
            "officer_b": "信息员B岗",
            "warnings": "本期预警",
            "ack_rate": "叫应率",
            "drills_12m": "近12月演练",
            "teams": "村级队伍",
            "reasons": "需关注",
        },
        percents=["ack_rate"],
    )


@st.cache_data(max_entries=32, show_spinner=False)
def cached_pending(db_path: str, generation: tuple[int, ...], scope: str | None):
    """The acknowledgements waiting (at most 500) as drawn, and the form's choices {label: id}:
    kept until the next committed write to what they read (linkage.CALLS_READS)."""
    pending = linkage.pending_acknowledgements(get_db(), scope)
    if not pending:
        return None, {}
    shown = pd.DataFrame(pending)
    shown["level"] = shown["level"].map(WARNING_LEVELS)
    shown["escalated"] = shown["escalated_at"].map(lambda v: "已升级催办" if v is not None and not pd.isna(v) else "")
    labels = {
        f"{p['issued_at']:%Y-%m-%d %H:%M} {p['title']} · {p['township_name']}"
        + (f" / {p['village_name']}" if p["village_name"] else ""): p["id"]
        for p in pending
    }
    table = prepared_table(
        shown,
        {
            "issued_at": "发布时间",
            "level": "级别",
            "title": "预警",
            "township_name": "乡镇",
            "village_name": "村（社区）",
            "escalated": "升级",
        },
    )
    return table, labels


@st.cache_data(max_entries=64, show_spinner=False)
def cached_contacts(
    db_path: str, generation: tuple[int, ...], role: str, user_township: str | None, township: str | None, today
):
    """The current contacts of a township (None: the user's scope), phones masked for this role and
    township, and their table as drawn: kept until the next committed write to what they read
    (linkage.CALLS_READS)."""
    contacts = linkage.contact_list(get_db(), auth.User(None, "", "", role, user_township), township, today)
    return contacts, prepared_table(
        contacts,
        {"village_name": "村（社区）", "role": "岗位", "name": "姓名", "phone": "电话", "active_from": "到岗日期"},
        {"role": CONTACT_ROLES},
    )


@st.cache_data(max_entries=16, show_spinner=False)
def cached_warnings(db_path: str, generation: tuple[int, ...]):
    """The recent warnings and the recent roll calls' table as drawn."""
    roll_calls = linkage.recent_roll_calls(get_db(), limit=50).rename(
        columns={
            "called_at": "点名时间",
            "township_name": "乡镇",
            "answered_at": "应答时间",
            "answered_by": "应答人",
            "minutes": "用时",
            "note": "备注",
        }
    )[["点名时间", "乡镇", "应答时间", "应答人", "用时", "备注"]]
    return calls.recent_warnings(get_db(), 100), prepared_frame(roll_calls, durations=["用时"])


@st.cache_data(max_entries=64, show_spinner=False)
def cached_warning(db_path: str, generation: tuple[int, ...], warning_id: int):
    """A warning's rates per township and its timeline (None before calls were logged one by one), as drawn."""
    rates = prepared_table(
        pd.DataFrame(calls.place_rates(get_db(), warning_id)),
        {"township_name": "乡镇", "places": "叫应单位", "acknowledged": "已确认", "within_limit": "限时内确认"},
    )
    events = pd.DataFrame(calls.timeline(get_db(), warning_id))
    if events.empty:
        return rates, None
    events["channel"] = events["channel"].map(lambda c: personal.MESSAGE_CHANNELS.get(c, c))
    events["status"] = events["status"].map({"sent": "已送达", "pending": "待发送", "failed": "发送失败"})
    events["attempt"] = events["attempt"].map(lambda a: "再次叫应" if a > 1 else "首次")
    return rates, prepared_table(
        events,
        {
            "place": "单位",
            "name": "姓名",
            "role": "岗位",
            "step": "步骤",
            "attempt": "叫应",
            "called_at": "叫应时间",
            "channel": "渠道",
            "status": "送达",
            "delivered_at": "送达时间",
            "answered_at": "确认时间",
            "answered_via": "确认方式",
            "answered_by": "确认人",
            "action": "采取措施",
        },
    )


# The page's keys, in one place: the page calls these, and warm() fills the same entries.
def status_now(db, year: int, now: datetime):
    """cached_status for `year` at `now` (its status period)."""
    return cached_status(str(db.path), db.generation_of(*linkage.STATUS_READS), linkage.status_period(now), year, now)


def township_table_now(db, year: int, now: datetime) -> pd.DataFrame:
    period = linkage.status_period(now)
    return cached_township_table(str(db.path), db.generation_of(*linkage.STATUS_READS), period, year, now)


def village_table_now(db, township_code: str, th: dict, now: datetime) -> pd.DataFrame:
    period = linkage.status_period(now)
    generation = db.generation_of(*linkage.STATUS_READS)
    return cached_village_table(str(db.path), generation, period, township_code, json.dumps(th, sort_keys=True), now)


def pending_now(db, scope: str | None):
    """cached_pending for `scope` (None: the county) at the calls' current generation."""
    return cached_pending(str(db.path), db.generation_of(*linkage.CALLS_READS), scope)


def warm(db, now: datetime) -> None:
    """Fill what the first view of 三级联动 reads at `now` for the county's accounts: the status and
    the townships' table of the year it opens on, the first township's villages, the county's
    pending acknowledgements (the open tab)."""
    year = default_year()
    th = status_now(db, year, now)[0]
    township_table_now(db, year, now)
    towns = regions.townships(db)
    if towns:
        village_table_now(db, towns[0]["code"], th, now)
    pending_now(db, None)
