"""Voiding (作废), restoring and deleting records (records.py): gone from lists and statistics,
kept in the audit trail and the 已作废 list, restored by an admin; hard deletion within 24 hours."""

from datetime import date, datetime, timedelta

import pytest

from emergency import deadlines, drills, records, stats, teams
from emergency.auth import PermissionDenied
from emergency.db import TZ, local_today
from emergency.errors import ValidationError
from tests.helpers import user_row

CHENGGUAN = "410325100"


def _a_drill(db, year=2024, township=CHENGGUAN):
    return db.query_dicts(
        "SELECT id, level, participants FROM drills WHERE township_code = ? AND year(held_on) = ? AND level = 'township'"
        " ORDER BY id LIMIT 1",
        [township, year],
    )[0]


def _audit(db, action, table, record_id):
    return db.query_dicts(
        "SELECT username, before, after FROM audit_log WHERE action = ? AND table_name = ? AND record_id = ?",
        [action, table, str(record_id)],
    )


def test_a_voided_drill_leaves_the_count_and_an_admin_restores_it(scratch_db):
    db = scratch_db
    town, admin = user_row(db, "town100"), user_row(db, "admin")
    drill = _a_drill(db)
    before = stats.year_stats(db, 2024)
    records.void(db, town, "drills", drill["id"], "重复录入")
    after = stats.year_stats(db, 2024)
    assert after["drills"] == before["drills"] - 1
    assert after["county_township_drills"] == before["county_township_drills"] - 1
    assert after["county_township_participants"] == before["county_township_participants"] - drill["participants"]
    assert drill["id"] not in drills.drill_list(db, year=2024)["id"].tolist()
    voided = records.voided_list(db, table="drills")
    assert [(v["record_id"], v["reason"], v["voided_by"]) for v in voided] == [(drill["id"], "重复录入", "town100")]
    assert _audit(db, "void", "drills", drill["id"])[0]["username"] == "town100"
    with pytest.raises(PermissionDenied):  # restoring is the bureau's
        records.restore(db, town, "drills", drill["id"])
    records.restore(db, admin, "drills", drill["id"])
    assert stats.year_stats(db, 2024) == before
    assert records.voided_list(db) == []
    assert _audit(db, "restore", "drills", drill["id"])[0]["username"] == "admin"


def test_void_is_scoped_and_needs_a_reason(scratch_db):
    db = scratch_db
    drill = _a_drill(db)
    with pytest.raises(PermissionDenied):
        records.void(db, user_row(db, "town101"), "drills", drill["id"], "不是本乡镇的")
    with pytest.raises(PermissionDenied):
        records.void(db, user_row(db, "leader"), "drills", drill["id"], "只读")
    with pytest.raises(ValidationError, match="作废原因"):
        records.void(db, user_row(db, "town100"), "drills", drill["id"], "  ")
    records.void(db, user_row(db, "town100"), "drills", drill["id"], "录错了")
    with pytest.raises(ValidationError, match="已作废"):
        records.void(db, user_row(db, "town100"), "drills", drill["id"], "再来一次")
    assert db.scalar("SELECT count(*) FROM voided_records") == 1


def test_a_voided_team_takes_its_members_along_and_comes_back_with_them(scratch_db):
    db = scratch_db
    admin = user_row(db, "admin")
    team = db.query_dicts(
        "SELECT t.id, count(m.id) AS members FROM teams t JOIN members m ON m.team_id = t.id"
        " WHERE t.disbanded_on IS NULL AND m.left_on IS NULL AND t.township_code = ? GROUP BY t.id ORDER BY t.id LIMIT 1",
        [CHENGGUAN],
    )[0]
    today = local_today()
    before = stats.year_stats(db, today.year, as_of=today)
    records.void(db, user_row(db, "town100"), "teams", team["id"], "队伍录重")
    after = stats.year_stats(db, today.year, as_of=today)
    assert after["teams"] == before["teams"] - 1
    assert after["members"] == before["members"] - team["members"]
    assert team["id"] not in teams.team_list(db)["id"].tolist()
    assert teams.member_count(db, team_id=team["id"]) == 0
    cascaded = db.scalar("SELECT count(*) FROM voided_records WHERE cascade_of = ?", [f"teams:{team['id']}"])
    assert cascaded == team["members"]
    member = db.scalar("SELECT min(record_id) FROM voided_records WHERE table_name = 'members'")
    with pytest.raises(ValidationError, match="请先恢复"):
        records.restore(db, admin, "members", member)
    records.restore(db, admin, "teams", team["id"])
    assert stats.year_stats(db, today.year, as_of=today) == before
    assert db.scalar("SELECT count(*) FROM voided_records") == 0


def test_a_voided_drill_no_longer_counts_for_its_plans_deadline(scratch_db):
    db = scratch_db
    today = local_today()
    plan = next(p for p in deadlines.plan_deadlines(db, today) if p["drill_count"] >= 1)
    last = db.query_dicts(
        "SELECT d.id FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id WHERE dp.plan_code = ? AND d.held_on <= ?"
        " ORDER BY d.held_on DESC",
        [plan["code"], today],
    )
    for row in last:  # void every drill of that plan: the plan reads as never drilled
        records.void(db, user_row(db, "admin"), "drills", row["id"], "测试作废")
    again = next(p for p in deadlines.plan_deadlines(db, today) if p["code"] == plan["code"])
    assert again["drill_count"] == 0 and again["last_drill_on"] is None


def test_an_enterprise_with_drills_cannot_be_voided(scratch_db):
    db = scratch_db
    enterprise = db.scalar("SELECT min(enterprise_id) FROM drills WHERE enterprise_id IS NOT NULL")
    with pytest.raises(ValidationError, match="演练记录"):
        records.void(db, user_row(db, "admin"), "enterprises", enterprise, "重复")
    assert db.scalar("SELECT count(*) FROM voided_records") == 0


def _new_drill(db, actor, title="新录入的演练"):
    plan = db.scalar("SELECT min(code) FROM plans")
    data = {
        "title": title,
        "level": "township",
        "organiser": "城关镇人民政府",
        "township_code": CHENGGUAN,
        "held_on": local_today(),
        "form": "live",
        "participants": 30,
    }
    return drills.create_drill(db, actor, data, [plan])


def test_an_admin_deletes_a_record_made_today_with_what_it_owns(scratch_db):
    db = scratch_db
    admin, town = user_row(db, "admin"), user_row(db, "town100")
    drill_id = _new_drill(db, town)
    action = drills.add_action(db, town, drill_id, "补充通信设备", "张三", local_today() + timedelta(days=30))
    assert records.deletable(db, admin, "drills", drill_id) and not records.deletable(db, town, "drills", drill_id)
    with pytest.raises(PermissionDenied):
        records.delete(db, town, "drills", drill_id)
    records.delete(db, admin, "drills", drill_id)
    assert db.scalar("SELECT count(*) FROM drills WHERE id = ?", [drill_id]) == 0
    assert db.scalar("SELECT count(*) FROM drill_plans WHERE drill_id = ?", [drill_id]) == 0
    assert db.scalar("SELECT count(*) FROM corrective_actions WHERE id = ?", [action]) == 0
    assert db.scalar("SELECT count(*) FROM voided_records") == 0
    row = _audit(db, "delete", "drills", drill_id)[0]
    assert row["username"] == "admin" and "新录入的演练" in row["before"]


def test_a_record_older_than_a_day_is_voided_not_deleted(scratch_db):
    db = scratch_db
    admin = user_row(db, "admin")
    old = _a_drill(db)["id"]
    with pytest.raises(ValidationError, match="24小时"):
        records.delete(db, admin, "drills", old)
    fresh = _new_drill(db, admin)
    later = datetime.now(TZ) + timedelta(hours=25)
    assert not records.deletable(db, admin, "drills", fresh, now=later)
    with pytest.raises(ValidationError, match="24小时"):
        records.delete(db, admin, "drills", fresh, now=later)
    assert db.scalar("SELECT count(*) FROM drills WHERE id IN (?, ?)", [old, fresh]) == 2


# Corrections of the other records ------------------------------------------------------------------
def test_a_planned_drill_is_corrected_in_scope_and_audited(scratch_db):
    from emergency.stale import StaleRecord

    db = scratch_db
    town = user_row(db, "town100")
    planned = db.scalar(
        "SELECT min(id) FROM planned_drills WHERE township_code = ? AND status = 'planned'", [CHENGGUAN]
    )
    seen = drills.planned_record(db, planned)
    saved = drills.update_planned(
        db, town, planned, {"title": "城关镇森林防火演练（改期）", "planned_on": date(2027, 3, 1)}, expected=seen
    )
    assert (saved["title"], saved["planned_on"]) == ("城关镇森林防火演练（改期）", date(2027, 3, 1))
    assert _audit(db, "update", "planned_drills", planned)[-1]["username"] == "town100"
    with pytest.raises(StaleRecord):  # the form drawn before that save
        drills.update_planned(db, town, planned, {"note": "备注"}, expected=seen)
    with pytest.raises(PermissionDenied):
        drills.update_planned(db, user_row(db, "town101"), planned, {"note": "备注"})
    with pytest.raises(ValidationError, match="计划日期"):
        drills.update_planned(db, town, planned, {"planned_on": None})
    records.void(db, town, "planned_drills", planned, "计划取消且录错")
    assert planned not in [p["id"] for p in drills.planned_list(db, local_today())]
    with pytest.raises(ValidationError, match="已作废"):
        drills.update_planned(db, town, planned, {"note": "备注"})


def test_a_corrective_action_is_corrected_and_voided_with_its_drill(scratch_db):
    db = scratch_db
    town, admin = user_row(db, "town100"), user_row(db, "admin")
    drill_id = _new_drill(db, town)
    action = drills.add_action(db, town, drill_id, "补充通信设备", "张三", local_today() + timedelta(days=30))
    saved = drills.update_action(db, town, action, {"owner": "李四", "due_on": local_today() + timedelta(days=60)})
    assert saved["owner"] == "李四"
    with pytest.raises(ValidationError, match="整改期限"):
        drills.update_action(db, town, action, {"due_on": date(2000, 1, 1)})
    open_before = drills.action_counts(db, local_today())["open"]
    records.void(db, town, "drills", drill_id, "录错")
    assert drills.action_counts(db, local_today())["open"] == open_before - 1  # went along with its drill
    assert action not in [a["id"] for a in drills.action_list(db, local_today())]
    records.restore(db, admin, "drills", drill_id)
    assert drills.action_counts(db, local_today())["open"] == open_before


def test_a_contact_is_corrected_and_a_voided_one_leaves_the_list(scratch_db):
    from emergency import linkage

    db = scratch_db
    town = user_row(db, "town100")
    contact = int(linkage.contact_list(db, town, CHENGGUAN)["id"].iloc[0])
    saved = linkage.update_contact(db, town, contact, {"name": "王更正", "phone": "13812345678"})
    assert (saved["name"], saved["phone"]) == ("王更正", "13812345678")
    with pytest.raises(ValidationError, match="电话"):
        linkage.update_contact(db, town, contact, {"phone": "12345"})
    records.void(db, town, "contacts", contact, "重复登记")
    assert contact not in linkage.contact_list(db, town, CHENGGUAN)["id"].tolist()


def test_an_admin_retires_a_plan_and_flags_it(scratch_db):
    from emergency import plans

    db = scratch_db
    code = "ZR-08"
    seen = plans.plan_record(db, code)
    with pytest.raises(PermissionDenied):
        plans.update_plan(db, user_row(db, "town100"), code, {"status": "retired"})
    saved = plans.update_plan(db, user_row(db, "admin"), code, {"status": "retired"}, expected=seen)
    assert saved["status"] == "retired" and code not in plans.active_plans(db)
    assert stats.year_stats(db, 2024)["plans"] == 39
    with pytest.raises(ValidationError, match="状态"):
        plans.update_plan(db, user_row(db, "admin"), code, {"status": "draft"})


def test_a_voided_team_member_or_enterprise_is_not_edited(scratch_db):
    from emergency import enterprises

    db = scratch_db
    admin = user_row(db, "admin")
    team = db.scalar("SELECT min(id) FROM teams WHERE township_code = ?", [CHENGGUAN])
    member = db.scalar("SELECT min(id) FROM members WHERE team_id = ?", [team])
    records.void(db, admin, "teams", team, "录错")
    with pytest.raises(ValidationError, match="已作废"):
        teams.update_team(db, admin, team, {"equipment": "无人机"})
    with pytest.raises(ValidationError, match="已作废"):
        teams.update_member(db, admin, member, {"specialty": "救护"})
    from emergency.enums import ENTERPRISE_SECTORS

    free = enterprises.create_enterprise(
        db, admin, {"name": "城关镇测试企业", "sector": next(iter(ENTERPRISE_SECTORS)), "township_code": CHENGGUAN}
    )
    records.void(db, admin, "enterprises", free, "重复登记")
    assert free not in enterprises.enterprise_list(db)["id"].tolist()
    with pytest.raises(ValidationError, match="已作废"):
        enterprises.update_enterprise(db, admin, free, {"address": "新地址"})
