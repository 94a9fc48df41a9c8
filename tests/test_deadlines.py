"""Deadline rules: every rule of rules.DEFAULT_RULES, table by table, without a database; then the
compliance lists on the demo data, with one case checked by hand."""

from datetime import date, timedelta

import pytest

from emergency import deadlines, rules
from emergency.rules import DUE_SOON, NEVER, ON_TIME, OVERDUE

TODAY = date(2026, 11, 25)
INTERVAL_RULES = [r for r in rules.DEFAULT_RULES if r.get("interval_months")]
SEASON_RULES = [r for r in rules.DEFAULT_RULES if r.get("due_before_month")]


def test_every_rule_is_an_interval_or_a_season_and_names_its_source():
    assert {r["code"] for r in INTERVAL_RULES} | {r["code"] for r in SEASON_RULES} == {
        r["code"] for r in rules.DEFAULT_RULES
    }
    for rule in rules.DEFAULT_RULES:
        assert rule["source"] and rule["label"], rule["code"]
        assert any(word in rule["source"] for word in ("条", "标准", "默认")), rule["code"]


def _last_for_due(due: date, months: int) -> date:
    """The last drill date whose due date (last + months) is `due` (no month-end clamping in these days)."""
    return date(
        due.year - (months // 12) - (1 if due.month <= months % 12 else 0),
        (due.month - months % 12 - 1) % 12 + 1,
        due.day,
    )


@pytest.mark.parametrize("rule", INTERVAL_RULES, ids=lambda r: r["code"])
@pytest.mark.parametrize(
    "due_offset, expected",
    [
        (-1, OVERDUE),  # due yesterday
        (0, DUE_SOON),  # due today
        (90, DUE_SOON),  # due in exactly 90 days
        (91, ON_TIME),  # due in 91 days
        (400, ON_TIME),
    ],
)
def test_interval_rule_boundaries(rule, due_offset, expected):
    months = rule["interval_months"]
    due = TODAY + timedelta(days=due_offset)
    last = _last_for_due(due, months)
    assert rules.due_date(last, months) == due
    assert rules.deadline_status(rules.due_date(last, months), TODAY) == expected


@pytest.mark.parametrize("rule", INTERVAL_RULES, ids=lambda r: r["code"])
def test_interval_rule_never_done(rule):
    assert rules.deadline_status(rules.due_date(None, rule["interval_months"]), TODAY) == NEVER


@pytest.mark.parametrize(
    "code, last, today, due",
    [
        ("plan_drill_default", date(2023, 11, 25), TODAY, date(2026, 11, 25)),  # 3 years
        ("plan_drill_production_safety", date(2024, 11, 25), TODAY, date(2026, 11, 25)),  # 2 years
        ("plan_evaluation", date(2023, 8, 31), TODAY, date(2026, 8, 31)),
        ("enterprise_half_yearly", date(2026, 5, 31), TODAY, date(2026, 11, 30)),
        ("enterprise_yearly", date(2025, 2, 28), TODAY, date(2026, 2, 28)),
        ("township_production_safety", date(2024, 2, 29), TODAY, date(2026, 2, 28)),  # clamped to month end
        ("village_yearly", date(2024, 2, 29), TODAY, date(2025, 2, 28)),
    ],
)
def test_each_interval_rule_gives_its_due_date(code, last, today, due):
    rule = next(r for r in rules.DEFAULT_RULES if r["code"] == code)
    assert rules.due_date(last, rule["interval_months"]) == due


# Seasonal rules: flood (before June), forest fire (before October).
FLOOD, FIRE = 6, 10


@pytest.mark.parametrize(
    "month, drills, today, status, due, done",
    [
        # Before the season, drilled in the window: on time.
        (FLOOD, [date(2026, 4, 10)], date(2026, 5, 1), ON_TIME, date(2026, 5, 31), date(2026, 4, 10)),
        # Before the season, not yet drilled, more than 90 days ahead: still on time.
        (FLOOD, [date(2025, 4, 10)], date(2026, 1, 10), ON_TIME, date(2026, 5, 31), None),
        # ... within 90 days: due soon (boundary: exactly 90 days before 31 May is 2 March).
        (FLOOD, [date(2025, 4, 10)], date(2026, 3, 2), DUE_SOON, date(2026, 5, 31), None),
        (FLOOD, [date(2025, 4, 10)], date(2026, 3, 1), ON_TIME, date(2026, 5, 31), None),
        (FLOOD, [date(2025, 4, 10)], date(2026, 5, 31), DUE_SOON, date(2026, 5, 31), None),
        # The season started without a drill this year: overdue; never when there was never one.
        (FLOOD, [date(2025, 4, 10)], date(2026, 6, 1), OVERDUE, date(2026, 5, 31), None),
        (FLOOD, [], date(2026, 6, 1), NEVER, date(2026, 5, 31), None),
        # A drill during last year's season does not count for this year's window.
        (FLOOD, [date(2025, 7, 20)], date(2026, 7, 1), OVERDUE, date(2026, 5, 31), None),
        # Drilled before this season: next year's deadline counts.
        (FLOOD, [date(2026, 5, 31)], date(2026, 11, 25), ON_TIME, date(2027, 5, 31), date(2026, 5, 31)),
        (FLOOD, [date(2026, 3, 1)], date(2027, 3, 2), DUE_SOON, date(2027, 5, 31), None),
        # Forest fire: window January-September.
        (FIRE, [date(2026, 9, 30)], date(2026, 11, 25), ON_TIME, date(2027, 9, 30), date(2026, 9, 30)),
        (FIRE, [date(2026, 10, 1)], date(2026, 11, 25), OVERDUE, date(2026, 9, 30), None),
        (FIRE, [date(2025, 8, 1)], date(2026, 7, 2), DUE_SOON, date(2026, 9, 30), None),
        # A future date (data entry ahead of time) does not count.
        (FIRE, [date(2026, 9, 1)], date(2026, 8, 1), DUE_SOON, date(2026, 9, 30), None),
    ],
)
def test_seasonal_status(month, drills, today, status, due, done):
    result = rules.seasonal_status(drills, month, today)
    assert (result["status"], result["due_on"], result["done_on"]) == (status, due, done)


def test_default_season_rules_are_flood_and_forest_fire():
    assert {(r["subject"], r["due_before_month"]) for r in SEASON_RULES} == {("ZR-01", 6), ("ZR-03", 10)}


@pytest.mark.parametrize(
    "statuses, worst",
    [
        ((ON_TIME, DUE_SOON), DUE_SOON),
        ((DUE_SOON, OVERDUE), OVERDUE),
        ((OVERDUE, NEVER), NEVER),
        ((ON_TIME,), ON_TIME),
        ((None, ON_TIME), ON_TIME),
        ((), ON_TIME),
    ],
)
def test_worst_status(statuses, worst):
    assert rules.worst_status(*statuses) == worst


@pytest.mark.parametrize(
    "due, closed, status",
    [
        (date(2026, 11, 24), None, "overdue"),
        (date(2026, 11, 25), None, "due_soon"),
        (date(2026, 12, 2), None, "due_soon"),
        (date(2026, 12, 3), None, "open"),
        (date(2026, 1, 1), date(2026, 2, 1), "closed"),
    ],
)
def test_action_status(due, closed, status):
    assert rules.action_status(due, closed, TODAY) == status


@pytest.mark.parametrize(
    "planned_on, status, state",
    [
        (date(2026, 11, 24), "planned", "late"),
        (date(2026, 11, 25), "planned", "upcoming"),
        (date(2026, 1, 1), "done", "done"),
        (date(2027, 1, 1), "cancelled", "cancelled"),
    ],
)
def test_planned_status(planned_on, status, state):
    assert rules.planned_status(planned_on, status, TODAY) == state


def test_is_late():
    assert deadlines.is_late(OVERDUE) and deadlines.is_late(NEVER)
    assert not deadlines.is_late(DUE_SOON) and not deadlines.is_late(ON_TIME)


# On the demo data -------------------------------------------------------------------------------------
def test_plan_statuses_on_the_demo_are_a_mix(demo_db):
    plans = deadlines.plan_deadlines(demo_db, TODAY)
    assert len(plans) == 40
    drill = [p["drill_status"] for p in plans]
    assert 1 <= drill.count(NEVER) <= 5 and drill.count(OVERDUE) >= 2 and drill.count(DUE_SOON) >= 1
    assert drill.count(ON_TIME) >= 20
    assert sum(p["last_evaluated_on"] is not None for p in plans) >= 25
    assert any(p["evaluation_status"] == OVERDUE for p in plans)
    assert all(p["status"] == rules.worst_status(p["drill_status"], p["evaluation_status"]) for p in plans)
    assert all(p["drill_source"] and p["evaluation_source"] for p in plans)


def test_overdue_list_on_the_demo_is_not_empty_and_one_case_is_right_by_hand(demo_db):
    overdue = deadlines.overdue_list(demo_db, TODAY)
    assert overdue and {"预案演练", "企业演练", "村（社区）演练"} <= {o["kind"] for o in overdue}
    # Hand check: take a half-yearly enterprise from the list and recompute from its drills.
    case = next(o for o in overdue if o["kind"] == "企业演练" and o["last_on"] is not None)
    eid, sector = demo_db.query("SELECT id, sector FROM enterprises WHERE name = ?", [case["subject"]])[0]
    last = demo_db.scalar("SELECT max(held_on) FROM drills WHERE enterprise_id = ? AND held_on <= ?", [eid, TODAY])
    months = 6 if sector != "other" else 12
    y, m = divmod(last.month - 1 + months, 12)
    import calendar

    due = date(last.year + y, m + 1, min(last.day, calendar.monthrange(last.year + y, m + 1)[1]))
    assert case["last_on"] == last and case["due_on"] == due and due < TODAY
    assert case["status_label"] == "已逾期" and "条" in case["source"]
    # And a plan: the plan drill rows agree with the plan's own drills.
    plan_case = next(o for o in overdue if o["kind"] == "预案演练" and o["status"] == OVERDUE)
    code = plan_case["subject"].split()[0]
    last = demo_db.scalar(
        "SELECT max(d.held_on) FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id WHERE dp.plan_code = ?", [code]
    )
    assert plan_case["last_on"] == last and last < date(2023, 11, 25)  # more than 3 years ago


def test_township_compliance_and_seasons_cover_every_township(demo_db):
    rows = deadlines.township_compliance(demo_db, TODAY)
    assert len(rows) == 16
    assert all("flood_season_status" in r and "forest_fire_season_status" in r for r in rows)
    assert sum(r["villages"] for r in rows) == 337
    seasons = deadlines.season_deadlines(demo_db, TODAY, township_code="410325100")
    assert {s["plan_code"] for s in seasons} == {"ZR-01", "ZR-03"} and all(s["source"] for s in seasons)
