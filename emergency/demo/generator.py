"""Deterministic demo data that reproduces the county's published 2024 figures (DOMAIN.md section 1).

The generator aims at the report's figures (TARGETS) and spreads them plausibly; the statistics
shown anywhere are computed from the generated rows, never copied from TARGETS. Around 2024 it
adds history (2021-2023, 2025, 2026 to October) and planned drills, so deadlines have something
real to show: teams founded later or disbanded earlier, members who left, people counted twice.
Same seed and scale, same data. Every person is synthetic and flagged is_demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, TypedDict

import pandas as pd

from .. import enums, privacy
from ..db import advance_sequence, insert_frame
from ..regions import read_townships, read_villages
from ..rules import add_months as add_months_

if TYPE_CHECKING:
    from ..db import Cursor, Database

SEED = 20241231
REPORT_YEAR = 2024
HISTORY_END = date(2026, 10, 31)  # the demo's drill records stop here; later ones are planned


class Targets(TypedDict):
    teams: int
    members: int
    county_township_drills: int
    county_township_participants: tuple[int, int]  # the report gives "12,100 and more": a range
    sector_drills: int
    sector_participants: int


# The figures of the county's 2024 report that the demo must reproduce (per unit of scale).
TARGETS: Targets = {
    "teams": 388,
    "members": 7349,
    "county_township_drills": 92,
    "county_township_participants": (12100, 12199),
    "sector_drills": 522,
    "sector_participants": 6967,
}

# Feature modules that add demo rows of their own, run after the core demo in this order. Each has
# extend(db, scale: int, rng: random.Random) -> dict[table, rows written]; none may change the
# 2024 figures above (no 2024 county/township/enterprise drills, no teams or members). The value
# names the extension's random stream: the module's name when it was added (emergency/demo_linkage.py),
# kept when it moved so that the same seed still gives the same rows.
DEMO_EXTENSIONS: dict[str, str] = {
    "emergency.demo.linkage": "emergency.demo_linkage",
    "emergency.demo.archive": "emergency.demo_archive",
    "emergency.demo.programme": "emergency.demo_programme",
    "emergency.demo.clocks": "emergency.demo_clocks",
    "emergency.demo.resources": "emergency.demo.resources",
}

# Demo-only passwords, printed in the README: change or delete these accounts in real use.
DEMO_PASSWORDS = {"admin": "Demo-admin-2024", "viewer": "Demo-viewer-2024", "township": "Demo-town-2024"}
# Their argon2 hashes, computed once (auth.hash_password) and kept here: hashing them at every first
# start cost three deliberate argon2 runs (0.5 s each idle, 2 s under load) on the way to healthy. The
# passwords are public (README), so their hashes are too; tests/test_demo.py checks that each verifies
# and needs no rehash with auth's current parameters (regenerate them if those change).
DEMO_PASSWORD_HASHES = {
    "admin": "$argon2id$v=19$m=65536,t=3,p=4$EunhCkLJXNPesrWw5zL4ow$6bVugoorEofXr2u7jlIQC/b+EzbojPYkUnxYHZj5pxk",
    "viewer": "$argon2id$v=19$m=65536,t=3,p=4$kbHmEdFo9N/46+LCY7qPxQ$wQpbupjgny81faid+RgEbFn9t5vL5ObQJpyg28yyKAE",
    "township": "$argon2id$v=19$m=65536,t=3,p=4$G7ub/ht22inuMBvPwfRxeA$NeKQO7tG0I95/k5kJfHIlv1zwdB+cwc0glFLx03sGBM",
}


def demo_username(township_code: str) -> str:
    """town100 for 城关镇 (410325100): the last three digits of the NBS code."""
    return "town" + township_code[-3:]


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰春梅海波宏亮新民永飞鹏辉晓东"
    "文俊峰雪丹凤云龙小林浩宇欣怡佳琪子涵振庆喜成德福安广胜利金山"
)
SPECIALTIES = [
    "抢险救援",
    "医疗救护",
    "通信联络",
    "水上救援",
    "森林扑火",
    "机械操作",
    "后勤保障",
    "驾驶",
    "无人机",
    "绳索救援",
]
CERTIFICATES = ["应急救援员职业资格证书", "红十字救护员证", "特种作业操作证", "无人机驾驶员执照", "消防设施操作员证"]
MOBILE_PREFIXES = [
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "183",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
]

COUNTY_TEAMS = [  # (name, kind, domains)
    ("嵩县消防救援大队", "fire_rescue", ["fire", "flood", "geological", "earthquake"]),
    ("县防汛抢险专业队", "professional", ["flood", "weather"]),
    ("县森林消防专业队", "professional", ["forest_fire"]),
    ("县地质灾害应急救援队", "professional", ["geological", "earthquake"]),
    ("县矿山救护队", "professional", ["mine"]),
    ("县危险化学品应急救援队", "professional", ["hazchem"]),
    ("县电力抢修队", "professional", ["utilities"]),
    ("县通信保障应急队", "professional", ["communication"]),
    ("县医疗卫生应急救援队", "professional", ["medical", "public_health"]),
    ("县交通运输应急保障队", "professional", ["traffic"]),
    ("县供水燃气抢修队", "professional", ["utilities"]),
    ("县建筑工程抢险队", "professional", ["construction", "earthquake"]),
    ("县公安应急处突队", "professional", ["public_security", "traffic"]),
]
CIVIL_TEAMS = [
    ("嵩县蓝天救援队", ["flood", "geological", "medical"]),
    ("嵩县红十字应急救护队", ["medical"]),
    ("嵩县应急志愿者服务队", ["flood", "public_health"]),
    ("伏牛山户外救援队", ["geological", "forest_fire"]),
    ("嵩县义务消防志愿队", ["fire"]),
    ("嵩县无线电应急通信队", ["communication"]),
    ("嵩县民兵应急连", ["flood", "forest_fire"]),
    ("嵩县青年突击队", ["flood"]),
    ("嵩县巾帼志愿服务队", ["public_health", "medical"]),
    ("嵩县退役军人应急救援队", ["flood", "geological"]),
]
FOREST_TOWNSHIPS = {
    "车村镇",
    "白河镇",
    "木植街乡",
    "黄庄乡",
    "德亭镇",
    "大章镇",
    "旧县镇",
    "纸房镇",
    "九皋镇",
    "陆浑镇",
}

# Regulated enterprises per sector (per unit of scale) and the plans their drills exercise.
ENTERPRISE_SECTORS = {
    "non_coal_mine": (26, "矿业有限公司", ["SG-03", "SG-01"], ["mine"]),
    "tailings_pond": (9, "尾矿库", ["SG-04"], ["mine"]),
    "hazchem": (8, "化工有限公司", ["SG-02"], ["hazchem"]),
    "metal_smelting": (3, "冶炼有限公司", ["SG-01"], ["hazchem", "fire"]),
    "construction": (18, "建设工程项目部", ["SG-08"], ["construction"]),
    "crowded_place": (22, "商贸中心", ["AQ-03", "SG-12"], ["fire", "public_security"]),
    "scenic_area": (9, "旅游景区", ["AQ-09", "SG-12"], ["fire", "public_security"]),
    "other": (18, "有限公司", ["SG-01"], ["fire"]),
}
TOWNSHIP_DRILL_PLANS = ["ZR-01", "ZR-03", "ZR-05", "ZR-04", "SG-01", "SG-12", "ZR-09", "ZR-06", "WS-01", "SG-05"]
COUNTY_DRILL_PLANS = [p for p in TOWNSHIP_DRILL_PLANS] + ["SG-02", "SG-03", "SG-13", "WS-02", "AQ-03", "SG-09", "ZR-07"]
VILLAGE_DRILL_PLANS = ["ZR-01", "ZR-03", "ZR-05", "SG-12"]
# Plans the demo never drills, so that the plans page shows a "从未开展" case or two.
NEVER_DRILLED = ("AQ-06", "AQ-07", "WS-04")


def spread_total(rng: random.Random, lows: list[int], highs: list[int], total: int) -> list[int]:
    """Integers within [lows[i], highs[i]] that add up to exactly `total`, randomly spread."""
    if not sum(lows) <= total <= sum(highs):
        raise ValueError(f"total {total} outside {sum(lows)}..{sum(highs)}")
    values = list(lows)
    remaining = total - sum(lows)
    weights = [rng.random() * (h - lo) for lo, h in zip(lows, highs)]
    weight_sum = sum(weights) or 1.0
    for i, w in enumerate(weights):
        add = min(highs[i] - values[i], int(remaining * w / weight_sum))
        values[i] += add
    left = total - sum(values)
    open_slots = [i for i in range(len(values)) if values[i] < highs[i]]
    while left > 0:
        i = rng.choice(open_slots)
        values[i] += 1
        left -= 1
        if values[i] == highs[i]:
            open_slots.remove(i)
    return values


def village_short_name(name: str) -> str:
    """西源头村村民委员会 -> 西源头村, 安康社区居民委员会 -> 安康社区."""
    if name.endswith("村民委员会"):
        base = name[: -len("村民委员会")]
        return base if base.endswith("村") else base + "村"
    if name.endswith("居民委员会"):
        return name[: -len("居民委员会")]
    return name


def fake_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def fake_mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def fake_id_number(rng: random.Random, born: date, male: bool) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"410325{born:%Y%m%d}{seq:03d}"
    return first17 + privacy.id_check_char(first17)


def random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


class Person(NamedTuple):
    id_number: str
    name: str
    born: date
    phone: str


@dataclass
class Batch:
    """Rows collected in memory, written with one INSERT per table."""

    tables: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, table: str, row: dict) -> None:
        self.tables.setdefault(table, []).append(row)


class DemoGenerator:
    def __init__(self, db: Database, scale: int = 1, seed: int = SEED):
        if scale < 1:
            raise ValueError("scale 必须是正整数")
        self.db, self.scale, self.seed, self.rng = db, scale, seed, random.Random(f"{seed}:{scale}")
        self.batch = Batch()
        self.townships = [t for t in read_townships() if t["is_township"]]
        villages = [v for v in read_villages() if not v["is_virtual"]]
        self.villages_by_township: dict[str, list[dict]] = {}
        for v in villages:
            self.villages_by_township.setdefault(v["township_code"], []).append(v)
        self.villages = villages
        self._ids: dict[str, int] = {}
        self._shared_people: list[Person] = []  # people drawn again for a second team
        self.plan_updates: list[tuple[str, date | None, bool]] = []  # (code, evaluated on, needs revision)
        self.plan_codes = {c for (c,) in db.query("SELECT code FROM plans")}

    def next_id(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    # Teams and members ----------------------------------------------------------------------
    def _team(
        self,
        name,
        kind,
        level,
        domains,
        *,
        township=None,
        village=None,
        enterprise=None,
        established=None,
        disbanded=None,
    ) -> dict:
        rng = self.rng
        team = {
            "id": self.next_id("teams"),
            "name": name,
            "kind": kind,
            "level": level,
            "township_code": township,
            "village_code": village,
            "enterprise_id": enterprise,
            "leader_name": fake_name(rng),
            "duty_phone": fake_mobile(rng),
            "equipment": rng.choice(
                [
                    "冲锋舟2艘、救生衣50件",
                    "风力灭火机10台、对讲机20部",
                    "发电机2台、照明灯组4套",
                    "破拆工具1套、担架6副",
                    "抽水泵4台、沙袋2000条",
                    "无人机1架、卫星电话2部",
                ]
            ),
            "established_on": established or random_day(rng, date(2012, 1, 1), date(2023, 12, 31)),
            "disbanded_on": disbanded,
            "disband_reason": "撤并重组" if disbanded else None,
            "is_demo": True,
        }
        self.batch.add("teams", team)
        for d in domains:
            self.batch.add("team_domains", {"team_id": team["id"], "domain_code": d})
        return team

    def make_teams(self) -> list[tuple[dict, int, int]]:
        """All teams active at the end of REPORT_YEAR, with (min, max) member counts, plus history."""
        active: list[tuple[dict, int, int]] = []
        for _ in range(self.scale):
            active += self._county_teams()
            active += self._township_teams()
            active += self._civil_teams()
        active += self._enterprise_teams()
        active += self._village_teams(TARGETS["teams"] * self.scale - len(active))
        self._history_teams()
        return active

    def _county_teams(self) -> list[tuple[dict, int, int]]:
        return [(self._team(name, kind, "county", domains), 25, 60) for name, kind, domains in COUNTY_TEAMS]

    def _township_teams(self) -> list[tuple[dict, int, int]]:
        """Every township's comprehensive and flood teams; a forest-fire team where there is forest."""
        teams = []
        for t in self.townships:
            short, code = t["name"], t["code"]
            domains = ["fire", "flood", "forest_fire", "geological"]
            teams.append(
                (self._team(f"{short}应急救援综合队", "grassroots", "township", domains, township=code), 30, 50)
            )
            flood = self._team(f"{short}防汛抢险队", "grassroots", "township", ["flood", "weather"], township=code)
            teams.append((flood, 20, 40))
            if t["name"] in FOREST_TOWNSHIPS:
                name = f"{short}森林防灭火半专业扑火队"
                teams.append((self._team(name, "professional", "township", ["forest_fire"], township=code), 20, 35))
        return teams

    def _civil_teams(self) -> list[tuple[dict, int, int]]:
        return [(self._team(name, "civil", "civil", domains), 12, 40) for name, domains in CIVIL_TEAMS]

    def _enterprise_teams(self) -> list[tuple[dict, int, int]]:
        teams = []
        for ent in self.batch.tables["enterprises"][: 60 * self.scale]:
            domains = ENTERPRISE_SECTORS[ent["sector"]][3]
            team = self._team(
                f"{ent['name']}应急救援队",
                "enterprise",
                "enterprise",
                domains,
                township=ent["township_code"],
                enterprise=ent["id"],
            )
            teams.append((team, 8, 30))
        return teams

    def _village_teams(self, slots: int) -> list[tuple[dict, int, int]]:
        """`slots` village teams in villages drawn at random (the rest of the report's team count)."""
        pool = [v for _ in range(self.scale) for v in self.villages]
        teams = []
        for v in sorted(self.rng.sample(pool, slots), key=lambda v: v["code"]):
            team = self._team(
                f"{village_short_name(v['name'])}应急救援队",
                "grassroots",
                "village",
                ["flood", "forest_fire", "geological"],
                township=v["township_code"],
                village=v["code"],
            )
            teams.append((team, 10, 22))
        return teams

    def _history_teams(self) -> None:
        """History outside the report year: teams disbanded before it, teams founded after it."""
        rng = self.rng
        for i in range(6 * self.scale):
            t = self.townships[i % len(self.townships)]
            self._team(
                f"{t['name']}民兵应急排（已撤并）",
                "grassroots",
                "township",
                ["flood"],
                township=t["code"],
                established=date(2015, 3, 1),
                disbanded=random_day(rng, date(2022, 1, 1), date(2023, 12, 31)),
            )
        for i in range(5 * self.scale):
            t = self.townships[(i * 3) % len(self.townships)]
            self._team(
                f"{t['name']}地质灾害群测群防队",
                "grassroots",
                "township",
                ["geological"],
                township=t["code"],
                established=random_day(rng, date(2025, 2, 1), date(2026, 6, 30)),
            )

    def make_members(self, active_teams: list[tuple[dict, int, int]]) -> None:
        """The members of the active teams (sizes adding up to TARGETS), people who left in the report
        year or joined after it, and certificates for about 30 %."""
        rng = self.rng
        for team, role, joined, left in self._placements(active_teams):
            person = self._person()
            if rng.random() < 0.01:
                person = person._replace(phone=person.phone[:10])  # a malformed phone, as real rosters have
            member = self._member(team, role, joined, left, person)
            self.batch.add("members", member)
            if rng.random() < 0.3:
                self.batch.add("certificates", self._certificate(member["id"]))

    def _placements(self, active_teams: list[tuple[dict, int, int]]) -> list[tuple[dict, str, date, date | None]]:
        """(team, role in team, joined, left) of every member to generate."""
        rng = self.rng
        sizes = spread_total(
            rng, [lo for _, lo, _ in active_teams], [hi for _, _, hi in active_teams], TARGETS["members"] * self.scale
        )
        year_end = date(REPORT_YEAR, 12, 31)
        placements: list[tuple[dict, str, date, date | None]] = []
        for (team, _, _), size in zip(active_teams, sizes):
            for k in range(size):
                joined = random_day(rng, max(team["established_on"], date(2015, 1, 1)), year_end)
                placements.append((team, "leader" if k == 0 else "deputy" if k == 1 else "member", joined, None))
        # History: people who left during the report year, and people who joined after it.
        others = [t for t, _, _ in active_teams]
        for _ in range(180 * self.scale):
            team = rng.choice(others)
            placements.append((team, "member", date(2019, 5, 1), random_day(rng, date(2024, 1, 1), year_end)))
        for _ in range(120 * self.scale):
            placements.append((rng.choice(others), "member", random_day(rng, date(2025, 1, 1), HISTORY_END), None))
        return placements

    def _person(self) -> Person:
        """A new synthetic person, or now and then one already in another team (counted twice in the
        rosters: a health finding)."""
        rng = self.rng
        if self._shared_people and rng.random() < 0.006:
            return rng.choice(self._shared_people)
        male = rng.random() < 0.82
        born = random_day(rng, date(1966, 1, 1), date(2003, 12, 31))
        person = Person(fake_id_number(rng, born, male), fake_name(rng), born, fake_mobile(rng))
        if rng.random() < 0.02:
            self._shared_people.append(person)
        return person

    def _member(self, team: dict, role: str, joined: date, left: date | None, person: Person) -> dict:
        rng = self.rng
        h, cipher, masked = privacy.protect_id(person.id_number)
        trained = rng.random() < 0.9
        return {
            "id": self.next_id("members"),
            "team_id": team["id"],
            "name": person.name,
            "gender": privacy.gender_from_id(person.id_number),
            "birth_date": person.born,
            "phone": person.phone,
            "id_hmac": h,
            "id_cipher": cipher,
            "id_masked": masked,
            "role_in_team": role,
            "specialty": rng.choice(SPECIALTIES),
            "training_passed": trained,
            "training_on": random_day(rng, date(2020, 1, 1), date(2024, 11, 30)) if trained else None,
            "insurance_until": random_day(rng, date(2024, 6, 1), date(2027, 12, 31)),
            "joined_on": joined,
            "left_on": left,
            "is_demo": True,
        }

    def _certificate(self, member_id: int) -> dict:
        rng = self.rng
        issued = random_day(rng, date(2018, 1, 1), date(2024, 6, 30))
        return {
            "id": self.next_id("certificates"),
            "member_id": member_id,
            "name": rng.choice(CERTIFICATES),
            "number": f"DEMO-{rng.randrange(10**8):08d}",
            "issued_on": issued,
            "expires_on": issued + timedelta(days=365 * rng.choice((3, 4, 5, 6))),
        }

    # Enterprises ---------------------------------------------------------------------------
    def make_enterprises(self) -> None:
        rng = self.rng
        for _ in range(self.scale):
            for sector, (count, word, _, _) in ENTERPRISE_SECTORS.items():
                for _i in range(count):
                    t = rng.choice(self.townships)
                    v = rng.choice(self.villages_by_township[t["code"]])
                    place = village_short_name(v["name"]).removesuffix("村").removesuffix("社区")
                    self.batch.add(
                        "enterprises",
                        {
                            "id": self.next_id("enterprises"),
                            "name": f"嵩县{place}{word}（演示）",
                            "sector": sector,
                            "township_code": t["code"],
                            "village_code": v["code"],
                            "address": f"{t['name']}{village_short_name(v['name'])}",
                            "contact_name": fake_name(rng),
                            "contact_phone": fake_mobile(rng),
                            "registered_on": random_day(rng, date(2008, 1, 1), date(2020, 12, 31)),
                            "closed_on": None,
                            "is_demo": True,
                        },
                    )

    # Drills --------------------------------------------------------------------------------
    def _drill(
        self, *, level, held_on, participants, plans, township=None, village=None, enterprise=None, organiser, title
    ) -> dict:
        rng = self.rng
        start = datetime(held_on.year, held_on.month, held_on.day, rng.choice((8, 9, 10, 14, 15)), rng.choice((0, 30)))
        form = "live" if rng.random() < 0.7 else "tabletop"
        drill = {
            "id": self.next_id("drills"),
            "title": title,
            "level": level,
            "organiser": organiser,
            "township_code": township,
            "village_code": village,
            "enterprise_id": enterprise,
            "held_on": held_on,
            "started_at": start,
            "ended_at": start + timedelta(minutes=rng.choice((60, 90, 120, 180))),
            "place": organiser.removesuffix("（演示）") + ("演练场" if form == "live" else "会议室"),
            "form": form,
            "content": "comprehensive" if rng.random() < 0.4 else "single",
            "purpose": rng.choice(("testing", "testing", "testing", "demonstration", "research")),
            "participants": participants,
            "participating_units": organiser,
            "scenario": title.split("·")[-1],
            "problems": None,
            "evaluation": "演练达到预期目的。",
            "plan_problems_found": False,
            "is_demo": True,
            "created_by": "demo",
        }
        if rng.random() < 0.35 and level in ("county", "township"):
            drill["problems"] = rng.choice(
                [
                    "通信联络不畅，部分村未及时接收指令",
                    "物资调拨时间偏长",
                    "人员疏散路线标识不清",
                    "预案中职责分工与现机构设置不符",
                ]
            )
            drill["plan_problems_found"] = drill["problems"].startswith("预案")
            for _ in range(rng.choice((1, 2))):
                due = held_on + timedelta(days=rng.choice((30, 60, 90)))
                closed = due - timedelta(days=rng.randrange(0, 25)) if rng.random() < 0.75 else None
                self.batch.add(
                    "corrective_actions",
                    {
                        "id": self.next_id("corrective_actions"),
                        "drill_id": drill["id"],
                        "description": "针对“" + drill["problems"] + "”完成整改",
                        "owner": fake_name(rng),
                        "due_on": due,
                        "closed_on": closed if closed and closed <= HISTORY_END else None,
                        "closure_note": "已整改到位" if closed and closed <= HISTORY_END else None,
                    },
                )
        self.batch.add("drills", drill)
        for code in dict.fromkeys(plans):
            if code in self.plan_codes:
                self.batch.add("drill_plans", {"drill_id": drill["id"], "plan_code": code})
        return drill

    def _plan_name(self, code: str) -> str:
        return self.plan_names.get(code, "综合应急预案").removesuffix("应急预案").removesuffix("预案")

    def make_drills_for_year(self, year: int, *, exact: bool) -> None:
        """County/township, enterprise and village drills of one year. exact: hit TARGETS."""
        end = min(date(year, 12, 31), HISTORY_END)
        factor = 1.0 if exact else self.rng.uniform(0.55, 0.95)
        self._county_township_drills(year, end, exact, factor)
        self._sector_drills(year, end, exact, factor)
        self._village_drills(year, end, exact)

    def _county_township_drills(self, year: int, end: date, exact: bool, factor: float) -> None:
        rng, s = self.rng, self.scale
        n_ct = TARGETS["county_township_drills"] * s if exact else int(92 * s * factor)
        n_county = max(1, round(n_ct * 0.13))
        lows = [300] * n_county + [60] * (n_ct - n_county)
        highs = [900] * n_county + [200] * (n_ct - n_county)
        lo_total, hi_total = TARGETS["county_township_participants"]
        total = rng.randint(lo_total * s, hi_total * s) if exact else int(12100 * s * factor)
        total = min(max(total, sum(lows)), sum(highs))
        for i, participants in enumerate(spread_total(rng, lows, highs, total)):
            plan = rng.choice(COUNTY_DRILL_PLANS if i < n_county else TOWNSHIP_DRILL_PLANS)
            held = self._season_day(plan, year, end)
            if i < n_county:
                self._drill(
                    level="county",
                    held_on=held,
                    participants=participants,
                    plans=[plan],
                    organiser="嵩县应急管理局",
                    title=f"{year}年嵩县{self._plan_name(plan)}应急演练",
                )
            else:
                t = self.townships[i % len(self.townships)]
                self._drill(
                    level="township",
                    held_on=held,
                    participants=participants,
                    plans=[plan],
                    township=t["code"],
                    organiser=f"{t['name']}人民政府",
                    title=f"{year}年{t['name']}{self._plan_name(plan)}应急演练",
                )

    def _sector_drills(self, year: int, end: date, exact: bool, factor: float) -> None:
        """Enterprise (sector) drills: half-yearly sectors twice or more, the rest at least once."""
        rng, s = self.rng, self.scale
        n_sector = TARGETS["sector_drills"] * s if exact else int(522 * s * factor)
        owners = self._drill_owners(n_sector)
        total = TARGETS["sector_participants"] * s if exact else int(6967 * s * factor)
        counts = spread_total(rng, [4] * n_sector, [40] * n_sector, total)
        seen: dict[int, int] = {}
        for ent, participants in zip(owners, counts):
            k = seen[ent["id"]] = seen.get(ent["id"], 0) + 1
            half_start = date(year, 1, 1) if k % 2 else date(year, 7, 1)
            held = random_day(rng, half_start, min(half_start + timedelta(days=180), end))
            plans = ENTERPRISE_SECTORS[ent["sector"]][2]
            self._drill(
                level="enterprise",
                held_on=held,
                participants=participants,
                plans=plans[:1],
                township=ent["township_code"],
                enterprise=ent["id"],
                organiser=ent["name"],
                title=f"{year}年{ent['name']}·{self._plan_name(plans[0])}演练",
            )

    def _drill_owners(self, n_sector: int) -> list[dict]:
        """The enterprise of each of the year's `n_sector` drills: half-yearly sectors twice, a few
        enterprises (drawn at random) only once, so that they are overdue."""
        rng, ents = self.rng, self.batch.tables["enterprises"]
        owners = [e for e in ents for _ in range(2 if enums.ENTERPRISE_SECTORS[e["sector"]][1] else 1)]
        lapsed = set(e["id"] for e in rng.sample(ents, max(1, len(ents) // 15)))  # drill only once: overdue
        owners = [e for e in owners if e["id"] not in lapsed] + [e for e in ents if e["id"] in lapsed]
        return owners[:n_sector] + [
            rng.choice([e for e in ents if e["id"] not in lapsed]) for _ in range(max(0, n_sector - len(owners)))
        ]

    def _village_drills(self, year: int, end: date, exact: bool) -> None:
        """Village drills, counted separately from the report's two figures."""
        rng = self.rng
        share = 0.75 if exact else 0.5
        for v in rng.sample(self.villages, int(len(self.villages) * share)) * self.scale:
            plan = rng.choice(VILLAGE_DRILL_PLANS)
            self._drill(
                level="village",
                held_on=self._season_day(plan, year, end),
                participants=rng.randint(15, 80),
                plans=[plan],
                township=v["township_code"],
                village=v["code"],
                organiser=v["name"],  # the committee itself, e.g. 北店街社区居民委员会
                title=f"{year}年{village_short_name(v['name'])}{self._plan_name(plan)}演练",
            )

    def _season_day(self, plan: str, year: int, end: date) -> date:
        """Flood drills before June, forest-fire drills before October, the rest any time."""
        if plan == "ZR-01":
            day = random_day(self.rng, date(year, 3, 1), date(year, 5, 31))
        elif plan == "ZR-03":
            day = random_day(self.rng, date(year, 8, 1), date(year, 9, 30))
        else:
            day = random_day(self.rng, date(year, 1, 10), date(year, 12, 20))
        return min(day, end)

    def make_planned_drills(self) -> None:
        """Township drill plans: last year's annual plans (carried out, linked to their records, or
        cancelled with a reason), and plans around today: some done, some cancelled, some overdue,
        most upcoming."""
        self._last_year_plans(2025)
        rng = self.rng
        for _ in range(self.scale):
            for t in self.townships:
                for plan in rng.sample(TOWNSHIP_DRILL_PLANS, 3):
                    planned = random_day(rng, date(2026, 9, 1), date(2027, 6, 30))
                    status = "planned"
                    reason = None
                    if planned < date(2026, 10, 1) and rng.random() < 0.3:
                        status, reason = "cancelled", "因防汛应急响应推迟至下年度"
                    self.batch.add(
                        "planned_drills",
                        {
                            "id": self.next_id("planned_drills"),
                            "title": f"{t['name']}{self._plan_name(plan)}应急演练",
                            "level": "township",
                            "township_code": t["code"],
                            "village_code": None,
                            "enterprise_id": None,
                            "plan_code": plan,
                            "planned_on": planned,
                            "status": status,
                            "drill_id": None,
                            "cancel_reason": reason,
                            "is_demo": True,
                        },
                    )

    def _last_year_plans(self, year: int) -> None:
        # Its own random stream, so that everything generated after it stays as it was.
        rng = random.Random(f"{self.seed}:{self.scale}:plans{year}")
        done = [d for d in self.batch.tables["drills"] if d["level"] == "township" and d["held_on"].year == year]
        first_plan: dict[int, str] = {}
        for dp in self.batch.tables["drill_plans"]:
            first_plan.setdefault(dp["drill_id"], dp["plan_code"])
        for drill in done:
            plan = first_plan.get(drill["id"])
            self.batch.add(
                "planned_drills",
                {
                    "id": self.next_id("planned_drills"),
                    "title": drill["title"],
                    "level": "township",
                    "township_code": drill["township_code"],
                    "village_code": None,
                    "enterprise_id": None,
                    "plan_code": plan,
                    "planned_on": drill["held_on"] - timedelta(days=rng.randrange(0, 15)),
                    "status": "done",
                    "drill_id": drill["id"],
                    "cancel_reason": None,
                    "is_demo": True,
                },
            )
        for t in rng.sample(self.townships, 4):
            self.batch.add(
                "planned_drills",
                {
                    "id": self.next_id("planned_drills"),
                    "title": f"{year}年{t['name']}地震应急疏散演练",
                    "level": "township",
                    "township_code": t["code"],
                    "village_code": None,
                    "enterprise_id": None,
                    "plan_code": "ZR-04",
                    "planned_on": random_day(rng, date(year, 5, 1), date(year, 11, 30)),
                    "status": "cancelled",
                    "drill_id": None,
                    "cancel_reason": rng.choice(
                        ["与防汛应急响应冲突，并入下年度计划", "场地改造，改为桌面推演后另行安排"]
                    ),
                    "is_demo": True,
                },
            )

    def make_plan_history(self) -> None:
        """The plans' clocks (runs last, so every row generated before stays as it was):

        - county departmental drills (outside REPORT_YEAR, so the report's figures are untouched) of the
          plans the drills above never exercise, spread so that their statuses mix: a few long ago
          (overdue), a few at the end of 2023 (due within 90 days), most in 2025-2026 (on time), and
          NEVER_DRILLED plans not at all;
        - most plans evaluated (last_evaluated_on + a plan_revisions row), some long ago (overdue);
        - a plan whose drill found problems after its last revision and evaluation is flagged;
        - planned drills of September-October 2026 mostly carried out (a township drill linked to them).
        """
        self._departmental_drills()
        self.plan_updates = self._evaluations()
        self._carry_out_planned_drills()

    def _departmental_drills(self) -> None:
        rng = self.rng
        drilled = {row["plan_code"] for row in self.batch.tables.get("drill_plans", [])}
        leads = dict(self.db.query("SELECT code, lead_department FROM plans"))
        rest = sorted(c for c in self.plan_codes if c not in drilled and c not in NEVER_DRILLED)
        windows = [(date(2021, 3, 1), date(2022, 10, 31))] * 4 + [(date(2023, 11, 27), date(2023, 12, 28))] * 3
        for i, code in enumerate(rest):
            start, end = windows[i] if i < len(windows) else (date(2025, 1, 5), HISTORY_END)
            for k in range(1 if i < len(windows) else rng.choice((1, 1, 2))):
                held = random_day(rng, start, end) if k == 0 else random_day(rng, date(2021, 3, 1), date(2023, 6, 30))
                self._drill(
                    level="county",
                    held_on=held,
                    participants=rng.randint(30, 160),
                    plans=[code],
                    organiser=leads.get(code, "嵩县应急管理局"),
                    title=f"{held.year}年嵩县{self._plan_name(code)}应急演练（部门）",
                )

    def _evaluations(self) -> list[tuple[str, date | None, bool]]:
        """(plan code, last evaluated on, needs revision) of every plan; an evaluation's plan_revisions row."""
        rng = self.rng
        revised = dict(self.db.query("SELECT code, revised_on FROM plans"))
        versions = dict(self.db.query("SELECT code, version FROM plans"))
        problems = self._last_plan_problems()
        updates = []
        for code in sorted(self.plan_codes):
            evaluated = None
            roll = rng.random()
            if roll < 0.8 and revised.get(code):
                earliest = add_months_(revised[code], 10)
                if earliest < HISTORY_END:
                    evaluated = random_day(rng, earliest, HISTORY_END)
            clock = max(d for d in (evaluated, revised.get(code)) if d) if (evaluated or revised.get(code)) else None
            flag = code in problems and (clock is None or problems[code] > clock)
            updates.append((code, evaluated, flag))
            if evaluated:
                self.batch.add(
                    "plan_revisions",
                    {
                        "id": self.next_id("plan_revisions"),
                        "plan_code": code,
                        "version": versions.get(code) or "",
                        "revised_on": evaluated,
                        "kind": "evaluation",
                        "note": "预案评估（演示）",
                        "recorded_by": "demo",
                    },
                )
        return updates

    def _last_plan_problems(self) -> dict[str, date]:
        """plan code -> the last day a drill of it found problems with the plan."""
        problems: dict[str, date] = {}
        drills = {d["id"]: d for d in self.batch.tables["drills"]}
        for row in self.batch.tables["drill_plans"]:
            drill = drills[row["drill_id"]]
            if drill["plan_problems_found"]:
                problems[row["plan_code"]] = max(problems.get(row["plan_code"], drill["held_on"]), drill["held_on"])
        return problems

    def _carry_out_planned_drills(self) -> None:
        """Planned drills due by HISTORY_END: about 65 % carried out, each with its township drill."""
        rng = self.rng
        for planned in self.batch.tables.get("planned_drills", []):
            if planned["status"] != "planned" or planned["planned_on"] > HISTORY_END or rng.random() < 0.35:
                continue
            t = next(t for t in self.townships if t["code"] == planned["township_code"])
            drill = self._drill(
                level="township",
                held_on=planned["planned_on"],
                participants=rng.randint(60, 180),
                plans=[planned["plan_code"]],
                township=t["code"],
                organiser=f"{t['name']}人民政府",
                title=planned["title"],
            )
            planned["status"], planned["drill_id"] = "done", drill["id"]

    # Orchestration -------------------------------------------------------------------------
    def make_users(self) -> int:
        """Demo accounts (passwords in the README, demo only): one per role, one operator per township."""
        from .. import auth

        if self.db.scalar("SELECT count(*) FROM users"):
            return 0
        accounts = [("admin", "县应急管理局（演示）", "admin", None), ("leader", "县领导（演示）", "viewer", None)]
        accounts += [
            (demo_username(t["code"]), f"{t['name']}填报员（演示）", "township", t["code"]) for t in self.townships
        ]
        hashes = DEMO_PASSWORD_HASHES
        for username, name, role, township in accounts:
            auth.create_user(
                self.db, auth.SYSTEM, username, name, role, "", township, is_demo=True, password_hash=hashes[role]
            )
        return len(accounts)

    def generate(self) -> dict[str, int]:
        self.plan_names = dict(self.db.query("SELECT code, name FROM plans"))
        self.make_enterprises()
        active = self.make_teams()
        self.make_members(active)
        for year in (2021, 2022, 2023, 2024, 2025, 2026):
            self.make_drills_for_year(year, exact=(year == REPORT_YEAR))
        self.make_planned_drills()
        self.make_plan_history()
        written = self.write()
        written["users"] = self.make_users()
        import importlib

        for name, stream in DEMO_EXTENSIONS.items():
            extension = importlib.import_module(name)
            written.update(extension.extend(self.db, self.scale, random.Random(f"{self.seed}:{self.scale}:{stream}")))
        return written

    def write(self) -> dict[str, int]:
        """Every table of the batch in one transaction, its ids shifted past the rows already there."""
        offsets = {t: self.db.scalar(f"SELECT coalesce(max(id), 0) FROM {t}") for t in ID_TABLES}

        def work(cur: Cursor):
            for table in WRITE_ORDER:
                rows = self.batch.tables.get(table, [])
                if rows:
                    insert_frame(cur, table, _shifted(rows, table, offsets))
            # Keep the sequences ahead of the explicit ids written above.
            for table in offsets:
                advance_sequence(cur, table)
            for code, evaluated, flag in self.plan_updates:
                cur.execute(
                    "UPDATE plans SET last_evaluated_on = ?, needs_revision = ? WHERE code = ?", [evaluated, flag, code]
                )
            cur.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('demo', ?)",
                [f'{{"seed": {SEED}, "scale": {self.scale}}}'],
            )

        self.db.write(work)
        return {t: len(rows) for t, rows in self.batch.tables.items()}


# The batch's tables in the order they are written (parents first), those whose ids the generator
# assigns, and the columns that refer to them.
WRITE_ORDER = [
    "enterprises",
    "teams",
    "team_domains",
    "members",
    "certificates",
    "drills",
    "drill_plans",
    "corrective_actions",
    "planned_drills",
    "plan_revisions",
]
ID_TABLES = [
    "enterprises",
    "teams",
    "members",
    "certificates",
    "drills",
    "corrective_actions",
    "planned_drills",
    "plan_revisions",
]
REFERENCES = {"team_id": "teams", "member_id": "members", "drill_id": "drills", "enterprise_id": "enterprises"}


def _shifted(rows: list[dict], table: str, offsets: dict[str, int]) -> pd.DataFrame:
    """The rows as a frame, their ids and references moved past the ids already in the database."""
    frame = pd.DataFrame(rows)
    if "id" in frame:
        frame["id"] += offsets[table]
    for col, parent in REFERENCES.items():
        if col in frame and parent in offsets:
            frame[col] = frame[col].map(lambda x, o=offsets[parent]: None if pd.isna(x) else int(x) + o)
    return frame


def has_data(db: Database) -> bool:
    return bool(db.scalar("SELECT count(*) FROM teams") or db.scalar("SELECT count(*) FROM drills"))


def generate(db: Database, scale: int = 1, seed: int = SEED) -> dict[str, int]:
    """Fill an initialised, empty database with the demo; returns rows written per table."""
    if has_data(db):
        raise RuntimeError("数据库中已有队伍或演练数据，演示数据只能写入空数据库（请用新的 --db 文件）。")
    return DemoGenerator(db, scale, seed).generate()
