"""The set-based sweep (issue 19, item 3): the kinds with tens of thousands of subjects find their due
keys in SQL, the rest stay pure functions; both must equal the pure rules (reminders.candidates +
falls_due), and the bench's hand-written best single SQL (emergency/bench_sql.py) must yield exactly
the same keys, so that neither can drift."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from emergency import bench, bench_sql, deadlines
from emergency.notify import reminders
from tests.helpers import add_certificate, add_corrective_action, add_team_member, count_calls

CG = "410325100"  # 城关镇


# The date cut-offs equal the working-day rules they stand for -----------------------------------
DAYS = [date(2024, 9, 1) + timedelta(days=i) for i in range(0, 240, 1)] + [
    date(2027, 1, 1) + timedelta(days=i) for i in range(20)
]


@pytest.mark.parametrize("lead", [0, 1, 5, 7, 30])
def test_the_ahead_cut_off_splits_due_from_not_due_by_the_pure_rule(lead):
    for today in DAYS:
        cut = reminders.last_day_due_ahead(today, lead)
        for d in (today + timedelta(days=k) for k in range(-3, lead + 25)):
            assert (reminders.previous_workday(d - timedelta(days=lead)) <= today) == (d <= cut), (today, lead, d)


def test_the_after_cut_off_splits_due_from_not_due_by_the_pure_rule():
    for today in DAYS:
        cut = reminders.last_day_due_after(today)
        assert cut < today
        for d in (today - timedelta(days=k) for k in range(-3, 25)):
            assert (reminders.next_workday(d + timedelta(days=1)) <= today) == (d <= cut), (today, d)


@pytest.mark.parametrize(
    "today, lead, cut",
    [
        (date(2025, 9, 30), 30, date(2025, 11, 7)),  # the 10-01..10-08 holiday follows: 8 more days
        (date(2025, 9, 29), 30, date(2025, 10, 29)),  # a working day follows
        (date(2025, 10, 9), 0, date(2025, 10, 9)),  # Thursday; Friday is a working day
        (date(2025, 10, 10), 0, date(2025, 10, 10)),  # Friday; Saturday 10-11 is a make-up working day
    ],
)
def test_ahead_cut_offs_on_real_holidays(today, lead, cut):
    assert reminders.last_day_due_ahead(today, lead) == cut


def test_after_cut_offs_on_real_holidays():
    assert reminders.last_day_due_after(date(2025, 10, 9)) == date(2025, 10, 8)  # everything of the holiday
    assert reminders.last_day_due_after(date(2025, 10, 13)) == date(2025, 10, 12)  # Monday after a make-up Saturday
    assert reminders.last_day_due_after(date(2025, 10, 14)) == date(2025, 10, 13)


# The SQL kinds equal the pure rules on the demo and edge cases --------------------------------------
MOMENTS = [
    datetime.combine(day, clock, reminders.TZ)
    for day in (date(2025, 9, 28), date(2025, 9, 30), date(2025, 10, 8), date(2025, 10, 9), date(2026, 11, 25))
    for clock in (time(0, 5), time(7, 30), time(23, 30))  # 23:30: quiet hours (they hold back delivery only)
] + [datetime(2027, 1, 11, 7, 30, tzinfo=reminders.TZ)]  # beyond the calendar's years: Monday to Friday


def _enterprise(db, name, sector, registered_on, drilled_on=None) -> int:
    eid = db.scalar(
        "INSERT INTO enterprises (name, sector, township_code, registered_on) VALUES (?, ?, ?, ?) RETURNING id",
        [name, sector, CG, registered_on],
    )
    if drilled_on:
        db.cursor().execute(
            "INSERT INTO drills (title, level, organiser, township_code, held_on, form, content, participants,"
            " enterprise_id) VALUES ('企业演练', 'enterprise', ?, ?, ?, 'live', 'comprehensive', 20, ?)",
            [name, CG, drilled_on, eid],
        )
    return eid


def _edge_cases(db, today: date) -> dict[str, int]:
    """Subjects just inside and just outside the cut-offs at `today`, and enterprises' edge clocks."""
    rules = deadlines.rule_table(db)
    sector = next(iter(sorted({s for (s,) in db.query("SELECT DISTINCT sector FROM enterprises")})))
    months = deadlines.interval(deadlines.enterprise_rule(rules, sector))
    from emergency.rules import add_months

    def registered_for(due: date) -> date:  # the registration whose first interval ends on `due`
        day = due - timedelta(days=31 * months)
        while add_months(day, months) < due:
            day += timedelta(days=1)
        return day

    ids = {
        "never registered, never drilled": _enterprise(db, f"边界企业甲{today}", sector, None),
        "drilled before registration": _enterprise(
            db, f"边界企业乙{today}", sector, today - timedelta(days=40), today - timedelta(days=60)
        ),
        "due today": _enterprise(db, f"边界企业丙{today}", sector, registered_for(today)),
        "due yesterday": _enterprise(db, f"边界企业丁{today}", sector, registered_for(today - timedelta(days=1))),
        "unknown sector": _enterprise(db, f"边界企业戊{today}", "no_such_sector", date(2019, 3, 1)),
        "drilled long ago": _enterprise(db, f"边界企业己{today}", sector, date(2018, 1, 1), date(2019, 6, 30)),
    }
    days = reminders.get_settings(db)["expiry_days"]
    ahead, after = reminders.last_day_due_ahead(today, days), reminders.last_day_due_after(today)
    for k in (-1, 0, 1):
        _, member = add_team_member(db, CG, insurance_until=ahead + timedelta(days=k), name=f"边界{k}")
        add_certificate(db, member, ahead + timedelta(days=k))
        add_corrective_action(db, CG, after + timedelta(days=k))
    # not reminded: a disbanded team's insurance and certificates, a member who left, a closed action
    team, member = add_team_member(db, CG, insurance_until=ahead, name="已解散队员")
    add_certificate(db, member, ahead)
    db.cursor().execute("UPDATE teams SET disbanded_on = DATE '2024-01-01' WHERE id = ?", [team])
    _, gone = add_team_member(db, CG, insurance_until=ahead, name="已离队队员")
    add_certificate(db, gone, ahead)
    db.cursor().execute("UPDATE members SET left_on = DATE '2024-01-01' WHERE id = ?", [gone])
    # a group policy of twelve members: the body names the first ten (by id) and adds 等
    team, _ = add_team_member(db, CG, insurance_until=ahead, name="投保队员00")
    for n in range(1, 12):
        db.scalar(
            "INSERT INTO members (team_id, name, joined_on, insurance_until) VALUES (?, ?, DATE '2020-01-01', ?)"
            " RETURNING id",
            [team, f"投保队员{n:02d}", ahead],
        )
    # a description longer than the title's 40 characters (cut by characters, not bytes)
    add_corrective_action(db, CG, after, description=f"应急通信联络不畅{today}" * 3)
    closed = add_corrective_action(db, CG, after)
    db.cursor().execute("UPDATE corrective_actions SET closed_on = DATE '2024-02-01' WHERE id = ?", [closed])
    _enterprise(db, f"已关闭企业{today}", "no_such_sector", None)
    db.cursor().execute("UPDATE enterprises SET closed_on = DATE '2024-01-01' WHERE name = ?", [f"已关闭企业{today}"])
    return ids


def _pure(db, now: datetime) -> set[tuple]:
    return {
        (c.dedup_key, c.title, c.body, c.remind_at, c.township_code)
        for c in reminders.candidates(db, now)
        if reminders.falls_due(c, now)
    }


def test_the_sql_kinds_and_the_best_single_sql_equal_the_pure_rules(scratch_db):
    db = scratch_db
    for day in sorted({m.date() for m in MOMENTS}):
        _edge_cases(db, day)
    seen: set[str] = set()
    texts: set[str] = set()
    for now in MOMENTS:
        pure = _pure(db, now)
        ours = reminders.due_now(db, now)
        assert {(c.dedup_key, c.title, c.body, c.remind_at, c.township_code) for c in ours} == pure, now
        assert len(ours) == len(pure)  # no key twice
        # the sweep's own path: the SQL kinds' rows and texts composed in SQL, nothing created yet
        swept = reminders.sweep(db, now, dry_run=True)
        assert {(c.dedup_key, c.title, c.body, c.township_code) for c in swept} == {
            (k, title, body, town) for k, title, body, _, town in pure
        }, now
        assert len(swept) == len(pure)
        texts |= {c.title + c.body for c in swept}
        assert {(c.kind, c.subject_type, c.subject_id, c.due_on) for c in swept} == {
            (c.kind, c.subject_type, c.subject_id, c.due_on) for c in ours
        }
        best = bench_sql.due_keys(db, now)
        assert sorted(best) == sorted(k for k, *_ in pure), now
        seen |= {c.kind for c in ours}
        if not reminders.is_workday(now.date()):
            assert {c.kind for c in ours} <= set(reminders.URGENT_KINDS)
    assert seen >= reminders.SQL_KINDS  # every SQL kind was compared on real rows
    assert any("名队员的人身意外保险" in t and "等。请及时续保" in t for t in texts)  # more than ten names
    assert any(t.startswith("整改逾期：应急通信联络不畅") and "…" not in t for t in texts)
    assert any("尚无演练记录" in t for t in texts) and any("从未开展" in t for t in texts)
    assert {"drill_coming", "plan_filing_due", "village_drill_overdue", "stock_expiring"} <= seen


def test_the_edge_cases_fall_where_the_pure_rules_put_them(scratch_db):
    db = scratch_db
    today = date(2025, 9, 30)  # before the National Day holiday
    ids = _edge_cases(db, today)
    keys = {c.dedup_key for c in reminders.due_now(db, datetime.combine(today, time(7, 30), reminders.TZ))}
    enterprise = {k.split("|")[2]: k.split("|")[3] for k in keys if k.startswith("enterprise_drill_overdue|")}
    assert enterprise[str(ids["never registered, never drilled"])] == "never"
    assert str(ids["due today"]) not in enterprise  # due today is not overdue yet
    assert enterprise[str(ids["due yesterday"])] == f"{today - timedelta(days=1)}"
    assert str(ids["drilled before registration"]) not in enterprise  # its clock runs from registration
    assert str(ids["unknown sector"]) in enterprise and str(ids["drilled long ago"]) in enterprise
    ahead = reminders.last_day_due_ahead(today, 30)
    assert ahead == date(2025, 11, 7)
    insured = {k.split("|")[3] for k in keys if k.startswith("insurance_expiring|")}
    assert f"{ahead}" in insured and f"{ahead + timedelta(days=1)}" not in insured


def test_the_sweep_builds_no_candidate_of_the_sql_kinds(scratch_db, monkeypatch):
    """The SQL kinds' new reminders come from SQL as columns, texts and all: neither the first sweep
    nor a no-op calls their pure rules, and what the first one created are Reminder rows."""
    db = scratch_db
    now = datetime(2026, 11, 25, 7, 30, tzinfo=reminders.TZ)
    calls = {
        name: count_calls(monkeypatch, reminders, name)
        for name in ("insurance_expiring", "actions_overdue", "certificates_expiring", "enterprise_overdue")
    }
    created = reminders.sweep(db, now)
    sql_rows = [c for c in created if c.kind in reminders.SQL_KINDS]
    assert {c.kind for c in sql_rows} >= {"insurance_expiring", "action_overdue", "certificate_expiring"}
    assert all(isinstance(c, reminders.Reminder) for c in sql_rows)
    assert reminders.sweep(db, now) == []
    assert calls == {name: [] for name in calls}  # never built one by one


def test_the_bench_puts_the_best_single_sql_beside_the_sweep(scratch_db, tmp_path):
    timing = bench._sweep_timing(scratch_db, tmp_path)
    for key in ("created", "first_s", "noop_s", "history_rows", "noop_with_history_s"):  # kept
        assert key in timing, key
    assert timing["created"] > 100
    assert timing["dry_run_s"] > 0 and timing["best_sql_s"] > 0
    assert timing["dry_run_ratio"] == pytest.approx(timing["dry_run_s"] / timing["best_sql_s"])
    assert timing["noop_ratio"] == pytest.approx(timing["noop_s"] / timing["best_sql_s"])
    for key in ("first_cpu_s", "noop_cpu_s", "noop_with_history_cpu_s", "dry_run_cpu_s", "best_sql_cpu_s"):
        assert timing[key] > 0, key
    # the scheduler's no-op with nothing written since: skipped, a small fraction of the whole pass
    assert 0 < timing["noop_skipped_s"] < timing["noop_s"] / 10
    assert 0 <= timing["noop_skipped_cpu_s"] < timing["noop_cpu_s"] / 10
    table = bench.format_table(
        [
            {
                "scale": 1,
                "members": 1,
                "generate_s": 0,
                "file_mb": 0,
                "paths": [],
                "pages": {},
                "peak_rss_mb": 0,
                "sweep": timing,
            }
        ]
    )
    assert "sweep dry run, all new / no-op / best single SQL (s)" in table
    assert "sweep no-op, nothing written since the last (scheduler; ms)" in table
