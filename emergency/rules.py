"""Deadline rules as data, and the pure functions that turn a last date and a rule into a status.

The rule rows below seed the deadline_rules table (DOMAIN.md section 4); the bureau may edit them
there. Nothing here touches the database.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ON_TIME, DUE_SOON, OVERDUE, NEVER = "on_time", "due_soon", "overdue", "never"
STATUS_LABELS = {ON_TIME: "按期", DUE_SOON: "90天内到期", OVERDUE: "已逾期", NEVER: "从未开展"}

DEFAULT_RULES = [
    {
        "code": "plan_drill_default",
        "applies_to": "plan",
        "interval_months": 36,
        "label": "专项应急预案至少每3年演练一次",
        "source": "突发事件应急预案管理办法（2013）第22条；2024年版第31条",
    },
    {
        "code": "plan_drill_production_safety",
        "applies_to": "plan",
        "subject": "SG-01",
        "interval_months": 24,
        "label": "县乡政府生产安全事故应急救援预案至少每2年演练一次",
        "source": "生产安全事故应急条例（2019）第8条",
    },
    {
        "code": "plan_evaluation",
        "applies_to": "plan_evaluation",
        "interval_months": 36,
        "label": "县级以上政府预案原则上每3年评估一次",
        "source": "突发事件应急预案管理办法（2024）第33—34条；2013年版第24—25条",
    },
    {
        "code": "enterprise_half_yearly",
        "applies_to": "enterprise_sector",
        "interval_months": 6,
        "label": "矿山、危化品、金属冶炼、建筑施工、人员密集场所、旅游景区等单位至少每半年演练一次",
        "source": "生产安全事故应急条例（2019）第8条",
    },
    {
        "code": "enterprise_yearly",
        "applies_to": "enterprise_sector",
        "subject": "other",
        "interval_months": 12,
        "label": "其他生产经营单位每年至少一次综合或专项演练",
        "source": "生产安全事故应急预案管理办法 第33条",
    },
    {
        "code": "township_production_safety",
        "applies_to": "township_plan",
        "subject": "SG-01",
        "interval_months": 24,
        "label": "乡镇人民政府生产安全事故应急救援预案至少每2年演练一次",
        "source": "生产安全事故应急条例（2019）第8条",
    },
    {
        "code": "village_yearly",
        "applies_to": "village",
        "interval_months": 12,
        "label": "村（社区）每年至少开展一次演练（参照地方标准的默认值）",
        "source": "广西地方标准（参照）；本系统默认值",
    },
    {
        "code": "flood_season",
        "applies_to": "season",
        "subject": "ZR-01",
        "due_before_month": 6,
        "label": "汛前（6月前）开展防汛演练",
        "source": "突发事件应急预案管理办法（2013）第22条",
    },
    {
        "code": "forest_fire_season",
        "applies_to": "season",
        "subject": "ZR-03",
        "due_before_month": 10,
        "label": "森林防火期（10月起）前开展森林火灾演练",
        "source": "突发事件应急预案管理办法（2013）第22条",
    },
]

# Severity order of the statuses: the worst of several is the one shown for a plan or township.
SEVERITY = (ON_TIME, DUE_SOON, OVERDUE, NEVER)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (2024-01-31 + 1 -> 2024-02-29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(last: date | None, interval_months: int) -> date | None:
    """When the next drill or evaluation is due; None when it never happened (due at once)."""
    return None if last is None else add_months(last, interval_months)


def deadline_status(due: date | None, today: date, warn_days: int = 90) -> str:
    """on_time / due_soon (due within warn_days, inclusive) / overdue (due before today) / never."""
    if due is None:
        return NEVER
    if due < today:
        return OVERDUE
    if (due - today).days <= warn_days:
        return DUE_SOON
    return ON_TIME


def worst_status(*statuses: str | None) -> str:
    """The most severe of the given statuses (never > overdue > due_soon > on_time); None ignored."""
    present = [s for s in statuses if s]
    return max(present, key=SEVERITY.index) if present else ON_TIME


def season_start(year: int, due_before_month: int) -> date:
    return date(year, due_before_month, 1)


def seasonal_status(drill_dates, due_before_month: int, today: date, warn_days: int = 90) -> dict:
    """A seasonal rule ("drill before the season starts") for one subject, e.g. one township.

    The window of a season is 1 January to the day before the season's first month (flood: Jan-May,
    forest fire: Jan-Sep). Before the season starts: done in the window -> on_time, else the status of
    the deadline (due_soon within warn_days). Once the season has started: done -> the next year's
    deadline counts; not done -> overdue (never when no drill of the kind was ever held).
    Returns {season_year, window_start, due_on, done_on, status}.
    """
    past = sorted(d for d in drill_dates if d is not None and d <= today)
    start = season_start(today.year, due_before_month)
    window_start, due = date(today.year, 1, 1), start - timedelta(days=1)
    done = [d for d in past if window_start <= d <= due]
    done_on = done[-1] if done else None
    if today < start:
        status = ON_TIME if done_on else deadline_status(due, today, warn_days)
        season_year = today.year
    elif done_on:
        season_year = today.year + 1
        window_start, due = date(season_year, 1, 1), season_start(season_year, due_before_month) - timedelta(days=1)
        status = deadline_status(due, today, warn_days)
    else:
        season_year, status = today.year, (OVERDUE if past else NEVER)
    return {
        "season_year": season_year,
        "window_start": window_start,
        "due_on": due,
        "done_on": done_on,
        "status": status,
    }


def action_status(
    due_on: date, closed_on: date | None, today: date, warn_days: int = 7, verified_on: date | None = None
) -> str:
    """A corrective action: verified (closed and checked) / closed (awaiting 复查/验收) / overdue (open past
    its deadline) / due_soon (within warn_days) / open."""
    if closed_on is not None:
        return "verified" if verified_on is not None else "closed"
    if due_on < today:
        return "overdue"
    if (due_on - today).days <= warn_days:
        return "due_soon"
    return "open"


ACTION_STATUS_LABELS = {
    "verified": "已验收",
    "closed": "已整改",
    "overdue": "逾期未整改",
    "due_soon": "7天内到期",
    "open": "整改中",
}


def planned_status(planned_on: date, status: str, today: date) -> str:
    """A planned drill: done / cancelled / late (date passed, not done) / upcoming."""
    if status in ("done", "cancelled"):
        return status
    return "late" if planned_on < today else "upcoming"


PLANNED_STATUS_LABELS = {"done": "已完成", "cancelled": "已取消", "late": "已过计划日期未完成", "upcoming": "待开展"}
