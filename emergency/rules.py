"""Deadline rules as data, and the pure functions that turn a clock start, a last date and a rule
into a due date and a status.

The rule rows below seed the deadline_rules table (DOMAIN.md section 4); the bureau edits them there
(`rules set`, the plans page), and every interval of the system is read from that table. Each rule
names its source and how sure we are of it (R: read in the published text, M: from a secondary
summary, I: our own design choice). Nothing here touches the database.

A clock starts at the subject's start (a plan's issue or revision, an enterprise's registration, a
village's entry in the system); it runs from the last completion on or after that start; a subject
never done is late only once its first interval has passed.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache

ON_TIME, DUE_SOON, OVERDUE = "on_time", "due_soon", "overdue"
STATUS_LABELS = {ON_TIME: "按期", DUE_SOON: "即将到期", OVERDUE: "已逾期"}
CERTAINTY_LABELS = {"R": "已核对原文", "M": "据二手资料，条款号待核", "I": "本系统设计取值"}

ORDINANCE = "生产安全事故应急条例（国务院令第708号，2019）"
MEASURES_2024 = "突发事件应急预案管理办法（国办发〔2024〕5号）"
ENTERPRISE_MEASURES = "生产安全事故应急预案管理办法（应急管理部令第2号，2019修正）"
HIGH_RISK_EVALUATION = "non_coal_mine,tailings_pond,hazchem,metal_smelting,construction"

DEFAULT_RULES: list[dict] = [
    {
        "code": "plan_drill_default",
        "applies_to": "plan",
        "interval_months": 36,
        "label": "专项应急预案、部门应急预案至少每3年演练一次",
        "source": f"{MEASURES_2024}第31条",
        "certainty": "R",
    },
    {
        "code": "plan_drill_production_safety",
        "applies_to": "plan",
        "interval_months": 24,
        "label": "县级政府及其负有安全生产监督管理职责的部门的生产安全事故应急救援预案至少每2年演练一次",
        "source": f"{ORDINANCE}第8条",
        "certainty": "R",
    },
    {
        "code": "plan_evaluation",
        "applies_to": "plan_evaluation",
        "interval_months": 36,
        "label": "政府应急预案原则上每3年评估一次，演练或事件暴露问题时及时修订",
        "source": f"{MEASURES_2024}第33—34条",
        "certainty": "M",
    },
    {
        "code": "plan_filing",
        "applies_to": "plan_filing",
        "working_days": 20,
        "label": "政府应急预案印发后20个工作日内备案（乡镇预案报县政府，村（社区）预案报乡镇）",
        "source": f"{MEASURES_2024}第26条",
        "certainty": "R",
    },
    {
        "code": "township_plan_default",
        "applies_to": "township_plan",
        "interval_months": 36,
        "label": "乡镇总体及专项应急预案至少每3年演练一次（参照专项预案的演练周期）",
        "source": f"{MEASURES_2024}第31条（乡镇参照执行，本系统默认值）",
        "certainty": "I",
    },
    {
        "code": "township_production_safety",
        "applies_to": "township_plan",
        "interval_months": 24,
        "label": "乡镇人民政府生产安全事故应急救援预案至少每2年演练一次",
        "source": f"{ORDINANCE}第8条",
        "certainty": "R",
    },
    {
        "code": "village_yearly",
        "applies_to": "village",
        "interval_months": 12,
        "label": "村（社区）每年至少开展一次演练（参照地方标准的默认值）",
        "source": "广西地方标准（参照，非河南法规）；本系统默认值",
        "certainty": "I",
    },
    {
        "code": "enterprise_half_yearly",
        "applies_to": "enterprise_sector",
        "subject": "non_coal_mine,tailings_pond,hazchem,metal_smelting,construction,crowded_place,scenic_area",
        "interval_months": 6,
        "label": "矿山、危化品、金属冶炼、建筑施工、人员密集场所、旅游景区等单位至少每半年演练一次，"
        "并将演练情况报送负有安全生产监督管理职责的部门",
        "source": f"{ORDINANCE}第8条",
        "certainty": "R",
    },
    {
        "code": "enterprise_yearly",
        "applies_to": "enterprise_sector",
        "subject": "other",
        "interval_months": 12,
        "label": "生产经营单位每年至少组织一次综合应急预案或专项应急预案演练",
        "source": f"{ENTERPRISE_MEASURES}第33条",
        "certainty": "R",
    },
    {
        "code": "enterprise_onsite",
        "applies_to": "enterprise_plan",
        "subject": "onsite",
        "interval_months": 6,
        "label": "生产经营单位每半年至少组织一次现场处置方案演练",
        "source": f"{ENTERPRISE_MEASURES}第33条",
        "certainty": "R",
    },
    {
        "code": "enterprise_filing",
        "applies_to": "enterprise_filing",
        "working_days": 20,
        "label": "生产经营单位应急预案公布之日起20个工作日内向应急管理等部门备案",
        "source": f"{ENTERPRISE_MEASURES}第26条",
        "certainty": "R",
    },
    {
        "code": "enterprise_evaluation",
        "applies_to": "enterprise_evaluation",
        "subject": HIGH_RISK_EVALUATION,
        "interval_months": 36,
        "label": "矿山、金属冶炼、建筑施工、危险化学品等单位每3年进行一次应急预案评估",
        "source": f"{ENTERPRISE_MEASURES}第35条",
        "certainty": "M",
    },
    {
        "code": "flood_season",
        "applies_to": "season",
        "subject": "ZR-01,ZR-05,ZR-09",
        "domains": "geological",
        "season_start": "06-01",
        "season_end": "09-30",
        "due_at": "start",
        "label": "汛期（6月1日至9月30日）开始前完成防汛、山洪、地质灾害演练",
        "source": "河南省汛期起止日期以省防汛抗旱指挥部当年通知为准（约6月1日至9月30日）；"
        f"汛前演练：{MEASURES_2024}第31条",
        "certainty": "M",
    },
    {
        "code": "forest_fire_season",
        "applies_to": "season",
        "subject": "ZR-03",
        "domains": "forest_fire",
        "season_start": "11-01",
        "season_end": "04-30",
        "due_at": "end",
        "label": "森林防火期（11月1日至次年4月30日）结束前完成森林火灾演练（防火期前或期内均可）",
        "source": "河南省森林防火期每年11月1日至次年4月30日（河南日报2024-02-24）",
        "certainty": "R",
    },
]

# Severity order of the statuses: the worst of several is the one shown for a plan or township.
SEVERITY = (ON_TIME, DUE_SOON, OVERDUE)


def rule_period(rule: Mapping) -> str:
    """When a deadline rule (a deadline_rules row) falls due, as 专项应急预案 and `clocks` show it: its
    season (MM-DD至MM-DD), its working days, or every N months ("—" when it sets none)."""
    if rule["season_start"]:
        return f"{rule['season_start']}至{rule['season_end']}"
    if rule["working_days"]:
        return f"{rule['working_days']}个工作日内"
    return f"每{rule['interval_months']}个月" if rule["interval_months"] else "—"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (2024-01-31 + 1 -> 2024-02-29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(last: date | None, interval_months: int) -> date | None:
    """`last` + the interval; None when there is no date to count from."""
    return None if last is None else add_months(last, interval_months)


def last_done(dates: Iterable[date | None], clock_start: date | None, today: date) -> date | None:
    """The latest completion that counts: on or after the clock's start, not after today."""
    counted = [d for d in dates if d is not None and d <= today and (clock_start is None or d >= clock_start)]
    return max(counted, default=None)


def clock_due(done: date | None, clock_start: date | None, interval_months: int) -> date | None:
    """Due `interval_months` after the last completion, or after the clock's start when never done."""
    return due_date(done or clock_start, interval_months)


def deadline_status(due: date | None, today: date, warn_days: int = 90) -> str:
    """on_time / due_soon (due within warn_days, inclusive) / overdue (due before today).

    A subject with no date at all to count from (neither a completion nor a clock start) is due at
    once: overdue."""
    if due is None or due < today:
        return OVERDUE
    if (due - today).days <= warn_days:
        return DUE_SOON
    return ON_TIME


def worst_status(*statuses: str | None) -> str:
    """The most severe of the given statuses (overdue > due_soon > on_time); None ignored."""
    present = [s for s in statuses if s]
    return max(present, key=SEVERITY.index) if present else ON_TIME


# Working days (备案 within 20 working days) ------------------------------------------------------
@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """China's working days (holidays and make-up Saturdays/Sundays) from chinese_calendar; for a year
    it does not know yet (it covers 2004 to its release year) Monday to Friday. Cached: the library
    validates every date against its whole table, and the sweeps ask about the same days often."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(day: date, count: int, workday: Callable[[date], bool] = is_workday) -> date:
    """The `count`-th working day after `day` (the day itself not counted): "within 20 working days
    of issue" ends on add_working_days(issued_on, 20)."""
    if workday is is_workday:  # China's calendar: every sweep asks for the same few hundred issue dates
        return _add_china_working_days(day, count)
    return _count_working_days(day, count, workday)


@lru_cache(maxsize=8192)
def _add_china_working_days(day: date, count: int) -> date:
    return _count_working_days(day, count, is_workday)


def _count_working_days(day: date, count: int, workday: Callable[[date], bool]) -> date:
    current = day
    while count > 0:
        current += timedelta(days=1)
        if workday(current):
            count -= 1
    return current


def filing_clock(
    issued_on: date | None,
    filed_on: date | None,
    today: date,
    working_days: int = 20,
    warn_days: int = 10,
    workday: Callable[[date], bool] = is_workday,
) -> dict:
    """备案 of one issued version: {due_on, filed_on, status, filed_late}.

    Filed on or after the issue: done (on_time; filed_late when after the due day). Not filed:
    the status of the deadline (due_soon within warn_days). A filing before this issue belongs to
    an earlier version and does not count."""
    due = add_working_days(issued_on, working_days, workday) if issued_on else None
    filed = filed_on if filed_on and (issued_on is None or filed_on >= issued_on) else None
    if filed:
        return {"due_on": due, "filed_on": filed, "status": ON_TIME, "filed_late": bool(due and filed > due)}
    return {"due_on": due, "filed_on": None, "status": deadline_status(due, today, warn_days), "filed_late": False}


# Seasons (rule data: start and end as MM-DD; the end may fall in the next year) --------------------
def month_day(year: int, text: str) -> date:
    """'MM-DD' in `year` (02-29 falls on 02-28 in a common year)."""
    month, day = (int(part) for part in text.split("-"))
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def parse_month_day(text: str) -> str:
    """Validate 'MM-DD' (any year's day, 02-29 allowed); returns it normalised, raises ValueError."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"日期应为 MM-DD 格式（当前：{text}）")
    month, day = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2024, month)[1]:
        raise ValueError(f"不是有效的月-日：{text}")
    return f"{month:02d}-{day:02d}"


def season_dates(year: int, start: str, end: str) -> tuple[date, date]:
    """The season that starts in `year`: (first day, last day); an end before the start is next year's."""
    first = month_day(year, start)
    last = month_day(year, end)
    if last < first:
        last = month_day(year + 1, end)
    return first, last


def season_window(year: int, start: str, end: str, due_at: str) -> tuple[date, date]:
    """(window start, due day) of the season starting in `year`: a drill in the window counts for it.

    The window opens the day after the previous season ends; it closes the day before the season
    starts (due_at 'start': drill before the season) or on its last day (due_at 'end': before or in it).
    """
    first, last = season_dates(year, start, end)
    due = first - timedelta(days=1) if due_at == "start" else last
    return season_dates(year - 1, start, end)[1] + timedelta(days=1), due


def season_windows(start: str, end: str, due_at: str, today: date) -> tuple[int, tuple[date, date], tuple[date, date]]:
    """The current season's year (the first whose due day is today or later), its window and the
    previous season's window ((start, due day) each, season_window): all seasonal_status looks at.
    The windows do not overlap, so a drill counts for one season at most."""
    year = today.year - 1
    while season_window(year, start, end, due_at)[1] < today:
        year += 1
    return year, season_window(year, start, end, due_at), season_window(year - 1, start, end, due_at)


def seasonal_status(
    drill_dates: Iterable[date | None],
    start: str,
    end: str,
    due_at: str,
    today: date,
    warn_days: int = 90,
    clock_start: date | None = None,
) -> dict:
    """A seasonal rule for one subject: {season_year, window_start, due_on, done_on, status}.

    The current season is the first whose due day is today or later. Done in its window: on time.
    Else, if the previous season's window passed without a drill (and the subject's clock had
    started by that window's opening): overdue, due_on being that season's due day. Else the status
    of the current due day. Drills after today do not count.
    """
    dates = [d for d in drill_dates if d is not None and d <= today]
    year, (window_start, due), (prev_start, prev_due) = season_windows(start, end, due_at, today)
    done = [d for d in dates if window_start <= d <= due]
    if done:
        return _season(year, window_start, due, max(done), ON_TIME)
    bound = clock_start is None or clock_start <= prev_start
    if bound and not any(prev_start <= d <= prev_due for d in dates):
        return _season(year - 1, prev_start, prev_due, None, OVERDUE)
    return _season(year, window_start, due, None, deadline_status(due, today, warn_days))


def _season(year: int, window_start: date, due: date, done: date | None, status: str) -> dict:
    return {"season_year": year, "window_start": window_start, "due_on": due, "done_on": done, "status": status}


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
