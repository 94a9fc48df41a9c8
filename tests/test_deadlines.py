"""Deadline rules: every rule of rules.DEFAULT_RULES, table by table, without a database; then the
compliance lists on the demo data, with one case checked by hand."""

from datetime import date, timedelta

import pytest

from emergency import deadlines, rules
from emergency.records import live
from emergency.rules import DUE_SOON, ON_TIME, OVERDUE

TODAY = date(2026, 11, 25)
INTERVAL_RULES = [r for r in rules.DEFAULT_RULES if r.get("interval_months")]
SEASON_RULES = [r for r in rules.DEFAULT_RULES if r.get("season_start")]
FILING_RULES = [r for r in rules.DEFAULT_RULES if r.get("working_days")]


def test_every_rule_is_an_interval_a_season_or_a_filing_and_names_its_source():
    assert {r["code"] for r in INTERVAL_RULES + SEASON_RULES + FILING_RULES} == {r["code"] for r in rules.DEFAULT_RULES}
    for rule in rules.DEFAULT_RULES:
        assert rule["source"] and rule["label"], rule["code"]
        assert any(word in rule["source"] for word in ("条", "标准", "默认", "河南")), rule["code"]
        assert rule["certainty"] in rules.CERTAINTY_LABELS, rule["code"]


def test_no_rule_cites_the_repealed_2013_measures():
    for rule in rules.DEFAULT_RULES:
        assert "2013" not in rule["source"] and "2013" not in rule["label"], rule["code"]
    drills = [r for r in rules.DEFAULT_RULES if r["code"] in ("plan_drill_default", "plan_evaluation", "plan_filing")]
    assert all("国办发〔2024〕5号" in r["source"] for r in drills)
    assert [r["source"].split("）")[-1] for r in drills] == ["第31条", "第33—34条", "第26条"]


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
@pytest.mark.parametrize("offset, expected", [(-1, OVERDUE), (0, DUE_SOON), (91, ON_TIME)])
def test_interval_rule_never_done_is_late_only_after_its_first_interval(rule, offset, expected):
    """Never done: due one interval after the clock's start (issue, registration, entry)."""
    months = rule["interval_months"]
    due = TODAY + timedelta(days=offset)
    start = _last_for_due(due, months)
    assert rules.clock_due(None, start, months) == due
    assert rules.deadline_status(rules.clock_due(None, start, months), TODAY) == expected


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


def test_default_season_rules_are_henan_flood_and_forest_fire():
    seasons = {r["code"]: r for r in SEASON_RULES}
    assert (seasons["flood_season"]["season_start"], seasons["flood_season"]["season_end"]) == ("06-01", "09-30")
    assert seasons["flood_season"]["due_at"] == "start"
    assert {"ZR-01", "ZR-05", "ZR-09"} <= set(seasons["flood_season"]["subject"].split(","))
    fire = seasons["forest_fire_season"]
    assert (fire["season_start"], fire["season_end"], fire["due_at"]) == ("11-01", "04-30", "end")


@pytest.mark.parametrize(
    "statuses, worst",
    [
        ((ON_TIME, DUE_SOON), DUE_SOON),
        ((DUE_SOON, OVERDUE), OVERDUE),
        ((OVERDUE, DUE_SOON), OVERDUE),
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
    assert deadlines.is_late(OVERDUE)
    assert not deadlines.is_late(DUE_SOON) and not deadlines.is_late(ON_TIME)


# On the demo data -------------------------------------------------------------------------------------
def test_plan_clocks_on_the_demo_start_at_the_2024_versions(demo_db):
    plans = deadlines.plan_deadlines(demo_db, TODAY)
    assert len(plans) == 40
    assert all(p["clock_start"].year == 2024 for p in plans)  # every plan revised in 2024 (四类40项)
    for p in plans:  # due = (last drill since the version, or the version's issue) + the rule's interval
        assert p["drill_due_on"] == rules.add_months(p["last_drill_on"] or p["clock_start"], p["drill_interval_months"])
        assert p["last_drill_on"] is None or p["last_drill_on"] >= p["clock_start"]
    by_code = {p["code"]: p for p in plans}
    assert by_code["SG-01"]["drill_interval_months"] == 24 and by_code["ZR-01"]["drill_interval_months"] == 36
    # A plan not drilled since its 2024 version is on time inside its first interval, overdue after it.
    waiting = [p for p in plans if p["last_drill_on"] is None]
    assert waiting and all((p["drill_status"] == OVERDUE) == (p["drill_due_on"] < TODAY) for p in waiting)
    assert any(p["drill_status"] == OVERDUE for p in waiting)  # a 2-yearly production-safety plan
    assert any(p["drill_status"] == ON_TIME for p in waiting)
    assert by_code["SG-09"]["drill_status"] == ON_TIME
    assert sum(p["last_evaluated_on"] is not None for p in plans) >= 25
    assert {p["filing_status"] for p in plans} == {ON_TIME, OVERDUE}  # two demo plans never filed
    assert all(
        p["status"] == rules.worst_status(p["drill_status"], p["evaluation_status"], p["filing_status"]) for p in plans
    )
    assert all(p["drill_source"] and p["evaluation_source"] and p["filing_source"] for p in plans)


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
    revised = demo_db.scalar(  # the version's issue: the file's 印发日期 or a later revision
        "SELECT greatest(m.issued_on, p.revised_on) FROM plans p JOIN plan_meta m ON m.plan_code = p.code"
        " WHERE p.code = ?",
        [code],
    )
    last = demo_db.scalar(
        "SELECT max(d.held_on) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id WHERE dp.plan_code = ?"
        " AND d.held_on >= ?",
        [code, revised],
    )
    assert plan_case["last_on"] == last and plan_case["due_on"] < TODAY
    assert plan_case["due_on"] == rules.add_months(last or revised, 24)  # a production-safety plan


def test_township_compliance_and_seasons_cover_every_township(demo_db):
    rows = deadlines.township_compliance(demo_db, TODAY)
    assert len(rows) == 16
    assert all("flood_season_status" in r and "forest_fire_season_status" in r for r in rows)
    assert sum(r["villages"] for r in rows) == 337
    seasons = deadlines.season_deadlines(demo_db, TODAY, township_code="410325100")
    assert {s["rule_code"] for s in seasons} == {"flood_season", "forest_fire_season"}
    assert all(s["source"] for s in seasons)
    flood = next(s for s in seasons if s["rule_code"] == "flood_season")
    assert {"ZR-01", "ZR-05", "ZR-09"} <= set(flood["plan_code"].split(","))
    county = deadlines.season_deadlines(demo_db, TODAY)
    assert {s["township_name"] for s in county} == {"全县"} | {r["township_name"] for r in rows}


@pytest.mark.parametrize("today", [date(2024, 6, 1), date(2025, 3, 14), TODAY])
def test_the_last_drill_found_in_sql_is_the_rule_over_every_past_drill(scratch_db, today):
    """The clocks take the last drill since each start from SQL; read here the old way, every drill
    date of each subject through rules.last_done, they must agree row by row. Drills held before
    some subjects' starts (which must not count) are added first: the demo has none."""
    db = scratch_db
    _drills_before_the_start(db)

    def dates(sql: str, params: list) -> list[date]:
        return [d for (d,) in db.query(f"{sql} AND d.held_on <= ? AND {live('drills', 'd')}", [*params, today])]

    for plan in deadlines.plan_deadlines(db, today):
        held = dates(
            "SELECT d.held_on FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id WHERE dp.plan_code = ?",
            [plan["code"]],
        )
        assert plan["last_drill_on"] == rules.last_done(held, plan["clock_start"], today), plan["code"]
        assert (plan["last_drill_ever"], plan["drill_count"]) == (max(held, default=None), len(held)), plan["code"]
    for local in deadlines.township_plan_deadlines(db, today):
        if local["plan_code"]:
            held = dates(
                "SELECT d.held_on FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id WHERE dp.plan_code = ?"
                " AND d.township_code = ? AND d.level IN ('township', 'village')",
                [local["plan_code"], local["township_code"]],
            )
        else:
            held = dates(
                "SELECT d.held_on FROM drills d WHERE d.township_code = ? AND d.level = 'township'"
                " AND d.content = 'comprehensive'",
                [local["township_code"]],
            )
        assert local["last_drill_on"] == rules.last_done(held, local["clock_start"], today), local["id"]
    for village in deadlines.village_deadlines(db, today):
        held = dates("SELECT d.held_on FROM drills d WHERE d.village_code = ?", [village["code"]])
        assert village["last_drill_on"] == rules.last_done(held, village["clock_start"], today), village["code"]
    checked = 0
    for enterprise in deadlines.enterprise_deadlines(db, today):
        held = dates("SELECT d.held_on FROM drills d WHERE d.enterprise_id = ?", [enterprise["id"]])
        assert enterprise["last_drill_on"] == rules.last_done(held, enterprise["clock_start"], today)
        checked += bool(held) and enterprise["last_drill_on"] is not None
    assert checked > 10  # the demo's enterprises do drill


def _drills_before_the_start(db) -> None:
    """A drill a month before the start of a few enterprises, villages, county and township plans."""

    def drill(level, township, held_on, *, village=None, enterprise=None, content="single", plan=None):
        drill_id = db.scalar(
            "INSERT INTO drills (title, level, organiser, township_code, village_code, enterprise_id, held_on,"
            " form, content, participants) VALUES ('开始前的演练', ?, '测试', ?, ?, ?, ?, 'tabletop', ?, 10)"
            " RETURNING id",
            [level, township, village, enterprise, held_on, content],
        )
        if plan:
            db.write(lambda cur: cur.execute("INSERT INTO drill_plans VALUES (?, ?)", [drill_id, plan]))

    month = timedelta(days=30)
    for e in db.query_dicts(
        "SELECT id, township_code, registered_on FROM enterprises WHERE registered_on IS NOT NULL ORDER BY id LIMIT 5"
    ):
        drill("enterprise", e["township_code"], e["registered_on"] - month, enterprise=e["id"])
    for v in db.query_dicts(
        "SELECT v.code, v.township_code, e.entered_on FROM villages v JOIN village_entries e ON e.village_code = v.code"
        " ORDER BY v.code LIMIT 5"
    ):
        drill("village", v["township_code"], v["entered_on"] - month, village=v["code"])
    for plan in deadlines.plan_deadlines(db, TODAY)[:5]:
        if plan["clock_start"]:
            drill("county", None, plan["clock_start"] - month, plan=plan["code"])
    for local in deadlines.township_plan_deadlines(db, TODAY)[:8]:
        if local["clock_start"]:
            content = "single" if local["plan_code"] else "comprehensive"
            drill(
                "township",
                local["township_code"],
                local["clock_start"] - month,
                content=content,
                plan=local["plan_code"],
            )


@pytest.mark.parametrize("today", [TODAY, date(2025, 5, 20), date(2024, 10, 31), date(2024, 4, 30)])
@pytest.mark.parametrize("township", [None, "410325100"])
def test_season_rows_are_the_rule_over_each_places_drills(demo_db, township, today):
    """season_deadlines reads, per rule, one aggregate in SQL (at 100 times the county, every drill
    filtered in Python once per place took 2.4 s); each row must be seasonal_status over that place's
    drills chosen the plain way: every drill of the rule's plans, in the township (the county's row:
    all of them), on days inside and outside the seasons."""
    drills = demo_db.query(
        "SELECT DISTINCT d.id, d.township_code, dp.plan_code, d.held_on FROM drills d"
        f" JOIN drill_plans dp ON dp.drill_id = d.id WHERE d.held_on <= ? AND {live('drills', 'd')}",
        [today],
    )
    season_rules = {r["code"]: r for r in deadlines.season_rules(demo_db)}
    rows = deadlines.season_deadlines(demo_db, today, township_code=township)
    assert len(rows) == len(season_rules) * (17 if township is None else 1)  # the county's row and 16 townships
    for row in rows:
        rule = season_rules[row["rule_code"]]
        held = [h for _, town, plan, h in drills if plan in set(rule["plans"]) and row["township_code"] in (None, town)]
        expected = rules.seasonal_status(
            held, rule["season_start"], rule["season_end"], rule["due_at"] or "start", today, deadlines.WARN_DAYS
        )
        assert {k: row[k] for k in expected} == expected, row
