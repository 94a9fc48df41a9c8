"""The year's headline figures, computed from the records (the figures of the county's report).

Definitions (shown on the overview page too):
- teams: teams founded on or before 31 December and not disbanded by then;
- members: memberships of those teams on 31 December (a person in two teams counts twice,
  as the county's rosters do; duplicates are reported separately by roster health);
- plans / plan_categories: active plans revised in the year (修订完善: a revision in plan_revisions, or
  the version in force dated that year) and their distinct categories;
- county_township_drills / participants: drills held in the year at county or township level,
  participants in person-times (人次);
- sector_drills / participants: drills held in the year by regulated enterprises (非煤矿山等领域);
- village_drills / participants: village-level drills, counted apart from both;
- drills / participants: all drills held in the year, every level.

Voided records (records.py) count nowhere.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .records import live
from .teams import member_active, team_active

if TYPE_CHECKING:
    from .db import Database

STATS_SQL = f"""
WITH params AS (SELECT CAST(? AS DATE) AS year_end, CAST(? AS DATE) AS year_start),
active_teams AS (
    SELECT t.id FROM teams t, params p
    WHERE {team_active("p.year_end")[0]}
),
revised_plans AS (
    SELECT p.code, p.category FROM plans p, params pr
    WHERE p.status = 'active' AND (p.revised_on BETWEEN pr.year_start AND pr.year_end OR EXISTS (
        SELECT 1 FROM plan_revisions r WHERE r.plan_code = p.code AND r.kind = 'revision'
        AND r.revised_on BETWEEN pr.year_start AND pr.year_end))
),
year_drills AS (
    SELECT d.level, d.participants FROM drills d, params p
    WHERE d.held_on BETWEEN p.year_start AND p.year_end AND {live("drills", "d")}
)
SELECT
    (SELECT count(*) FROM active_teams) AS teams,
    (SELECT count(*) FROM members m, params p
      WHERE m.team_id IN (SELECT id FROM active_teams)
        AND {member_active("p.year_end", team=None)[0]}) AS members,
    (SELECT count(*) FROM revised_plans) AS plans,
    (SELECT count(DISTINCT category) FROM revised_plans) AS plan_categories,
    (SELECT count(*) FROM townships WHERE is_township) AS townships,
    (SELECT count(*) FROM villages WHERE NOT is_virtual) AS villages,
    (SELECT count(*) FROM year_drills WHERE level IN ('county', 'township')) AS county_township_drills,
    (SELECT coalesce(sum(participants), 0) FROM year_drills WHERE level IN ('county', 'township'))
        AS county_township_participants,
    (SELECT count(*) FROM year_drills WHERE level = 'enterprise') AS sector_drills,
    (SELECT coalesce(sum(participants), 0) FROM year_drills WHERE level = 'enterprise') AS sector_participants,
    (SELECT count(*) FROM year_drills WHERE level = 'village') AS village_drills,
    (SELECT coalesce(sum(participants), 0) FROM year_drills WHERE level = 'village') AS village_participants,
    (SELECT count(*) FROM year_drills) AS drills,
    (SELECT coalesce(sum(participants), 0) FROM year_drills) AS participants
"""

STAT_LABELS = {
    "teams": "应急救援队伍（支）",
    "members": "队员（人）",
    "plans": "修订完善专项应急预案（项）",
    "plan_categories": "预案类别（类）",
    "townships": "乡镇（个）",
    "villages": "村（社区）（个）",
    "county_township_drills": "县乡两级演练（场次）",
    "county_township_participants": "县乡两级参演（人次）",
    "sector_drills": "非煤矿山等领域演练（场次）",
    "sector_participants": "非煤矿山等领域参演（人次）",
    "village_drills": "村级演练（场次）",
    "village_participants": "村级参演（人次）",
}


# The table families (db.FAMILIES) the overview's figures read: year_stats, reports.report_figures (with
# linkage's connected townships), drills.action_counts, deadlines.plan_deadlines, teams.domain_counts.
# A cache of them keys on db.generation_of(*these): the scheduler's bookkeeping, log-ins (accounts),
# notifications and resources leave it alone.
OVERVIEW_READS = ("places", "registry", "records", "plans", "drills", "calls", "settings")


def year_stats(db: Database, year: int, as_of: date | None = None) -> dict:
    """One dict with the year's figures; the keys of `stats --json` (drills / participants: all levels).

    `as_of`, a day of that year, gives the year so far: teams and members on that day, drills held up
    to it (the overview's current status). By default the figures are those of 31 December.
    """
    end = date(year, 12, 31) if as_of is None else min(as_of, date(year, 12, 31))
    row = db.query_dicts(STATS_SQL, [end, date(year, 1, 1)])[0]
    return {"year": year, **{n: int(v) for n, v in row.items()}}


def about(n: int) -> str:
    """A person-time count as the county's report writes it: from ten thousand up, rounded down to the
    hundred with "余" (12,134 -> '12100余'); below that, exact (6,967 -> '6967'). One rule for every count."""
    if n >= 10000 and n % 100:
        return f"{n // 100 * 100}余"
    return str(n)
