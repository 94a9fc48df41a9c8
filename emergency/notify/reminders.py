"""The sweep: what is due (pure functions over plain rows) -> one notification per (kind, subject,
due date, recipient), inserted with a unique key so that a sweep run twice, late, or after a crash
creates nothing twice and misses nothing. Plus the in-app inbox (per-user read state) and the
reminder settings.

How "due" works. Every candidate reminder has a moment `remind_at` at which it falls due, and a
condition that keeps it alive (the drill is still planned, the action still open, the roll call
still unanswered...). A sweep at `now` creates every live candidate with remind_at <= now that does
not exist yet. It does not matter whether the previous sweep ran yesterday or a week ago: after an
outage the first sweep creates each reminder that fell due meanwhile, once.

Working days. Non-urgent kinds (everything but roll calls and warnings) fall on China's working days
(chinese_calendar: public holidays and make-up working days):
- a reminder *ahead of* a date (drill coming, certificate/insurance expiring, evaluation due) is
  brought forward to the nearest earlier working day, so it never arrives later than intended;
- a reminder *after* a date (drill, evaluation or corrective action overdue) is deferred to the next
  working day;
- and the sweep creates non-urgent reminders only on a working day (on a holiday it creates only
  urgent ones; the next working day's sweep catches up).
Urgent kinds (roll call unanswered: escalated to the county bureau) fall due at any hour of any day
and ignore quiet hours. Unacknowledged warnings are not the sweep's: emergency/calls.py escalates
them within minutes, step by step (the every-minute `escalate` job), each step's limit being its
call chain's `limit_minutes`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from .. import audit
from ..auth import SYSTEM, PermissionDenied, User, require_admin
from ..db import KEY_CHANGES, TZ, put_setting
from ..errors import ValidationError
from ..records import live

if TYPE_CHECKING:
    import pyarrow as pa

    from ..db import Cursor, Database

KINDS = {
    "drill_coming": "演练临近",
    "plan_drill_overdue": "预案演练逾期",
    "enterprise_drill_overdue": "企业演练逾期",
    "village_drill_overdue": "村（社区）演练逾期",
    "plan_evaluation_due": "预案评估到期",
    "plan_filing_due": "预案备案到期",
    "township_plan_drill_overdue": "乡镇预案演练逾期",
    "certificate_expiring": "证书即将到期",
    "insurance_expiring": "保险即将到期",
    "action_overdue": "整改逾期",
    "roll_call_unanswered": "点名未应答",
    "warning_unacknowledged": "预警未确认",
    "warning_call": "预警叫应",  # emergency/calls.py: a warning pushed down the call chain
    "warning_escalated": "叫应升级",  # emergency/calls.py: called again, next step, county duty office
    "stock_expiring": "物资即将到期",  # resources/stock.py
    "stock_below_minimum": "物资低于最低储备",
}
URGENT_KINDS = ("roll_call_unanswered", "warning_unacknowledged", "warning_call", "warning_escalated")

DEFAULT_SETTINGS: dict[str, Any] = {
    "lead_days": [7, 1],  # planned drill: reminders this many days before
    "expiry_days": 30,  # certificate / insurance: this many days before expiry
    "evaluation_lead_days": 30,  # plan evaluation: this many days before it is due
    "roll_call_minutes": 30,  # roll call unanswered after this long -> escalate to the bureau
    "escalation_window_days": 7,  # older unanswered roll calls / warnings are history, not reminders
    "quiet_start": "22:00",  # no e-mail / robot messages in quiet hours (urgent ones excepted)
    "quiet_end": "07:00",
    "max_attempts": 5,  # a delivery that failed this often is 'failed' and shown to the admin
    "retry_base_seconds": 60,  # backoff: base * 2^(attempts-1), at most 6 hours
    "backup_keep_days": 14,
}


# Working days ----------------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """China's working days (holidays and make-up Saturdays/Sundays) from chinese_calendar; for a year
    it does not know yet (it covers 2004 to its release year) Monday to Friday. Cached: the library
    validates every date against its whole table (20 µs), and a sweep asks about the same days
    tens of thousands of times."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def previous_workday(day: date) -> date:
    """The day itself if it is a working day, else the nearest earlier working day."""
    while not is_workday(day):
        day -= timedelta(days=1)
    return day


def next_workday(day: date) -> date:
    """The day itself if it is a working day, else the nearest later working day."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), TZ)


def local(now: datetime) -> datetime:
    """An instant in the county's time zone (naive datetimes are taken as county time)."""
    return now.replace(tzinfo=TZ) if now.tzinfo is None else now.astimezone(TZ)


# Candidates (pure) -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    kind: str
    subject_type: str
    subject_id: str
    due_on: date | None
    township_code: str | None  # recipient: a township, or None for the county bureau
    # (title, body), built when asked for: a sweep writes only the new ones, and most of the tens of
    # thousands of candidates at a hundred counties already exist
    texts: Callable[..., tuple[str, str]] = field(compare=False, repr=False)
    remind_at: datetime  # when it falls due (already moved onto a working day)
    variant: str = ""  # e.g. the lead time of a drill-coming reminder
    urgent: bool = False

    @cached_property
    def _text(self) -> tuple[str, str]:
        return self.texts()

    @property
    def title(self) -> str:
        return self._text[0]

    @property
    def body(self) -> str:
        return self._text[1]

    @property
    def dedup_key(self) -> str:
        return "|".join(
            [
                self.kind,
                self.subject_type,
                str(self.subject_id),
                self.due_on.isoformat() if self.due_on else "never",
                self.variant,
                self.township_code or "county",
            ]
        )


@overload
def _day(value: None) -> None: ...
@overload
def _day(value: date) -> date: ...
def _day(value: date | None) -> date | None:
    """The day of a DATE or TIMESTAMPTZ value (None stays None)."""
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def drill_coming(rows: list[dict], today: date, lead_days: list[int]) -> list[Candidate]:
    """Planned drills (status 'planned', not yet held): one reminder per lead time, brought forward
    onto a working day. Rows: id, title, planned_on, township_code, township_name."""
    out = []
    for row in rows:
        planned = _day(row["planned_on"])
        if planned < today:
            continue
        for lead in sorted(set(lead_days), reverse=True):
            remind = previous_workday(planned - timedelta(days=lead))
            where = row.get("township_name") or "县级"
            out.append(
                Candidate(
                    "drill_coming",
                    "planned_drill",
                    str(row["id"]),
                    planned,
                    row["township_code"],
                    lambda row=row, planned=planned, lead=lead, where=where: (
                        f"演练临近：{row['title']}（{planned:%Y-%m-%d}，提前{lead}天提醒）",
                        f"{where}计划于 {planned:%Y年%m月%d日} 开展“{row['title']}”，距演练 {lead} 天（提前提醒）。"
                        f"请落实演练方案、参演人员和保障物资；如需调整，请在演练计划中修改或取消。",
                    ),
                    start_of(remind),
                    variant=f"{lead}d",
                )
            )
    return out


def _overdue(
    kind: str,
    subject_type: str,
    subject_id: str,
    due: date | None,
    township: str | None,
    texts: Callable[..., tuple[str, str]],
    today: date,
) -> Candidate:
    # Overdue the day after it was due, deferred to a working day; never done at all: due now.
    remind = next_workday(due + timedelta(days=1)) if due else today
    return Candidate(kind, subject_type, subject_id, due, township, texts, start_of(remind))


def _last(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "从未开展"


def plan_overdue(plans: list[dict], today: date) -> list[Candidate]:
    """Plans whose drill is overdue (rows of deadlines.plan_deadlines; a plan never drilled is late only
    once its first interval from its issue has passed): to the bureau."""
    out = []
    for p in plans:
        if p["drill_status"] != "overdue":
            continue
        due = p["drill_due_on"]
        out.append(
            _overdue(
                "plan_drill_overdue",
                "plan",
                p["code"],
                due,
                None,
                lambda p=p, due=due: (
                    f"预案演练逾期：{p['name']}（{p['code']}）",
                    (f"应于 {due:%Y-%m-%d} 前演练，" if due else "尚无演练记录，")
                    + f"上次演练：{_last(p['last_drill_on'])}。"
                    f"{p.get('drill_rule') or ''}（{p.get('drill_source') or ''}）",
                ),
                today,
            )
        )
    return out


def plan_evaluation(plans: list[dict], today: date, lead_days: int) -> list[Candidate]:
    """Plans whose evaluation falls due within lead_days (or is overdue): to the bureau."""
    out = []
    for p in plans:
        due = p["evaluation_due_on"]
        remind = today if due is None else previous_workday(due - timedelta(days=lead_days))
        out.append(
            Candidate(
                "plan_evaluation_due",
                "plan",
                p["code"],
                due,
                None,
                lambda p=p, due=due: (
                    f"预案评估到期：{p['name']}（{p['code']}）",
                    (f"应于 {due:%Y-%m-%d} 前完成评估" if due else "尚无评估或修订记录")
                    + f"（上次评估/修订：{_last(p.get('evaluation_clock_from'))}）。{p.get('evaluation_source') or ''}",
                ),
                start_of(remind),
            )
        )
    return out


def enterprise_overdue(rows: list[dict], today: date) -> list[Candidate]:
    """Enterprises overdue (rows of deadlines.enterprise_deadlines, clocks from registration): to their township."""
    return [
        _overdue(
            "enterprise_drill_overdue",
            "enterprise",
            str(r["id"]),
            r["due_on"],
            r["township_code"],
            lambda r=r: (
                f"企业演练逾期：{r['name']}",
                (f"应于 {r['due_on']:%Y-%m-%d} 前演练，" if r["due_on"] else "尚无演练记录，")
                + f"上次演练：{_last(r['last_drill_on'])}。{r.get('rule') or ''}（{r.get('source') or ''}）",
            ),
            today,
        )
        for r in rows
        if r["status"] == "overdue"
    ]


def village_overdue(rows: list[dict], today: date) -> list[Candidate]:
    """Villages overdue (rows of deadlines.village_deadlines, clocks from entry in the system): to their township."""
    return [
        _overdue(
            "village_drill_overdue",
            "village",
            r["code"],
            r["due_on"],
            r["township_code"],
            lambda r=r: (
                f"村（社区）演练逾期：{r['township_name']}{r['name']}",
                (f"应于 {r['due_on']:%Y-%m-%d} 前演练，" if r["due_on"] else "尚无演练记录，")
                + f"上次演练：{_last(r['last_drill_on'])}。{r.get('rule') or ''}",
            ),
            today,
        )
        for r in rows
        if r["status"] == "overdue"
    ]


def plan_filing(rows: list[dict], today: date, lead_days: int = 5) -> list[Candidate]:
    """Plan versions not yet filed (备案) whose 20-working-day deadline is near or past: county plans
    (rows of deadlines.plan_deadlines, no township_code) to the bureau, township and village plans
    (rows of deadlines.township_plan_deadlines / village_deadlines with id = the plan's) to their
    township. Reminded lead_days before the deadline."""
    out = []
    for r in rows:
        due = r.get("filing_due_on")
        if r.get("filed_on") or due is None:
            continue
        town = r.get("township_code")
        subject, code = ("local_plan", str(r["id"])) if town else ("plan", r["code"])
        name = f"{r.get('township_name') or ''}{r['name']}" if town else f"{r['name']}（{r['code']}）"
        out.append(
            Candidate(
                "plan_filing_due",
                subject,
                code,
                due,
                town,
                lambda r=r, due=due, name=name: (
                    f"预案备案到期：{name}",
                    f"应于 {due:%Y-%m-%d} 前完成备案（印发后20个工作日内）。{r.get('filing_source') or ''}",
                ),
                start_of(previous_workday(due - timedelta(days=lead_days))),
            )
        )
    return out


def township_plan_overdue(rows: list[dict], today: date) -> list[Candidate]:
    """Township plans whose drill is overdue (rows of deadlines.township_plan_deadlines): to the township."""
    return [
        _overdue(
            "township_plan_drill_overdue",
            "local_plan",
            str(r["id"]),
            r["due_on"],
            r["township_code"],
            lambda r=r: (
                f"乡镇预案演练逾期：{r['township_name']}{r['name']}",
                f"应于 {r['due_on']:%Y-%m-%d} 前演练，上次演练：{_last(r['last_drill_on'])}。"
                f"{r.get('rule') or ''}（{r.get('source') or ''}）",
            ),
            today,
        )
        for r in rows
        if r["status"] == "overdue" and r["due_on"]
    ]


def certificates_expiring(rows: list[dict], today: date, days: int) -> list[Candidate]:
    """Certificates that expire within `days` (and have not yet expired): to the team's township.
    Rows: id, name, expires_on, member_name, team_name, township_code."""
    out = []
    for r in rows:
        expires = _day(r["expires_on"])
        if expires is None or expires < today:
            continue
        out.append(
            Candidate(
                "certificate_expiring",
                "certificate",
                str(r["id"]),
                expires,
                r["township_code"],
                lambda r=r, expires=expires: (
                    f"证书即将到期：{r['team_name']} {r['member_name']}的{r['name']}（{expires:%Y-%m-%d}）",
                    f"{r['team_name']}队员{r['member_name']}的“{r['name']}”将于 {expires:%Y年%m月%d日} 到期，请安排复训或换证。",
                ),
                start_of(previous_workday(expires - timedelta(days=days))),
            )
        )
    return out


def insurance_expiring(rows: list[dict], today: date, days: int) -> list[Candidate]:
    """Members' accident insurance expiring within `days`, one reminder per team and expiry date
    (insurance is bought as a group policy). Rows: team_id, team_name, township_code, insurance_until,
    members (count), names (the first ten)."""
    out = []
    for r in rows:
        until = _day(r["insurance_until"])
        if until < today:
            continue
        out.append(
            Candidate(
                "insurance_expiring",
                "team",
                str(r["team_id"]),
                until,
                r["township_code"],
                lambda r=r, until=until: (
                    f"保险即将到期：{r['team_name']} {r['members']} 人（{until:%Y-%m-%d}）",
                    f"{r['team_name']}共 {r['members']} 名队员的人身意外保险将于 {until:%Y年%m月%d日} 到期："
                    + "、".join(r["names"][:10])
                    + ("等" if r["members"] > 10 else "")
                    + "。请及时续保。",
                ),
                start_of(previous_workday(until - timedelta(days=days))),
            )
        )
    return out


def actions_overdue(rows: list[dict], today: date) -> list[Candidate]:
    """Open corrective actions past their due date: to the drill's township (bureau for county drills).
    Rows: id, description, owner, due_on, drill_title, township_code."""
    return [
        _overdue(
            "action_overdue",
            "corrective_action",
            str(r["id"]),
            _day(r["due_on"]),
            r["township_code"],
            lambda r=r: (
                f"整改逾期：{r['description'][:40]}",
                f"演练“{r['drill_title']}”发现的问题“{r['description']}”应于 {_day(r['due_on']):%Y-%m-%d} 前整改完成，"
                f"责任人：{r['owner']}，至今未关闭。",
            ),
            today,
        )
        for r in rows
        if _day(r["due_on"]) < today
    ]


def roll_calls_unanswered(rows: list[dict], now: datetime, minutes: int, window_days: int) -> list[Candidate]:
    """Roll calls not answered within `minutes`: escalated to the bureau (urgent).
    Rows: id, township_code, township_name, called_at."""
    out = []
    for r in rows:
        called = local(r["called_at"])
        if called < now - timedelta(days=window_days):
            continue
        out.append(
            Candidate(
                "roll_call_unanswered",
                "roll_call",
                str(r["id"]),
                called.date(),
                None,
                lambda r=r, called=called: (
                    f"点名未应答：{r['township_name']}（{called:%m-%d %H:%M}）",
                    f"{called:%Y-%m-%d %H:%M} 对{r['township_name']}发起的点名，{minutes} 分钟内未应答，请电话核实值班情况。",
                ),
                called + timedelta(minutes=minutes),
                urgent=True,
            )
        )
    return out


def last_day_due_ahead(today: date, lead: int) -> date:
    """The latest date d whose reminder `lead` days ahead, brought forward onto a working day
    (previous_workday(d - lead)), has come by `today`. That reminder day never decreases as d
    grows, so the subjects dated up to this day are exactly the due ones: the sweep's SQL filters
    on it (a holiday before `today`'s next working day stretches it)."""
    day = today + timedelta(days=lead)
    while previous_workday(day + timedelta(days=1 - lead)) <= today:
        day += timedelta(days=1)
    return day


def last_day_due_after(today: date) -> date:
    """The latest due date d whose overdue reminder (the day after, deferred to a working day:
    next_workday(d + 1)) has come by `today`; like last_day_due_ahead, a cut-off for the SQL."""
    day = today - timedelta(days=1)
    while next_workday(day + timedelta(days=1)) > today:
        day -= timedelta(days=1)
    return day


def falls_due(c: Candidate, now: datetime) -> bool:
    """Created by a sweep at `now`: its moment has come, and a non-urgent one only on a working day."""
    return c.remind_at <= now and (c.urgent or is_workday(now.date()))


# Settings ------------------------------------------------------------------------------------
def get_settings(db: Database) -> dict:
    return {**DEFAULT_SETTINGS, **db.setting("reminders", {})}


def _hhmm(text: str, label: str) -> str:
    try:
        parsed = datetime.strptime(str(text).strip(), "%H:%M")
    except ValueError:
        raise ValidationError.single(f"{label}", "必须是 时:分 格式，如 22:00") from None
    return f"{parsed:%H:%M}"


def validate_settings(values: dict) -> dict:
    """Bring the submitted values into their stored form, or ValueError naming the field."""
    out: dict[str, Any] = dict(DEFAULT_SETTINGS)
    out.update({k: v for k, v in values.items() if k in DEFAULT_SETTINGS})
    leads = out["lead_days"]
    if isinstance(leads, str):
        leads = [p for p in leads.replace("，", ",").split(",") if p.strip()]
    try:
        leads = sorted({int(str(p).strip()) for p in leads}, reverse=True)
    except ValueError:
        raise ValidationError.single("演练提前提醒天数", "必须是用逗号分隔的整数，如 7,1") from None
    if not leads or any(d < 0 or d > 90 for d in leads):
        raise ValidationError.single("演练提前提醒天数", "至少一个，每个在 0 到 90 之间")
    out["lead_days"] = leads
    limits = {
        "expiry_days": ("证书/保险提前提醒天数", 1, 365),
        "evaluation_lead_days": ("预案评估提前提醒天数", 0, 365),
        "roll_call_minutes": ("点名未应答上报时限（分钟）", 1, 1440),
        "escalation_window_days": ("未应答/未确认追溯天数", 1, 90),
        "max_attempts": ("最多发送次数", 1, 20),
        "retry_base_seconds": ("重试间隔基数（秒）", 10, 3600),
        "backup_keep_days": ("备份保留天数", 1, 365),
    }
    for key, (label, low, high) in limits.items():
        try:
            number = int(out[key])
        except (TypeError, ValueError):
            raise ValidationError.single(f"{label}", "必须是整数") from None
        if not low <= number <= high:
            raise ValidationError.single(f"{label}", f"必须在 {low} 到 {high} 之间")
        out[key] = number
    out["quiet_start"] = _hhmm(out["quiet_start"], "免打扰开始时间")
    out["quiet_end"] = _hhmm(out["quiet_end"], "免打扰结束时间")
    return out


def save_settings(db: Database, actor: User, values: dict) -> dict:
    require_admin(actor, "修改提醒设置")
    new = validate_settings(values)
    before = get_settings(db)

    def work(cur: Cursor):
        put_setting(cur, "reminders", new)
        old, changed = audit.changed(before, new)
        audit.record(cur, actor, "update", "settings", "reminders", old, changed)

    db.write(work)
    return new


def in_quiet_hours(moment: datetime, start: str, end: str) -> bool:
    """Quiet hours from start to end (may wrap past midnight, e.g. 22:00-07:00); start == end: none."""
    s, e = (datetime.strptime(x, "%H:%M").time() for x in (start, end))
    t = local(moment).time()
    if s == e:
        return False
    return s <= t < e if s < e else (t >= s or t < e)


# Reading the state --------------------------------------------------------------------------
# The rows of three kinds, due or not; `dedup_key` is the Candidate's, built in SQL (the set-based
# sweep narrows the date range to the due ones and anti-joins the keys against notifications).
CERTIFICATES_SQL = (
    "SELECT concat_ws('|', 'certificate_expiring', 'certificate', c.id, c.expires_on, '',"
    " coalesce(t.township_code, 'county')) AS dedup_key,"
    " c.id, c.name, c.expires_on, m.name AS member_name, t.name AS team_name, t.township_code"
    " FROM certificates c JOIN members m ON m.id = c.member_id JOIN teams t ON t.id = m.team_id"
    " WHERE c.expires_on BETWEEN ? AND ? AND m.left_on IS NULL AND t.disbanded_on IS NULL"
    f" AND {live('members', 'm')} AND {live('teams', 't')}"
)
INSURANCE_SQL = (
    "SELECT concat_ws('|', 'insurance_expiring', 'team', t.id, m.insurance_until, '',"
    " coalesce(t.township_code, 'county')) AS dedup_key,"
    " t.id AS team_id, t.name AS team_name, t.township_code, m.insurance_until,"
    " count(*) AS members, list(m.name ORDER BY m.id)[1:11] AS names"
    " FROM members m JOIN teams t ON t.id = m.team_id"
    " WHERE m.insurance_until BETWEEN ? AND ? AND m.left_on IS NULL AND t.disbanded_on IS NULL"
    f" AND {live('members', 'm')} AND {live('teams', 't')} GROUP BY ALL"
)
# The sweep's insurance rows with the first ten names (by id) for the texts, as a top-n aggregate.
INSURANCE_TEXTS_SQL = INSURANCE_SQL.replace(
    "list(m.name ORDER BY m.id)[1:11] AS names", "min_by(m.name, m.id, 10) AS names"
)
# The due query's insurance rows leave the names out (a no-op or dry-run sweep never shows them);
# insurance_names fills them in for the rows whose texts are built, in one query.
INSURANCE_KEYS_SQL = INSURANCE_SQL.replace(", list(m.name ORDER BY m.id)[1:11] AS names", "")
ACTIONS_SQL = (
    "SELECT concat_ws('|', 'action_overdue', 'corrective_action', a.id, a.due_on, '',"
    " coalesce(d.township_code, 'county')) AS dedup_key,"
    " a.id, a.description, a.owner, a.due_on, d.title AS drill_title, d.township_code"
    " FROM corrective_actions a JOIN drills d ON d.id = a.drill_id"
    " WHERE a.closed_on IS NULL AND a.due_on < ? AND a.due_on <= ?"
    f" AND {live('corrective_actions', 'a')} AND {live('drills', 'd')}"
)

# What a new reminder of each SQL kind is, as SQL over its due row `q`: NEW_COLUMNS after the
# dedup_key, the title and body exactly as the kind's pure rule writes them (certificates_expiring,
# insurance_expiring, actions_overdue, enterprise_overdue).
NEW_COLUMNS = ("dedup_key", "kind", "subject_type", "subject_id", "due_on", "township_code", "title", "body")


def _ymd(column: str) -> str:
    return f"strftime({column}, '%Y-%m-%d')"


def _ymd_zh(column: str) -> str:
    return f"strftime({column}, '%Y年%m月%d日')"


CERTIFICATE_COLUMNS = (
    "'certificate_expiring', 'certificate', CAST(q.id AS VARCHAR), q.expires_on, q.township_code,"
    f" '证书即将到期：' || q.team_name || ' ' || q.member_name || '的' || q.name || '（' || {_ymd('q.expires_on')} || '）',"
    f" q.team_name || '队员' || q.member_name || '的“' || q.name || '”将于 ' || {_ymd_zh('q.expires_on')}"
    " || ' 到期，请安排复训或换证。'"
)
INSURANCE_COLUMNS = (
    "'insurance_expiring', 'team', CAST(q.team_id AS VARCHAR), q.insurance_until, q.township_code,"
    " '保险即将到期：' || q.team_name || ' ' || CAST(q.members AS VARCHAR) || ' 人（'"
    f" || {_ymd('q.insurance_until')} || '）',"
    " q.team_name || '共 ' || CAST(q.members AS VARCHAR) || ' 名队员的人身意外保险将于 '"
    f" || {_ymd_zh('q.insurance_until')} || ' 到期：' || array_to_string(q.names, '、')"
    " || CASE WHEN q.members > 10 THEN '等' ELSE '' END || '。请及时续保。'"
)
ACTION_COLUMNS = (
    "'action_overdue', 'corrective_action', CAST(q.id AS VARCHAR), q.due_on, q.township_code,"
    " '整改逾期：' || substring(q.description, 1, 40),"
    f" '演练“' || q.drill_title || '”发现的问题“' || q.description || '”应于 ' || {_ymd('q.due_on')}"
    " || ' 前整改完成，责任人：' || q.owner || '，至今未关闭。'"
)
ENTERPRISE_COLUMNS = (
    "'enterprise_drill_overdue', 'enterprise', CAST(q.id AS VARCHAR), q.due_on, q.township_code,"
    " '企业演练逾期：' || q.name,"
    f" CASE WHEN q.due_on IS NULL THEN '尚无演练记录，' ELSE '应于 ' || {_ymd('q.due_on')} || ' 前演练，' END"
    f" || '上次演练：' || coalesce({_ymd('q.last_drill_on')}, '从未开展') || '。'"
    " || coalesce(q.rule_label, '') || '（' || coalesce(q.rule_source, '') || '）'"
)


@dataclass(frozen=True)
class DueQuery:
    """A kind whose due subjects are found in SQL: `sql` (params) yields the due rows, each with its
    dedup_key; `build` (the kind's pure rule) turns rows into Candidates."""

    kind: str
    sql: str
    params: list
    build: Callable[[list[dict]], list[Candidate]]
    # fills in, in place, what only the texts need (called before the texts are built)
    complete: Callable[[Database, list[dict]], None] | None = None
    # The sweep's path: the NEW_COLUMNS of a new reminder as SQL over the due row `q` (the texts the
    # kind's pure rule writes, composed in SQL: tests/test_sweep_sql.py holds them equal), and the due
    # rows' statement when the texts need more than `sql` gives (insurance: the members' names).
    columns: str = ""
    texts_sql: str = ""

    def rows(self, db: Database, sql: str, params: list, texts: bool) -> list[Candidate]:
        found = db.query_dicts(sql, params)
        if texts and self.complete and found:
            self.complete(db, found)
        return self.build(found)


def insurance_names(db: Database, rows: list[dict]) -> None:
    """The first ten names (by id) of each insurance row's members, as INSURANCE_SQL gives them."""
    names = {
        (team, until): listed
        for team, until, listed in db.query(
            "SELECT m.team_id, m.insurance_until, list(m.name ORDER BY m.id)[1:11] FROM members m"
            " JOIN (SELECT unnest(?::INTEGER[]) AS team_id, unnest(?::DATE[]) AS until) k"
            " ON m.team_id = k.team_id AND m.insurance_until = k.until"
            f" WHERE m.left_on IS NULL AND {live('members', 'm')} GROUP BY ALL",
            [[r["team_id"] for r in rows], [r["insurance_until"] for r in rows]],
        )
    }
    for r in rows:
        r["names"] = names[(r["team_id"], r["insurance_until"])]


# The kinds with tens of thousands of subjects at a hundred counties (insurance of every team and
# expiry date, certificates, open corrective actions, enterprises): the sweep finds their due keys in
# SQL and builds Candidates only for the rows not created yet.
SQL_KINDS = frozenset({"certificate_expiring", "insurance_expiring", "action_overdue", "enterprise_drill_overdue"})


def due_queries(db: Database, now: datetime, settings: dict | None = None) -> list[DueQuery]:
    """The SQL kinds' due rows at `now`. The working-day shifts stay the pure rules': the reminder day
    never decreases with the subject's date, so "due" is a date cut-off (last_day_due_ahead /
    last_day_due_after) computed by them; not a working day: none (these kinds are not urgent)."""
    now = local(now)
    today = now.date()
    if not is_workday(today):
        return []
    s = settings or get_settings(db)
    days = s["expiry_days"]
    until = min(today + timedelta(days=days + 15), last_day_due_ahead(today, days))
    return [
        DueQuery(
            "certificate_expiring",
            CERTIFICATES_SQL,
            [today, until],
            lambda rows: certificates_expiring(rows, today, days),
            columns=CERTIFICATE_COLUMNS,
        ),
        DueQuery(
            "insurance_expiring",
            INSURANCE_KEYS_SQL,
            [today, until],
            lambda rows: insurance_expiring(rows, today, days),
            insurance_names,
            columns=INSURANCE_COLUMNS,
            texts_sql=INSURANCE_TEXTS_SQL,
        ),
        DueQuery(
            "action_overdue",
            ACTIONS_SQL,
            [today, last_day_due_after(today)],
            lambda rows: actions_overdue(rows, today),
            columns=ACTION_COLUMNS,
        ),
        _enterprises_due(db, today),
    ]


def _enterprises_due(db: Database, today: date) -> DueQuery:
    """Enterprises whose drill is overdue and reminded by today: deadlines.enterprise_deadlines' clock
    (last drill since registration + the sector's months; never drilled and never registered: due
    at once) in SQL, each sector's rule found by deadlines.enterprise_rule."""
    from .. import deadlines

    rules = deadlines.rule_table(db)
    other = deadlines.enterprise_rule(rules, "")  # any sector no rule lists
    found = [s for (s,) in db.query("SELECT DISTINCT sector FROM enterprises WHERE sector IS NOT NULL")]
    sectors = {code: deadlines.enterprise_rule(rules, code) for code in found}
    by_code = {r["code"]: r for r in [other, *sectors.values()]}
    sql = (
        "WITH r AS (SELECT unnest(?::VARCHAR[]) AS sector, unnest(?::VARCHAR[]) AS rule_code),"
        " m AS (SELECT unnest(?::VARCHAR[]) AS rule_code, unnest(?::INTEGER[]) AS months,"
        "   unnest(?::VARCHAR[]) AS rule_label, unnest(?::VARCHAR[]) AS rule_source),"
        " e AS (SELECT e.id, e.name, e.township_code, t.name AS township_name, e.registered_on,"
        "   coalesce(r.rule_code, ?) AS rule_code,"
        "   CASE WHEN d.last_held >= e.registered_on OR e.registered_on IS NULL THEN d.last_held END AS last_drill_on"
        "   FROM enterprises e JOIN townships t ON t.code = e.township_code LEFT JOIN r ON r.sector = e.sector"
        "   LEFT JOIN (SELECT enterprise_id, max(held_on) AS last_held FROM drills dr"
        f"     WHERE enterprise_id IS NOT NULL AND held_on <= ? AND {live('drills', 'dr')} GROUP BY 1) d"
        "   ON d.enterprise_id = e.id"
        f"   WHERE e.closed_on IS NULL AND {live('enterprises', 'e')}),"
        " c AS (SELECT e.*, m.rule_label, m.rule_source,"
        "   CAST(coalesce(last_drill_on, registered_on) + to_months(m.months) AS DATE) AS due_on"
        "   FROM e LEFT JOIN m USING (rule_code))"
        " SELECT concat_ws('|', 'enterprise_drill_overdue', 'enterprise', id, coalesce(CAST(due_on AS VARCHAR), 'never'),"
        " '', coalesce(township_code, 'county')) AS dedup_key, * FROM c WHERE due_on IS NULL OR due_on <= ?"
    )
    params = [
        list(sectors),
        [r["code"] for r in sectors.values()],
        list(by_code),
        [deadlines.interval(r) for r in by_code.values()],
        [r["label"] for r in by_code.values()],
        [r["source"] for r in by_code.values()],
        other["code"],
        today,
        last_day_due_after(today),
    ]

    def build(rows: list[dict]) -> list[Candidate]:
        for row in rows:
            rule = by_code[row["rule_code"]]
            row["status"] = "overdue"
            row["rule"], row["source"] = rule["label"], rule["source"]
        return enterprise_overdue(rows, today)

    return DueQuery("enterprise_drill_overdue", sql, params, build, columns=ENTERPRISE_COLUMNS)


def candidates(
    db: Database, now: datetime, settings: dict | None = None, skip: frozenset[str] = frozenset()
) -> list[Candidate]:
    """Every live candidate reminder, due or not yet due, read from the registry at `now` (the
    reference the set-based sweep is tested against; `skip`: kinds left out)."""
    from .. import deadlines

    now = local(now)
    today = now.date()
    s = settings or get_settings(db)
    found: list[Candidate] = []
    planned = db.query_dicts(
        "SELECT p.id, p.title, p.planned_on, p.township_code, t.name AS township_name FROM planned_drills p"
        " LEFT JOIN townships t ON t.code = p.township_code"
        f" WHERE p.status = 'planned' AND p.planned_on >= ? AND p.planned_on <= ? AND {live('planned_drills', 'p')}",
        [today, today + timedelta(days=max(s["lead_days"]) + 15)],
    )
    found += drill_coming(planned, today, s["lead_days"])
    plans = deadlines.plan_deadlines(db, today)
    found += plan_overdue(plans, today)
    horizon = today + timedelta(days=s["evaluation_lead_days"] + 15)
    found += plan_evaluation(
        [p for p in plans if p["evaluation_due_on"] is None or p["evaluation_due_on"] <= horizon],
        today,
        s["evaluation_lead_days"],
    )
    own_plans = deadlines.township_plan_deadlines(db, today)
    villages = deadlines.village_deadlines(db, today)
    village_plans = [
        {**v, "id": v["plan_id"], "name": f"{v['name']}{v['plan_name']}"} for v in villages if v["plan_id"] is not None
    ]
    found += plan_filing([p for p in plans + own_plans + village_plans if p["filing_status"] != "on_time"], today)
    found += township_plan_overdue(own_plans, today)
    if "enterprise_drill_overdue" not in skip:
        found += enterprise_overdue(deadlines.enterprise_deadlines(db, today), today)
    found += village_overdue(villages, today)
    until = today + timedelta(days=s["expiry_days"] + 15)
    if "certificate_expiring" not in skip:
        found += certificates_expiring(db.query_dicts(CERTIFICATES_SQL, [today, until]), today, s["expiry_days"])
    if "insurance_expiring" not in skip:
        found += insurance_expiring(db.query_dicts(INSURANCE_SQL, [today, until]), today, s["expiry_days"])
    if "action_overdue" not in skip:
        found += actions_overdue(db.query_dicts(ACTIONS_SQL, [today, today]), today)
    since = now - timedelta(days=s["escalation_window_days"])
    found += roll_calls_unanswered(
        db.query_dicts(
            "SELECT r.id, r.township_code, t.name AS township_name, r.called_at FROM roll_calls r"
            " JOIN townships t ON t.code = r.township_code WHERE r.answered_at IS NULL AND r.called_at >= ?"
            " AND r.called_at <= ?",
            [since, now],
        ),
        now,
        s["roll_call_minutes"],
        s["escalation_window_days"],
    )
    from ..resources.stock import reminder_candidates as resource_reminders  # depots' stock (issue 18)

    found += resource_reminders(db, today, s["expiry_days"])
    return found


def due_now(db: Database, now: datetime, settings: dict | None = None) -> list[Candidate]:
    """The candidates that fall due at `now` (whether or not they already exist): the SQL kinds'
    due rows, and the other kinds' candidates that falls_due."""
    now = local(now)
    s = settings or get_settings(db)
    found = [c for c in candidates(db, now, s, skip=SQL_KINDS) if falls_due(c, now)]
    for q in due_queries(db, now, s):
        found += q.rows(db, q.sql, q.params, texts=True)
    return found


def _new_rows_sql(queries: list[DueQuery], today: date) -> tuple[str, list]:
    """One statement for the new reminders of every SQL kind, NEW_COLUMNS with their texts composed
    in SQL: each kind's due rows anti-joined against its keys in notifications (for the expiring kinds
    only those due today or later, so that the years of past keys are skipped)."""
    parts, params = [], []
    for q in queries:
        recent = " AND (due_on IS NULL OR due_on >= ?)" if q.kind.endswith("_expiring") else ""
        parts.append(
            f"SELECT q.dedup_key, {q.columns} FROM ({q.texts_sql or q.sql}) q"
            f" ANTI JOIN (SELECT dedup_key FROM notifications WHERE kind = ?{recent}) n ON n.dedup_key = q.dedup_key"
        )
        params += [*q.params, q.kind, *([today] if recent else [])]
    if not parts:
        return "", []
    return f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS new_rows({', '.join(NEW_COLUMNS)})", params


class Reminder(NamedTuple):
    """A reminder a sweep created (or would create), read from its columns."""

    dedup_key: str
    kind: str
    subject_type: str
    subject_id: str
    due_on: date | None
    township_code: str | None
    title: str
    body: str

    @property
    def urgent(self) -> bool:
        return self.kind in URGENT_KINDS


class Swept(Sequence):
    """What one sweep created (dry run: would create), column-wise: a pyarrow table of NEW_COLUMNS as
    the one INSERT wrote it. Its rows become objects only when iterated (the scheduler only counts
    them): a Candidate for the few kinds built in Python, a Reminder for the SQL kinds."""

    def __init__(self, table: pa.Table | None = None, candidates: dict[str, Candidate] | None = None):
        self.table = table
        self._candidates = candidates or {}
        self._rows: list[Candidate | Reminder] | None = None

    def __len__(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    def rows(self) -> list[Candidate | Reminder]:
        if self._rows is None:
            if self.table is None:
                self._rows = []
            else:
                columns = [self.table.column(c).to_pylist() for c in NEW_COLUMNS]
                self._rows = [self._candidates.get(values[0]) or Reminder(*values) for values in zip(*columns)]
        return self._rows

    @overload
    def __getitem__(self, index: int) -> Candidate | Reminder: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate | Reminder]: ...
    def __getitem__(self, index):
        return self.rows()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Swept):
            return self.rows() == other.rows()
        return isinstance(other, list) and self.rows() == other

    __hash__ = None  # type: ignore[assignment]

    def counts(self) -> dict[str, int]:
        """{kind: reminders}."""
        if not len(self):
            return {}
        assert self.table is not None
        found = self.table.group_by("kind").aggregate([("kind", "count")])
        return dict(zip(found.column("kind").to_pylist(), found.column("kind_count").to_pylist()))

    def __repr__(self) -> str:
        return f"Swept({len(self)} reminders: {self.counts()})"


def _frame(found: list[Candidate]) -> pa.Table:
    """The candidates built in Python as NEW_COLUMNS, to go with the SQL kinds' rows."""
    import pyarrow as pa

    return pa.table(
        {
            "dedup_key": [c.dedup_key for c in found],
            "kind": [c.kind for c in found],
            "subject_type": [c.subject_type for c in found],
            "subject_id": [c.subject_id for c in found],
            "due_on": [c.due_on for c in found],
            "township_code": [c.township_code for c in found],
            "title": [c.title for c in found],
            "body": [c.body for c in found],
        },
        schema=pa.schema([(name, pa.date32() if name == "due_on" else pa.string()) for name in NEW_COLUMNS]),
    )


# The skip. The sweep reads the registry, plans, drills, roll calls, stock, voided records and the
# settings (SWEEP_READS, db.FAMILIES) and which keys exist in notifications. Between two sweeps with no
# committed write to any of them, what a sweep creates can change only with time, and every rule but
# one is day-granular: a non-urgent reminder falls due at 00:00 of a day (moved onto working days,
# created only on one) and every clock and cut-off is a function of the local date; the one finer rule
# is a roll call unanswered `roll_call_minutes` after it was made (urgent, to the minute; quiet hours
# hold back delivery only, never the sweep). So a complete sweep at `now` notes the generations it
# read under and the next moment anything can fall due without a write (the next local midnight, or a
# pending roll call's limit if sooner); until then, with the same generations, a sweep would create
# nothing and is skipped. The scheduler's own writes between sweeps do not count: job_runs and the
# audit log (bookkeeping), deliveries and their attempts (the notifications family, left out), and new
# notifications (a key added makes fewer reminders new, never more); a notification deleted or its key
# changed bumps db.KEY_CHANGES, which the skip reads. Another process cannot write meanwhile: DuckDB
# lets one process open the file read-write, this one (the server; a CLI command meanwhile stops with
# DatabaseLockedError, db.py), and a new process (the server restarted after a CLI wrote) starts with
# no note, so its first sweep runs whole. Only writes that bypass db.write / db.transaction in this
# process (raw cursor writes: tests' helpers) are unseen, which is why only the scheduler's jobs ask
# for the skip (skip_unchanged=True) and a direct sweep() always runs whole.
SWEEP_READS = ("places", "registry", "records", "plans", "drills", "calls", "resources", "settings", KEY_CHANGES)


@dataclass(frozen=True)
class _Quiet:
    generation: tuple[int, ...]  # of SWEEP_READS, taken before the complete sweep read anything
    since: datetime  # that sweep's `now`
    until: datetime  # the next moment a reminder can fall due without a write


_QUIET: weakref.WeakKeyDictionary[Database, _Quiet] = weakref.WeakKeyDictionary()


def next_due_moment(db: Database, now: datetime, settings: dict) -> datetime:
    """The next moment after `now` at which a reminder can fall due with no write: the next local
    midnight, or sooner the first pending roll call's limit (called_at + roll_call_minutes)."""
    midnight = start_of(now.date() + timedelta(days=1))
    minutes = settings["roll_call_minutes"]
    limit = db.scalar(
        "SELECT min(called_at + to_minutes(?)) FROM roll_calls WHERE answered_at IS NULL AND called_at >= ?"
        " AND called_at + to_minutes(?) > ?",
        [minutes, now - timedelta(days=settings["escalation_window_days"]), minutes, now],
    )
    return min(midnight, local(limit)) if limit is not None else midnight


def skips(db: Database, now: datetime) -> bool:
    """A sweep at `now` would create nothing: nothing it reads was written since the last complete
    sweep (with the skip) and no moment at which a reminder falls due has come since."""
    quiet = _QUIET.get(db)
    return (
        quiet is not None
        and quiet.generation == db.generation_of(*SWEEP_READS)
        and quiet.since <= local(now) < quiet.until
    )


_SWEEP_LOCK = threading.Lock()
_WORKER_LOCK = threading.Lock()
_WORKER: list[ThreadPoolExecutor] = []


def _worker() -> ThreadPoolExecutor:
    """The sweep's one worker thread (its DuckDB cursor kept), made at the first sweep."""
    with _WORKER_LOCK:
        if not _WORKER:
            _WORKER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep"))
        return _WORKER[0]


def sweep(db: Database, now: datetime | None = None, *, dry_run: bool = False, skip_unchanged: bool = False) -> Swept:
    """Create every notification that has fallen due and does not exist yet, with one pending delivery
    per active channel of its recipient, all in one transaction. Returns what it created (dry_run:
    what it would create, writing nothing). Idempotent: the dedup_key is UNIQUE and the insert is
    INSERT ... ON CONFLICT DO NOTHING, so a second, late or concurrent run adds nothing. (Sweeps of one
    process take turns; should two transactions still race, the loser's commit fails on the unique
    key, is rolled back whole, and it sweeps again, finding the rows the winner committed.)
    skip_unchanged (the scheduler's jobs): return at once, empty, when `skips` (see SWEEP_READS)."""
    import duckdb

    now = local(now or datetime.now(TZ))
    for attempt in range(3):
        try:
            with _SWEEP_LOCK:
                if skip_unchanged and not dry_run and skips(db, now):
                    return Swept()
                generation = db.generation_of(*SWEEP_READS)  # before reading: a write meanwhile is seen
                created, settings = _sweep(db, now, dry_run)
                if skip_unchanged and not dry_run:
                    _QUIET[db] = _Quiet(generation, now, next_due_moment(db, now, settings))
                return created
        except duckdb.TransactionException as exc:
            if "constraint" not in str(exc).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


def not_yet_created(db: Database, due: list[Candidate]) -> list[Candidate]:
    """The candidates whose dedup_key is not in notifications yet, by an anti-join in SQL: only the
    keys of the candidates' kinds and due dates are compared (row groups of older due dates are
    skipped), and no key ever leaves the database, so a sweep that creates nothing does not grow
    with the notifications of past years."""
    if not due:
        return []
    days = [c.due_on for c in due if c.due_on is not None]
    fresh = {
        k
        for (k,) in db.query(
            "SELECT c.k FROM (SELECT unnest(?::VARCHAR[]) AS k) c ANTI JOIN ("
            "SELECT dedup_key FROM notifications WHERE list_contains(?, kind) AND (due_on IS NULL OR due_on >= ?)"
            ") n ON n.dedup_key = c.k",
            [[c.dedup_key for c in due], sorted({c.kind for c in due}), min(days) if days else date.max],
        )
    }
    return [c for c in due if c.dedup_key in fresh]


def _sweep(db: Database, now: datetime, dry_run: bool) -> tuple[Swept, dict]:
    """The new reminders as columns: the SQL kinds' new rows, texts and all, from one statement (run
    on the sweep's worker thread, its own cursor, while this thread reads the other kinds: DuckDB
    works without the interpreter lock), with the few hundred candidates built in Python (not created
    yet) as a table of the same columns; a dry run returns them, a sweep writes them with one
    INSERT ... SELECT."""
    import pyarrow as pa

    s = get_settings(db)
    sql, params = _new_rows_sql(due_queries(db, now, s), now.date())
    pending = _worker().submit(db.arrow, sql, params) if sql else None
    try:
        others = not_yet_created(db, [c for c in candidates(db, now, s, skip=SQL_KINDS) if falls_due(c, now)])
    finally:
        sql_rows = pending.result() if pending is not None else None
    frame = _frame(others)
    rows = pa.concat_tables([frame, sql_rows.cast(frame.schema)]) if sql_rows is not None else frame
    by_key = {c.dedup_key: c for c in others}
    if dry_run:
        return Swept(rows, by_key), s
    columns = ", ".join(NEW_COLUMNS)

    def work(cur: Cursor) -> Swept:
        nonlocal rows
        if not rows.num_rows:
            return Swept()
        cur.register("sweep_new", rows)
        try:
            inserted = cur.execute(
                f"INSERT INTO notifications ({columns}, created_at) SELECT {columns}, ? FROM sweep_new"
                " ON CONFLICT (dedup_key) DO NOTHING RETURNING id, dedup_key",
                [now],
            ).fetchall()
        finally:
            cur.unregister("sweep_new")
        if not inserted:
            return Swept()
        if len(inserted) < rows.num_rows:  # a concurrent sweep of another connection wrote some of them
            import pyarrow.compute as pc

            rows = rows.filter(pc.is_in(rows.column("dedup_key"), pa.array([k for _, k in inserted])))
        # The outbox: one pending delivery per active channel of the recipient, in the same transaction.
        cur.execute(
            "INSERT INTO deliveries (notification_id, channel_id) SELECT n.id, c.id FROM notifications n"
            " JOIN (SELECT unnest(?::BIGINT[]) AS id) k ON k.id = n.id"
            " JOIN channels c ON c.is_active AND c.township_code IS NOT DISTINCT FROM n.township_code"
            " ON CONFLICT DO NOTHING",
            [[i for i, _ in inserted]],
        )
        created = Swept(rows, by_key)
        audit.record(cur, SYSTEM, "create", "notifications", None, None, {"created": len(created), **created.counts()})
        return created

    return db.write(work), s


# The inbox ---------------------------------------------------------------------------------------
def _scope(user: User, everything: bool = False) -> tuple[str, list]:
    """A township operator sees its township's messages; admins and viewers the bureau's (township
    NULL), or with everything=True every township's as well."""
    if user.role == "township":
        return "n.township_code = ?", [user.township_code]
    if everything:
        return "TRUE", []
    return "n.township_code IS NULL", []


def _inbox_filter(user: User, unread_only: bool, everything: bool, kind: str | None) -> tuple[str, list]:
    where, params = _scope(user, everything)
    if unread_only:
        where += " AND r.read_at IS NULL"
    if kind:
        where += " AND n.kind = ?"
        params.append(kind)
    return where, params


INBOX_FROM = (
    " FROM notifications n LEFT JOIN townships t ON t.code = n.township_code"
    " LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = ?"
)


def inbox(
    db: Database,
    user: User,
    *,
    unread_only: bool = False,
    everything: bool = False,
    kind: str | None = None,
    limit: int | None = 1000,
    offset: int = 0,
) -> list[dict]:
    """The user's messages, unread first, newest first; limit/offset give one page (inbox_page)."""
    from .. import paging

    where, params = _inbox_filter(user, unread_only, everything, kind)
    return db.query_dicts(
        "SELECT n.id, n.kind, n.title, n.body, n.due_on, n.created_at, n.township_code,"
        " t.name AS township_name, r.read_at,"
        " (SELECT string_agg(c.kind || ':' || d.status, ',' ORDER BY c.id) FROM deliveries d"
        "   JOIN channels c ON c.id = d.channel_id WHERE d.notification_id = n.id) AS deliveries"
        f"{INBOX_FROM} WHERE {where} ORDER BY (r.read_at IS NULL) DESC, n.created_at DESC, n.id DESC"
        + paging.limit_clause(limit, offset),
        [user.id, *params],
    )


def inbox_counts(
    db: Database, user: User, *, unread_only: bool = False, everything: bool = False, kind: str | None = None
) -> dict:
    """{messages, unread} of the whole filtered inbox (inbox's WHERE)."""
    where, params = _inbox_filter(user, unread_only, everything, kind)
    return db.query_dicts(
        f"SELECT count(*) AS messages, count(*) FILTER (WHERE r.read_at IS NULL) AS unread{INBOX_FROM} WHERE {where}",
        [user.id, *params],
    )[0]


def inbox_page(db: Database, user: User, *, page: int = 1, page_size: int | None = None, **filters):
    """One page of inbox, with the total of the whole filtered inbox."""
    from .. import paging

    return paging.fetch(
        lambda: inbox_counts(db, user, **filters)["messages"],
        lambda limit, offset: inbox(db, user, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )


def unread_count(db: Database, user: User) -> int:
    where, params = _scope(user)
    return db.scalar(
        "SELECT count(*) FROM notifications n WHERE "
        + where
        + " AND NOT EXISTS (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = ?)",
        [*params, user.id],
    )


def mark_read(db: Database, user: User, notification_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Mark the user's own messages read (all unread ones when notification_ids is None). A message
    outside the user's inbox is refused. Read marks are personal state, not records: not audited."""
    if user.id is None:
        raise PermissionDenied("系统账号没有收件箱。")
    where, params = _scope(user, everything=user.role != "township")
    visible = {i for (i,) in db.query(f"SELECT n.id FROM notifications n WHERE {where}", params)}
    ids = sorted(visible) if notification_ids is None else [int(i) for i in notification_ids]
    foreign = [i for i in ids if i not in visible]
    if foreign:
        raise PermissionDenied(f"消息 {foreign[0]} 不在您的收件箱中。")
    now = local(now or datetime.now(TZ))

    def work(cur: Cursor):
        count = 0
        for i in ids:
            count += len(
                cur.execute(
                    "INSERT INTO notification_reads (notification_id, user_id, read_at) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING RETURNING notification_id",
                    [i, user.id, now],
                ).fetchall()
            )
        return count

    return db.write(work) if ids else 0
