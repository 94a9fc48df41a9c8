"""Plan files (plans/*.md): parsing, validation messages and the sync into DuckDB."""

import csv
import datetime
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from emergency.enums import HAZARD_DOMAINS, PLAN_CATEGORIES
from emergency.plans import (
    PLANS_DIR,
    PlanFileError,
    load_plan_dir,
    parse_plan_file,
    sync_plans,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "data" / "plan-catalogue.csv"
MIGRATIONS = sorted((ROOT / "emergency" / "migrations").glob("*.sql"))

VALID = """\
---
code: ZR-01
name: 防汛应急预案
category: 自然灾害
lead_department: 县应急管理局
response_levels: 4
drill_rule: plan_drill_default
drill_every_months: 36
review_every_months: 36
version: 2024版
revised_on: 2024-06-30
hazard_domains:
  - flood
  - weather
---

> 模板：本文件为示范模板，请替换为本县正式印发的预案文本。

## 适用范围

测试。
"""


def catalogue_rows():
    with CATALOGUE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def real_plans():
    return load_plan_dir(PLANS_DIR)


def write(directory, name, text):
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def fresh_db():
    con = duckdb.connect(":memory:")
    for migration in MIGRATIONS:
        con.execute(migration.read_text(encoding="utf-8"))
    con.executemany("INSERT INTO hazard_domains (code, name) VALUES (?, ?)", list(HAZARD_DOMAINS.items()))
    return con


# The real plans/ directory ------------------------------------------------------------------


def test_plans_dir_points_at_repository_plans():
    assert PLANS_DIR == ROOT / "plans"


def test_real_directory_loads_40_plans_in_4_categories(real_plans):
    assert len(real_plans) == 40
    counts = Counter(p["category"] for p in real_plans)
    assert set(counts) == set(PLAN_CATEGORIES)
    assert counts == {"自然灾害": 10, "事故灾难": 16, "公共卫生事件": 5, "社会安全事件": 9}  # WS-06 is 事故灾难
    assert counts == Counter(row["category"] for row in catalogue_rows())


def test_real_files_match_catalogue(real_plans):
    by_code = {p["code"]: p for p in real_plans}
    rows = catalogue_rows()
    assert set(by_code) == {row["code"] for row in rows}
    for row in rows:
        plan = by_code[row["code"]]
        assert plan["source_file"] == f"{row['code']}.md"
        for field in ("name", "category", "lead_department"):
            assert plan[field] == row[field], (row["code"], field)
        for field in ("response_levels", "drill_every_months", "review_every_months"):
            assert plan[field] == int(row[field]), (row["code"], field)


def test_real_files_are_plausible_templates(real_plans):
    for plan in real_plans:
        code = plan["code"]
        assert 1 <= len(plan["hazard_domains"]) <= 3, code
        assert set(plan["hazard_domains"]) <= set(HAZARD_DOMAINS), code
        assert datetime.date(2022, 1, 1) <= plan["revised_on"] <= datetime.date(2024, 11, 30), code
        assert plan["version"] == f"{plan['revised_on'].year}版", code
        assert plan["is_template"] is True, code
        body = plan["body"]
        assert body.startswith("> 模板：本文件为示范模板，请替换为本县正式印发的预案文本。"), code
        for heading in ("## 适用范围", "## 组织指挥", "## 响应分级", "## 演练与评估"):
            assert heading in body, (code, heading)
        assert f"共{plan['response_levels']}级" in body, code
        assert f"每{plan['drill_every_months']}个月" in body, code
        assert f"每{plan['review_every_months']}个月" in body, code
        assert 5 <= len([line for line in body.splitlines() if line.strip()]) <= 10, code
    # revision dates are varied, not one date copied forty times
    assert len({p["revised_on"] for p in real_plans}) == 40


def test_domain_choices_for_some_plans(real_plans):
    by_code = {p["code"]: p["hazard_domains"] for p in real_plans}
    assert "flood" in by_code["ZR-01"]
    assert by_code["ZR-03"] == ["forest_fire"]
    assert "earthquake" in by_code["ZR-04"]
    assert "mine" in by_code["SG-03"]
    assert "hazchem" in by_code["SG-02"]
    assert by_code["SG-14"] == ["communication"]
    assert set(by_code["AQ-09"]) >= {"public_security", "fire"}
    for code, domains in by_code.items():
        if code.startswith("AQ-"):
            assert "public_security" in domains, code


# parse_plan_file ------------------------------------------------------------------------------


def test_parse_valid_file(tmp_path):
    plan = parse_plan_file(write(tmp_path, "ZR-01.md", VALID))
    assert plan["code"] == "ZR-01"
    assert plan["response_levels"] == 4
    assert plan["revised_on"] == datetime.date(2024, 6, 30)
    assert plan["hazard_domains"] == ["flood", "weather"]
    assert plan["source_file"] == "ZR-01.md"
    assert plan["is_template"] is True
    assert plan["body"].startswith("> 模板")
    assert "---" not in plan["body"]


def test_quoted_date_and_non_template_body(tmp_path):
    text = VALID.replace("revised_on: 2024-06-30", "revised_on: '2023-01-05'")
    text = text.replace("> 模板：本文件为示范模板，请替换为本县正式印发的预案文本。", "正式文本。")
    plan = parse_plan_file(write(tmp_path, "ZR-01.md", text))
    assert plan["revised_on"] == datetime.date(2023, 1, 5)
    assert plan["is_template"] is False


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "ZR-01.md"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.replace("\n", "\r\n").encode("utf-8"))
    assert parse_plan_file(path)["code"] == "ZR-01"


def _remove_line(prefix):
    return lambda text: "".join(line for line in text.splitlines(keepends=True) if not line.startswith(prefix))


def _replace(old, new):
    def edit(text):
        assert old in text
        return text.replace(old, new, 1)

    return edit


BAD_FILES = [
    ("missing_field", _remove_line("drill_rule:"), "ZR-01.md", "drill_rule"),
    ("unknown_rule", _replace("drill_rule: plan_drill_default", "drill_rule: yearly"), "ZR-01.md", "drill_rule"),
    ("bad_plan_type", _replace("response_levels: 4", "response_levels: 4\nplan_type: 总体"), "ZR-01.md", "plan_type"),
    ("missing_name", _remove_line("name:"), "ZR-01.md", "name"),
    ("bad_category", _replace("category: 自然灾害", "category: 天灾"), "ZR-01.md", "category"),
    ("months_not_int", _replace("drill_every_months: 36", "drill_every_months: abc"), "ZR-01.md", "drill_every_months"),
    ("months_zero", _replace("review_every_months: 36", "review_every_months: 0"), "ZR-01.md", "review_every_months"),
    ("months_float", _replace("drill_every_months: 36", "drill_every_months: 1.5"), "ZR-01.md", "drill_every_months"),
    ("months_bool", _replace("drill_every_months: 36", "drill_every_months: true"), "ZR-01.md", "drill_every_months"),
    ("levels_too_high", _replace("response_levels: 4", "response_levels: 5"), "ZR-01.md", "response_levels"),
    ("unknown_domain", _replace("  - weather", "  - volcano"), "ZR-01.md", "hazard_domains"),
    (
        "empty_domains",
        _replace("hazard_domains:\n  - flood\n  - weather", "hazard_domains: []"),
        "ZR-01.md",
        "hazard_domains",
    ),
    (
        "domains_not_list",
        _replace("hazard_domains:\n  - flood\n  - weather", "hazard_domains: flood"),
        "ZR-01.md",
        "hazard_domains",
    ),
    ("code_not_stem", lambda text: text, "ZR-02.md", "code"),
    ("code_bad_form", _replace("code: ZR-01", "code: zr-1"), "zr-1.md", "code"),
    ("bad_date", _replace("revised_on: 2024-06-30", "revised_on: 2024年6月"), "ZR-01.md", "revised_on"),
    (
        "empty_department",
        _replace("lead_department: 县应急管理局", "lead_department: ''"),
        "ZR-01.md",
        "lead_department",
    ),
    ("broken_yaml", _replace("name: 防汛应急预案", "name: [防汛应急预案"), "ZR-01.md", "YAML"),
    ("duplicate_key", _replace("category: 自然灾害", "category: 自然灾害\ncategory: 事故灾难"), "ZR-01.md", "YAML"),
    ("no_front_matter", lambda text: text.split("---\n", 2)[2], "ZR-01.md", "front matter"),
    ("unclosed_front_matter", lambda text: text.replace("---\n\n>", "\n>"), "ZR-01.md", "front matter"),
    ("front_matter_not_mapping", lambda text: "---\n- a\n- b\n---\n正文\n", "ZR-01.md", "front matter"),
]


@pytest.mark.parametrize(
    "edit, file_name, field", [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_validation_errors_name_file_and_field(tmp_path, edit, file_name, field):
    path = write(tmp_path, file_name, edit(VALID))
    with pytest.raises(PlanFileError) as info:
        parse_plan_file(path)
    message = str(info.value)
    assert file_name in message
    assert field in message
    assert info.value.field == field
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


def test_error_message_shows_current_value(tmp_path):
    path = write(tmp_path, "ZR-01.md", VALID.replace("drill_every_months: 36", "drill_every_months: abc"))
    with pytest.raises(PlanFileError) as info:
        parse_plan_file(path)
    assert str(info.value) == "预案文件 ZR-01.md：字段“drill_every_months”必须是正整数（当前值：abc）"


# load_plan_dir ------------------------------------------------------------------------------


def test_load_dir_sorted_and_first_error_raised(tmp_path):
    write(tmp_path, "ZR-02.md", VALID.replace("ZR-01", "ZR-02"))
    write(tmp_path, "ZR-01.md", VALID)
    write(tmp_path, "notes.txt", "not a plan")
    assert [p["code"] for p in load_plan_dir(tmp_path)] == ["ZR-01", "ZR-02"]

    write(tmp_path, "AQ-01.md", VALID.replace("category: 自然灾害", "category: ?"))
    write(tmp_path, "AQ-02.md", "no front matter")
    with pytest.raises(PlanFileError) as info:
        load_plan_dir(tmp_path)
    assert info.value.path.name == "AQ-01.md"


def test_duplicate_code_rejected(tmp_path, monkeypatch):
    # code must equal the file stem, so two files of one directory can only share a code if a
    # file is parsed twice; simulate that to check the guard in load_plan_dir.
    import emergency.plans as plans_module

    write(tmp_path, "ZR-01.md", VALID)
    write(tmp_path, "ZR-02.md", VALID.replace("ZR-01", "ZR-02"))
    real_parse = plans_module.parse_plan_file
    monkeypatch.setattr(plans_module, "parse_plan_file", lambda path: real_parse(tmp_path / "ZR-01.md"))
    with pytest.raises(PlanFileError) as info:
        load_plan_dir(tmp_path)
    assert "ZR-01.md" in str(info.value)
    assert "code" in str(info.value)
    assert "重复" in str(info.value)
    assert info.value.field == "code"


def test_sync_rejects_duplicate_codes(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    plans = [parse_plan_file(write(first, "ZR-01.md", VALID)), parse_plan_file(write(second, "ZR-01.md", VALID))]
    con = fresh_db()
    with pytest.raises(PlanFileError) as info:
        sync_plans(con.cursor(), plans)
    assert "ZR-01.md" in str(info.value) and "code" in str(info.value)
    assert con.execute("SELECT count(*) FROM plans").fetchone()[0] == 0


# sync_plans ---------------------------------------------------------------------------------


def counts(con):
    return (
        con.execute("SELECT count(*) FROM plans").fetchone()[0],
        con.execute("SELECT count(*) FROM plan_domains").fetchone()[0],
    )


def test_sync_into_fresh_database_is_idempotent(real_plans):
    con = fresh_db()
    cur = con.cursor()
    assert sync_plans(cur, real_plans) == (40, 0)
    after_first = counts(con)
    assert after_first == (40, sum(len(p["hazard_domains"]) for p in real_plans))
    assert con.execute("SELECT category, count(*) FROM plans GROUP BY category ORDER BY category").fetchall() == sorted(
        {"自然灾害": 10, "事故灾难": 16, "公共卫生事件": 5, "社会安全事件": 9}.items()
    )

    row = con.execute(
        "SELECT name, revised_on, is_template, source_file, status, needs_revision, body "
        "FROM plans WHERE code = 'SG-01'"
    ).fetchone()
    sg01 = next(p for p in real_plans if p["code"] == "SG-01")
    assert row[:6] == (sg01["name"], sg01["revised_on"], True, "SG-01.md", "active", False)
    assert row[6] == sg01["body"]

    assert sync_plans(cur, real_plans) == (0, 40)
    assert counts(con) == after_first


def test_sync_updates_changed_file_and_keeps_registry_fields(tmp_path):
    directory = tmp_path / "plans"
    shutil.copytree(PLANS_DIR, directory)
    con = fresh_db()
    cur = con.cursor()
    sync_plans(cur, load_plan_dir(directory))
    con.execute("UPDATE plans SET last_evaluated_on = DATE '2024-09-01', needs_revision = TRUE WHERE code = 'ZR-03'")
    # a plan only in the database is left alone
    con.execute(
        "INSERT INTO plans (code, name, category, lead_department, response_levels, "
        "drill_every_months, review_every_months) VALUES ('ZZ-99', '旧预案', '自然灾害', '县应急管理局', 4, 36, 36)"
    )

    path = directory / "ZR-03.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("name: 森林火灾应急预案", "name: 森林火灾应急预案（修订）")
    text = text.replace("drill_rule: plan_drill_default", "drill_rule: plan_drill_default\ndrill_every_months: 12")
    text = text.replace("revised_on: 2024-09-26", "revised_on: 2024-11-20")
    text = text.replace("  - forest_fire", "  - forest_fire\n  - weather")
    text = text.replace("> 模板：本文件为示范模板，请替换为本县正式印发的预案文本。", "嵩政办〔2024〕1号")
    path.write_text(text, encoding="utf-8")

    assert sync_plans(cur, load_plan_dir(directory)) == (0, 40)
    row = con.execute(
        "SELECT name, drill_every_months, revised_on, is_template, last_evaluated_on, "
        "needs_revision, status FROM plans WHERE code = 'ZR-03'"
    ).fetchone()
    assert row == (
        "森林火灾应急预案（修订）",
        12,
        datetime.date(2024, 11, 20),
        False,
        datetime.date(2024, 9, 1),
        True,
        "active",
    )
    domains = con.execute(
        "SELECT domain_code FROM plan_domains WHERE plan_code = 'ZR-03' ORDER BY domain_code"
    ).fetchall()
    assert domains == [("forest_fire",), ("weather",)]
    assert con.execute("SELECT count(*) FROM plans WHERE code = 'ZZ-99'").fetchone()[0] == 1

    # a domain removed from the file disappears from plan_domains
    path.write_text(text.replace("  - forest_fire\n", ""), encoding="utf-8")
    sync_plans(cur, load_plan_dir(directory))
    assert con.execute("SELECT domain_code FROM plan_domains WHERE plan_code = 'ZR-03'").fetchall() == [("weather",)]


def test_sync_rolls_back_on_error(real_plans):
    con = fresh_db()
    cur = con.cursor()
    broken = [dict(p) for p in real_plans]
    broken[-1]["hazard_domains"] = ["not_in_reference_table"]  # violates the foreign key
    with pytest.raises(duckdb.Error):
        sync_plans(cur, broken)
    assert counts(con) == (0, 0)
    # the cursor is usable again after the rollback
    assert sync_plans(cur, real_plans) == (40, 0)
