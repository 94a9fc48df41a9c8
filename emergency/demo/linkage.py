"""Demo rows of the three-level linkage: contacts, roll calls, warnings and acknowledgements.

Deterministic (its own seeded rng) and synthetic (demo.fake_name / fake_mobile, is_demo). The
demo "now" is DEMO_NOW, so the same seed gives the same rows on any day. It is shaped so that:
- every township was connected in 2024 (the county's report: 全县16个乡镇互联互通);
- the current period (the 90 days before DEMO_NOW) shows a mix of statuses: most townships green,
  some amber (a few unanswered roll calls or warnings, a village without an information officer),
  two red (many unanswered, slow answers);
- a few villages miss their B officer, a few have none at all.
`scale` multiplies the roll calls (scale calls a week per township), for benchmarks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from ..db import TZ, advance_sequence, insert_frame
from ..regions import read_townships, read_villages
from .generator import fake_mobile, fake_name

if TYPE_CHECKING:
    from ..db import Cursor, Database

START = datetime(2024, 1, 2, 9, 0, tzinfo=TZ)
DEMO_NOW = datetime(2026, 11, 24, 17, 0, tzinfo=TZ)
PERIOD_DAYS = 90


# Profile of each township in the current period: share of roll calls and warnings left unanswered,
# answer minutes, and villages without any information officer.
@dataclass(frozen=True)
class Profile:
    miss: float  # share of the current period's roll calls and warnings left unanswered
    minutes: tuple[float, float]  # a roll call's answer, in minutes
    ack_minutes: tuple[float, float]  # a warning's acknowledgement, in minutes
    no_officer: int  # villages without any information officer


PROFILES = {
    "green": Profile(miss=0.0, minutes=(1, 4), ack_minutes=(1.5, 8), no_officer=0),
    "amber": Profile(miss=0.15, minutes=(3, 9), ack_minutes=(4, 18), no_officer=1),
    "red": Profile(miss=0.4, minutes=(10, 30), ack_minutes=(12, 60), no_officer=2),
}
PROFILE_COUNTS = {"green": 9, "amber": 5, "red": 2}
LEVEL_NAMES = {1: "红色", 2: "橙色", 3: "黄色", 4: "蓝色"}
LATE_SHARE = 0.06  # before the current period: acknowledgements after the step-1 limit (10 minutes)
VILLAGE_ACK_SHARE = {"green": 0.98, "amber": 0.9, "red": 0.8}  # villages acknowledging in the current period


def _landline(rng: random.Random) -> str:
    return "0379" + f"{rng.randrange(6600000, 6699999):07d}"


def _table_offset(db: Database, table: str) -> int:
    return int(db.scalar(f"SELECT coalesce(max(id), 0) FROM {table}"))


def extend(db: Database, scale: int, rng: random.Random) -> dict:
    """The linkage demo (see the module's docstring); returns rows written per table.

    The steps draw from `rng` in this order (contacts, roll calls, warnings, acknowledgements), so
    the same seed gives the same rows."""
    townships = [t for t in read_townships() if t["is_township"]]
    villages = _villages_by_township()
    profile = _assign_profiles(townships, rng)
    period_start = DEMO_NOW - timedelta(days=PERIOD_DAYS)
    contacts = _contacts(townships, villages, profile, rng)
    roll_rows = _roll_calls(townships, profile, scale, period_start, rng)
    warnings = _warnings(_table_offset(db, "warnings"), rng)
    acks = _acks(townships, villages, contacts, warnings, profile, period_start, rng)
    # The first warning of each year reaches every township's acknowledgement (connected in 2024).
    _ensure_yearly_ack(warnings, acks)
    return _write(db, contacts, roll_rows, warnings, acks)


def _villages_by_township() -> dict[str, list[dict]]:
    villages: dict[str, list[dict]] = {}
    for v in read_villages():
        if not v["is_virtual"]:
            villages.setdefault(v["township_code"], []).append(v)
    return villages


def _assign_profiles(townships: list[dict], rng: random.Random) -> dict[str, str]:
    """township code -> "green" / "amber" / "red", PROFILE_COUNTS of each, drawn at random."""
    order = [t["code"] for t in townships]
    rng.shuffle(order)
    profile: dict[str, str] = {}
    for kind, count in PROFILE_COUNTS.items():
        for _ in range(count):
            profile[order.pop()] = kind
    return profile


# Contacts ------------------------------------------------------------------------------------------
def _contact(rng: random.Random, township, village, role, active_from, active_to=None, phone=None) -> dict:
    return {
        "township_code": township,
        "village_code": village,
        "role": role,
        "name": fake_name(rng),
        "phone": phone or fake_mobile(rng),
        "active_from": active_from,
        "active_to": active_to,
        "is_demo": True,
    }


def _contacts(townships: list[dict], villages: dict, profile: dict[str, str], rng: random.Random) -> list[dict]:
    contacts: list[dict] = []
    for t in townships:
        code = t["code"]
        contacts += _station_contacts(code, rng)
        contacts += _village_officers(code, villages[code], PROFILES[profile[code]].no_officer, rng)
        contacts += _call_targets(code, villages[code], rng)
    return contacts


def _call_targets(code: str, villages: list[dict], rng: random.Random) -> list[dict]:
    """The other 叫应 targets (emergency/calls.py): the township's party secretary and head, and for each
    village its flood-control responsible person (村支书) and the township cadre responsible for it."""
    rows = [
        _contact(rng, code, None, "party_head", date(rng.randint(2019, 2023), rng.randint(1, 12), 1)) for _ in range(2)
    ]
    for v in villages:
        rows.append(
            _contact(rng, code, v["code"], "village_head", date(rng.randint(2018, 2023), rng.randint(1, 12), 1))
        )
        rows.append(
            _contact(rng, code, v["code"], "village_cadre", date(rng.randint(2019, 2023), rng.randint(1, 12), 1))
        )
    return rows


def _station_contacts(code: str, rng: random.Random) -> list[dict]:
    """The township's emergency station: its head (replaced in 2025 in about 30 %), staff, duty room."""
    rows = []
    head_from = date(rng.randint(2018, 2022), rng.randint(1, 12), 1)
    if rng.random() < 0.3:  # the station head changed in 2025
        change = date(2025, rng.randint(2, 11), 1)
        rows.append(_contact(rng, code, None, "station_head", head_from, change - timedelta(days=1)))
        rows.append(_contact(rng, code, None, "station_head", change))
    else:
        rows.append(_contact(rng, code, None, "station_head", head_from))
    for _ in range(rng.choice((1, 2))):
        rows.append(_contact(rng, code, None, "station_staff", date(rng.randint(2019, 2023), rng.randint(1, 12), 1)))
    rows.append(_contact(rng, code, None, "duty_room", date(2018, 1, 1), phone=_landline(rng)))
    return rows


def _village_officers(code: str, villages: list[dict], without_officer: int, rng: random.Random) -> list[dict]:
    """Officer A in every village but `without_officer` of them (whose officer left), B in about 90 %."""
    rows = []
    without = set(v["code"] for v in rng.sample(villages, without_officer))
    for v in villages:
        if v["code"] in without:
            # the officer left this year and nobody has been appointed
            rows.append(
                _contact(rng, code, v["code"], "info_officer_a", date(2020, 3, 1), date(2026, rng.randint(3, 9), 15))
            )
            continue
        rows.append(
            _contact(rng, code, v["code"], "info_officer_a", date(rng.randint(2018, 2023), rng.randint(1, 12), 1))
        )
        if rng.random() < 0.9:
            rows.append(
                _contact(rng, code, v["code"], "info_officer_b", date(rng.randint(2019, 2023), rng.randint(1, 12), 1))
            )
    return rows


# Roll calls: weekly (scale a week) from the county duty office to every township ----------------------
def _roll_calls(
    townships: list[dict], profile: dict[str, str], scale: int, period_start: datetime, rng: random.Random
) -> list[dict]:
    calls = _roll_call_times(townships, scale, period_start, rng)
    by_town: dict[str, list[int]] = {}
    for i, c in enumerate(calls):
        by_town.setdefault(c["township_code"], []).append(i)
    answers: dict[int, dict] = {}
    for code, indexes in by_town.items():
        answers.update(_answers(calls, indexes, PROFILES[profile[code]], rng))
    return [
        {
            "township_code": c["township_code"],
            "called_at": c["called_at"],
            **answers[i],
            "called_by": "县应急值班室（演示）",
            "is_demo": True,
        }
        for i, c in enumerate(calls)
    ]


def _roll_call_times(townships: list[dict], scale: int, period_start: datetime, rng: random.Random) -> list[dict]:
    calls: list[dict] = []
    week = START
    while week < DEMO_NOW:
        for k in range(scale):
            for t in townships:
                called = week + timedelta(
                    days=rng.randrange(5), hours=rng.choice((0, 2, 6)), minutes=7 * k + rng.randrange(5)
                )
                if called < DEMO_NOW:
                    calls.append({"township_code": t["code"], "called_at": called, "current": called > period_start})
        week += timedelta(days=7)
    return calls


def _answers(calls: list[dict], indexes: list[int], prof: Profile, rng: random.Random) -> dict[int, dict]:
    """{call index: answered_at, answered_by, note} for one township's calls: in the current period
    the profile's share unanswered; before it nearly all answered, the first call of each year always."""
    current = [i for i in indexes if calls[i]["current"]]
    missed = set(rng.sample(current, round(len(current) * prof.miss)))
    first_of_year: dict[int, int] = {}
    for i in indexes:
        first_of_year.setdefault(calls[i]["called_at"].year, i)
    firsts = set(first_of_year.values())
    answers = {}
    for i in indexes:
        if calls[i]["current"]:
            answered = i not in missed
            minutes = rng.uniform(*prof.minutes)
        else:
            answered = i in firsts or rng.random() < 0.97
            minutes = rng.uniform(1, 6)
        answers[i] = {
            "answered_at": calls[i]["called_at"] + timedelta(minutes=round(minutes, 1)) if answered else None,
            "answered_by": fake_name(rng) if answered else None,
            "note": None if answered else "值班室无人应答，已电话督促",
        }
    return answers


# Warnings: a realistic season. 暴雨 / 山洪 / 地质灾害 every few days in the flood season (late June to early
# September, most in July and August); outside it 森林火险, 大风, 寒潮 or 高温 every two to four weeks.
def _in_flood_season(day: datetime) -> bool:
    return (day.month, day.day) >= (6, 20) and (day.month, day.day) <= (9, 5)


def _hazard(day: datetime, rng: random.Random) -> str:
    if _in_flood_season(day):
        return rng.choices(("暴雨", "山洪", "地质灾害"), weights=(6, 2, 2))[0]
    if day.month in (12, 1, 2):
        return rng.choice(("寒潮", "大风", "森林火险"))
    if day.month in (5, 6):
        return rng.choice(("高温", "大风"))
    return rng.choice(("森林火险", "大风"))


def _warnings(id_offset: int, rng: random.Random) -> list[dict]:
    warnings: list[dict] = []
    day = START + timedelta(days=3)
    while day < DEMO_NOW - timedelta(days=1):
        season = _in_flood_season(day)
        level = rng.choices((1, 2, 3, 4), weights=(2, 4, 4, 2) if season else (0, 1, 5, 6))[0]
        issued = day.replace(hour=rng.randint(0, 23) if season else rng.randint(6, 21), minute=rng.randrange(60))
        hazard = _hazard(day, rng)
        warnings.append(
            {
                "id": id_offset + len(warnings) + 1,
                "level": level,
                "hazard": hazard,
                "title": f"嵩县气象台发布{hazard}{LEVEL_NAMES[level]}预警（演示）",
                "issued_at": issued,
                "issued_by": "县应急值班室（演示）",
                "is_demo": True,
            }
        )
        day += timedelta(days=rng.randint(2, 6) if season else rng.randint(12, 26))
    return warnings


def _acks(
    townships: list[dict],
    villages: dict,
    contacts: list[dict],
    warnings: list[dict],
    profile: dict[str, str],
    period_start: datetime,
    rng: random.Random,
) -> list[dict]:
    """Every township's acknowledgement of every warning, and for orange and red ones every village's."""
    current_ids = [w["id"] for w in warnings if w["issued_at"] > period_start]
    acks: list[dict] = []
    for t in townships:
        code = t["code"]
        prof = PROFILES[profile[code]]
        missed = set(rng.sample(current_ids, round(len(current_ids) * prof.miss)))
        for w in warnings:
            issued, current = w["issued_at"], w["id"] in current_ids
            if current:
                acked, minutes = w["id"] not in missed, rng.uniform(*prof.ack_minutes)
            else:
                late = rng.random() < LATE_SHARE
                acked, minutes = rng.random() < 0.98, rng.uniform(11, 40) if late else rng.uniform(1.5, 9)
            acks.append(_ack(rng, w["id"], code, None, issued, acked, minutes))
            if w["level"] <= 2:
                share = VILLAGE_ACK_SHARE[profile[code]] if current else 0.95
                officers = _villages_with_officer(contacts, code, issued.date())
                acks += [
                    _ack(
                        rng,
                        w["id"],
                        code,
                        v["code"],
                        issued,
                        v["code"] in officers and rng.random() < share,
                        rng.uniform(5, 45),
                    )
                    for v in villages[code]
                ]
    return acks


def _villages_with_officer(contacts: list[dict], township: str, day: date) -> set[str]:
    return {
        c["village_code"]
        for c in contacts
        if c["township_code"] == township
        and c["village_code"]
        and c["active_from"] <= day
        and (c["active_to"] is None or c["active_to"] >= day)
    }


def _ack(rng, wid, township, village, issued, acked, minutes) -> dict:
    return {
        "warning_id": wid,
        "township_code": township,
        "village_code": village,
        "acknowledged_at": issued + timedelta(minutes=round(minutes, 1)) if acked else None,
        "acknowledged_by": fake_name(rng) if acked else None,
        "escalated_at": None if acked else issued + timedelta(minutes=10),
    }


def _ensure_yearly_ack(warnings: list[dict], acks: list[dict]) -> None:
    first: dict[int, int] = {}
    for w in warnings:
        first.setdefault(w["issued_at"].year, w["id"])
    ids = set(first.values())
    issued = {w["id"]: w["issued_at"] for w in warnings}
    for a in acks:
        if a["warning_id"] in ids and a["village_code"] is None and a["acknowledged_at"] is None:
            a["acknowledged_at"] = issued[a["warning_id"]] + timedelta(minutes=6)
            a["acknowledged_by"] = "值班员（演示）"
            a["escalated_at"] = None


def _write(db: Database, contacts, roll_rows, warnings: list[dict], acks) -> dict:
    details = [{"warning_id": w["id"], "hazard": w["hazard"]} for w in warnings]
    warnings = [{k: v for k, v in w.items() if k != "hazard"} for w in warnings]
    tables = [
        ("contacts", contacts),
        ("roll_calls", roll_rows),
        ("warnings", warnings),
        ("warning_details", details),
        ("warning_acks", acks),
    ]

    def work(cur: Cursor):
        for table, rows in tables:
            if rows:
                insert_frame(cur, table, rows)
        advance_sequence(cur, "warnings")  # warnings were given explicit ids: keep the sequence ahead of them

    db.write(work)
    return {table: len(rows) for table, rows in tables}
