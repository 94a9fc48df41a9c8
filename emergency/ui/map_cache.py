"""地图's cached data and tables (the page's st.cache functions), decorated once per process (see
linkage_cache: a decorator in the page script reads the function's source at every rerun)."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from emergency import linkage, mapview, paging, regions, teams
from emergency.auth import User
from emergency.drills import drill_page
from emergency.enums import DRILL_LEVELS, TEAM_LEVELS
from emergency.ui import folium_view
from emergency.ui.state import get_db
from emergency.ui.widgets import prepared_table


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_map_data(db_path: str, generation: tuple[int, ...], period: datetime, _now: datetime) -> dict:
    """The map's data (about 30 queries), computed at `_now` (not part of the key), kept until the next
    committed write to what it reads (mapview.MAP_READS) or the next status period
    (linkage.status_period); read-only, shared by sessions."""
    return mapview.map_data(get_db(), _now)


def map_data_now(db, now: datetime) -> dict:
    """The map's data at `now`, from cached_map_data (the page's key, and the one warm() fills)."""
    return cached_map_data(str(db.path), db.generation_of(*mapview.MAP_READS), linkage.status_period(now), now)


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_places(db_path: str, generation: tuple[int, ...]) -> tuple[list[dict], list[dict], int]:
    """The places without a coordinate (townships, villages) and the number of villages, beside the
    map: kept until the next committed write to the places (townships, villages)."""
    db = get_db()
    return regions.missing_coordinates(db), regions.villages_without_coordinates(db), regions.village_count(db)


def places_without_coordinates(db) -> tuple[list[dict], list[dict], int]:
    """cached_places on the page's key (the one warm() fills)."""
    return cached_places(str(db.path), db.generation_of("places"))


# The tables below the map are cached as drawn (widgets.prepared_table: formatting is pandas work per
# column), read-only and shared by sessions; a page of teams per viewer's masking (role, township).
VILLAGE_COLUMNS = {
    "name": "村（社区）",
    "status": "状态",
    "officer_a": "信息员A岗",
    "officer_b": "信息员B岗",
    "drills_12m": "近12个月演练",
    "teams": "村级队伍",
    "reasons": "说明",
}
TEAM_COLUMNS = {
    "name": "队伍名称",
    "level": "层级",
    "member_count": "在册队员",
    "domains": "覆盖领域",
    "leader_name": "负责人",
    "duty_phone": "值班电话",
}
DRILL_COLUMNS = {"held_on": "日期", "title": "演练名称", "level": "层级", "participants": "参演人次"}


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_villages(
    db_path: str, generation: tuple[int, ...], period: datetime, township_code: str, _now: datetime
) -> pd.DataFrame:
    """A township's villages below the map, kept like cached_map_data (a click on the map reruns the page)."""
    frame = pd.DataFrame(linkage.village_indicators(get_db(), township_code, _now))
    frame["status"] = frame["status"].map(linkage.STATUS_LABELS)
    frame["reasons"] = frame["reasons"].map("；".join)
    return prepared_table(frame, VILLAGE_COLUMNS)


def township_villages(db, township_code: str, now: datetime) -> pd.DataFrame:
    """A township's villages as drawn, from cached_villages (the page's key, and the one warm() fills)."""
    period = linkage.status_period(now)
    return cached_villages(str(db.path), db.generation_of(*mapview.MAP_READS), period, township_code, now)


def warm(db, now: datetime) -> None:
    """Fill what the first view of 地图 reads at `now` (its data, the map's strings, the places beside it and the first
    township's villages, the open tab), so that the first view after a start or in a new status period reads a cache."""
    data = map_data_now(db, now)
    folium_view.prepared_args(data, lambda: mapview.build_map(data))
    places_without_coordinates(db)
    if data["townships"]:
        township_villages(db, data["townships"][0]["code"], now)


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_teams(
    db_path: str, generation: tuple[int, ...], township_code: str, page: int, viewer: tuple, _user: User
) -> paging.Page:
    """One page of a township's teams (SQL-paged), duty phones masked for `viewer` (role, township)."""
    db = get_db()
    listed = paging.fetch(
        lambda: teams.team_summary(db, township_code=township_code)["teams"],
        lambda limit, offset: teams.team_list_for(db, _user, township_code=township_code, limit=limit, offset=offset),
        page,
    )
    return replace(listed, rows=prepared_table(listed.rows, TEAM_COLUMNS, {"level": TEAM_LEVELS}))


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_drills(db_path: str, generation: tuple[int, ...], today: date, township_code: str, page: int) -> paging.Page:
    """One page of a township's drills of the last 12 months (SQL-paged), newest first."""
    since = (pd.Timestamp(today) - pd.DateOffset(months=12)).date() + timedelta(days=1)
    held = drill_page(get_db(), page=page, township_code=township_code, since=since, until=today)
    return replace(held, rows=prepared_table(held.rows, DRILL_COLUMNS, {"level": DRILL_LEVELS}))
