"""AppTest: a township operator corrects a drill in full and the statistics follow; a voided drill
leaves the year's count and an admin restores it; a second click on 保存 creates no second drill."""

from datetime import date

from emergency import stats
from emergency.db import local_today
from tests.helpers import open_expander, open_tab, user_row

CHENGGUAN = "410325100"


def by_key(items, key):
    return next(w for w in items if w.key == key)


def by_label(items, label):
    return [w for w in items if w.label == label]


def _drill(db, year=2024):
    return db.query_dicts(
        "SELECT id, participants FROM drills WHERE township_code = ? AND level = 'township' AND year(held_on) = ?"
        " ORDER BY id LIMIT 1",
        [CHENGGUAN, year],
    )[0]


def _edit_key(at, drill_id, field):
    prefix = f"edit_drill_{drill_id}_"
    keys = [w.key for w in at.main if getattr(w, "key", None) and w.key.startswith(prefix) and w.key.endswith(field)]
    assert len(keys) == 1, keys
    return keys[0]


def _widget(at, key):
    return next(
        w for kind in (at.text_input, at.date_input, at.number_input, at.multiselect) for w in kind if w.key == key
    )


def test_township_corrects_title_date_participants_and_plans_and_the_statistics_follow(app, scratch_db):
    db = scratch_db
    drill = _drill(db)
    before_2024, before_2025 = stats.year_stats(db, 2024), stats.year_stats(db, 2025)
    at = app("emergency/ui/drills_page.py", as_user="town100", db=db, drill=str(drill["id"]))
    new_day = date(2025, 3, 18)
    _widget(at, _edit_key(at, drill["id"], "_title")).input("城关镇防汛抢险应急演练（更正）")
    _widget(at, _edit_key(at, drill["id"], "_held")).set_value(new_day)
    _widget(at, _edit_key(at, drill["id"], "_participants")).set_value(drill["participants"] + 40)
    _widget(at, _edit_key(at, drill["id"], "_plans")).set_value(["ZR-01", "ZR-08"])
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("已保存第" in s.value for s in at.success)
    row = db.query_dicts("SELECT title, held_on, participants FROM drills WHERE id = ?", [drill["id"]])[0]
    assert row == {
        "title": "城关镇防汛抢险应急演练（更正）",
        "held_on": new_day,
        "participants": drill["participants"] + 40,
    }
    plans = [c for (c,) in db.query("SELECT plan_code FROM drill_plans WHERE drill_id = ? ORDER BY 1", [drill["id"]])]
    assert plans == ["ZR-01", "ZR-08"]
    after_2024, after_2025 = stats.year_stats(db, 2024), stats.year_stats(db, 2025)
    assert after_2024["county_township_drills"] == before_2024["county_township_drills"] - 1
    assert after_2025["county_township_drills"] == before_2025["county_township_drills"] + 1
    assert (
        after_2025["county_township_participants"]
        == before_2025["county_township_participants"] + drill["participants"] + 40
    )
    audit = db.query_dicts(
        "SELECT username, CAST(after AS VARCHAR) AS after FROM audit_log WHERE action = 'update'"
        " AND table_name = 'drills' AND record_id = ?",
        [str(drill["id"])],
    )
    assert audit[-1]["username"] == "town100" and "更正" in audit[-1]["after"] and "ZR-08" in audit[-1]["after"]
    # the overview of 2025 shows the corrected figure
    at = app("emergency/ui/overview.py", as_user="town100", db=db, year="2025")
    shown = {m.label: m.value for m in at.metric}["县乡两级演练（场次）"]
    assert int(shown.replace(",", "")) == after_2025["county_township_drills"]


def test_another_township_gets_no_edit_form(app, demo_db):
    drill = _drill(demo_db)
    at = app("emergency/ui/drills_page.py", as_user="town101", drill=str(drill["id"]))
    assert any(m.value.startswith("####") for m in at.markdown)  # the record is shown
    assert not any(b.label in ("保存修改", "作废") for b in at.button)
    at = app("emergency/ui/drills_page.py", as_user="leader", drill=str(drill["id"]))
    assert not any(b.label in ("保存修改", "作废") for b in at.button)


def test_a_voided_drill_leaves_the_years_count_and_an_admin_restores_it(app, scratch_db):
    db = scratch_db
    drill = _drill(db)
    before = stats.year_stats(db, 2024)
    at = app("emergency/ui/drills_page.py", as_user="town100", db=db, drill=str(drill["id"]))
    by_key(at.text_input, f"void_reason_drills_{drill['id']}").input("与第二场重复录入")
    next(b for b in at.button if b.label == "作废").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("已作废第" in s.value for s in at.success)
    assert stats.year_stats(db, 2024)["county_township_drills"] == before["county_township_drills"] - 1
    at = app("emergency/ui/overview.py", as_user="town100", db=db, year="2024")
    shown = {m.label: m.value for m in at.metric}["县乡两级演练（场次）"]
    assert int(shown.replace(",", "")) == before["county_township_drills"] - 1
    # opened by its link it says it is voided, and offers no edit
    at = app("emergency/ui/drills_page.py", as_user="town100", db=db, drill=str(drill["id"]))
    assert any("已作废" in w.value and "与第二场重复录入" in w.value for w in at.warning)
    assert not any(b.label in ("保存修改", "作废") for b in at.button)
    # in the 已作废 list, and no 恢复 for the township
    at = app("emergency/ui/drills_page.py", as_user="town100", db=db)
    assert any("已作废的演练记录（1）" in e.label for e in at.expander)
    assert not any("作废原因" in d.value.columns for d in at.dataframe)  # a lazy expander: nothing sent yet
    open_expander(at, "voided_drills_open")  # the list is drawn only while open
    assert not any(b.label == "恢复" for b in at.button)
    voided = next(d.value for d in at.dataframe if "作废原因" in d.value.columns)
    assert voided["作废原因"].tolist() == ["与第二场重复录入"]
    # the admin restores it
    at = app("emergency/ui/drills_page.py", as_user="admin", db=db)
    open_expander(at, "voided_drills_open")
    by_key(at.selectbox, "restore_pick_drills").set_value(drill["id"])
    by_key(at.button, f"restore_drills_{drill['id']}").click().run()
    assert not at.exception and any("已恢复第" in s.value for s in at.success)
    assert stats.year_stats(db, 2024) == before


def _fill_log_form(at, title):
    by_label(at.text_input, "演练名称 *")[0].input(title)
    by_label(at.number_input, "参演人次 *")[0].set_value(55)
    by_label(at.multiselect, "演练预案 *")[0].set_value(["ZR-08"])


def test_a_second_click_on_save_creates_no_second_drill(app, scratch_db):
    db = scratch_db
    title = "城关镇地震应急疏散演练"
    count = lambda: db.scalar("SELECT count(*) FROM drills WHERE title = ?", [title])  # noqa: E731
    at = app("emergency/ui/drills_page.py", as_user="town100", db=db)
    _fill_log_form(at, title)
    save = lambda: next(b for b in at.button if b.label == "保存")  # noqa: E731
    save().click().run()
    assert not at.exception and count() == 1
    new_id = db.scalar("SELECT id FROM drills WHERE title = ?", [title])
    assert any(f"已登记演练（第 {new_id} 号）" in s.value for s in at.success)
    assert any(b.label == f"查看第 {new_id} 号演练" for b in at.button)
    assert by_label(at.text_input, "演练名称 *")[0].value == ""  # the form is drawn afresh, empty
    save().click().run()  # the second click
    assert count() == 1
    # the same drill typed again: asked first, saved only when confirmed
    _fill_log_form(at, title)
    save().click().run()
    assert not at.exception and count() == 1
    assert any("可能重复，仍要保存？" in w.value and str(new_id) in w.value for w in at.warning)
    next(b for b in at.button if b.label == "取消").click().run()
    assert count() == 1 and not any("可能重复" in w.value for w in at.warning)
    _fill_log_form(at, title)
    save().click().run()
    next(b for b in at.button if b.label == "仍要保存").click().run()
    assert not at.exception and count() == 2
    # the link opens the new record
    at.button(key=f"_open_log_drill_{new_id + 1}").click().run()
    assert any(title in m.value for m in at.markdown if m.value.startswith("####"))


def _township_drill_today(title: str) -> dict:
    """A township drill of 城关镇 held today: what the near-duplicate tests save."""
    return {
        "title": title,
        "level": "township",
        "organiser": "城关镇人民政府",
        "township_code": CHENGGUAN,
        "held_on": local_today(),
        "form": "live",
        "participants": 10,
    }


def test_same_plans_same_day_is_a_possible_duplicate(scratch_db):
    from emergency import drills

    db = scratch_db
    town = user_row(db, "town100")
    data = _township_drill_today("甲")
    first = drills.create_drill(db, town, data, ["ZR-08"], duplicate_ok=False)
    import pytest

    with pytest.raises(drills.PossibleDuplicate) as caught:
        drills.create_drill(db, town, {**data, "title": "乙"}, ["ZR-08"], duplicate_ok=False)
    assert [d["id"] for d in caught.value.drills] == [first]
    other = drills.create_drill(db, town, {**data, "title": "乙"}, ["ZR-01"], duplicate_ok=False)  # new title and plans
    assert other != first


def test_the_same_drill_saved_twice_at_the_same_moment_is_saved_once(scratch_db, monkeypatch):
    """Two saves of one drill at once (two tabs, or two runs of one session): both would check for a
    near-duplicate before either committed, and DuckDB lets both insert. The check and the insert
    run one save at a time: the second sees the first."""
    import contextlib
    import threading

    import pytest

    from emergency import drills

    db = scratch_db
    town = user_row(db, "town100")
    data = _township_drill_today("同时保存的演练")
    real, both_checked = drills._duplicates, threading.Barrier(2, timeout=2)

    def check_then_wait(*args, **kwargs):
        found = real(*args, **kwargs)
        # without the lock both saves pass here before either inserts; with it the other save
        # waits for this one (the barrier breaks after its timeout)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()
        return found

    monkeypatch.setattr(drills, "_duplicates", check_then_wait)
    outcomes: list = []

    def save() -> None:
        try:
            outcomes.append(drills.create_drill(db, town, data, ["ZR-08"], duplicate_ok=False))
        except drills.PossibleDuplicate as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert db.scalar("SELECT count(*) FROM drills WHERE title = '同时保存的演练'") == 1
    assert sorted(type(o).__name__ for o in outcomes) == ["PossibleDuplicate", "int"]
    with pytest.raises(drills.PossibleDuplicate):
        drills.create_drill(db, town, data, ["ZR-08"], duplicate_ok=False)


# The other pages' sections ---------------------------------------------------------------------------
def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _in_form(items, form_prefix):
    return [w for w in items if w.form_id.startswith(form_prefix)]


def test_a_township_voids_a_team_on_the_teams_page_and_its_members_go_along(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/teams_page.py", as_user="town100", db=db)
    open_expander(at, "team_domains_open", "team_edit_open", "new_team_open")  # their forms run only while open
    team_id = at.selectbox(key="team_detail").value
    members = db.scalar("SELECT count(*) FROM members WHERE team_id = ?", [team_id])  # left ones too
    assert members > 0
    at.text_input(key=f"void_reason_teams_{team_id}").input("重复建队")
    _button(at, "作废").click().run()
    assert not at.exception and any("已作废第" in s.value for s in at.success)
    assert not any(f"编号 {team_id}）" in o for o in at.selectbox(key="team_detail").options)
    assert any(e.label == "已作废的队伍（1）" for e in at.expander)
    at = app("emergency/ui/members_page.py", as_user="town100", db=db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    assert any(e.label == f"已作废的队员（{members}）" for e in at.expander)


def test_a_township_corrects_a_team_and_a_member(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/teams_page.py", as_user="town100", db=db)
    open_expander(at, "team_domains_open", "team_edit_open", "new_team_open")  # their forms run only while open
    team_id = at.selectbox(key="team_detail").value
    founded = date(2019, 5, 4)
    _in_form(at.date_input, "team_basics")[0].set_value(founded)
    _button(at, "保存更正").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT established_on FROM teams WHERE id = ?", [team_id]) == founded
    at = app("emergency/ui/members_page.py", as_user="town100", db=db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    member_id = at.selectbox(key="manage_member").value
    _in_form(at.text_input, "member_basics")[0].input("赵更正")
    _button(at, "保存更正").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT name FROM members WHERE id = ?", [member_id]) == "赵更正"


def test_planned_drill_action_contact_and_plan_are_corrected_on_their_pages(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/calendar_page.py", as_user="town100", db=db)
    open_expander(at, "planned_done_open")  # its forms run only while open
    planned = at.selectbox(key="planned_pick").value
    planned_id = int(planned.split()[0])
    _in_form(at.text_input, "edit_planned")[0].input("城关镇防汛演练（更名）")
    next(b for b in at.button if b.label == "保存修改" and b.form_id.startswith("edit_planned")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT title FROM planned_drills WHERE id = ?", [planned_id]) == "城关镇防汛演练（更名）"

    from tests.helpers import add_corrective_action

    action_id = add_corrective_action(db, CHENGGUAN, local_today())
    at = app("emergency/ui/actions_page.py", as_user="town100", db=db)
    open_expander(at, "edit_action_open")  # its forms run only while open
    at.selectbox(key="edit_action_pick").set_value(action_id).run()
    _in_form(at.text_input, "edit_action")[1].input("王责任")  # 责任人
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT owner FROM corrective_actions WHERE id = ?", [action_id]) == "王责任"

    at = app("emergency/ui/linkage_page.py", as_user="town100", db=db)
    open_tab(at, "linkage_tab", "联络人")
    open_expander(at, "edit_contact_open")  # its forms run only while open
    contact_id = at.selectbox(key="edit_contact_pick").value
    _in_form(at.text_input, "edit_contact")[0].input("钱更正")
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT name FROM contacts WHERE id = ?", [contact_id]) == "钱更正"

    at = app("emergency/ui/plans_page.py", as_user="admin", db=db, plan="ZR-08")
    _in_form(at.selectbox, "plan_status")[0].set_value("retired")
    _button(at, "保存状态").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT status FROM plans WHERE code = 'ZR-08'") == "retired"


def test_an_enterprise_address_is_corrected_on_its_page(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/enterprises_page.py", as_user="town100", db=db)
    open_expander(at, "edit_enterprise_open")  # the edit forms run only while open
    chosen = int(at.selectbox(key="edit_enterprise_pick").value.split()[0])
    _in_form(at.text_input, "enterprise_basics")[0].input("城关镇解放路 8 号")
    _button(at, "保存更正").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert db.scalar("SELECT address FROM enterprises WHERE id = ?", [chosen]) == "城关镇解放路 8 号"


def test_the_new_team_form_is_cleared_and_names_the_new_team(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/teams_page.py", as_user="town100", db=db)
    open_expander(at, "team_domains_open", "team_edit_open", "new_team_open")  # their forms run only while open
    name_box = lambda: next(w for w in at.text_input if w.label == "队伍名称" and w.form_id.startswith("new_team"))  # noqa: E731
    name_box().input("城关镇测试突击队")
    next(b for b in at.button if b.label == "保存" and b.form_id.startswith("new_team")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    new_id = db.scalar("SELECT id FROM teams WHERE name = '城关镇测试突击队'")
    assert any(f"已新增队伍（编号 {new_id}）" in s.value for s in at.success)
    assert name_box().value == ""
    next(b for b in at.button if b.label == "保存" and b.form_id.startswith("new_team")).click().run()
    assert db.scalar("SELECT count(*) FROM teams WHERE name = '城关镇测试突击队'") == 1


def test_a_double_click_on_restore_restores_the_one_record_chosen(app, scratch_db, monkeypatch):
    """The second click of a double click on 恢复 (asked for inside the first one's write, as the
    server asks for it when the browser sends it) must not restore the record the list then shows
    first: the chosen one has left the list, and the click was for it."""
    from emergency import records
    from tests.helpers import ask_for_the_second_click

    db = scratch_db
    admin = user_row(db, "admin")
    ids = [
        r["id"]
        for r in db.query_dicts("SELECT id FROM drills WHERE township_code = ? ORDER BY id LIMIT 2", [CHENGGUAN])
    ]
    for drill_id in ids:
        records.void(db, admin, "drills", drill_id, "重复录入")
    real, restored = records.restore, []

    def second_click_during_the_write(db_, actor, table, record_id):
        real(db_, actor, table, record_id)
        restored.append(record_id)
        if len(restored) == 1:
            ask_for_the_second_click()

    monkeypatch.setattr(records, "restore", second_click_during_the_write)
    at = app("emergency/ui/drills_page.py", as_user="admin", db=db)
    open_expander(at, "voided_drills_open")
    by_key(at.selectbox, "restore_pick_drills").set_value(ids[1])
    by_key(at.button, f"restore_drills_{ids[1]}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert restored == [ids[1]]
    still_voided = "SELECT count(*) FROM voided_records WHERE table_name = 'drills' AND record_id = ?"
    assert db.scalar(still_voided, [ids[0]]) == 1 and db.scalar(still_voided, [ids[1]]) == 0
    assert any(f"已恢复第 {ids[1]} 号" in s.value for s in at.success), [s.value for s in at.success]
