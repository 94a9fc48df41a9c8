"""The best single SQL for the sweep's due keys: one hand-written statement that yields the same
dedup_keys as reminders.due_now at a moment (every kind, due or already created), the lower bound
the bench puts beside our dry run (tests/test_sweep_sql.py keeps the two equal on the demo).

What it may take as given, as any SQL would: the settings, China's working days as a list (the
database has no holiday table; `workdays`, precomputed once), and the date cut-offs of the
working-day shifts (reminders.last_day_due_ahead / last_day_due_after: a handful of dates).
Everything else (the clocks of plans, township and village plans, enterprises and villages, the
filing deadlines in working days, expiry dates, roll calls, stock) is computed by the statement.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from .db import TIME_ZONE
from .notify import reminders
from .records import live

if TYPE_CHECKING:
    from .db import Database

CALENDAR_FROM = date(2000, 1, 1)


@lru_cache(maxsize=4)
def workdays(until: date) -> list[date]:
    """China's working days from CALENDAR_FROM to `until` (the statement's calendar)."""
    days = (until - CALENDAR_FROM).days + 1
    return [d for d in (CALENDAR_FROM + timedelta(days=i) for i in range(days)) if reminders.is_workday(d)]


def _key(kind: str, subject_type: str, subject_id: str, due: str, variant: str, township: str) -> str:
    return (
        f"concat_ws('|', '{kind}', {subject_type}, {subject_id}, coalesce(CAST({due} AS VARCHAR), 'never'),"
        f" {variant}, coalesce({township}, 'county'))"
    )


LAST_DONE = "CASE WHEN {held} <= $today AND ({start} IS NULL OR {held} >= {start}) THEN {held} END"
DUE = "CASE WHEN {months} IS NOT NULL THEN CAST(coalesce({done}, {start}) + to_months({months}) AS DATE) END"
# add_working_days(start, wd): the workday numbered (workdays up to start) + wd
FILING_DUE = "(SELECT c2.day FROM cal c2 WHERE c2.n = coalesce((SELECT max(c1.n) FROM cal c1 WHERE c1.day <= {start}), 0) + wd.n)"

SQL = f"""
WITH cal AS (SELECT day, row_number() OVER (ORDER BY day) AS n FROM (SELECT unnest($workdays::DATE[]) AS day)),
rules AS (SELECT code, nullif(interval_months, 0) AS months FROM deadline_rules),
wd AS (SELECT coalesce((SELECT nullif(working_days, 0) FROM deadline_rules WHERE code = 'plan_filing'), 20) AS n),
filed AS (SELECT subject_type, subject_id, filed_on FROM filings
  QUALIFY row_number() OVER (PARTITION BY subject_type, subject_id ORDER BY filed_on DESC, id DESC) = 1),
plan_last AS (SELECT dp.plan_code, max(d.held_on) AS held FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id
  WHERE d.held_on <= $today AND {live("drills", "d")} GROUP BY 1),
plan_base AS (SELECT p.code, greatest(m.issued_on, p.revised_on) AS start, p.last_evaluated_on,
    coalesce(nullif(m.drill_months_override, 0), dr.months) AS dmonths,
    coalesce(nullif(m.evaluation_months_override, 0), er.months) AS emonths, l.held
  FROM plans p LEFT JOIN plan_meta m ON m.plan_code = p.code
  LEFT JOIN rules dr ON dr.code = coalesce(nullif(m.drill_rule, ''), 'plan_drill_default')
  LEFT JOIN rules er ON er.code = coalesce(nullif(m.evaluation_rule, ''), 'plan_evaluation')
  LEFT JOIN plan_last l ON l.plan_code = p.code WHERE p.status = 'active'),
plan_c AS (SELECT *, {DUE.format(months="dmonths", done="ddone", start="start")} AS drill_due,
    {DUE.format(months="emonths", done="edone", start="start")} AS eval_due
  FROM (SELECT *, {LAST_DONE.format(held="held", start="start")} AS ddone,
    {LAST_DONE.format(held="last_evaluated_on", start="start")} AS edone FROM plan_base)),
own AS (SELECT l.id, l.township_code, l.issued_on AS start, r.months, CASE WHEN l.plan_code IS NULL THEN
    (SELECT max(d.held_on) FROM drills d WHERE d.level = 'township' AND d.content = 'comprehensive'
      AND d.township_code = l.township_code AND d.held_on <= $today AND {live("drills", "d")})
    ELSE (SELECT max(d.held_on) FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id
      WHERE d.level IN ('township', 'village') AND d.township_code = l.township_code
      AND dp.plan_code = l.plan_code AND d.held_on <= $today AND {live("drills", "d")}) END AS held
  FROM local_plans l JOIN townships t ON t.code = l.township_code LEFT JOIN rules r ON r.code = l.drill_rule
  WHERE l.level = 'township'),
own_c AS (SELECT *, {DUE.format(months="months", done="done", start="start")} AS due
  FROM (SELECT *, {LAST_DONE.format(held="held", start="start")} AS done FROM own)),
vplan AS (SELECT * FROM local_plans WHERE level = 'village'
  QUALIFY row_number() OVER (PARTITION BY village_code ORDER BY issued_on DESC NULLS LAST, id DESC) = 1),
village AS (SELECT v.code, v.township_code, l.id AS plan_id, l.issued_on, greatest(e.entered_on, l.issued_on) AS start,
    r.months, d.held
  FROM villages v JOIN townships t ON t.code = v.township_code
  LEFT JOIN village_entries e ON e.village_code = v.code LEFT JOIN vplan l ON l.village_code = v.code
  LEFT JOIN rules r ON r.code = coalesce(nullif(l.drill_rule, ''), 'village_yearly')
  LEFT JOIN (SELECT village_code, max(held_on) AS held FROM drills dx WHERE village_code IS NOT NULL
    AND held_on <= $today AND {live("drills", "dx")} GROUP BY 1) d ON d.village_code = v.code
  WHERE NOT v.is_virtual),
village_c AS (SELECT *, {DUE.format(months="months", done="done", start="start")} AS due
  FROM (SELECT *, {LAST_DONE.format(held="held", start="start")} AS done FROM village)),
sector_rules AS (SELECT nullif(interval_months, 0) AS months, row_number() OVER () AS pos,
    list_transform(string_split(coalesce(subject, ''), ','), lambda x: trim(x)) AS subjects
  FROM deadline_rules WHERE applies_to = 'enterprise_sector'),
ent AS (SELECT e.id, e.township_code, e.registered_on AS start, d.held,
    CASE WHEN EXISTS (SELECT 1 FROM sector_rules r WHERE list_contains(r.subjects, e.sector)
      OR list_contains(r.subjects, 'other')) THEN (SELECT r.months FROM sector_rules r
      WHERE list_contains(r.subjects, e.sector) OR list_contains(r.subjects, 'other')
      ORDER BY NOT list_contains(r.subjects, e.sector), r.pos LIMIT 1)
    ELSE (SELECT months FROM rules WHERE code = 'enterprise_yearly') END AS months
  FROM enterprises e JOIN townships t ON t.code = e.township_code
  LEFT JOIN (SELECT enterprise_id, max(held_on) AS held FROM drills dr WHERE enterprise_id IS NOT NULL
    AND held_on <= $today AND {live("drills", "dr")} GROUP BY 1) d ON d.enterprise_id = e.id
  WHERE e.closed_on IS NULL AND {live("enterprises", "e")}),
ent_c AS (SELECT *, {DUE.format(months="months", done="done", start="start")} AS due
  FROM (SELECT *, {LAST_DONE.format(held="held", start="start")} AS done FROM ent)),
filing AS (
  SELECT 'plan' AS subject_type, p.code AS subject_id, NULL AS township_code, p.start, f.filed_on
    FROM plan_c p LEFT JOIN filed f ON f.subject_type = 'plan' AND f.subject_id = p.code
  UNION ALL SELECT 'local_plan', CAST(o.id AS VARCHAR), o.township_code, o.start, f.filed_on
    FROM own o LEFT JOIN filed f ON f.subject_type = 'local_plan' AND f.subject_id = CAST(o.id AS VARCHAR)
  UNION ALL SELECT 'local_plan', CAST(v.plan_id AS VARCHAR), v.township_code, v.issued_on, f.filed_on
    FROM village v LEFT JOIN filed f ON f.subject_type = 'local_plan' AND f.subject_id = CAST(v.plan_id AS VARCHAR)
    WHERE v.plan_id IS NOT NULL),
filing_c AS (SELECT f.*, {FILING_DUE.format(start="f.start")} AS due FROM filing f, wd
  WHERE f.start IS NOT NULL AND (f.filed_on IS NULL OR f.filed_on < f.start)),
stock_due AS (SELECT s.id, d.township_code, 'expiry' AS variant, s.expires_on AS due
    FROM stock s JOIN depots d ON d.id = s.depot_id WHERE s.quantity > 0
  UNION ALL SELECT s.id, d.township_code, 'maintenance', s.maintain_on
    FROM stock s JOIN depots d ON d.id = s.depot_id WHERE s.quantity > 0)
SELECT {_key("drill_coming", "'planned_drill'", "p.id", "p.planned_on", "lead.n || 'd'", "p.township_code")}
  FROM planned_drills p, (SELECT unnest($leads::INTEGER[]) AS n, unnest($lead_until::DATE[]) AS until) lead
  WHERE $workday AND p.status = 'planned' AND p.planned_on >= $today AND p.planned_on <= lead.until
  AND {live("planned_drills", "p")}
UNION ALL SELECT {_key("plan_drill_overdue", "'plan'", "code", "drill_due", "''", "NULL")} FROM plan_c
  WHERE $workday AND (drill_due IS NULL OR drill_due <= $after)
UNION ALL SELECT {_key("plan_evaluation_due", "'plan'", "code", "eval_due", "''", "NULL")} FROM plan_c
  WHERE $workday AND (eval_due IS NULL OR eval_due <= $evaluation_until)
UNION ALL SELECT {_key("plan_filing_due", "subject_type", "subject_id", "due", "''", "township_code")} FROM filing_c
  WHERE $workday AND due <= $filing_until
UNION ALL SELECT {_key("township_plan_drill_overdue", "'local_plan'", "id", "due", "''", "township_code")} FROM own_c
  WHERE $workday AND due <= $after
UNION ALL SELECT {_key("enterprise_drill_overdue", "'enterprise'", "id", "due", "''", "township_code")} FROM ent_c
  WHERE $workday AND (due IS NULL OR due <= $after)
UNION ALL SELECT {_key("village_drill_overdue", "'village'", "code", "due", "''", "township_code")} FROM village_c
  WHERE $workday AND (due IS NULL OR due <= $after)
UNION ALL SELECT {_key("certificate_expiring", "'certificate'", "c.id", "c.expires_on", "''", "t.township_code")}
  FROM certificates c JOIN members m ON m.id = c.member_id JOIN teams t ON t.id = m.team_id
  WHERE $workday AND c.expires_on BETWEEN $today AND $expiry_until AND m.left_on IS NULL AND t.disbanded_on IS NULL
  AND {live("members", "m")} AND {live("teams", "t")}
UNION ALL SELECT DISTINCT {_key("insurance_expiring", "'team'", "t.id", "m.insurance_until", "''", "t.township_code")}
  FROM members m JOIN teams t ON t.id = m.team_id
  WHERE $workday AND m.insurance_until BETWEEN $today AND $expiry_until AND m.left_on IS NULL
  AND t.disbanded_on IS NULL AND {live("members", "m")} AND {live("teams", "t")}
UNION ALL SELECT {_key("action_overdue", "'corrective_action'", "a.id", "a.due_on", "''", "d.township_code")}
  FROM corrective_actions a JOIN drills d ON d.id = a.drill_id
  WHERE $workday AND a.closed_on IS NULL AND a.due_on <= $after
  AND {live("corrective_actions", "a")} AND {live("drills", "d")}
UNION ALL SELECT {_key("roll_call_unanswered", "'roll_call'", "r.id", "CAST(timezone($tz, r.called_at) AS DATE)", "''", "NULL")}
  FROM roll_calls r JOIN townships t ON t.code = r.township_code
  WHERE r.answered_at IS NULL AND r.called_at >= $since AND r.called_at + to_minutes($minutes) <= $now
UNION ALL SELECT {_key("stock_expiring", "'stock'", "id", "due", "variant", "township_code")} FROM stock_due
  WHERE $workday AND due BETWEEN $today AND $expiry_until
UNION ALL SELECT {_key("stock_below_minimum", "'depot_item'", "m.depot_id || ':' || m.item_code", "x.since", "''", "d.township_code")}
  FROM stock_minimums m JOIN depots d ON d.id = m.depot_id
  LEFT JOIN (SELECT depot_id, item_code, sum(quantity) AS quantity FROM stock GROUP BY ALL) s
    ON s.depot_id = m.depot_id AND s.item_code = m.item_code
  LEFT JOIN (SELECT depot_id, item_code, max(moved_on) AS since FROM stock_movements WHERE direction = 'out'
    GROUP BY ALL) x ON x.depot_id = m.depot_id AND x.item_code = m.item_code
  WHERE $workday AND coalesce(s.quantity, 0) < m.min_quantity AND (x.since IS NULL OR x.since <= $today)
"""


def params(db: Database, now: datetime) -> dict:
    """The statement's parameters at `now`: settings, the calendar and the working-day cut-offs."""
    now = reminders.local(now)
    today = now.date()
    s = reminders.get_settings(db)
    leads = sorted(set(s["lead_days"]), reverse=True)
    horizon = today + timedelta(days=max(leads) + 15)
    return {
        "today": today,
        "now": now,
        "tz": TIME_ZONE,
        "workday": reminders.is_workday(today),
        "workdays": workdays(today + timedelta(days=400)),
        "after": reminders.last_day_due_after(today),
        "leads": leads,
        "lead_until": [min(horizon, reminders.last_day_due_ahead(today, lead)) for lead in leads],
        "evaluation_until": min(
            today + timedelta(days=s["evaluation_lead_days"] + 15),
            reminders.last_day_due_ahead(today, s["evaluation_lead_days"]),
        ),
        # not filed: reminded 5 days ahead, once its status is due soon (10 days) or overdue
        "filing_until": min(today + timedelta(days=10), reminders.last_day_due_ahead(today, 5)),
        "expiry_until": min(
            today + timedelta(days=s["expiry_days"] + 15), reminders.last_day_due_ahead(today, s["expiry_days"])
        ),
        "since": now - timedelta(days=s["escalation_window_days"]),
        "minutes": s["roll_call_minutes"],
    }


def due_keys(db: Database, now: datetime) -> list[str]:
    """The dedup_keys due at `now` by the one statement (the same set as reminders.due_now's)."""
    return [k for (k,) in db.query(SQL, params(db, now))]  # type: ignore[arg-type]
