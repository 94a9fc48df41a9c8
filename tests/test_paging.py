"""Bounded pages (issue 19): the paging rule, the paged list queries (total, last page, filters, scope,
voided rows left out), the searchable pickers' queries, and the pages drawn over a list larger than a page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from emergency import drills, enterprises, paging, records, teams
from emergency.db import local_today
from emergency.rules import action_status
from tests.helpers import add_corrective_action, user_row

TOWN = "410325100"  # 城关镇


@pytest.mark.parametrize(
    ("total", "size", "pages"),
    [(0, 100, 1), (1, 100, 1), (100, 100, 1), (101, 100, 2), (200, 200, 1), (201, 200, 2), (86_600, 200, 433)],
)
def test_page_count(total, size, pages):
    assert paging.page_count(total, size) == pages


@pytest.mark.parametrize(("asked", "size"), [(None, 100), (0, 100), (1, 1), (150, 150), (200, 200), (5000, 200)])
def test_page_size_is_never_above_the_maximum(asked, size):
    assert paging.page_size_of(asked) == size


@pytest.mark.parametrize(("asked", "kept"), [(0, 1), (-3, 1), (1, 1), (3, 3), (4, 4), (5, 4), (999, 4)])
def test_fetch_keeps_the_page_within_the_list(asked, kept):
    rows = list(range(310))
    page = paging.of_list(rows, asked, 100)
    assert (page.total, page.pages, page.page) == (310, 4, kept)
    assert page.rows == rows[(kept - 1) * 100 : kept * 100]
    assert len(page.rows) == (10 if kept == 4 else 100)


def test_limit_clause_takes_integers_only():
    assert paging.limit_clause(None) == ""
    assert paging.limit_clause(200, 400) == " LIMIT 200 OFFSET 400"
    with pytest.raises(ValueError):
        paging.limit_clause("1; DROP TABLE drills", 0)  # type: ignore[arg-type]


def test_drill_page_total_pages_and_last_page(demo_db):
    whole = drills.drill_list(demo_db, year=2024)
    first = drills.drill_page(demo_db, year=2024, page=1, page_size=200)
    assert first.total == len(whole) > 200
    assert len(first.rows) == 200
    assert first.rows["id"].tolist() == whole["id"].head(200).tolist()
    last = drills.drill_page(demo_db, year=2024, page=first.pages, page_size=200)
    assert len(last.rows) == len(whole) - (first.pages - 1) * 200 > 0
    assert last.rows["id"].tolist() == whole["id"].tail(len(last.rows)).tolist()
    beyond = drills.drill_page(demo_db, year=2024, page=first.pages + 5, page_size=200)
    assert beyond.page == first.pages and beyond.rows["id"].tolist() == last.rows["id"].tolist()
    # every page together is the whole list, each drill once
    pages = paging.page_count(first.total, paging.PAGE_SIZE)
    ids = [i for n in range(1, pages + 1) for i in drills.drill_page(demo_db, year=2024, page=n).rows["id"]]
    assert ids == whole["id"].tolist()


def test_drill_page_filters_and_summary_share_the_lists_where(demo_db):
    filters = {"year": 2024, "township_code": TOWN, "level": "village"}
    whole = drills.drill_list(demo_db, **filters)
    page = drills.drill_page(demo_db, page=1, page_size=50, **filters)
    assert page.total == len(whole) > 0
    assert set(page.rows["township_code"]) == {TOWN} and set(page.rows["level"]) == {"village"}
    summary = drills.drill_summary(demo_db, **filters)
    assert summary == {"drills": len(whole), "participants": int(whole["participants"].sum())}
    assert drills.drill_summary(demo_db, year=2024, search="没有这样的演练名称")["drills"] == 0


def test_voided_drills_are_neither_counted_nor_paged(scratch_db):
    db = scratch_db
    before = drills.drill_page(db, year=2024, township_code=TOWN)
    victim = int(before.rows["id"].iloc[0])
    records.void(db, user_row(db, "admin"), "drills", victim, "重复录入")
    after = drills.drill_page(db, year=2024, township_code=TOWN)
    assert after.total == before.total - 1
    assert victim not in after.rows["id"].tolist()
    assert victim not in drills.drill_choices(db, str(victim))
    assert drills.drill_summary(db, year=2024, township_code=TOWN)["drills"] == before.total - 1


def test_team_page_is_scoped_masked_and_excludes_voided(scratch_db):
    db = scratch_db
    viewer = user_row(db, "leader")
    page = teams.team_page(db, viewer, township_code=TOWN, page_size=5)
    whole = teams.team_list(db, township_code=TOWN)
    assert page.total == len(whole) and len(page.rows) == min(5, len(whole))
    assert set(page.rows["township_code"]) == {TOWN}
    assert all("****" in p for p in page.rows["duty_phone"] if p)  # masked for the viewer, as team_list_for
    summary = teams.team_summary(db, township_code=TOWN)
    assert summary == {"teams": len(whole), "members": int(whole["member_count"].sum())}
    # the page given the summary it shows counts nothing again: a traced read runs one query, the page
    db.trace = []
    try:
        given = teams.team_page(db, viewer, township_code=TOWN, page_size=5, summary=summary)
        statements = db.trace
    finally:
        db.trace = None
    assert given.total == page.total and given.rows["id"].tolist() == page.rows["id"].tolist()
    assert len(statements) == 1 and "LIMIT 5" in statements[0][0], statements
    victim = int(whole["id"].iloc[0])
    records.void(db, user_row(db, "admin"), "teams", victim, "重复录入")
    assert teams.team_page(db, viewer, township_code=TOWN).total == len(whole) - 1
    assert victim not in teams.team_choices(db, "", township_code=TOWN, limit=10_000)


def test_member_page_totals_match_the_count_and_pages_cover_the_list(demo_db):
    admin = user_row(demo_db, "admin")
    filters = {"township_code": TOWN, "untrained_only": True}
    page = teams.member_page(demo_db, admin, page=1, page_size=10, **filters)
    whole = teams.member_list(demo_db, admin, **filters)
    assert page.total == teams.member_count(demo_db, **filters) == len(whole) > 10
    assert not page.rows["training_passed"].any()
    last = teams.member_page(demo_db, admin, page=page.pages, page_size=10, **filters)
    assert last.rows["id"].tolist() == whole["id"].tail(len(last.rows)).tolist()


def test_enterprise_page_and_choices(demo_db):
    whole = enterprises.enterprise_list(demo_db, township_code=TOWN, include_closed=True)
    page = enterprises.enterprise_page(demo_db, township_code=TOWN, include_closed=True, page_size=3)
    assert page.total == len(whole) > 3 and page.rows["id"].tolist() == whole["id"].head(3).tolist()
    options = enterprises.enterprise_options(demo_db, TOWN)
    assert enterprises.enterprise_choices(demo_db, "", TOWN, limit=10_000) == options
    assert len(enterprises.enterprise_choices(demo_db, "", TOWN, limit=2)) == 2
    name, eid = next(iter(options.items()))
    assert enterprises.enterprise_choices(demo_db, str(eid), TOWN) == {name: eid}  # by number
    assert enterprises.enterprise_choices(demo_db, name.split("（")[0], "410325101") == {}  # scoped


def test_team_choices_are_bounded_scoped_and_searchable(demo_db):
    county = teams.team_choices(demo_db, "")
    assert len(county) == paging.PICK_LIMIT  # the county has more teams than a picker shows
    own = teams.team_choices(demo_db, "", township_code=TOWN, limit=10_000)
    listed = teams.team_list(demo_db, township_code=TOWN)
    assert set(own) == {int(i) for i in listed["id"]}
    team_id, label = next(iter(own.items()))
    name = label.rsplit("（", 1)[0]
    assert team_id in teams.team_choices(demo_db, name, township_code=TOWN)
    assert all(name in lbl for lbl in teams.team_choices(demo_db, name).values())
    assert team_id not in teams.team_choices(demo_db, name, township_code=TOWN, exclude_id=team_id)
    assert teams.team_choices(demo_db, str(team_id)) == {team_id: label}


def test_drill_choices_match_title_and_number(demo_db):
    some = drills.drill_list(demo_db, year=2024).iloc[0]
    found = drills.drill_choices(demo_db, str(some["title"]), year=2024)
    assert int(some["id"]) in found and len(found) <= paging.PICK_LIMIT
    assert list(drills.drill_choices(demo_db, str(int(some["id"])))) == [int(some["id"])]


def test_action_order_and_counts_in_sql_follow_the_status_rule(scratch_db):
    db = scratch_db
    today = local_today()
    for days in (-30, -1, 0, 3, 7, 8, 60):  # around the overdue and 7-day edges
        add_corrective_action(db, TOWN, today + timedelta(days=days), f"边界 {days}")
    rows = drills.action_list(db, today)
    order = {"overdue": 0, "due_soon": 1, "open": 2, "closed": 3, "verified": 4}
    statuses = [action_status(r["due_on"], r["closed_on"], today, verified_on=r["verified_on"]) for r in rows]
    assert [r["status"] for r in rows] == statuses
    keys = [(order[s], r["due_on"], r["id"]) for s, r in zip(statuses, rows)]
    assert keys == sorted(keys)
    counts = drills.action_status_counts(db, today)
    assert counts == {s: statuses.count(s) for s in set(statuses)}
    edge = {r["description"]: r["status"] for r in rows if r["description"].startswith("边界")}
    assert edge == {
        "边界 -30": "overdue",
        "边界 -1": "overdue",
        "边界 0": "due_soon",
        "边界 3": "due_soon",
        "边界 7": "due_soon",
        "边界 8": "open",
        "边界 60": "open",
    }
    page = drills.action_page(db, today, page=2, page_size=7)
    assert [r["id"] for r in page.rows] == [r["id"] for r in rows[7:14]]
    assert page.total == len(rows)
    only_open = drills.action_page(db, today, only_open=True, township_code=TOWN)
    assert only_open.total == sum(1 for r in rows if r["closed_on"] is None and r["township_code"] == TOWN)
