"""The law's clocks (issue 13): the pure functions table by table (month ends, leap days, never-done
subjects, seasons across the new year, working days across the Spring Festival and National Day),
then the rule table governing every subject, filing, the report's 修订完善, and the CLI."""

import json
import shutil
from datetime import date, timedelta

import pytest

from emergency import auth, deadlines, plans, reports, rules, stats
from emergency.auth import PermissionDenied
from emergency.db import local_today
from emergency.errors import ValidationError
from emergency.rules import DUE_SOON, ON_TIME, OVERDUE
from tests.test_cli import run

# Month ends and leap days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "last, start, months, due",
    [
        (None, date(2024, 10, 16), 36, date(2027, 10, 16)),  # never drilled: from the issue (SG-09)
        (date(2025, 5, 1), date(2024, 10, 16), 36, date(2028, 5, 1)),  # from the last drill
        (None, date(2024, 2, 29), 12, date(2025, 2, 28)),  # leap day -> 28 Feb of a common year
        (None, date(2024, 2, 29), 48, date(2028, 2, 29)),  # ... and back to a leap day
        (date(2025, 8, 31), None, 6, date(2026, 2, 28)),  # month end clamped
        (date(2023, 8, 31), None, 6, date(2024, 2, 29)),  # clamped to a leap 29 February
        (date(2024, 1, 31), None, 1, date(2024, 2, 29)),
        (date(2024, 3, 31), None, 1, date(2024, 4, 30)),
        (None, None, 12, None),  # nothing to count from
    ],
)
def test_clock_due(last, start, months, due):
    assert rules.clock_due(last, start, months) == due


@pytest.mark.parametrize(
    "dates, start, today, expected",
    [
        ([date(2023, 5, 1), date(2024, 11, 1)], date(2024, 10, 16), date(2026, 1, 1), date(2024, 11, 1)),
        ([date(2023, 5, 1)], date(2024, 10, 16), date(2026, 1, 1), None),  # before this version: not counted
        ([date(2024, 10, 16)], date(2024, 10, 16), date(2026, 1, 1), date(2024, 10, 16)),  # on the day counts
        ([date(2026, 3, 1)], date(2024, 10, 16), date(2026, 1, 1), None),  # a future drill does not count
        ([None, date(2020, 1, 1)], None, date(2026, 1, 1), date(2020, 1, 1)),
    ],
)
def test_last_done_counts_from_the_clock_start(dates, start, today, expected):
    assert rules.last_done(dates, start, today) == expected


@pytest.mark.parametrize(
    "registered, today, expected",
    [
        # An enterprise registered on 2025-02-28, never drilled, yearly rule: not late the next day...
        (date(2025, 2, 28), date(2025, 3, 1), ON_TIME),
        (date(2025, 2, 28), date(2025, 12, 1), DUE_SOON),  # within 90 days of 2026-02-28
        (date(2025, 2, 28), date(2026, 2, 28), DUE_SOON),  # the due day itself
        (date(2025, 2, 28), date(2026, 3, 1), OVERDUE),  # ... late once its first interval has passed
        (date(2024, 2, 29), date(2025, 2, 28), DUE_SOON),  # leap registration, due 2025-02-28
        (date(2024, 2, 29), date(2025, 3, 1), OVERDUE),
    ],
)
def test_never_done_before_and_after_the_first_interval(registered, today, expected):
    due = rules.clock_due(rules.last_done([], registered, today), registered, 12)
    assert rules.deadline_status(due, today) == expected


# Seasons ------------------------------------------------------------------------------------------
FIRE = ("11-01", "04-30", "end")
FLOOD = ("06-01", "09-30", "start")


@pytest.mark.parametrize(
    "season, drills, today, status, due, done",
    [
        # Forest fire (11-01 .. 04-30 next year, a drill before or in it): on 2024-10-15, with last
        # season's drill done, nothing is overdue; the next due day is the end of the period.
        (FIRE, [date(2024, 3, 10)], date(2024, 10, 15), ON_TIME, date(2025, 4, 30), None),
        # A drill in November (inside the period) counts for it, across the new year.
        (
            FIRE,
            [date(2024, 3, 10), date(2024, 11, 20)],
            date(2025, 1, 10),
            ON_TIME,
            date(2025, 4, 30),
            date(2024, 11, 20),
        ),
        (
            FIRE,
            [date(2024, 5, 1)],
            date(2025, 4, 30),
            ON_TIME,
            date(2025, 4, 30),
            date(2024, 5, 1),
        ),  # window opens 05-01
        (FIRE, [date(2024, 3, 10)], date(2025, 2, 1), DUE_SOON, date(2025, 4, 30), None),
        # The period ended without a drill: overdue into the next window, until a drill is held.
        (FIRE, [date(2024, 3, 10)], date(2025, 5, 1), OVERDUE, date(2025, 4, 30), None),
        (FIRE, [date(2024, 3, 10), date(2025, 5, 20)], date(2025, 6, 1), ON_TIME, date(2026, 4, 30), date(2025, 5, 20)),
        # Flood season (06-01 .. 09-30, drills due before it starts): window 10-01 .. 05-31.
        (FLOOD, [date(2026, 4, 10)], date(2026, 5, 1), ON_TIME, date(2026, 5, 31), date(2026, 4, 10)),
        (FLOOD, [date(2025, 4, 10)], date(2026, 3, 1), ON_TIME, date(2026, 5, 31), None),
        (FLOOD, [date(2025, 4, 10)], date(2026, 3, 2), DUE_SOON, date(2026, 5, 31), None),  # 90 days before
        (FLOOD, [date(2025, 4, 10)], date(2026, 6, 1), OVERDUE, date(2026, 5, 31), None),  # season began
        (FLOOD, [date(2025, 7, 20)], date(2026, 7, 1), OVERDUE, date(2026, 5, 31), None),  # in-season drill
        (FLOOD, [date(2025, 12, 1)], date(2026, 7, 1), ON_TIME, date(2027, 5, 31), None),  # December counts
        (FLOOD, [date(2026, 5, 31)], date(2026, 11, 25), ON_TIME, date(2027, 5, 31), None),
        (FLOOD, [date(2026, 9, 1)], date(2026, 8, 1), OVERDUE, date(2026, 5, 31), None),  # future: ignored
    ],
)
def test_seasonal_status(season, drills, today, status, due, done):
    result = rules.seasonal_status(drills, *season, today)
    assert (result["status"], result["due_on"], result["done_on"]) == (status, due, done)


def test_a_season_does_not_bind_a_subject_whose_clock_started_after_its_window_opened():
    result = rules.seasonal_status([], *FLOOD, date(2026, 7, 1), clock_start=date(2026, 1, 1))
    assert result["status"] == ON_TIME and result["due_on"] == date(2027, 5, 31)
    assert rules.seasonal_status([], *FLOOD, date(2026, 7, 1), clock_start=date(2025, 9, 1))["status"] == OVERDUE


@pytest.mark.parametrize(
    "year, start, end, due_at, window",
    [
        (2024, "11-01", "04-30", "end", (date(2024, 5, 1), date(2025, 4, 30))),
        (2024, "06-01", "09-30", "start", (date(2023, 10, 1), date(2024, 5, 31))),
        (2023, "03-01", "02-29", "end", (date(2023, 3, 1), date(2024, 2, 29))),  # 02-29 in a leap year
        (2024, "03-01", "02-29", "end", (date(2024, 3, 1), date(2025, 2, 28))),  # ... and a common one
    ],
)
def test_season_window(year, start, end, due_at, window):
    assert rules.season_window(year, start, end, due_at) == window


@pytest.mark.parametrize(
    "text, ok", [("06-01", "06-01"), ("2-29", "02-29"), ("13-01", None), ("04-31", None), ("x", None)]
)
def test_parse_month_day(text, ok):
    if ok:
        assert rules.parse_month_day(text) == ok
    else:
        with pytest.raises(ValueError):
            rules.parse_month_day(text)


# Working days (备案 within 20 working days) -----------------------------------------------------------
@pytest.mark.parametrize(
    "issued, count, due",
    [
        # Spring Festival 2025: 01-28 .. 02-04 off; Sunday 01-26 and Saturday 02-08 are working days.
        (date(2025, 1, 24), 1, date(2025, 1, 26)),
        (date(2025, 1, 26), 1, date(2025, 1, 27)),
        (date(2025, 1, 27), 1, date(2025, 2, 5)),
        (date(2025, 1, 20), 20, date(2025, 2, 21)),  # 4 + Sunday 01-26 + 01-27, then from 02-05 (08 Saturday)
        # National Day 2025: 10-01 .. 10-08 off; Sunday 09-28 and Saturday 10-11 are working days.
        (date(2025, 9, 26), 1, date(2025, 9, 28)),
        (date(2025, 9, 30), 1, date(2025, 10, 9)),
        (date(2025, 9, 30), 3, date(2025, 10, 11)),
        (date(2025, 9, 22), 20, date(2025, 10, 24)),
        # An ordinary month: 20 working days are four weeks; not so across Dragon Boat (06-10-2024).
        (date(2024, 7, 1), 20, date(2024, 7, 29)),  # July 2024 has no holiday
        (date(2024, 6, 3), 20, date(2024, 7, 2)),
    ],
)
def test_add_working_days_uses_the_holiday_calendar(issued, count, due):
    assert rules.add_working_days(issued, count) == due


def test_add_working_days_takes_any_calendar():
    assert rules.add_working_days(date(2025, 1, 27), 1, lambda d: d.weekday() < 5) == date(2025, 1, 28)


@pytest.mark.parametrize(
    "issued, filed, today, status, due, late",
    [
        (date(2025, 9, 22), None, date(2025, 10, 14), DUE_SOON, date(2025, 10, 24), False),  # 10 days ahead
        (date(2025, 9, 22), None, date(2025, 10, 13), ON_TIME, date(2025, 10, 24), False),
        (date(2025, 9, 22), None, date(2025, 10, 24), DUE_SOON, date(2025, 10, 24), False),
        (date(2025, 9, 22), None, date(2025, 10, 25), OVERDUE, date(2025, 10, 24), False),
        (date(2025, 9, 22), date(2025, 10, 20), date(2026, 1, 1), ON_TIME, date(2025, 10, 24), False),
        (date(2025, 9, 22), date(2025, 11, 3), date(2026, 1, 1), ON_TIME, date(2025, 10, 24), True),
        # A filing of an earlier version does not count for this one.
        (date(2025, 9, 22), date(2024, 3, 1), date(2025, 11, 1), OVERDUE, date(2025, 10, 24), False),
        (date(2025, 9, 22), None, date(2025, 9, 23), ON_TIME, date(2025, 10, 24), False),
    ],
)
def test_filing_clock(issued, filed, today, status, due, late):
    result = rules.filing_clock(issued, filed, today)
    assert (result["status"], result["due_on"], result["filed_late"]) == (status, due, late)


# The rule table governs every subject ---------------------------------------------------------------
TODAY = date(2026, 11, 25)


def test_sg09_never_drilled_inside_its_first_interval_is_on_time(fresh_db):
    row = {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}["SG-09"]
    assert row["last_drill_on"] is None and row["clock_start"] == date(2024, 10, 23)  # 印发 of the 2024 version
    assert row["drill_due_on"] == date(2027, 10, 23) and row["drill_status"] == ON_TIME
    assert row["drill_rule_code"] == "plan_drill_default" and "第31条" in row["drill_source"]


def test_changing_the_default_plan_rule_moves_exactly_the_plans_under_it(fresh_db):
    before = {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}
    deadlines.set_rule(fresh_db, auth.SYSTEM, "plan_drill_default", months=12)
    after = {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}
    moved = {c for c in before if before[c]["drill_due_on"] != after[c]["drill_due_on"]}
    under = {c for c, p in before.items() if p["drill_rule_code"] == "plan_drill_default"}
    assert moved == under and len(under) == 33
    for code in under:
        assert after[code]["drill_due_on"] == rules.add_months(after[code]["clock_start"], 12)
        assert after[code]["drill_interval_months"] == 12
    assert {p["drill_interval_months"] for c, p in after.items() if c not in under} == {24}
    audit = fresh_db.query_dicts("SELECT * FROM audit_log WHERE table_name = 'deadline_rules'")
    assert len(audit) == 1 and audit[0]["record_id"] == "plan_drill_default"
    # A restart (migrations + rule sync) keeps the edited interval and the code's texts.
    from emergency.migrations import migrate

    migrate(fresh_db)
    assert fresh_db.scalar("SELECT interval_months FROM deadline_rules WHERE code = 'plan_drill_default'") == 12


def test_an_upgraded_database_cites_the_2024_measures_and_keeps_its_edits(fresh_db):
    """A database whose rules came from the 2013 texts: the next start replaces every text, keeps an edit."""
    from emergency.migrations import migrate

    fresh_db.write(
        lambda cur: cur.execute(
            "UPDATE deadline_rules SET source = '突发事件应急预案管理办法（2013）第22条', season_start = NULL,"
            " interval_months = CASE WHEN code = 'village_yearly' THEN 18 ELSE interval_months END"
        )
    )
    migrate(fresh_db)
    listed = {r["code"]: r for r in deadlines.all_rules(fresh_db)}
    assert not any("2013" in r["source"] for r in listed.values())
    assert listed["village_yearly"]["interval_months"] == 18  # the bureau's edit stands
    assert listed["flood_season"]["season_start"] == "06-01"  # an empty value is filled again
    assert set(listed) == {r["code"] for r in rules.DEFAULT_RULES}


def test_set_rule_is_admin_only_and_validated(fresh_db):
    township = auth.User(id=0, username="op", display_name="op", role="township", township_code="410325100")
    with pytest.raises(PermissionDenied):
        deadlines.set_rule(fresh_db, township, "plan_drill_default", months=12)
    for code, kwargs, field in [
        ("plan_drill_default", {"months": 0}, "间隔（月）"),
        ("plan_drill_default", {"months": 121}, "间隔（月）"),
        ("flood_season", {"months": 12}, "间隔（月）"),
        ("flood_season", {"season_start": "13-01"}, "季节开始"),
        ("plan_drill_default", {"season_end": "09-30"}, "季节结束"),
        ("no_such_rule", {"months": 12}, "规则"),
    ]:
        with pytest.raises(ValidationError) as caught:
            deadlines.set_rule(fresh_db, auth.SYSTEM, code, **kwargs)
        assert caught.value.problems[0].field == field, (code, kwargs)
    assert not fresh_db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'deadline_rules'")
    row = deadlines.set_rule(fresh_db, auth.SYSTEM, "forest_fire_season", season_start="10-15")
    assert row["season_start"] == "10-15"
    season = {s["rule_code"]: s for s in deadlines.season_deadlines(fresh_db, date(2024, 10, 20))}
    assert season["forest_fire_season"]["season_start"] == "10-15"


def test_a_plan_file_names_its_rule_and_may_override_it(tmp_path, fresh_db):
    source = (plans.PLANS_DIR / "ZR-10.md").read_text(encoding="utf-8")
    (tmp_path / "ZR-10.md").write_text(
        source.replace("drill_rule: plan_drill_default", "drill_rule: plan_drill_default\ndrill_every_months: 12"),
        encoding="utf-8",
    )
    parsed = plans.parse_plan_file(tmp_path / "ZR-10.md")
    assert parsed["drill_months_override"] == 12 and parsed["drill_rule"] == "plan_drill_default"
    plans.sync_plans(fresh_db.cursor(), [parsed])
    row = {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}["ZR-10"]
    assert row["drill_override"] and row["drill_interval_months"] == 12
    assert row["drill_due_on"] == rules.add_months(row["clock_start"], 12)
    deadlines.set_rule(fresh_db, auth.SYSTEM, "plan_drill_default", months=48)  # the override stands
    assert {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}["ZR-10"]["drill_interval_months"] == 12
    (tmp_path / "ZR-10.md").write_text(source.replace("plan_drill_default", "plan_drill_yearly"), encoding="utf-8")
    with pytest.raises(plans.PlanFileError) as caught:
        plans.parse_plan_file(tmp_path / "ZR-10.md")
    assert caught.value.field == "drill_rule"


def test_the_template_corrections():
    catalogue = {p["code"]: p for p in plans.load_plan_dir()}
    assert catalogue["WS-06"]["category"] == "事故灾难" and catalogue["WS-06"]["response_levels"] == 3
    assert catalogue["SG-14"]["plan_type"] == "保障"
    assert len({p["category"] for p in catalogue.values()}) == 4
    assert {c for c, p in catalogue.items() if p["drill_rule"] == "plan_drill_production_safety"} == {
        "SG-01",
        "SG-02",
        "SG-03",
        "SG-04",
        "SG-07",
        "SG-08",
        "SG-11",
    }
    assert all(p["issued_on"] >= p["revised_on"] and p["doc_number"] for p in catalogue.values())


def test_an_enterprise_clock_starts_at_its_registration(fresh_db):
    fresh_db.write(
        lambda cur: cur.execute(
            "INSERT INTO enterprises (name, sector, township_code, registered_on) VALUES"
            " ('新登记公司', 'other', '410325100', DATE '2025-02-28'), ('新矿', 'non_coal_mine', '410325100', DATE '2025-02-28')"
        )
    )
    rows = {r["name"]: r for r in deadlines.enterprise_deadlines(fresh_db, date(2025, 3, 1))}
    assert rows["新登记公司"]["status"] == ON_TIME and rows["新登记公司"]["due_on"] == date(2026, 2, 28)
    assert rows["新矿"]["due_on"] == date(2025, 8, 28) and rows["新矿"]["must_report"]
    later = {r["name"]: r for r in deadlines.enterprise_deadlines(fresh_db, date(2026, 3, 1))}
    assert later["新登记公司"]["status"] == OVERDUE and later["新矿"]["status"] == OVERDUE


def test_enterprise_plans_their_clocks_and_the_report_to_the_regulator(fresh_db):
    from emergency import enterprises

    admin = auth.SYSTEM
    eid = enterprises.create_enterprise(
        fresh_db,
        admin,
        {
            "name": "测试矿业",
            "sector": "non_coal_mine",
            "township_code": "410325100",
            "registered_on": date(2020, 1, 1),
        },
    )
    pid = enterprises.add_enterprise_plan(
        fresh_db, admin, eid, "onsite", "井下透水现场处置方案", date(2025, 9, 30), today=TODAY
    )
    cid = enterprises.add_enterprise_plan(
        fresh_db, admin, eid, "comprehensive", "综合应急预案", date(2025, 1, 6), today=TODAY
    )
    with pytest.raises(ValidationError) as caught:
        enterprises.add_enterprise_plan(fresh_db, admin, eid, "total", "", date(2027, 1, 1), today=TODAY)
    assert [p.field for p in caught.value.problems] == ["预案类型", "预案名称", "公布日期"]
    rows = {r["id"]: r for r in deadlines.enterprise_plan_deadlines(fresh_db, TODAY)}
    onsite, comprehensive = rows[pid], rows[cid]
    assert onsite["filing_due_on"] == date(2025, 11, 4)  # 20 working days across National Day 2025
    assert onsite["filing_status"] == OVERDUE and "第26条" in onsite["filing_source"]
    assert onsite["drill_due_on"] == date(2026, 3, 30) and onsite["drill_status"] == OVERDUE  # half-yearly
    assert comprehensive["drill_status"] is None and comprehensive["evaluation_due_on"] == date(2028, 1, 6)
    assert "第35条" in comprehensive["evaluation_source"]
    fresh_db.write(
        lambda cur: cur.execute(
            "INSERT INTO drills (id, title, level, organiser, township_code, enterprise_id, held_on, form, content,"
            " participants) VALUES (900, '透水演练', 'enterprise', '测试矿业', '410325100', ?, DATE '2026-10-10', 'live',"
            " 'single', 20)",
            [eid],
        )
    )
    enterprises.record_drill_report(fresh_db, admin, 900, "onsite", "嵩县应急管理局", date(2026, 10, 12), today=TODAY)
    with pytest.raises(ValidationError):
        enterprises.record_drill_report(
            fresh_db, admin, 900, "onsite", "嵩县应急管理局", date(2026, 10, 1), today=TODAY
        )
    onsite = {r["id"]: r for r in deadlines.enterprise_plan_deadlines(fresh_db, TODAY)}[pid]
    assert onsite["drill_last_drill_on"] == date(2026, 10, 10) and onsite["drill_status"] == ON_TIME
    row = next(r for r in deadlines.enterprise_deadlines(fresh_db, TODAY) if r["id"] == eid)
    assert row["last_reported_on"] == date(2026, 10, 12) and row["must_report"]
    enterprises.record_drill_report(fresh_db, admin, 900, "special", "嵩县应急管理局", date(2026, 10, 12), today=TODAY)
    assert fresh_db.scalar("SELECT plan_type FROM drill_reports WHERE drill_id = 900") == "special"
    assert (
        fresh_db.scalar("SELECT count(*) FROM audit_log WHERE table_name IN ('enterprise_plans', 'drill_reports')") == 4
    )
    township = auth.User(id=0, username="op", display_name="op", role="township", township_code="410325101")
    with pytest.raises(PermissionDenied):
        enterprises.record_drill_report(fresh_db, township, 900, None, "", None, today=TODAY)


def test_a_village_clock_starts_at_its_entry_in_the_system(fresh_db):
    entered = fresh_db.scalar("SELECT min(entered_on) FROM village_entries")
    assert entered == local_today()
    rows = deadlines.village_deadlines(fresh_db, local_today())
    assert len(rows) == 337 and {r["status"] for r in rows} == {ON_TIME}
    late = deadlines.village_deadlines(fresh_db, rules.add_months(local_today(), 12) + timedelta(days=1))
    assert {r["status"] for r in late} == {OVERDUE}


# Filing --------------------------------------------------------------------------------------------
def test_record_filing_satisfies_the_filing_clock_and_is_audited(fresh_db):
    row = {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}["SG-09"]
    assert row["filing_status"] == OVERDUE and row["filing_due_on"] == rules.add_working_days(date(2024, 10, 23), 20)
    with pytest.raises(ValidationError):
        plans.record_filing(fresh_db, auth.SYSTEM, "plan", "SG-09", "", date(2024, 11, 1), today=TODAY)
    township = auth.User(id=0, username="op", display_name="op", role="township", township_code="410325100")
    with pytest.raises(PermissionDenied):
        plans.record_filing(fresh_db, township, "plan", "SG-09", "嵩县人民政府", date(2024, 11, 1), today=TODAY)
    plans.record_filing(fresh_db, auth.SYSTEM, "plan", "SG-09", "嵩县人民政府", date(2024, 11, 1), "备-1", today=TODAY)
    row = {p["code"]: p for p in deadlines.plan_deadlines(fresh_db, TODAY)}["SG-09"]
    assert row["filing_status"] == ON_TIME and row["filed_with"] == "嵩县人民政府" and row["receipt_no"] == "备-1"
    assert fresh_db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'filings'") == 1


def test_township_and_village_plans_on_the_demo(demo_db):
    own = deadlines.township_plan_deadlines(demo_db, TODAY)
    assert len(own) == 48 and {p["township_code"] for p in own} == {
        t for (t,) in demo_db.query("SELECT code FROM townships WHERE is_township")
    }
    production = [p for p in own if p["plan_code"] == "SG-01"]
    assert production and all(p["interval_months"] == 24 and "第8条" in p["source"] for p in production)
    assert {p["filing_status"] for p in own} >= {ON_TIME}
    for p in own:
        assert p["due_on"] == rules.add_months(p["last_drill_on"] or p["issued_on"], p["interval_months"])
        assert p["filing_due_on"] == rules.add_working_days(p["issued_on"], 20)
    villages = deadlines.village_deadlines(demo_db, TODAY)
    assert sum(v["plan_id"] is not None for v in villages) == 337
    assert any(v["filed_with"] and v["filed_with"].endswith("人民政府") for v in villages)


def test_enterprise_plans_by_type_on_the_demo(demo_db):
    rows = deadlines.enterprise_plan_deadlines(demo_db, TODAY)
    assert {r["plan_type"] for r in rows} == {"comprehensive", "onsite"}
    onsite = [r for r in rows if r["plan_type"] == "onsite"]
    assert onsite and all(r["drill_interval_months"] == 6 and "第33条" in r["drill_source"] for r in onsite)
    high_risk = [r for r in rows if r["evaluation_status"]]
    assert high_risk and all(r["sector"] in rules.HIGH_RISK_EVALUATION.split(",") for r in high_risk)
    assert all("第26条" in r["filing_source"] for r in rows)
    reported = deadlines.enterprise_deadlines(demo_db, TODAY)
    assert any(r["must_report"] and r["last_reported_on"] for r in reported)


# 修订完善 from the revision history --------------------------------------------------------------------
def test_the_report_counts_the_plans_revised_in_its_year(demo_db):
    assert "修订完善四类40项专项应急预案" in reports.report_paragraph(reports.report_figures(demo_db, 2024))
    figures = stats.year_stats(demo_db, 2023)
    assert 0 < figures["plans"] < 40
    assert "修订完善四类40项" not in reports.report_paragraph(reports.report_figures(demo_db, 2023))
    revised_2024 = demo_db.scalar(
        "SELECT count(DISTINCT plan_code) FROM plan_revisions WHERE kind = 'revision' AND year(revised_on) = 2024"
    )
    assert revised_2024 == 40


# The reminder sweep uses the same clocks --------------------------------------------------------------
def test_the_sweep_reminds_of_filings_and_township_plans_from_the_same_clocks(scratch_db):
    from emergency.notify import reminders
    from tests.helpers import at

    found = reminders.candidates(scratch_db, at("2026-11-25 09:00"))
    filing = {c.subject_id for c in found if c.kind == "plan_filing_due" and c.subject_type == "plan"}
    unfiled = {p["code"] for p in deadlines.plan_deadlines(scratch_db, TODAY) if p["filed_on"] is None}
    assert filing == unfiled and unfiled
    overdue = {c.subject_id for c in found if c.kind == "plan_drill_overdue"}
    assert overdue == {p["code"] for p in deadlines.plan_deadlines(scratch_db, TODAY) if p["drill_status"] == OVERDUE}
    assert "SG-09" not in overdue
    local = {c.subject_id for c in found if c.kind == "plan_filing_due" and c.subject_type == "local_plan"}
    unfiled_local = {str(p["id"]) for p in deadlines.township_plan_deadlines(scratch_db, TODAY) if not p["filed_on"]}
    unfiled_local |= {
        str(v["plan_id"]) for v in deadlines.village_deadlines(scratch_db, TODAY) if v["plan_id"] and not v["filed_on"]
    }
    assert local == unfiled_local and unfiled_local
    own = {c.subject_id for c in found if c.kind == "township_plan_drill_overdue"}
    assert own == {str(p["id"]) for p in deadlines.township_plan_deadlines(scratch_db, TODAY) if p["status"] == OVERDUE}


# The CLI ------------------------------------------------------------------------------------------
KEYS = {"kind", "code", "name", "rule", "interval_months", "last_done", "clock_start", "due_on", "status", "source"}


def test_cli_deadlines_and_rules(demo_db_path, tmp_path):
    db = tmp_path / "cli.duckdb"
    shutil.copy(demo_db_path, db)
    result = run("deadlines", "--today", "2026-11-25", "--json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    clocks = json.loads(result.stdout)
    assert {c["kind"] for c in clocks} == set(deadlines.KINDS)
    assert all(set(c) >= KEYS and c["status"] in ("on_time", "due_soon", "overdue") for c in clocks)
    sg09 = next(c for c in clocks if c["kind"] == "plan" and c["code"] == "SG-09")
    assert sg09["status"] == "on_time" and sg09["rule"] == "plan_drill_default" and "第31条" in sg09["source"]
    for c in clocks:
        if c["interval_months"] and c["kind"] != "evaluation" and not c.get("season_start"):
            base = date.fromisoformat(c["last_done"] or c["clock_start"])
            assert c["due_on"] == rules.add_months(base, c["interval_months"]).isoformat(), c
    assert all(c["last_done"] is None or c["last_done"] <= "2026-11-25" for c in clocks)
    filing = json.loads(run("deadlines", "--today", "2026-11-25", "--kind", "filing", "--json", "--db", str(db)).stdout)
    assert filing and {c["kind"] for c in filing} == {"filing"}

    listed = json.loads(run("rules", "list", "--json", "--db", str(db)).stdout)
    assert all(
        {"code", "interval_months", "season_start", "season_end", "applies_to", "source"} <= set(r) for r in listed
    )
    assert not any("2013" in r["source"] for r in listed)
    fire = next(r for r in listed if r["code"] == "forest_fire_season")
    assert (fire["season_start"], fire["season_end"], fire["interval_months"]) == ("11-01", "04-30", None)

    changed = run("rules", "set", "plan_drill_default", "--months", "12", "--db", str(db))
    assert changed.returncode == 0 and "每12个月" in changed.stdout
    after = json.loads(run("deadlines", "--today", "2026-11-25", "--kind", "plan", "--json", "--db", str(db)).stdout)
    old = {c["code"]: c for c in clocks if c["kind"] == "plan"}
    moved = {c["code"] for c in after if c["due_on"] != old[c["code"]]["due_on"]}
    assert moved == {c["code"] for c in after if c["rule"] == "plan_drill_default"}
    refused = run("rules", "set", "flood_season", "--months", "3", "--db", str(db))
    assert refused.returncode == 1 and "不按月计算" in refused.stderr
    text = run("rules", "list", "--db", str(db)).stdout
    assert "plan_drill_default" in text and "依据：" in text
