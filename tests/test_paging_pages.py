"""Bounded pages as drawn (AppTest): 共 N 条 with the whole filtered total, at most a page of rows,
下一页 moving on, and a list far larger than a page (rows inserted directly) still drawn one page at a time;
the searchable pickers offer at most paging.PICK_LIMIT choices."""

from __future__ import annotations

import re

from emergency import drills, paging, teams
from emergency.db import local_today
from tests.helpers import open_expander, open_tab

TOWN = "410325100"  # 城关镇


def pager_line(at, key: str) -> tuple[int, int, int]:
    """(total, page, pages) from the pager's caption "共 N …，第 k / m 页"."""
    for caption in at.caption:
        found = re.search(r"共 (\d+) \S+，第 (\d+) / (\d+) 页", caption.value)
        if found:
            return int(found[1]), int(found[2]), int(found[3])
    raise AssertionError(f"no pager line for {key}: {[c.value for c in at.caption]}")


def test_drills_page_shows_the_total_a_bounded_page_and_moves_on(app, demo_db):
    at = app("emergency/ui/drills_page.py", as_user="admin", year="2024")
    whole = drills.drill_list(demo_db, year=2024)
    total, page, pages = pager_line(at, "drills")
    assert (total, page, pages) == (len(whole), 1, paging.page_count(len(whole), paging.PAGE_SIZE))
    assert pages > 1
    participants = int(whole["participants"].sum())
    assert any(f"参演 {participants} 人次" in c.value for c in at.caption)
    shown = at.dataframe[0].value
    assert len(shown) == paging.PAGE_SIZE <= paging.MAX_PAGE_SIZE
    assert shown["编号"].tolist() == whole["id"].head(paging.PAGE_SIZE).tolist()
    assert at.button(key="drills_previous").disabled
    at.button(key="drills_next").click().run()
    assert not at.exception
    assert pager_line(at, "drills") == (len(whole), 2, pages)
    second = at.dataframe[0].value["编号"].tolist()
    assert second == whole["id"].iloc[paging.PAGE_SIZE : 2 * paging.PAGE_SIZE].tolist()
    at.number_input(key="drills_page").set_value(pages).run()  # the page number: straight to the last
    assert pager_line(at, "drills") == (len(whole), pages, pages)
    assert at.dataframe[0].value["编号"].tolist() == whole["id"].iloc[(pages - 1) * paging.PAGE_SIZE :].tolist()
    assert at.button(key="drills_next").disabled
    next(s for s in at.selectbox if s.label == "乡镇").set_value(
        "城关镇"
    ).run()  # a filter changed: back to page 1 of the narrower list
    total, page, _ = pager_line(at, "drills")
    assert page == 1 and total == len(drills.drill_list(demo_db, year=2024, township_code=TOWN)) < len(whole)


def test_teams_page_over_a_county_larger_than_a_page(app, scratch_db):
    """3,000 more teams than the demo, inserted directly: the page draws one page of them and counts all."""
    db = scratch_db
    db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on)"
        " SELECT '压力测试队' || i, 'civil', 'civil', ?, DATE '2020-01-01' FROM range(3000) t(i)",
        [TOWN],
    )
    total = teams.team_summary(db)["teams"]
    at = app("emergency/ui/teams_page.py", as_user="admin", db=db)
    assert pager_line(at, "teams") == (total, 1, paging.page_count(total, paging.PAGE_SIZE))
    assert total > 3000 and len(at.dataframe[0].value) == paging.PAGE_SIZE
    at.button(key="teams_next").click().run()
    assert pager_line(at, "teams")[1] == 2 and len(at.dataframe[0].value) == paging.PAGE_SIZE
    detail = at.selectbox(key="team_detail")
    assert len(detail.options) == paging.PAGE_SIZE  # the detail choice is the page's teams, not the county's


def test_members_page_pickers_offer_a_bounded_search(app, scratch_db):
    db = scratch_db
    db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on)"
        " SELECT '压力测试队' || i, 'civil', 'civil', ?, DATE '2020-01-01' FROM range(500) t(i)",
        [TOWN],
    )
    at = app("emergency/ui/members_page.py", as_user="town100", db=db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    total, _, pages = pager_line(at, "members")
    assert total == teams.member_count(db, township_code=TOWN)
    assert len(at.dataframe[0].value) == min(total, 200) and (pages == 1 or len(at.dataframe[0].value) == 200)
    open_tab(at, "member_tab", "调队")
    target = at.selectbox(key="move_target")
    assert len(target.options) == paging.PICK_LIMIT  # 500 + own teams: the first 50 only
    assert any("只列出前 50 个" in c.value for c in at.caption)
    at.text_input(key="move_target_find").input("压力测试队42").run()
    assert not at.exception
    options = at.selectbox(key="move_target").options
    assert options and all("压力测试队42" in o for o in options) and len(options) == 11  # 42, 420..429
    new_team = at.selectbox(key="new_member_team")
    assert len(new_team.options) == paging.PICK_LIMIT
    at.text_input(key="new_member_team_find").input("没有这支队伍").run()
    assert "new_member_team" not in [s.key for s in at.selectbox]
    assert any("没有匹配的队伍" in c.value for c in at.caption)


def test_a_member_is_moved_to_a_team_found_by_the_picker(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/members_page.py", as_user="town100", db=db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    member = int(at.selectbox(key="manage_member").value)
    own = teams.team_choices(db, "", township_code=TOWN, limit=10_000)
    current = db.scalar("SELECT team_id FROM members WHERE id = ?", [member])
    target_id, label = next((i, n) for i, n in own.items() if i != current)
    open_tab(at, "member_tab", "调队")
    at.text_input(key="move_target_find").input(label.rsplit("（", 1)[0]).run()
    at.selectbox(key="move_target").set_value(target_id).run()
    next(b for b in at.button if b.label == "调队").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT team_id FROM members WHERE id = ?", [member]) == target_id


def test_actions_page_counts_the_whole_list_and_pages_it(app, scratch_db):
    db = scratch_db
    from datetime import timedelta

    from tests.helpers import add_corrective_action

    for n in range(2 * paging.PAGE_SIZE):
        add_corrective_action(db, TOWN, local_today() - timedelta(days=n + 1), f"批量整改 {n}")
    at = app("emergency/ui/actions_page.py", as_user="admin", db=db)
    whole = drills.action_list(db, local_today())
    assert pager_line(at, "actions") == (len(whole), 1, paging.page_count(len(whole), paging.PAGE_SIZE))
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics["逾期未整改"] == sum(1 for r in whole if r["status"] == "overdue") >= 2 * paging.PAGE_SIZE
    assert len(at.dataframe[0].value) == paging.PAGE_SIZE
    at.button(key="actions_next").click().run()
    assert at.dataframe[0].value["编号"].tolist() == [r["id"] for r in whole[paging.PAGE_SIZE : 2 * paging.PAGE_SIZE]]
