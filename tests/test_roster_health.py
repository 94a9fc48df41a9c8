"""队伍健康检查's counted path (issue 19): health_summary counts every check in SQL and health_page
fetches one page of one check; both must give exactly what the whole lists give (roster_health /
check_findings, each check's one SQL list), on the demo and on crafted edge rows (empty and blank
values, full-width digits, expired certificates, every boundary of the day, the window and the ages)."""

from datetime import date, timedelta

import pandas as pd
import pytest

from emergency import auth, paging, roster
from emergency.db import local_today

TODAY = date(2025, 2, 28)
A, B = "410325100", "410325101"  # 城关镇, a second township
VIEWERS = [
    auth.User(None, "admin", "管理员", "admin"),
    auth.User(None, "leader", "领导", "viewer"),
    auth.User(None, "town", "城关镇", "township", A),
]


def plain(frame: pd.DataFrame) -> list[dict]:
    """The rows as comparable records: NaN, NaT and None alike."""
    return [
        {k: (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def all_pages(db, viewer, today, key, township, settings, summary, size) -> list[pd.DataFrame]:
    pages, number = [], 1
    while True:
        found = roster.health_page(
            db, viewer, today, key, township, settings, page=number, summary=summary, page_size=size
        )
        assert found.total == summary.rows[key] and len(found.rows) <= size
        pages.append(found.rows)
        if number >= found.pages:
            return pages
        number += 1


def assert_counted_path_matches_the_lists(db, today, township, settings, size, viewers=VIEWERS) -> dict:
    """For each viewer: the summary's counts and rows, and the pages laid end to end (of `size` rows,
    or size[key]), equal the lists."""
    summary = roster.health_summary(db, today, township, settings)
    for viewer in viewers:
        lists = roster.roster_health(db, viewer, today, township, settings)
        assert summary.counts == roster.health_counts(lists)
        assert summary.rows == {key: len(frame) for key, frame in lists.items()}
        for key, whole in lists.items():
            rows = size if isinstance(size, int) else size.get(key, paging.MAX_PAGE_SIZE)
            pages = all_pages(db, viewer, today, key, township, settings, summary, rows)
            shown = pd.concat(pages, ignore_index=True)
            assert plain(shown) == plain(whole), (viewer.role, township, key)
            assert plain(roster.check_findings(db, viewer, today, key, township, settings)) == plain(whole)
    return {key: frame for key, frame in roster.roster_health(db, VIEWERS[0], today, township, settings).items()}


@pytest.mark.parametrize("township", [None, A])
def test_counts_and_pages_equal_the_lists_on_the_demo(demo_db, township):
    """The duplicates in pages of 7 rows (their persons' memberships fall across pages), the others in
    pages of 200 (certificates of 3, the ties of a day across pages); the admin and a township's
    operator (masked phones)."""
    settings = roster.health_settings(demo_db)
    sizes = {"duplicates": 7, "certificates": 3 if township else 200}
    lists = assert_counted_path_matches_the_lists(demo_db, local_today(), township, settings, sizes, VIEWERS[::2])
    assert len(lists["duplicates"]) > 7 and len(lists["certificates"]) > paging.MAX_PAGE_SIZE * (township is None)


# Crafted rows --------------------------------------------------------------------------------------------
def insert(cur, table: str, **values) -> int:
    names = ", ".join(values)
    return cur.execute(
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))}) RETURNING id", list(values.values())
    ).fetchone()[0]


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


@pytest.fixture
def crafted(fresh_db):
    """Teams and members at every edge the checks have; returns {name: id}."""
    ids: dict[str, int] = {}
    day = TODAY

    def work(cur):
        def team(name, township, established=date(2020, 1, 1), disbanded=None):
            ids[name] = insert(
                cur,
                "teams",
                name=name,
                kind="grassroots",
                level="township" if township else "county",
                township_code=township,
                established_on=established,
                disbanded_on=disbanded,
            )

        team("城关甲队", A)
        team("城关乙队", A)
        team("二号乡队", B)
        team("县级队", None)
        team("空队", B)  # no member: a small team
        team("已撤销队", A, disbanded=day)  # disbanded today: inactive today
        team("未成立队", A, established=day + timedelta(days=1))
        team("作废队", B)

        def member(name, team_name, **values):
            base = {
                "phone": "13812345678",
                "birth_date": date(1990, 5, 5),
                "training_passed": True,
                "insurance_until": day + timedelta(days=365),
                "joined_on": date(2021, 1, 1),
            }
            ids[name] = insert(cur, "members", team_id=ids[team_name], name=name, **{**base, **values})

        # phones: empty, blank, full-width digits, spaces, a country code, a wrong second digit, too short / long
        member("无手机", "城关甲队", phone=None)
        member("空手机", "城关甲队", phone="")
        member("空格手机", "城关甲队", phone="   ")
        member("全角手机", "城关甲队", phone="１３８１２３４５６７８")
        member("带空格手机", "城关甲队", phone="138 1234 5678")
        member("国际区号", "城关乙队", phone="+8613812345678")
        member("第二位错", "城关乙队", phone="12812345678")
        member("十位", "城关乙队", phone="1381234567")
        member("十二位", "二号乡队", phone="138123456789")
        member("前导空格", "二号乡队", phone=" 13812345678")
        # ages (18 to 60): 18 today, 18 tomorrow, 60 today, 61 today, born on 29 February, unknown
        member("今天满18", "城关甲队", birth_date=years_before(day, 18))
        member("明天满18", "城关甲队", birth_date=years_before(day, 18) + timedelta(days=1))
        member("今天满60", "二号乡队", birth_date=years_before(day, 60))
        member("今天满61", "二号乡队", birth_date=years_before(day, 61))
        member("闰日出生", "县级队", birth_date=date(2004, 2, 29))
        member("无生日", "县级队", birth_date=None)
        # insurance (30 days): none, expired yesterday, ends today, in 30 days, in 31 days
        member("无保险", "城关甲队", insurance_until=None)
        member("保险昨天到期", "城关乙队", insurance_until=day - timedelta(days=1))
        member("保险今天到期", "二号乡队", insurance_until=day)
        member("保险30天", "县级队", insurance_until=day + timedelta(days=30))
        member("保险31天", "县级队", insurance_until=day + timedelta(days=31))
        member("未培训", "二号乡队", training_passed=False)
        # who is on the roster today
        member("今天离队", "城关甲队", left_on=day, training_passed=False)
        member("今天入队", "城关甲队", joined_on=day, training_passed=False)
        member("明天入队", "城关甲队", joined_on=day + timedelta(days=1), training_passed=False)
        member("撤销队队员", "已撤销队", training_passed=False)
        member("未成立队队员", "未成立队", training_passed=False)
        member("作废队员", "城关甲队", training_passed=False)
        member("作废队的队员", "作废队", training_passed=False)
        # duplicates: one person in two townships (and in a disbanded team), one twice in one township,
        # one whose second membership ended today (no longer a duplicate), members without an ID number
        for name, team_name, hmac, left in [
            ("甲某-城关", "城关甲队", "h-jia", None),
            ("甲某-二号", "二号乡队", "h-jia", None),
            ("甲某-撤销", "已撤销队", "h-jia", None),
            ("乙某-1", "城关甲队", "h-yi", None),
            ("乙某-2", "城关乙队", "h-yi", None),
            ("丙某-在", "二号乡队", "h-bing", None),
            ("丙某-离", "城关甲队", "h-bing", day),
            ("丁某-县", "县级队", "h-ding", None),
            ("丁某-二号", "二号乡队", "h-ding", None),
        ]:
            member(name, team_name, id_hmac=hmac, left_on=left)
        cur.execute(
            "INSERT INTO voided_records (table_name, record_id, reason, voided_by) VALUES"
            " ('members', ?, '测试', 'admin'), ('teams', ?, '测试', 'admin')",
            [ids["作废队员"], ids["作废队"]],
        )

        def certificate(member_name, name, expires):
            ids[f"{member_name}:{name}"] = insert(
                cur, "certificates", member_id=ids[member_name], name=name, expires_on=expires
            )

        certificate("今天满18", "无期限证", None)
        certificate("今天满18", "昨天过期证", day - timedelta(days=1))
        certificate("今天满18", "今天到期证", day)
        certificate("今天满60", "30天证", day + timedelta(days=30))
        certificate("今天满60", "31天证", day + timedelta(days=31))
        certificate("保险30天", "同日甲证", day + timedelta(days=3))  # two of one member expiring the same day
        certificate("保险30天", "同日乙证", day + timedelta(days=3))
        certificate("今天离队", "离队者证", day - timedelta(days=5))

    fresh_db.write(work)
    return ids


@pytest.mark.parametrize("township", [None, A, B])
def test_counts_and_pages_equal_the_lists_on_crafted_rows(fresh_db, crafted, township):
    for size in (1, 2, 3, 100):
        assert_counted_path_matches_the_lists(fresh_db, TODAY, township, roster.DEFAULTS, size)
    narrow = {"expiry_window_days": 0, "min_age": 18, "max_age": 60, "min_team_size": 1}
    assert_counted_path_matches_the_lists(fresh_db, TODAY, township, narrow, 2)


def test_crafted_rows_are_found_as_the_rules_say(fresh_db, crafted):
    """What each check finds at the edges (the county's whole lists, 30 days, 18 to 60 years, 5 members)."""
    lists = roster.roster_health(fresh_db, VIEWERS[0], TODAY, None, roster.DEFAULTS)
    summary = roster.health_summary(fresh_db, TODAY, None, roster.DEFAULTS)
    ids = crafted

    def found(key, column):
        return dict(zip(lists[key]["name"], lists[key][column]))

    assert found("phones", "problem") == {
        "无手机": "未填写",
        "空手机": "未填写",
        "空格手机": "未填写",
        "全角手机": "格式错误",
        "带空格手机": "格式错误",
        "国际区号": "格式错误",
        "第二位错": "格式错误",
        "十位": "格式错误",
        "十二位": "格式错误",
        "前导空格": "格式错误",
    }
    assert set(lists["ages"]["name"]) == {"明天满18", "今天满61"}
    assert dict(zip(lists["ages"]["name"], lists["ages"]["age"])) == {"明天满18": 17, "今天满61": 61}
    assert found("insurance", "status") == {
        "无保险": "未登记保险",
        "保险昨天到期": "已过期",
        "保险今天到期": "即将到期",
        "保险30天": "即将到期",
    }
    assert dict(zip(lists["certificates"]["certificate"], lists["certificates"]["status"])) == {
        "昨天过期证": "已过期",
        "今天到期证": "即将到期",
        "30天证": "即将到期",
        "同日甲证": "即将到期",
        "同日乙证": "即将到期",
    }
    assert list(lists["certificates"]["certificate_id"])[-3:-1] == sorted(
        [ids["保险30天:同日甲证"], ids["保险30天:同日乙证"]]
    )  # a tie on the day is ordered by member, then certificate
    assert set(lists["untrained"]["name"]) == {
        "未培训",
        "今天入队",
    }  # not who left, joined later, or whose team is gone
    on_roster = set(lists["untrained"]["id"]) | set(lists["phones"]["id"]) | set(lists["insurance"]["id"])
    gone = {"今天离队", "明天入队", "撤销队队员", "未成立队队员", "作废队员", "作废队的队员"}
    assert not on_roster & {ids[name] for name in gone}
    dup = lists["duplicates"]
    assert set(dup["name"]) == {"甲某-城关", "甲某-二号", "乙某-1", "乙某-2", "丁某-县", "丁某-二号"}
    assert summary.counts["duplicates"] == 3 and summary.rows["duplicates"] == 6
    assert set(dup.groupby("person")["memberships"].first()) == {2}
    # scoped to 城关镇: a person with a membership there, with their memberships elsewhere too
    town = roster.roster_health(fresh_db, VIEWERS[0], TODAY, A, roster.DEFAULTS)["duplicates"]
    assert set(town["name"]) == {"甲某-城关", "甲某-二号", "乙某-1", "乙某-2"}
    sizes = dict(zip(lists["small_teams"]["name"], lists["small_teams"]["member_count"]))
    assert sizes["空队"] == 0 and "已撤销队" not in sizes and "未成立队" not in sizes and "作废队" not in sizes
    assert summary.counts == roster.health_counts(lists)


def test_a_page_past_the_end_is_the_last_page(fresh_db, crafted):
    summary = roster.health_summary(fresh_db, TODAY, None, roster.DEFAULTS)
    last = roster.health_page(
        fresh_db, VIEWERS[0], TODAY, "duplicates", None, roster.DEFAULTS, page=99, summary=summary, page_size=4
    )
    assert last.page == 2 and list(last.rows["name"]) == ["乙某-1", "乙某-2"]  # persons in ID-hash order
    assert list(last.rows["person"]) == [3, 3]
    empty = roster.health_page(fresh_db, VIEWERS[0], TODAY, "ages", B, {**roster.DEFAULTS, "max_age": 70}, page=1)
    assert empty.total == 0 and empty.rows.empty and paging.page_count(empty.total, empty.page_size) == 1
