"""Deadline rules as data, and the pure functions that turn a last date and a rule into a status.

The rule rows below seed the deadline_rules table (DOMAIN.md section 4); the bureau may edit them
there. Nothing here touches the database.
"""
from __future__ import annotations

import calendar
from datetime import date

ON_TIME, DUE_SOON, OVERDUE, NEVER = "on_time", "due_soon", "overdue", "never"
STATUS_LABELS = {ON_TIME: "按期", DUE_SOON: "90天内到期", OVERDUE: "已逾期", NEVER: "从未开展"}

DEFAULT_RULES = [
    {"code": "plan_drill_default", "applies_to": "plan", "interval_months": 36,
     "label": "专项应急预案至少每3年演练一次",
     "source": "突发事件应急预案管理办法（2013）第22条；2024年版第31条"},
    {"code": "plan_drill_production_safety", "applies_to": "plan", "subject": "SG-01", "interval_months": 24,
     "label": "县乡政府生产安全事故应急救援预案至少每2年演练一次",
     "source": "生产安全事故应急条例（2019）第8条"},
    {"code": "plan_evaluation", "applies_to": "plan_evaluation", "interval_months": 36,
     "label": "县级以上政府预案原则上每3年评估一次",
     "source": "突发事件应急预案管理办法（2024）第33—34条；2013年版第24—25条"},
    {"code": "enterprise_half_yearly", "applies_to": "enterprise_sector", "interval_months": 6,
     "label": "矿山、危化品、金属冶炼、建筑施工、人员密集场所、旅游景区等单位至少每半年演练一次",
     "source": "生产安全事故应急条例（2019）第8条"},
    {"code": "enterprise_yearly", "applies_to": "enterprise_sector", "subject": "other", "interval_months": 12,
     "label": "其他生产经营单位每年至少一次综合或专项演练",
     "source": "生产安全事故应急预案管理办法 第33条"},
    {"code": "village_yearly", "applies_to": "village", "interval_months": 12,
     "label": "村（社区）每年至少开展一次演练（参照地方标准的默认值）",
     "source": "广西地方标准（参照）；本系统默认值"},
    {"code": "flood_season", "applies_to": "season", "subject": "ZR-01", "due_before_month": 6,
     "label": "汛前（6月前）开展防汛演练", "source": "突发事件应急预案管理办法（2013）第22条"},
    {"code": "forest_fire_season", "applies_to": "season", "subject": "ZR-03", "due_before_month": 10,
     "label": "森林防火期（10月起）前开展森林火灾演练", "source": "突发事件应急预案管理办法（2013）第22条"},
]


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
