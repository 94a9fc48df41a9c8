"""The cached reads of the deadline pages (专项应急预案's clocks and tables, 整改跟踪's overdue list):
their st.cache functions, decorated once per process. A decorator in a page script runs again at
every rerun, and Streamlit reads the decorated function's source each time (see linkage_cache)."""

import pandas as pd
import streamlit as st

from emergency import deadlines, enums
from emergency.rules import STATUS_LABELS
from emergency.ui.state import get_db
from emergency.ui.widgets import prepared_table


@st.cache_data(max_entries=16, show_spinner=False)
def cached_clocks(db_path: str, generations: tuple[int, ...], today):
    """The clocks of the plans, township plans and villages, and the rules: about 15 queries and
    the rules applied to 40 plans and 337 villages in Python; kept until a committed write touches a
    table family they read (db.generation_of(*deadlines.CLOCK_READS)), per day."""
    db = get_db()
    return (
        deadlines.plan_deadlines(db, today),
        deadlines.all_rules(db),
        deadlines.township_plan_deadlines(db, today),
        deadlines.village_deadlines(db, today),
    )


COLUMNS = {
    "code": "编号",
    "name": "名称",
    "status_label": "状态",
    "drill_every": "演练周期",
    "last_drill_on": "最近演练",
    "drill_due_on": "下次演练截止",
    "last_evaluated_on": "最近评估",
    "evaluation_due_on": "下次评估截止",
    "clock_start": "印发日期",
    "doc_number": "文号",
    "filing_due_on": "备案截止",
    "filing": "备案",
    "revision_flag": "修订",
    "version": "版本",
    "lead_department": "牵头单位",
    "drill_count": "演练次数",
}


def every(months, override: bool = False) -> str:
    return f"每{months}个月" + ("（预案文件另定）" if override else "") if months else "—"


def filing_text(row) -> str:
    if row.get("filed_on") is None or pd.isna(row.get("filed_on")):
        return "未备案"
    return f"{row['filed_on']:%Y-%m-%d} 报{row['filed_with'] or ''}" + ("（逾期备案）" if row.get("filed_late") else "")


TOWNSHIP_COLUMNS = {
    "township_name": "乡镇",
    "name": "预案",
    "status_label": "演练状态",
    "every": "演练周期",
    "last_drill_on": "最近演练",
    "due_on": "下次演练截止",
    "issued_on": "印发日期",
    "doc_number": "文号",
    "filing_due_on": "备案截止（报县政府）",
    "filing": "备案",
    "filing_label": "备案状态",
}
VILLAGE_COLUMNS = {
    "township_name": "乡镇",
    "name": "村（社区）",
    "plan_name": "预案",
    "status_label": "演练状态",
    "last_drill_on": "最近演练",
    "due_on": "下次演练截止",
    "issued_on": "印发日期",
    "filing_due_on": "备案截止（报乡镇）",
    "filing": "备案",
    "filing_label": "备案状态",
}


@st.cache_data(max_entries=16, show_spinner=False)
def cached_tables(db_path: str, generations: tuple[int, ...], today) -> dict:
    """The plans as a frame (counts, export) and every table of the page as drawn (formatted and
    marked, widgets.prepared_table), cached with the clocks they show."""
    rows, _, own, villages = cached_clocks(db_path, generations, today)
    frame = pd.DataFrame(rows)
    tables: dict = {"frame": frame, "by_category": {}, "own": None, "villages": None}
    if len(frame):
        frame["revision_flag"] = frame["needs_revision"].map(lambda v: "需修订" if v else "")
        frame["drill_every"] = [every(m, o) for m, o in zip(frame["drill_interval_months"], frame["drill_override"])]
        frame["filing"] = [filing_text(r) for r in rows]
        frame["name"] = [
            n if t in (None, "专项") else f"{n}（{t}预案）" for n, t in zip(frame["name"], frame["plan_type"])
        ]
        tables["by_category"] = {
            category: prepared_table(frame[frame["category"] == category], COLUMNS)
            for category in enums.PLAN_CATEGORIES
        }
    if own:
        own_frame = pd.DataFrame(own)
        own_frame["status_label"] = own_frame["status"].map(STATUS_LABELS)
        own_frame["filing_label"] = own_frame["filing_status"].map(STATUS_LABELS)
        own_frame["every"] = own_frame["interval_months"].map(every)
        own_frame["filing"] = [filing_text(r) for r in own]
        tables["own"] = prepared_table(own_frame, TOWNSHIP_COLUMNS)
    village_frame = pd.DataFrame(villages)
    if len(village_frame):
        village_frame["status_label"] = village_frame["status"].map(STATUS_LABELS)
        village_frame["filing_label"] = village_frame.get("filing_status", pd.Series(dtype=str)).map(STATUS_LABELS)
        village_frame["filing"] = [filing_text(r) if r.get("plan_id") is not None else "无预案" for r in villages]
        tables["villages"] = prepared_table(village_frame, VILLAGE_COLUMNS)
    return tables


@st.cache_data(max_entries=64, show_spinner=False)
def cached_overdue(db_path: str, generations: tuple[int, ...], today, township: str | None) -> list[dict]:
    """Everything late today (every clock of plans, enterprises, seasons, township plans and villages,
    the rules applied in Python): kept until a committed write touches a table family it reads
    (db.generation_of(*deadlines.OVERDUE_READS)), per day and township."""
    return deadlines.overdue_list(get_db(), today, township_code=township)
