"""Structured validation errors: every validator's problems as (field, reason), one per line on pages and in the CLI."""

import shutil
from datetime import date

import pytest

from emergency import cli, drills, enterprises, imports, linkage, teams
from emergency.errors import Problem, ValidationError
from emergency.ui.widgets import problems_markdown
from tests.helpers import user_row


@pytest.fixture(scope="module")
def validation_db(demo_db_path, tmp_path_factory):
    """One private copy of the demo database for the whole table (nothing is written: every case is refused)."""
    from emergency.db import Database

    path = tmp_path_factory.mktemp("validation") / "validation.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    yield db
    db.close()


def _team_id(db):
    return db.scalar("SELECT min(id) FROM teams WHERE disbanded_on IS NULL")


def _member_id(db):
    return db.scalar("SELECT min(id) FROM members")


def _drill_id(db):
    return db.scalar("SELECT min(id) FROM drills")


# Each case: a write with several problems at once, and the fields its ValidationError must name.
CASES = {
    "team": (
        lambda db, actor: teams.create_team(
            db, actor, {"name": " ", "kind": "nope", "level": "township", "established_on": None}, []
        ),
        {"队伍名称", "队伍类别", "所属乡镇", "成立日期"},
    ),
    "member": (
        lambda db, actor: teams.add_member(
            db, actor, {"team_id": _team_id(db), "name": "", "phone": "123", "joined_on": None}
        ),
        {"姓名", "手机号", "入队日期"},
    ),
    "drill": (
        lambda db, actor: drills.create_drill(
            db, actor, {"title": "", "organiser": "", "level": "county", "form": None, "participants": -1}, []
        ),
        {"演练名称", "组织单位", "演练形式", "演练日期", "参演人次", "演练预案"},
    ),
    "planned drill": (
        lambda db, actor: drills.create_planned(
            db, actor, {"title": "", "level": "township", "plan_code": "NO-SUCH", "planned_on": None}
        ),
        {"演练名称", "所属乡镇", "演练预案", "计划日期"},
    ),
    "enterprise": (
        lambda db, actor: enterprises.create_enterprise(
            db, actor, {"name": "", "sector": "nope", "township_code": None, "contact_phone": "123"}
        ),
        {"企业名称", "行业领域", "所属乡镇", "联系电话"},
    ),
    "contact": (
        lambda db, actor: linkage.add_contact(
            db, actor, {"township_code": "999999999", "role": "nope", "name": "", "phone": "123", "active_from": None}
        ),
        {"乡镇", "岗位", "姓名", "电话", "到岗日期"},
    ),
    "certificate": (
        lambda db, actor: teams.add_certificate(
            db, actor, _member_id(db), {"name": "", "issued_on": date(2024, 5, 1), "expires_on": date(2024, 1, 1)}
        ),
        {"证书名称", "有效期至"},
    ),
    "corrective action": (
        lambda db, actor: drills.add_action(db, actor, _drill_id(db), " ", "", None),
        {"整改事项", "责任人", "整改期限"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_validator_raises_validation_error_with_its_fields(validation_db, case):
    write, fields = CASES[case]
    audit_rows = validation_db.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(ValidationError) as raised:
        write(validation_db, user_row(validation_db, "admin"))
    problems = raised.value.problems
    assert {p.field for p in problems} == fields, [str(p) for p in problems]
    assert all(isinstance(p, Problem) and p.reason and p.row is None for p in problems)
    assert "：" not in "".join(p.field for p in problems)  # the field and the reason are apart
    # The text is what it always was: "field：reason" joined by "；" (CLI output, messages matched elsewhere)
    assert str(raised.value) == "；".join(f"{p.field}：{p.reason}" for p in problems)
    assert isinstance(raised.value, ValueError)
    assert validation_db.scalar("SELECT count(*) FROM audit_log") == audit_rows  # nothing written


def test_problem_text_for_forms_and_imports():
    assert str(Problem("队伍名称", "不能为空")) == "队伍名称：不能为空"
    assert str(Problem("", "该预警已叫应，不能重复登记")) == "该预警已叫应，不能重复登记"
    assert str(Problem("身份证号", "校验位错误", 7)) == "第7行 «身份证号»: 校验位错误"
    assert str(Problem("", "文件中没有数据行", 0)) == "文件: 文件中没有数据行"
    assert Problem("所属乡镇", "x", 3).column == "所属乡镇"
    assert imports.Problem is Problem  # one record for forms and imports
    single = ValidationError.single("撤销原因", "不能为空")
    assert single.problems == [Problem("撤销原因", "不能为空")] and str(single) == "撤销原因：不能为空"


def test_problems_markdown_one_escaped_item_per_problem():
    text = problems_markdown("未保存：", [Problem("队伍名称", "不能为空"), Problem("装备", "含 *星号* 和 [链接](x)")])
    heading, items = text.split("\n\n")
    assert heading == "未保存："
    assert items.splitlines() == ["- 队伍名称：不能为空", r"- 装备：含 \*星号\* 和 \[链接\]\(x\)"]


def test_cli_prints_one_problem_per_line(monkeypatch, tmp_path, capsys):
    def refused(db, args):
        raise ValidationError([Problem("队伍名称", "不能为空"), Problem("成立日期", "必须填写日期")])

    monkeypatch.setitem(cli.COMMANDS, "stats", refused)
    assert cli.main(["stats", "--year", "2024", "--db", str(tmp_path / "cli.duckdb")]) == 1
    assert capsys.readouterr().err.splitlines() == ["错误：", "  队伍名称：不能为空", "  成立日期：必须填写日期"]
    assert cli.error_text(ValidationError.single("撤销原因", "不能为空")) == "错误：撤销原因：不能为空"
    assert cli.error_text(ValueError("找不到乡镇：x")) == "错误：找不到乡镇：x"
