"""Drill records, attachments, corrective actions, planned drills, plan revisions, enterprises:
the scoped, audited write paths on a private copy of the demo database."""

from datetime import date, datetime

import pytest

from emergency import deadlines, drills, enterprises, plans
from emergency.auth import PermissionDenied
from emergency.hygiene import clean
from tests.helpers import user_row

TODAY = date(2026, 11, 25)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.4\n%test\n"


def quick(**extra):
    data = {
        "title": "城关镇防汛应急演练",
        "level": "township",
        "organiser": "城关镇人民政府",
        "township_code": "410325100",
        "held_on": TODAY,
        "form": "live",
        "participants": 120,
    }
    data.update(extra)
    return data


def audits(db, table, record_id):
    return db.scalar("SELECT count(*) FROM audit_log WHERE table_name = ? AND record_id = ?", [table, str(record_id)])


def test_township_logs_its_own_drill_and_the_plan_clock_moves(scratch_db):
    town = user_row(scratch_db, "town100")
    before = {p["code"]: p for p in deadlines.plan_deadlines(scratch_db, TODAY)}["ZR-08"]
    drill_id = drills.create_drill(scratch_db, town, quick(), ["ZR-08"], today=TODAY)
    after = {p["code"]: p for p in deadlines.plan_deadlines(scratch_db, TODAY)}["ZR-08"]
    assert after["last_drill_on"] == TODAY != before["last_drill_on"]
    assert after["drill_due_on"] == date(2029, 11, 25) and after["drill_status"] == "on_time"
    assert audits(scratch_db, "drills", drill_id) == 1
    detail = drills.drill_detail(scratch_db, drill_id)
    assert detail["purpose"] == "testing" and detail["created_by"] == "town100"


def test_township_cannot_log_for_another_township_or_the_county(scratch_db):
    town = user_row(scratch_db, "town100")
    count = scratch_db.scalar("SELECT count(*) FROM drills")
    with pytest.raises(PermissionDenied):
        drills.create_drill(scratch_db, town, quick(township_code="410325101"), ["ZR-01"], today=TODAY)
    with pytest.raises(PermissionDenied):
        drills.create_drill(scratch_db, town, quick(level="county", township_code=None), ["ZR-01"], today=TODAY)
    with pytest.raises(PermissionDenied):
        drills.create_drill(scratch_db, user_row(scratch_db, "leader"), quick(), ["ZR-01"], today=TODAY)
    assert scratch_db.scalar("SELECT count(*) FROM drills") == count


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": " "}, "演练名称"),
        ({"participants": -1}, "参演人次"),
        ({"held_on": date(2026, 11, 26)}, "演练日期"),
        ({"form": "xx"}, "演练形式"),
        ({"level": "village"}, "所属村（社区）"),
        ({"started_at": datetime(2026, 11, 25, 10), "ended_at": datetime(2026, 11, 25, 9)}, "结束时间"),
        ({"village_code": "410325101001", "level": "village"}, "不属于所选乡镇"),
    ],
)
def test_invalid_drill_names_the_field_and_writes_nothing(scratch_db, change, field):
    admin = user_row(scratch_db, "admin")
    count = scratch_db.scalar("SELECT count(*) FROM drills")
    with pytest.raises(ValueError, match=field):
        drills.create_drill(scratch_db, admin, quick(**change), ["ZR-01"], today=TODAY)
    with pytest.raises(ValueError, match="演练预案"):
        drills.create_drill(scratch_db, admin, quick(), [], today=TODAY)
    assert scratch_db.scalar("SELECT count(*) FROM drills") == count


def test_plan_problems_flag_the_plan_and_a_revision_clears_it_and_restarts_evaluation(scratch_db):
    admin, town = user_row(scratch_db, "admin"), user_row(scratch_db, "town100")
    scratch_db.write(lambda cur: cur.execute("UPDATE plans SET needs_revision = FALSE WHERE code = 'ZR-06'"))
    drills.create_drill(
        scratch_db, town, quick(plan_problems_found=True, problems="预案职责分工与机构设置不符"), ["ZR-06"], today=TODAY
    )
    assert scratch_db.scalar("SELECT needs_revision FROM plans WHERE code = 'ZR-06'") is True
    with pytest.raises(PermissionDenied):
        plans.record_revision(scratch_db, town, "ZR-06", "2026版", TODAY)
    with pytest.raises(ValueError, match="版本号"):
        plans.record_revision(scratch_db, admin, "ZR-06", "", TODAY)
    plans.record_revision(scratch_db, admin, "ZR-06", "2026版", TODAY, "按演练评估意见修订", today=TODAY)
    row = {p["code"]: p for p in deadlines.plan_deadlines(scratch_db, TODAY)}["ZR-06"]
    assert row["version"] == "2026版" and row["revised_on"] == TODAY and not row["needs_revision"]
    assert row["evaluation_clock_from"] == TODAY and row["evaluation_due_on"] == date(2029, 11, 25)
    assert plans.plan_history(scratch_db, "ZR-06")[0]["kind"] == "revision"
    # A restart (plans/ re-synced from files) does not turn the recorded revision back.
    from emergency.setup import initialise

    initialise(scratch_db)
    assert scratch_db.scalar("SELECT version FROM plans WHERE code = 'ZR-06'") == "2026版"


def test_evaluation_restarts_the_evaluation_clock(scratch_db):
    admin = user_row(scratch_db, "admin")
    scratch_db.write(
        lambda cur: cur.execute(
            "UPDATE plans SET last_evaluated_on = NULL, revised_on = DATE '2022-03-01' WHERE code = 'ZR-10'"
        )
    )
    row = {p["code"]: p for p in deadlines.plan_deadlines(scratch_db, TODAY)}["ZR-10"]
    # The clock starts at the version's issue: the file's 印发日期 (2022-03-24), later than that revision.
    assert row["evaluation_status"] == "overdue" and row["evaluation_due_on"] == date(2025, 3, 24)
    plans.record_evaluation(scratch_db, admin, "ZR-10", date(2026, 10, 1), "评估结论：基本适用", today=TODAY)
    row = {p["code"]: p for p in deadlines.plan_deadlines(scratch_db, TODAY)}["ZR-10"]
    assert row["evaluation_status"] == "on_time" and row["evaluation_due_on"] == date(2029, 10, 1)
    assert audits(scratch_db, "plans", "ZR-10") == 1


def test_attachments_are_checked_and_stored_under_safe_names(scratch_db):
    town = user_row(scratch_db, "town100")
    drill_id = drills.create_drill(scratch_db, town, quick(), ["ZR-01"], today=TODAY)
    with pytest.raises(ValueError, match="不允许"):
        drills.add_attachment(scratch_db, town, drill_id, "run.exe", b"MZ" + b"\0" * 10)
    with pytest.raises(ValueError, match="不符"):
        drills.add_attachment(scratch_db, town, drill_id, "photo.png", b"not a png at all")
    with pytest.raises(ValueError, match="过大"):
        drills.add_attachment(scratch_db, town, drill_id, "big.pdf", b"%PDF-" + b"0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(PermissionDenied):
        drills.add_attachment(scratch_db, user_row(scratch_db, "town101"), drill_id, "a.pdf", PDF)
    assert scratch_db.scalar("SELECT count(*) FROM drill_attachments WHERE drill_id = ?", [drill_id]) == 0
    att = drills.add_attachment(scratch_db, town, drill_id, "../../现场照片 1.png", PNG, "photo")
    pdf = drills.add_attachment(scratch_db, town, drill_id, "评估报告.PDF", PDF, "evaluation")
    stored = scratch_db.query("SELECT stored_path FROM drill_attachments WHERE drill_id = ? ORDER BY id", [drill_id])
    for (path,) in stored:
        assert path.startswith(f"attachments/{drill_id}/") and ".." not in path and "照片" not in path
        assert (drills.attachments_dir(scratch_db).parent / path).is_file()
    assert drills.attachment_bytes(scratch_db, att) == ("../../现场照片 1.png", PNG)
    assert drills.attachment_bytes(scratch_db, pdf)[1] == PDF
    assert audits(scratch_db, "drill_attachments", att) == 1


def test_corrective_action_followed_to_closure(scratch_db):
    town = user_row(scratch_db, "town100")
    drill_id = drills.create_drill(scratch_db, town, quick(held_on=date(2026, 9, 1)), ["ZR-01"], today=TODAY)
    with pytest.raises(ValueError, match="责任人"):
        drills.add_action(scratch_db, town, drill_id, "完善疏散路线标识", " ", date(2026, 10, 1))
    action = drills.add_action(scratch_db, town, drill_id, "完善疏散路线标识", "王伟", date(2026, 10, 1))
    row = next(a for a in drills.action_list(scratch_db, TODAY, township_code="410325100") if a["id"] == action)
    assert row["status"] == "overdue" and row["days_overdue"] == 55
    with pytest.raises(ValueError, match="整改情况说明"):
        drills.close_action(scratch_db, town, action, TODAY, "", today=TODAY)
    with pytest.raises(PermissionDenied):
        drills.close_action(scratch_db, user_row(scratch_db, "town101"), action, TODAY, "已整改", today=TODAY)
    drills.close_action(scratch_db, town, action, TODAY, "已重新设置标识牌", today=TODAY)
    row = next(a for a in drills.action_list(scratch_db, TODAY) if a["id"] == action)
    assert row["status"] == "closed" and row["closure_note"] == "已重新设置标识牌"
    with pytest.raises(ValueError, match="已于"):
        drills.close_action(scratch_db, town, action, TODAY, "again", today=TODAY)


def test_demo_has_overdue_corrective_actions(demo_db):
    rows = drills.action_list(demo_db, TODAY, only_open=True)
    assert any(r["status"] == "overdue" for r in rows)
    assert all(r["closed_on"] is None for r in rows)


def test_planned_drill_completed_and_another_cancelled(scratch_db):
    town = user_row(scratch_db, "town100")
    first = drills.create_planned(
        scratch_db,
        town,
        {
            "title": "城关镇地震应急演练",
            "level": "township",
            "township_code": "410325100",
            "plan_code": "ZR-04",
            "planned_on": date(2026, 11, 20),
        },
    )
    second = drills.create_planned(
        scratch_db,
        town,
        {
            "title": "城关镇燃气事故演练",
            "level": "township",
            "township_code": "410325100",
            "plan_code": "SG-09",
            "planned_on": date(2026, 12, 10),
        },
    )
    with pytest.raises(PermissionDenied):
        drills.create_planned(
            scratch_db, town, {"title": "x", "level": "township", "township_code": "410325101", "planned_on": TODAY}
        )
    rows = {r["id"]: r for r in drills.planned_list(scratch_db, TODAY, township_code="410325100")}
    assert rows[first]["state"] == "late" and rows[second]["state"] == "upcoming"
    drill_id = drills.create_drill(
        scratch_db,
        town,
        quick(held_on=date(2026, 11, 21), title="城关镇地震应急演练"),
        ["ZR-04"],
        today=TODAY,
        planned_id=first,
    )
    with pytest.raises(ValueError, match="取消原因"):
        drills.cancel_planned(scratch_db, town, second, " ")
    drills.cancel_planned(scratch_db, town, second, "与防汛检查冲突，改至次年")
    rows = {r["id"]: r for r in drills.planned_list(scratch_db, TODAY, township_code="410325100")}
    assert (rows[first]["status"], rows[first]["drill_id"], rows[first]["done_on"]) == (
        "done",
        drill_id,
        date(2026, 11, 21),
    )
    assert rows[second]["state"] == "cancelled" and rows[second]["cancel_reason"] == clean("与防汛检查冲突，改至次年")
    with pytest.raises(ValueError, match="已完成"):
        drills.cancel_planned(scratch_db, town, first, "x")
    assert "2026年11月" in drills.by_month(list(rows.values()))


def test_enterprise_registry_scope_edit_close(scratch_db):
    town, admin = user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    with pytest.raises(PermissionDenied):
        enterprises.create_enterprise(
            scratch_db, town, {"name": "外镇矿业", "sector": "non_coal_mine", "township_code": "410325101"}
        )
    with pytest.raises(ValueError, match="行业领域"):
        enterprises.create_enterprise(
            scratch_db, town, {"name": "某公司", "sector": "bakery", "township_code": "410325100"}
        )
    eid = enterprises.create_enterprise(
        scratch_db,
        town,
        {
            "name": "嵩县测试尾矿库",
            "sector": "tailings_pond",
            "township_code": "410325100",
            "contact_phone": "１３８００１３８０００",
        },
    )
    row = next(r for r in deadlines.enterprise_deadlines(scratch_db, TODAY) if r["id"] == eid)
    # No registration date: nothing to count from, due at once.
    assert row["status"] == "overdue" and row["due_on"] is None
    assert row["interval_months"] == 6 and "第8条" in row["source"]
    drills.create_drill(
        scratch_db,
        town,
        quick(level="enterprise", enterprise_id=eid, title="尾矿库溃坝演练", held_on=date(2026, 8, 1)),
        ["SG-04"],
        today=TODAY,
    )
    row = next(r for r in deadlines.enterprise_deadlines(scratch_db, TODAY) if r["id"] == eid)
    assert (row["last_drill_on"], row["due_on"], row["status"]) == (date(2026, 8, 1), date(2027, 2, 1), "due_soon")
    enterprises.update_enterprise(scratch_db, town, eid, {"sector": "other"})
    row = next(r for r in deadlines.enterprise_deadlines(scratch_db, TODAY) if r["id"] == eid)
    assert row["interval_months"] == 12 and row["status"] == "on_time"
    with pytest.raises(PermissionDenied):
        enterprises.update_enterprise(scratch_db, town, eid, {"township_code": "410325101"})
    enterprises.close_enterprise(scratch_db, admin, eid, TODAY, "停产注销")
    assert eid not in [r["id"] for r in deadlines.enterprise_deadlines(scratch_db, TODAY)]
    assert scratch_db.scalar("SELECT contact_phone FROM enterprises WHERE id = ?", [eid]) == "13800138000"
    assert audits(scratch_db, "enterprises", eid) == 3
