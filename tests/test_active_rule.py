"""The one definition of "team active on a day" and "member on the roster on a day", table by table.

teams.team_active / member_active are the SQL every count uses (stats, roster, map, linkage,
reports, overview): these tables pin what they mean, on a bare DuckDB with only the columns the
rule reads.
"""

from datetime import date

import duckdb
import pytest

from emergency.teams import member_active, team_active

DAY = date(2024, 12, 31)
BEFORE, AFTER = date(2024, 6, 1), date(2025, 1, 1)


VOIDED = "CREATE TABLE voided_records (table_name VARCHAR, record_id INTEGER)"  # records.live reads it


def _team_is_active(established_on, disbanded_on, on=DAY, *, voided: bool = False) -> bool:
    con = duckdb.connect()
    con.execute(VOIDED)
    if voided:
        con.execute("INSERT INTO voided_records VALUES ('teams', 1)")
    con.execute("CREATE TABLE teams (id INTEGER, established_on DATE, disbanded_on DATE)")
    con.execute("INSERT INTO teams VALUES (1, ?, ?)", [established_on, disbanded_on])
    condition, params = team_active(on, "t")
    return bool(con.execute(f"SELECT count(*) FROM teams t WHERE {condition}", params).fetchone()[0])


@pytest.mark.parametrize(
    ("established_on", "disbanded_on", "active"),
    [
        (BEFORE, None, True),  # founded before, never disbanded
        (DAY, None, True),  # founded on the day itself
        (AFTER, None, False),  # founded after the day
        (BEFORE, date(2024, 12, 30), False),  # disbanded before the day
        (BEFORE, DAY, False),  # disbanded on the day: gone that day
        (BEFORE, AFTER, True),  # disbanded after the day: still active on it
        (AFTER, date(2025, 6, 1), False),  # founded and disbanded after the day
    ],
)
def test_team_active_on_a_day(established_on, disbanded_on, active):
    assert _team_is_active(established_on, disbanded_on) is active


def _member_is_active(team: tuple, member: tuple, on=DAY, *, with_team: bool = True, voided=()) -> bool:
    con = duckdb.connect()
    con.execute(VOIDED)
    for table in voided:
        con.execute("INSERT INTO voided_records VALUES (?, 1)", [table])
    con.execute("CREATE TABLE teams (id INTEGER, established_on DATE, disbanded_on DATE)")
    con.execute("CREATE TABLE members (id INTEGER, team_id INTEGER, joined_on DATE, left_on DATE)")
    con.execute("INSERT INTO teams VALUES (1, ?, ?)", list(team))
    con.execute("INSERT INTO members VALUES (1, 1, ?, ?)", list(member))
    condition, params = member_active(on, "m", team="t" if with_team else None)
    sql = f"SELECT count(*) FROM members m JOIN teams t ON t.id = m.team_id WHERE {condition}"
    return bool(con.execute(sql, params).fetchone()[0])


ACTIVE_TEAM = (BEFORE, None)


@pytest.mark.parametrize(
    ("team", "member", "active"),
    [
        (ACTIVE_TEAM, (BEFORE, None), True),  # joined before, never left
        (ACTIVE_TEAM, (DAY, None), True),  # joined on the day itself
        (ACTIVE_TEAM, (AFTER, None), False),  # joined after the day
        (ACTIVE_TEAM, (BEFORE, date(2024, 12, 30)), False),  # left before the day
        (ACTIVE_TEAM, (BEFORE, DAY), False),  # left on the day: gone that day
        (ACTIVE_TEAM, (BEFORE, AFTER), True),  # left after the day
        ((BEFORE, DAY), (BEFORE, None), False),  # current member of a team disbanded on the day
        ((BEFORE, AFTER), (BEFORE, None), True),  # team disbanded after the day
        ((AFTER, None), (BEFORE, None), False),  # team founded after the day (member row dated earlier)
    ],
)
def test_member_active_on_a_day(team, member, active):
    assert _member_is_active(team, member) is active


def test_voided_teams_and_members_are_never_active():
    assert _team_is_active(BEFORE, None, voided=True) is False
    assert _member_is_active(ACTIVE_TEAM, (BEFORE, None), voided=("members",)) is False
    assert _member_is_active(ACTIVE_TEAM, (BEFORE, None), voided=("teams",)) is False  # its team voided
    assert _member_is_active(ACTIVE_TEAM, (BEFORE, None), voided=("teams",), with_team=False) is True


def test_member_rule_alone_leaves_the_team_to_the_caller():
    # team=None: only joined_on / left_on; the caller joins active teams itself (roster's CTEs).
    assert _member_is_active((BEFORE, DAY), (BEFORE, None), with_team=False) is True
    condition, params = member_active(DAY, "m", team=None)
    assert "established_on" not in condition and params == [DAY, DAY]


def test_an_sql_expression_for_the_day_takes_no_parameters():
    condition, params = team_active("p.year_end", "x")
    assert params == []
    assert condition.startswith(
        "x.established_on <= p.year_end AND (x.disbanded_on IS NULL OR x.disbanded_on > p.year_end) AND NOT EXISTS"
    )
