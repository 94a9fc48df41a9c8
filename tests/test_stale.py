"""Lost updates (security item 7): every edit reads "before" inside its write transaction, and an edit
form that carries the record as it was drawn (`expected`) is refused with what changed (StaleRecord)
when someone else saved the record in between; nothing is overwritten and no audit row is written."""

import json
import threading
from datetime import date

import pytest

from emergency import drills, enterprises, linkage, plans, stale, teams
from emergency.auth import User
from emergency.db import local_today
from emergency.stale import StaleRecord
from tests.conftest import user_row
from tests.helpers import open_expander, open_tab

TODAY = date(2026, 11, 25)
TOWN = "410325100"


def last_audit(db) -> int:
    return db.scalar("SELECT coalesce(max(id), 0) FROM audit_log")


def audits_since(db, mark: int, table: str, record_id) -> list[dict]:
    return db.query_dicts(
        "SELECT CAST(before AS VARCHAR) AS before, CAST(after AS VARCHAR) AS after FROM audit_log"
        " WHERE id > ? AND table_name = ? AND record_id = ? ORDER BY id",
        [mark, table, str(record_id)],
    )


def refused(db, call) -> StaleRecord:
    """call() raises StaleRecord and writes no audit row."""
    mark = last_audit(db)
    with pytest.raises(StaleRecord) as info:
        call()
    assert last_audit(db) == mark
    message = str(info.value)
    assert message.startswith("该记录已被其他用户修改") and message.endswith("请刷新后重试。"), message
    return info.value


def own_team(db) -> int:
    return db.scalar(
        "SELECT min(id) FROM teams WHERE township_code = ? AND disbanded_on IS NULL"
        " AND id IN (SELECT team_id FROM members WHERE left_on IS NULL)",
        [TOWN],
    )


def own_member(db) -> int:
    return db.scalar("SELECT min(id) FROM members WHERE team_id = ? AND left_on IS NULL", [own_team(db)])


# Two saves at once --------------------------------------------------------------------------------
def test_two_saves_of_one_member_at_once_one_wins_and_the_other_is_told(scratch_db, monkeypatch):
    db, op = scratch_db, user_row(scratch_db, "town100")
    member = own_member(db)
    seen = teams.member_record(db, member)  # both forms were drawn from this
    mark = last_audit(db)
    # Each save waits, after its first read of the member, until the other has read it too: both
    # read the same "before" inside their transactions, then both write; DuckDB refuses the second
    # write (Conflict on update), db.write retries it, and the retry must read and check again.
    barrier, reads, local = threading.Barrier(2, timeout=20), [], threading.local()
    real_read = teams._member

    def racing_read(cur, member_id):
        row = real_read(cur, member_id)
        reads.append(threading.get_ident())
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()
        return row

    monkeypatch.setattr(teams, "_member", racing_read)
    results = {}

    def save(specialty):
        try:
            teams.update_member(db, op, member, {"specialty": specialty}, expected=seen)
            results[specialty] = "saved"
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[specialty] = exc

    threads = [threading.Thread(target=save, args=(s,)) for s in ("测试专长甲", "测试专长乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    saved = [s for s, r in results.items() if r == "saved"]
    stale_errors = [r for r in results.values() if isinstance(r, StaleRecord)]
    assert len(saved) == 1 and len(stale_errors) == 1, results
    winner = saved[0]
    assert db.scalar("SELECT specialty FROM members WHERE id = ?", [member]) == winner
    assert ("specialty", seen["specialty"], winner) in stale_errors[0].changes  # field, what the user saw, now
    assert "专长" in str(stale_errors[0]) and winner in str(stale_errors[0])
    assert len(reads) >= 3  # the refused save read the member again when it was retried
    rows = audits_since(db, mark, "members", member)
    assert len(rows) == 1  # only the save that happened is audited, with the true before
    assert json.loads(rows[0]["before"]) == {"specialty": seen["specialty"]}
    assert json.loads(rows[0]["after"]) == {"specialty": winner}


def test_a_fresh_form_saves_and_returns_the_record_as_saved(scratch_db):
    db, op = scratch_db, user_row(scratch_db, "town100")
    member = own_member(db)
    after = teams.update_member(db, op, member, {"specialty": "通信保障"}, expected=teams.member_record(db, member))
    assert after == teams.member_record(db, member) and after["specialty"] == "通信保障"
    # the record returned is the next form's `expected`: a second save from the same page goes through
    teams.set_insurance(db, op, member, date(2027, 6, 30), expected=after)
    assert db.scalar("SELECT insurance_until FROM members WHERE id = ?", [member]) == date(2027, 6, 30)


# Each edited record type: a stale form is refused and changes nothing -----------------------------
def test_stale_member_forms_are_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    member = own_member(db)
    seen = teams.member_record(db, member)
    teams.update_member(db, admin, member, {"phone": "13911112222"})  # someone else saves first
    other_team = db.scalar(
        "SELECT min(id) FROM teams WHERE township_code = ? AND disbanded_on IS NULL AND id <> ?",
        [TOWN, seen["team_id"]],
    )
    for call in (
        lambda: teams.update_member(db, op, member, {"specialty": "x"}, expected=seen),
        lambda: teams.record_training(db, op, member, True, TODAY, expected=seen),
        lambda: teams.set_insurance(db, op, member, date(2030, 1, 1), expected=seen),
        lambda: teams.move_member(db, op, member, other_team, expected=seen),
        lambda: teams.member_leaves(db, op, member, TODAY, expected=seen),
    ):
        error = refused(db, call)
        assert [c[0] for c in error.changes] == ["phone"]
        assert "手机号" in str(error) and "13911112222" in str(error)  # its own township's operator sees it in full
    now = teams.member_record(db, member)
    assert {k: v for k, v in now.items() if k != "phone"} == {k: v for k, v in seen.items() if k != "phone"}


def test_stale_team_forms_are_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    team = own_team(db)
    seen = teams.team_record(db, team)
    teams.update_team(db, admin, team, {"leader_name": "赵六"})
    for call in (
        lambda: teams.update_team(db, op, team, {"name": "改名队"}, expected=seen),
        lambda: teams.set_team_domains(db, op, team, ["flood", "fire", "earthquake"], expected=seen),
        lambda: teams.disband_team(db, op, team, TODAY, "合并", expected=seen),
    ):
        error = refused(db, call)
        assert ("leader_name", seen["leader_name"], "赵六") in error.changes
    assert teams.team_record(db, team) == {**seen, "leader_name": "赵六"}
    teams.set_team_domains(db, admin, team, ["flood"])  # a change of domains is a change of the team too
    refused(db, lambda: teams.update_team(db, op, team, {"name": "改名队"}, expected={**seen, "leader_name": "赵六"}))


def test_stale_certificate_form_is_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    cert = teams.add_certificate(
        db, op, own_member(db), {"name": "救护员证", "issued_on": date(2024, 1, 1), "expires_on": date(2027, 1, 1)}
    )
    seen = teams.certificate_record(db, cert)
    teams.update_certificate(db, admin, cert, {"expires_on": date(2028, 1, 1)})
    error = refused(db, lambda: teams.update_certificate(db, op, cert, {"expires_on": date(2029, 1, 1)}, expected=seen))
    assert error.changes == [("expires_on", date(2027, 1, 1), date(2028, 1, 1))]
    assert "有效期至 2027-01-01 → 2028-01-01" in str(error)
    assert teams.certificate_record(db, cert)["expires_on"] == date(2028, 1, 1)


def quick_drill(db, actor) -> int:
    return drills.create_drill(
        db,
        actor,
        {
            "title": "城关镇防汛应急演练",
            "level": "township",
            "organiser": "城关镇人民政府",
            "township_code": TOWN,
            "held_on": date(2026, 9, 1),
            "form": "live",
            "participants": 80,
        },
        ["ZR-01"],
        today=TODAY,
    )


def test_stale_drill_and_evaluation_forms_are_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    drill = quick_drill(db, op)
    seen = drills.drill_record(db, drill)
    drills.update_drill(db, admin, drill, {"evaluation": "组织有序，响应及时"}, today=TODAY)
    error = refused(
        db,
        lambda: drills.update_drill(
            db, op, drill, {"evaluation": "基本达到目的", "lessons": "x"}, expected=seen, today=TODAY
        ),
    )
    assert error.changes == [("evaluation", None, "组织有序，响应及时")]
    assert "评估意见" in str(error)
    seen = drills.drill_record(db, drill)
    drills.update_drill(db, admin, drill, {}, ["ZR-01", "ZR-02"], today=TODAY)  # the plans it exercised changed
    error = refused(db, lambda: drills.update_drill(db, op, drill, {"participants": 90}, expected=seen, today=TODAY))
    assert [c[0] for c in error.changes] == ["plans"]
    assert drills.drill_record(db, drill)["participants"] == 80


def test_stale_enterprise_forms_are_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    eid = enterprises.create_enterprise(
        db, op, {"name": "嵩县测试建筑公司", "sector": "construction", "township_code": TOWN, "contact_name": "钱七"}
    )
    seen = enterprises.enterprise_record(db, eid)
    enterprises.update_enterprise(db, admin, eid, {"contact_name": "孙八"})
    for call in (
        lambda: enterprises.update_enterprise(db, op, eid, {"name": "改名公司"}, expected=seen),
        lambda: enterprises.close_enterprise(db, op, eid, TODAY, "注销", expected=seen),
    ):
        error = refused(db, call)
        assert error.changes == [("contact_name", "钱七", "孙八")]
    assert enterprises.enterprise_record(db, eid) == {**seen, "contact_name": "孙八"}


def test_stale_planned_drill_and_corrective_action_forms_are_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    planned = drills.create_planned(
        db,
        op,
        {
            "title": "城关镇地震应急演练",
            "level": "township",
            "township_code": TOWN,
            "plan_code": "ZR-04",
            "planned_on": date(2026, 12, 1),
        },
    )
    seen = drills.planned_record(db, planned)
    drills.cancel_planned(db, admin, planned, "与防汛检查冲突")
    drill = quick_drill(db, op)
    for call in (
        lambda: drills.cancel_planned(db, op, planned, "改期", expected=seen),
        lambda: drills.link_planned(db, op, planned, drill, expected=seen),
    ):
        assert ("status", "planned", "cancelled") in refused(db, call).changes
    assert drills.planned_record(db, planned)["cancel_reason"] == "与防汛检查冲突"

    action = drills.add_action(db, op, drill, "完善疏散路线标识", "王伟", date(2026, 10, 1))
    seen = drills.action_record(db, action)
    drills.close_action(db, admin, action, TODAY, "已重新设置标识牌", today=TODAY)
    error = refused(db, lambda: drills.close_action(db, op, action, TODAY, "已整改", expected=seen, today=TODAY))
    assert ("closure_note", None, "已重新设置标识牌") in error.changes
    assert drills.action_record(db, action)["closure_note"] == "已重新设置标识牌"


def test_stale_plan_metadata_forms_are_refused(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    seen = plans.plan_record(db, "ZR-06")
    plans.record_revision(db, admin, "ZR-06", "2026版", TODAY, "另一位管理员登记", today=TODAY)
    for call in (
        lambda: plans.record_revision(db, admin, "ZR-06", "2026修订版", TODAY, expected=seen, today=TODAY),
        lambda: plans.record_evaluation(db, admin, "ZR-06", TODAY, expected=seen, today=TODAY),
    ):
        assert ("version", seen["version"], "2026版") in refused(db, call).changes
    assert plans.plan_record(db, "ZR-06")["version"] == "2026版"


def test_stale_contact_update_is_refused(scratch_db):
    db, op, admin = scratch_db, user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    contact = db.scalar("SELECT min(id) FROM contacts WHERE township_code = ? AND active_to IS NULL", [TOWN])
    seen = linkage.contact_record(db, contact)
    linkage.end_contact(db, admin, contact, TODAY)
    error = refused(db, lambda: linkage.end_contact(db, op, contact, date(2026, 11, 20), expected=seen))
    assert error.changes == [("active_to", None, TODAY)]
    assert linkage.contact_record(db, contact)["active_to"] == TODAY


def test_a_form_drawn_for_another_record_is_refused(scratch_db):
    """What a page sends when its picker fell back to another record: the record drawn is not the one saved."""
    db, op = scratch_db, user_row(scratch_db, "town100")
    first, second = [
        m
        for (m,) in db.query(
            "SELECT id FROM members WHERE team_id = ? AND left_on IS NULL ORDER BY id LIMIT 2", [own_team(db)]
        )
    ]
    error = refused(
        db, lambda: teams.update_member(db, op, second, {"specialty": "x"}, expected=teams.member_record(db, first))
    )
    assert error.changes == [("id", first, second)] and "已不在列表中" in str(error)
    drill, other = quick_drill(db, op), quick_drill(db, op)
    refused(
        db,
        lambda: drills.update_drill(
            db, op, drill, {"participants": 1}, today=TODAY, expected=drills.drill_record(db, other)
        ),
    )


# The message ---------------------------------------------------------------------------------------
def test_the_message_names_the_fields_and_masks_phones_as_the_viewer_sees_them():
    seen = {
        "phone": "13812341234",
        "specialty": None,
        "training_passed": False,
        "role_in_team": "member",
        "township_code": TOWN,
        "id_hmac": "a",
    }
    now = {
        **seen,
        "phone": "13956785678",
        "specialty": "![x](http://example.org/a.png)" + "长" * 30,
        "training_passed": True,
        "role_in_team": "leader",
        "id_hmac": "b",
    }
    labels = {**teams.MEMBER_LABELS}
    viewer = User(1, "v", "v", "township", "410325101")  # another township: sees phones masked
    with pytest.raises(StaleRecord) as info:
        stale.check_fresh(
            now, seen, table="members", record_id=1, labels=labels, viewer=viewer, enums=teams.MEMBER_ENUMS
        )
    message = str(info.value)
    assert "手机号 138****1234 → 139****5678" in message and "13812341234" not in message
    assert "已培训 否 → 是" in message and "职务 队员 → 队长" in message and "专长 （空） → " in message
    assert "长" * 30 not in message and "…" in message  # long text is cut short
    assert "id_hmac" not in message  # fields without a label are compared but never shown
    assert len(info.value.changes) == 5
    own = User(2, "o", "o", "township", TOWN)
    with pytest.raises(StaleRecord, match="13812341234 → 13956785678"):
        stale.check_fresh(now, seen, table="members", record_id=1, labels=labels, viewer=own)
    stale.check_fresh(now, None, table="members", record_id=1, labels=labels, viewer=own)  # no form: no check
    stale.check_fresh(now, dict(now), table="members", record_id=1, labels=labels, viewer=own)


# The page: the record changes between the form's draw and its submit ---------------------------------
def test_members_page_refuses_a_form_whose_member_changed_meanwhile(app, scratch_db):
    at = app("emergency/ui/members_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    member = at.selectbox(key="manage_member").value
    # another user saves the same member while this form is open
    teams.update_member(scratch_db, user_row(scratch_db, "admin"), member, {"specialty": "其他用户填写"})
    next(t for t in at.text_input if t.label == "专长").input("无人机")
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception
    assert not at.success
    errors = [e.value for e in at.error]
    assert any(
        "该记录已被其他用户修改" in e and "专长" in e and "其他用户填写" in e and "请刷新后重试" in e for e in errors
    ), errors
    assert scratch_db.scalar("SELECT specialty FROM members WHERE id = ?", [member]) == "其他用户填写"
    # the form now shows the record as it is; saving it again is checked against that and goes through
    assert next(t for t in at.text_input if t.label == "专长").value == "其他用户填写"
    next(t for t in at.text_input if t.label == "专长").input("无人机")
    next(b for b in at.button if b.label == "保存").click().run()
    assert at.success and at.success[0].value == "已保存。", [e.value for e in at.error]
    assert scratch_db.scalar("SELECT specialty FROM members WHERE id = ?", [member]) == "无人机"


def test_drill_evaluation_form_refuses_a_drill_changed_meanwhile(app, scratch_db):
    drill = quick_drill(scratch_db, user_row(scratch_db, "town100"))
    at = app("emergency/ui/drills_page.py", as_user="town100", db=scratch_db, drill=str(drill))
    assert at.selectbox(key="drill_detail").value == drill
    drills.update_drill(scratch_db, user_row(scratch_db, "admin"), drill, {"evaluation": "管理员的评估"}, today=TODAY)
    next(t for t in at.text_area if t.label == "评估意见").input("乡镇的评估")
    next(b for b in at.button if b.label == "保存评估").click().run()
    assert not at.exception and not at.success
    assert any("该记录已被其他用户修改" in e.value and "评估意见" in e.value for e in at.error), [
        e.value for e in at.error
    ]
    assert scratch_db.scalar("SELECT evaluation FROM drills WHERE id = ?", [drill]) == "管理员的评估"


# The pages: two saves in a row from one view are not refused for the user's own first save -----------
def widget(items, label):
    return next(w for w in items if w.label == label)


def saved(at, message):
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and at.success[0].value == message


def test_teams_page_saves_twice_from_one_view(app, scratch_db):
    at = app("emergency/ui/teams_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "team_domains_open", "team_edit_open", "new_team_open")  # their forms run only while open
    team = at.selectbox(key="team_detail").value
    widget(at.text_input, "负责人").input("周九")
    widget(at.button, "保存修改").click().run()
    saved(at, "已保存。")
    widget(at.multiselect, "覆盖领域").set_value(["flood", "medical"])
    widget(at.button, "保存覆盖领域").click().run()
    saved(at, "已保存。")
    record = teams.team_record(scratch_db, team)
    assert record["leader_name"] == "周九" and record["domains"] == ["flood", "medical"]


def test_members_page_saves_training_then_insurance_from_one_view(app, scratch_db):
    at = app("emergency/ui/members_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    member = at.selectbox(key="manage_member").value
    open_tab(at, "member_tab", "培训与保险")
    widget(at.checkbox, "已通过培训").check()
    widget(at.date_input, "培训日期").set_value(date(2026, 11, 2))
    widget(at.button, "保存培训").click().run()
    saved(at, "已保存。")
    widget(at.date_input, "意外伤害保险到期").set_value(date(2027, 11, 30))
    widget(at.button, "保存保险").click().run()
    saved(at, "已保存。")
    record = teams.member_record(scratch_db, member)
    assert (record["training_passed"], record["training_on"], record["insurance_until"]) == (
        True,
        date(2026, 11, 2),
        date(2027, 11, 30),
    )


def test_enterprises_page_edits_then_closes_from_one_view(app, scratch_db):
    at = app("emergency/ui/enterprises_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "edit_enterprise_open")  # the edit forms run only while open
    eid = int(at.selectbox(key="edit_enterprise_pick").value.split()[0])
    [t for t in at.text_input if t.label == "联系人"][-1].input(
        "吴十"
    )  # the edit form's, not the new-enterprise form's
    widget(at.button, "保存修改").click().run()
    saved(at, "已保存。")
    widget(at.text_input, "关闭原因（停产、注销、整合等）").input("停产")
    widget(at.button, "关闭企业（保留历史）").click().run()
    saved(at, "已关闭。")
    record = enterprises.enterprise_record(scratch_db, eid)
    assert record["contact_name"] == "吴十" and record["close_reason"] == "停产"


def stale_shown(at) -> bool:
    return not at.exception and not at.success and any("该记录已被其他用户修改" in e.value for e in at.error)


def test_a_record_closed_meanwhile_is_not_swapped_for_the_next_one_in_the_list(app, scratch_db):
    """The chosen planned drill (or action) leaves the picker's list when someone else cancels (closes)
    it; Streamlit then selects the first one left. The form must not save to that one."""
    op, admin = user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    for title in ("城关镇测试计划甲", "城关镇测试计划乙"):
        planned = drills.create_planned(
            scratch_db, op, {"title": title, "level": "township", "township_code": TOWN, "planned_on": local_today()}
        )
    at = app("emergency/ui/calendar_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "planned_done_open")  # its forms run only while open
    picker = at.selectbox(key="planned_pick")
    picker.set_value(next(o for o in picker.options if o.startswith(f"{planned} "))).run()
    drills.cancel_planned(scratch_db, admin, planned, "管理员取消")
    widget(at.text_input, "取消原因 *").input("乡镇取消")
    widget(at.button, "取消计划").click().run()
    assert stale_shown(at), [e.value for e in at.error]
    assert drills.planned_record(scratch_db, planned)["cancel_reason"] == "管理员取消"
    assert not scratch_db.scalar("SELECT count(*) FROM planned_drills WHERE cancel_reason = '乡镇取消'")

    drill = quick_drill(scratch_db, op)
    for description in ("更新应急物资台账", "补充疏散指示牌"):
        action = drills.add_action(scratch_db, op, drill, description, "郑十一", local_today())
    at = app("emergency/ui/actions_page.py", as_user="town100", db=scratch_db)
    picker = at.selectbox(key="close_action_pick")
    picker.set_value(next(o for o in picker.options if o.startswith(f"{action} "))).run()
    drills.close_action(scratch_db, admin, action, local_today(), "管理员已核实")
    widget(at.text_input, "整改情况说明 *").input("已更新")
    widget(at.button, "关闭").click().run()
    assert stale_shown(at), [e.value for e in at.error]
    assert drills.action_record(scratch_db, action)["closure_note"] == "管理员已核实"
    assert not scratch_db.scalar("SELECT count(*) FROM corrective_actions WHERE closure_note = '已更新'")


def test_actions_page_refuses_an_action_changed_meanwhile_and_names_the_field(app, scratch_db):
    op = user_row(scratch_db, "town100")
    action = drills.add_action(scratch_db, op, quick_drill(scratch_db, op), "更新应急物资台账", "郑十一", local_today())
    at = app("emergency/ui/actions_page.py", as_user="town100", db=scratch_db)
    picker = at.selectbox(key="close_action_pick")
    picker.set_value(next(o for o in picker.options if o.startswith(f"{action} "))).run()
    # someone else changes the action (here directly: no service edits an open action's owner yet)
    scratch_db.write(
        lambda cur: cur.execute("UPDATE corrective_actions SET due_on = ? WHERE id = ?", [date(2027, 3, 1), action])
    )
    widget(at.text_input, "整改情况说明 *").input("已更新")
    widget(at.button, "关闭").click().run()
    assert stale_shown(at) and any("整改期限" in e.value and "2027" in e.value for e in at.error)
    assert drills.action_record(scratch_db, action)["closed_on"] is None
