"""Structured evaluation (AQ/T 9009) and corrective actions to closure: findings open actions, an action
is verified by someone other than its owner, a plan's revision action closes only with the revision."""

from datetime import date

import pytest

from emergency import drills, evaluation, plans
from emergency.errors import ValidationError
from tests.helpers import user_row

TODAY = date(2026, 11, 30)


def _township_drill(db) -> int:
    """A drill of 城关镇 in 2026, with ZR-01 among its plans."""
    town = user_row(db, "town100")
    fields = {
        "title": "城关镇防汛应急演练（评估测试）",
        "held_on": date(2026, 6, 10),
        "participants": 60,
        "form": "live",
        "organiser": "城关镇人民政府",
        "level": "township",
        "township_code": "410325100",
    }
    return drills.create_drill(db, town, fields, ["ZR-01"], today=TODAY)


def _form(**changes) -> dict:
    form = {
        "method": "evaluation_team",
        "evaluators": "县应急局评估组",
        "evaluated_on": date(2026, 6, 12),
        "grade": "good",
        "scores": {"warning": "good", "mobilisation": "excellent", "communication": "poor"},
        "objectives": {},
        "execution": "按预案程序执行",
    }
    form.update(changes)
    return form


def test_an_evaluation_with_an_unmet_objective_and_a_poor_item_opens_actions(scratch_db):
    town = user_row(scratch_db, "town100")
    drill_id = _township_drill(scratch_db)
    met, unmet = evaluation.set_objectives(scratch_db, town, drill_id, ["30分钟内完成人员转移", "预警信息到村到户"])
    evaluation_id = evaluation.record_evaluation(
        scratch_db, town, drill_id, _form(objectives={met: True, unmet: False}), today=TODAY
    )
    actions = {a["description"]: a for a in drills.drill_detail(scratch_db, drill_id)["actions"]}
    assert set(actions) == {"演练目标未达成：预警信息到村到户", "评估项目“应急通信”评为差，需整改"}
    for action in actions.values():
        assert action["evaluation_id"] == evaluation_id and action["owner"] == "城关镇人民政府"
        assert action["due_on"] == date(2026, 7, 12)  # 30 days after the evaluation
    latest = evaluation.latest_evaluation(scratch_db, drill_id)
    assert latest["grade"] == "good" and latest["scores"]["communication"]["score"] == "poor"
    assert [(o["objective"], o["achieved"]) for o in latest["objectives"]] == [
        ("30分钟内完成人员转移", True),
        ("预警信息到村到户", False),
    ]
    audit = scratch_db.scalar(
        "SELECT count(*) FROM audit_log WHERE table_name = 'drill_evaluations' AND record_id = ?", [str(evaluation_id)]
    )
    assert audit == 1


def test_an_incomplete_evaluation_is_refused_naming_each_field_and_writes_nothing(scratch_db):
    town = user_row(scratch_db, "town100")
    drill_id = _township_drill(scratch_db)
    evaluation.set_objectives(scratch_db, town, drill_id, ["预警信息到村到户"])
    with pytest.raises(ValidationError) as refused:
        evaluation.record_evaluation(
            scratch_db,
            town,
            drill_id,
            _form(evaluators=" ", grade="A+", scores={"communication": "5"}, evaluated_on=date(2026, 6, 1)),
            today=TODAY,
        )
    fields = {p.field for p in refused.value.problems}
    assert fields == {"评估人员", "总体评价", "应急通信", "评估日期", "演练目标"}
    assert scratch_db.scalar("SELECT count(*) FROM drill_evaluations WHERE drill_id = ?", [drill_id]) == 0
    assert scratch_db.scalar("SELECT count(*) FROM corrective_actions WHERE drill_id = ?", [drill_id]) == 0
    with pytest.raises(PermissionError):
        evaluation.record_evaluation(scratch_db, user_row(scratch_db, "town101"), drill_id, _form(), today=TODAY)


def test_an_action_is_verified_by_someone_other_than_its_owner_and_its_closer(scratch_db):
    town, admin = user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    drill_id = _township_drill(scratch_db)
    action_id = drills.add_action(scratch_db, town, drill_id, "补齐应急广播", town.display_name, date(2026, 8, 1))
    with pytest.raises(ValidationError, match="尚未完成整改"):
        evaluation.verify_action(scratch_db, admin, action_id, "acceptance", True, "核对", on=TODAY)
    drills.close_action(scratch_db, town, action_id, date(2026, 7, 20), "已安装", today=TODAY, evidence="验收单照片")
    # The owner (and the one who closed it) may not verify it.
    with pytest.raises(ValidationError) as refused:
        evaluation.verify_action(scratch_db, town, action_id, "acceptance", True, "自查合格", on=TODAY)
    assert {p.reason for p in refused.value.problems} >= {"责任人不能复查或验收自己的整改事项"}
    # A failed check reopens it; closed again, another person accepts it.
    evaluation.verify_action(scratch_db, admin, action_id, "review", False, "广播未覆盖三组", on=TODAY)
    reopened = drills.action_record(scratch_db, action_id)
    assert reopened["closed_on"] is None and reopened["verification_note"] == "复查未通过：广播未覆盖三组"
    drills.close_action(scratch_db, town, action_id, TODAY, "三组已补装", today=TODAY, evidence="照片3张")
    done = evaluation.verify_action(scratch_db, admin, action_id, "acceptance", True, "现场核实", on=TODAY)
    assert done["verified_on"] == TODAY and done["verified_by"] == "admin"
    status = {r["id"]: r["status"] for r in drills.action_list(scratch_db, TODAY)}
    assert status[action_id] == "verified"


def test_an_action_without_evidence_cannot_be_accepted(scratch_db):
    town, admin = user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    drill_id = _township_drill(scratch_db)
    action_id = drills.add_action(scratch_db, town, drill_id, "补充物资", "物资组", date(2026, 8, 1))
    drills.close_action(scratch_db, town, action_id, date(2026, 7, 1), "已补充", today=TODAY)
    with pytest.raises(ValidationError, match="佐证材料"):
        evaluation.verify_action(scratch_db, admin, action_id, "acceptance", True, "核对", on=TODAY)


def test_a_plan_found_wanting_is_flagged_and_its_action_closes_only_with_the_revision(scratch_db):
    town, admin = user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    drill_id = _township_drill(scratch_db)
    scratch_db.write(lambda cur: cur.execute("UPDATE plans SET needs_revision = FALSE WHERE code = 'ZR-01'"))
    evaluation.record_evaluation(
        scratch_db, town, drill_id, _form(plan_needs_revision=True, scores={"warning": "good"}), today=TODAY
    )
    assert scratch_db.scalar("SELECT needs_revision FROM plans WHERE code = 'ZR-01'") is True
    action = next(a for a in drills.drill_detail(scratch_db, drill_id)["actions"] if a["origin"] == "plan")
    assert action["plan_code"] == "ZR-01"
    with pytest.raises(ValidationError, match="登记预案 ZR-01 的修订"):
        drills.close_action(scratch_db, admin, action["id"], TODAY, "已改", today=TODAY, evidence="x")
    # A second drill finding the same plan does not open a second revision action.
    other = _township_drill(scratch_db)
    evaluation.record_evaluation(
        scratch_db, town, other, _form(plan_needs_revision=True, scores={"warning": "good"}), today=TODAY
    )
    assert (
        scratch_db.scalar("SELECT count(*) FROM corrective_actions WHERE plan_code = 'ZR-01' AND closed_on IS NULL")
        == 1
    )
    version = scratch_db.scalar("SELECT version FROM plans WHERE code = 'ZR-01'")
    plans.record_revision(scratch_db, admin, "ZR-01", f"{version}-r", TODAY, "依演练评估修订", today=TODAY)
    closed = drills.action_record(scratch_db, action["id"])
    assert closed["closed_on"] == TODAY and "ZR-01" in closed["evidence"]
    assert scratch_db.scalar("SELECT needs_revision FROM plans WHERE code = 'ZR-01'") is False


@pytest.mark.parametrize(
    ("form", "objective_texts", "origins"),
    [
        ({"objectives": {1: True}, "scores": {"warning": "good"}}, {1: "a"}, []),
        ({"objectives": {1: False}, "scores": {}}, {1: "a"}, ["objective"]),
        ({"scores": {"warning": "poor", "medical": "poor", "cordon": "fair"}}, {}, ["item", "item"]),
        ({"scores": {}, "plan_needs_revision": True}, {}, ["plan", "plan"]),
    ],
)
def test_findings_to_actions(form, objective_texts, origins):
    plans_drilled = [{"code": "ZR-01", "name": "甲"}, {"code": "ZR-02", "name": "乙"}]
    actions = evaluation.actions_from_findings(form, objective_texts, plans_drilled)
    assert [a["origin"] for a in actions] == origins


def test_the_drill_record_takes_a_structured_evaluation(app, scratch_db):
    town = user_row(scratch_db, "town100")
    drill_id = _township_drill(scratch_db)
    (goal,) = evaluation.set_objectives(scratch_db, town, drill_id, ["预警信息到村到户"])
    at = app("emergency/ui/drills_page.py", as_user="town100", db=scratch_db, drill=str(drill_id))
    assert not at.exception
    next(t for t in at.text_input if t.label == "评估人员 *").input("镇评估组")
    next(s for s in at.selectbox if s.label == "应急通信").set_value("poor")
    next(s for s in at.selectbox if s.label == "总体评价").set_value("pass")
    next(b for b in at.button if b.label == "保存评估结果").click().run()
    assert not at.exception and any("已保存评估" in s.value for s in at.success), [e.value for e in at.error]
    latest = evaluation.latest_evaluation(scratch_db, drill_id)
    assert latest["grade"] == "pass" and latest["evaluators"] == "镇评估组"
    descriptions = {a["description"] for a in drills.drill_detail(scratch_db, drill_id)["actions"]}
    assert descriptions == {"演练目标未达成：预警信息到村到户", "评估项目“应急通信”评为差，需整改"}
    assert goal


def test_a_drills_organisation_names_registry_teams_of_its_own_township(scratch_db):
    town = user_row(scratch_db, "town100")
    drill_id = _township_drill(scratch_db)
    choices = evaluation.team_choices(scratch_db, "410325100")
    own = next(i for i in choices if scratch_db.scalar("SELECT township_code FROM teams WHERE id = ?", [i]))
    county = next(i for i in choices if scratch_db.scalar("SELECT township_code FROM teams WHERE id = ?", [i]) is None)
    other = scratch_db.scalar("SELECT id FROM teams WHERE township_code = '410325101' AND disbanded_on IS NULL LIMIT 1")
    fields = {"commander": "张镇长", "safety_measures": "设置警戒区", "equipment": "冲锋舟2艘", "notice": "unannounced"}
    with pytest.raises(ValidationError, match="本乡镇或县级"):
        evaluation.set_organisation(scratch_db, town, drill_id, fields, [own, other])
    evaluation.set_organisation(scratch_db, town, drill_id, fields, [own, county, own])
    org = evaluation.organisation(scratch_db, drill_id)
    assert org["commander"] == "张镇长" and org["notice"] == "unannounced" and org["observers"] is None
    assert sorted(t["id"] for t in org["teams"]) == sorted([own, county])
    # Saved again: updated in place, the team list replaced.
    evaluation.set_organisation(scratch_db, town, drill_id, {**fields, "observers": "县领导"}, [county])
    org = evaluation.organisation(scratch_db, drill_id)
    assert org["observers"] == "县领导" and [t["id"] for t in org["teams"]] == [county]
    assert scratch_db.scalar("SELECT count(*) FROM drill_organisation WHERE drill_id = ?", [drill_id]) == 1


def test_the_summary_report_carries_objectives_organisation_and_the_evaluation(scratch_db):
    import io

    from docx import Document

    from emergency import archive

    town = user_row(scratch_db, "town100")
    drill_id = _township_drill(scratch_db)
    (goal,) = evaluation.set_objectives(scratch_db, town, drill_id, ["预警信息到村到户"])
    evaluation.set_organisation(scratch_db, town, drill_id, {"commander": "张镇长"}, [])
    evaluation.record_evaluation(scratch_db, town, drill_id, _form(objectives={goal: True}), today=TODAY)
    text = "\n".join(p.text for p in Document(io.BytesIO(archive.summary_docx(scratch_db, drill_id))).paragraphs)
    assert "演练目标：预警信息到村到户" in text and "总指挥：张镇长" in text
    assert "以评估组评估方式评估，总体评价为良好" in text and "应急通信差" in text and "达成1项" in text


def test_a_drill_logged_by_mistake_is_deleted_with_its_evaluation_and_organisation(scratch_db):
    from emergency import records

    town, admin = user_row(scratch_db, "town100"), user_row(scratch_db, "admin")
    drill_id = _township_drill(scratch_db)
    (goal,) = evaluation.set_objectives(scratch_db, town, drill_id, ["预警信息到村到户"])
    evaluation.set_organisation(scratch_db, town, drill_id, {"commander": "张镇长"}, [])
    evaluation.record_evaluation(scratch_db, town, drill_id, _form(objectives={goal: False}), today=TODAY)
    records.delete(scratch_db, admin, "drills", drill_id)
    assert scratch_db.scalar("SELECT count(*) FROM drills WHERE id = ?", [drill_id]) == 0
    for table in ("drill_evaluations", "drill_evaluation_items", "drill_objectives", "drill_organisation"):
        assert scratch_db.scalar(f"SELECT count(*) FROM {table} WHERE drill_id = ?", [drill_id]) == 0, table
