"""The holes a hostile tester found, closed: personal data that could be put back together, audit
rows with full phones, unchecked references, formulas behind spaces, exports that failed."""

import io
import re
import subprocess
import sys
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from emergency import audit, drills, exports, hygiene, imports, privacy, teams
from emergency.db import local_today
from tests.helpers import ROOT
from tests.helpers import user_row as user


def sheet_rows(data: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def candidates(masked: str, birth_year: int, gender: str) -> list[str]:
    """Every valid ID number that agrees with what a row shows: the masked number, the year, the gender."""
    region, tail = masked[:6], masked[-2:]
    found = []
    day = date(birth_year, 1, 1)
    while day.year == birth_year:
        for seq in range(100):
            first17 = f"{region}{day:%Y%m%d}{seq:02d}{tail[0]}"
            if privacy.id_check_char(first17) == tail[1] and privacy.gender_from_id(first17 + "0") == gender:
                found.append(first17 + tail[1])
        day += timedelta(days=1)
    return found


def run_cli(*args, db):
    return subprocess.run(
        [sys.executable, "-m", "emergency", *args, "--db", str(db.path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# 1 and 2: what a viewer exports can never be put back together into an ID number -----------------
def test_a_viewers_member_export_cannot_rebuild_any_id_number(scratch_db, tmp_path):
    db = scratch_db
    db.close()  # the command line opens the file itself
    out = tmp_path / "members.xlsx"
    done = run_cli("export", "members", str(out), "--as", "leader", db=db)
    assert done.returncode == 0, done.stderr
    assert "领导" in done.stdout or "只读" in done.stdout
    rows = sheet_rows(out.read_bytes())
    from emergency.db import Database

    db = Database(db.path)
    truth: dict = {}
    for name, team, cipher in db.query(
        "SELECT m.name, t.name, m.id_cipher FROM members m JOIN teams t"
        " ON t.id = m.team_id WHERE m.id_cipher IS NOT NULL"
    ):
        truth.setdefault((name, team), set()).add(privacy.decrypt_id(cipher))
    assert len(rows) > 7000 and "出生日期" not in rows[0] and "出生年份" in rows[0]
    assert all(re.fullmatch(r"\d{4}年", r["出生年份"]) for r in rows if r["出生年份"])
    with_id = [r for r in rows if r["身份证号"]]
    assert with_id and all(re.fullmatch(r"\d{6}\*{10}[\dX]{2}", r["身份证号"]) for r in with_id)
    for row in with_id[:: max(1, len(with_id) // 12)][:12]:  # a spread of rows: each has thousands of fits
        fits = candidates(row["身份证号"], int(row["出生年份"][:4]), row["性别"])
        real = truth.get((row["姓名"], row["所属队伍"]), set())
        assert real & set(fits)  # the search is right: the true number is among them
        assert len(fits) >= 1000, (row["姓名"], len(fits))
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'export' AND username = 'leader'") == 1
    db.close()


def test_the_old_mask_with_the_birth_date_gave_the_number_back():
    """Why the mask changed: first six + last four + the birth date leave exactly one number."""
    number = "11010519491231002X"
    old_mask = number[:6] + "********" + number[-4:]
    born = privacy.birth_date_from_id(number)
    rebuilt = [f"{old_mask[:6]}{born:%Y%m%d}{old_mask[-4:]}"]
    assert rebuilt == [number]
    assert privacy.mask_id(number) == "110105**********2X"


def test_export_as_a_township_operator_is_their_page_download(scratch_db, tmp_path):
    db = scratch_db
    path = db.path
    db.close()
    out = tmp_path / "town.xlsx"
    done = run_cli("export", "members", str(out), "--as", "town101", db=db)
    assert done.returncode == 0, done.stderr
    rows = sheet_rows(out.read_bytes())
    assert rows and {r["所属乡镇"] for r in rows} == {"田湖镇"}  # the page opens on the own township
    assert any(r["手机号"] and "*" not in r["手机号"] for r in rows)  # own township: phones in full
    assert "出生年份" in rows[0]
    other = tmp_path / "other.xlsx"
    assert run_cli("export", "members", str(other), "--as", "town101", "--township", "城关镇", db=db).returncode == 0
    others = sheet_rows(other.read_bytes())
    assert others and all("****" in r["手机号"] for r in others if r["手机号"])
    admin = tmp_path / "admin.xlsx"
    assert run_cli("export", "members", str(admin), db=db).returncode == 0
    admin_rows = sheet_rows(admin.read_bytes())
    assert "出生日期" in admin_rows[0] and any(isinstance(r["出生日期"], date) for r in admin_rows)
    unknown = run_cli("export", "members", str(admin), "--as", "nobody", db=db)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    from emergency.db import Database

    db = Database(path)
    assert db.query("SELECT username FROM audit_log WHERE action = 'export' ORDER BY id") == [
        ("town101",),
        ("town101",),
        ("system",),
    ]
    db.close()


def test_birth_dates_are_years_for_every_role_but_the_admin(scratch_db):
    db = scratch_db
    for username in ("leader", "town100"):
        frame = teams.member_list(db, user(db, username), township_code="410325100", limit=50)
        assert frame["birth_date"].dropna().map(lambda v: bool(re.fullmatch(r"\d{4}年", v))).all()
    admin = teams.member_list(db, user(db, "admin"), township_code="410325100", limit=50)
    assert admin["birth_date"].notna().any() and not admin["birth_date"].astype(str).str.endswith("年").any()


# 3: one masking rule for every audit row --------------------------------------------------------
def test_add_member_audits_the_phone_masked(scratch_db):
    db = scratch_db
    team = db.scalar("SELECT min(id) FROM teams WHERE township_code = '410325100' AND disbanded_on IS NULL")
    member_id, _ = teams.add_member(
        db,
        user(db, "town100"),
        {"team_id": team, "name": "王测试", "phone": "13912345678", "joined_on": date(2025, 1, 1)},
        "11010519491231002X",
    )
    after = db.scalar(
        "SELECT CAST(after AS VARCHAR) FROM audit_log WHERE table_name = 'members' AND action = 'create'"
        " AND record_id = ?",
        [str(member_id)],
    )
    assert "13912345678" not in after and "139****5678" in after
    assert "11010519491231002X" not in after and "19491231" not in after


def test_audit_masks_sensitive_fields_whatever_the_table(scratch_db):
    db = scratch_db
    db.write(
        lambda cur: audit.record(
            cur,
            user(db, "admin"),
            "update",
            "anything",
            1,
            {"duty_phone": "13800001111", "contact_phone": "13800002222"},
            {"phone": "13800003333", "password": "Secret-123", "secret": "SECabc"},
        )
    )
    before, after = db.query(
        "SELECT CAST(before AS VARCHAR), CAST(after AS VARCHAR) FROM audit_log ORDER BY id DESC LIMIT 1"
    )[0]
    for clear in ("13800001111", "13800002222", "13800003333", "Secret-123", "SECabc"):
        assert clear not in before + after


# 9: masking and formatting with None, NaN and empty strings ---------------------------------------
@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, pd.NaT, "", "   "])
def test_masks_take_empty_cells(value):
    assert privacy.mask_phone(value) == ""
    assert privacy.mask_id(value) == ""
    assert privacy.coarse_birth(value) == ""
    assert hygiene.clean(value) == ""
    assert hygiene.escape_markdown(value) == ""
    assert hygiene.neutralise_formula(value) is value


def test_a_team_without_duty_phone_is_listed_and_exported_by_every_role(scratch_db):
    db = scratch_db
    team = db.scalar("SELECT min(id) FROM teams WHERE township_code = '410325101' AND disbanded_on IS NULL")
    db.write(lambda cur: cur.execute("UPDATE teams SET duty_phone = NULL WHERE id = ?", [team]))
    for username in ("town100", "leader", "town101", "admin"):
        viewer = user(db, username)
        frame = teams.team_list_for(db, viewer)
        assert team in frame["id"].tolist()
        rows = sheet_rows(imports.export_xlsx(db, viewer, "teams"))
        assert len(rows) == len(frame)
        empty = [r for r in rows if r["值班电话"] in (None, "")]
        assert empty and not any(str(r["值班电话"]) == "nan" for r in rows)


# 10: every export produces its file -----------------------------------------------------------------
def test_the_audit_log_exports_with_its_time_zone(scratch_db):
    db = scratch_db
    latest = db.scalar("SELECT occurred_at FROM audit_log ORDER BY id DESC LIMIT 1")
    frame = audit.search(db)
    assert isinstance(frame["时间"].dtype, pd.DatetimeTZDtype)
    rows = sheet_rows(exports.export_xlsx(db, user(db, "admin"), frame, "审计日志"))
    assert len(rows) == len(frame)
    local = latest.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)  # the county's wall clock
    assert abs(rows[0]["时间"] - local) < timedelta(milliseconds=2)


def test_every_service_export_produces_a_workbook(scratch_db):
    """The functions behind every download button of every page (the browser test clicks them too)."""
    from emergency import reports, roster

    db = scratch_db
    for username in ("admin", "leader", "town100"):
        viewer = user(db, username)
        for kind in ("teams", "members"):
            assert sheet_rows(imports.export_xlsx(db, viewer, kind))
        page_filters = {"township_code": None, "kind": None, "level": None, "domain": None, "include_disbanded": False}
        assert sheet_rows(imports.export_xlsx(db, viewer, "teams", **page_filters))  # the teams page's own call
        findings = roster.roster_health(db, viewer, local_today(), None, roster.health_settings(db))
        for key, frame in findings.items():
            exports.export_xlsx(db, viewer, frame, key)
    for kind in imports.KINDS:
        assert openpyxl.load_workbook(io.BytesIO(imports.template_xlsx(db, kind)))
    for fmt in ("docx", "xlsx", "text"):
        assert reports.export(db, user(db, "admin"), 2024, fmt)


# 11: references a township user passes are checked for existence and scope --------------------------
def test_create_team_refuses_another_townships_or_a_missing_enterprise(scratch_db):
    db = scratch_db
    town = user(db, "town100")
    foreign = db.scalar("SELECT min(id) FROM enterprises WHERE township_code = '410325101'")
    own = db.scalar("SELECT min(id) FROM enterprises WHERE township_code = '410325100'")
    base = {
        "name": "测试企业队",
        "kind": "enterprise",
        "level": "enterprise",
        "township_code": "410325100",
        "established_on": date(2025, 1, 1),
    }
    teams_before = db.scalar("SELECT count(*) FROM teams")
    for bad, reason in ((foreign, "不在所选乡镇"), (999999, "不存在"), ("x1", "无效")):
        with pytest.raises(ValueError, match=reason):
            teams.create_team(db, town, {**base, "enterprise_id": bad}, [])
    assert db.scalar("SELECT count(*) FROM teams") == teams_before
    team = teams.create_team(db, town, {**base, "enterprise_id": own}, [])
    with pytest.raises(ValueError, match="不在所选乡镇"):
        teams.update_team(db, town, team, {"enterprise_id": foreign})
    assert db.scalar("SELECT enterprise_id FROM teams WHERE id = ?", [team]) == own


def test_planned_drill_refuses_another_townships_enterprise(scratch_db):
    db = scratch_db
    foreign = db.scalar("SELECT min(id) FROM enterprises WHERE township_code = '410325101'")
    with pytest.raises(ValueError, match="企业"):
        drills.create_planned(
            db,
            user(db, "town100"),
            {
                "title": "企业演练",
                "level": "enterprise",
                "township_code": "410325100",
                "enterprise_id": foreign,
                "planned_on": local_today(),
            },
        )


# 12: formulas behind spaces, tabs and line breaks ------------------------------------------------------
@pytest.mark.parametrize("value", ["\t=1+1", " =1+1", "\r+1", "\n-1", "  @SUM(A1)", "\t", "\rx", "　=1"])
def test_formula_neutralisation_sees_through_leading_whitespace(value):
    assert hygiene.neutralise_formula(value) == "'" + value


def test_exported_cells_with_hidden_formulas_stay_text(scratch_db):
    frame = pd.DataFrame({"名称": [' =HYPERLINK("http://x")', "\t+1", "正常"]})
    rows = sheet_rows(exports.export_xlsx(scratch_db, user(scratch_db, "admin"), frame, "测试"))
    assert [r["名称"] for r in rows] == ['\' =HYPERLINK("http://x")', "'\t+1", "正常"]


# 8: Markdown in user text --------------------------------------------------------------------------
def test_escape_markdown_leaves_no_construct():
    text = "![b](http://attacker/beacon.png) [点我](http://x) **粗** <img src=x> :red[红] $x$ www.a.cn a@b.cn"
    escaped = hygiene.escape_markdown(text)
    unescaped = re.sub(r"\\.", "", escaped)  # what is left once every escaped character is taken out
    assert not re.search(r"[!\[\]()<>*:$@.=/]", unescaped), unescaped
    shown = re.sub(r"\\(.)", r"\1", escaped).replace(hygiene.WORD_JOINER, "")
    assert shown == text  # what the reader sees is what was typed


def test_the_teams_page_lists_a_team_without_duty_phone_for_every_role(app, scratch_db):
    db = scratch_db
    db.write(lambda cur: cur.execute("UPDATE teams SET duty_phone = NULL WHERE township_code = '410325101'"))
    for username in ("leader", "town100", "town101"):
        at = app("emergency/ui/teams_page.py", as_user=username, db=db)
        at.selectbox[0].set_value("田湖镇").run()
        assert not at.exception
        table = at.dataframe[0].value
        assert len(table) and "nan" not in table["值班电话"].astype(str).tolist()


def test_a_viewer_sees_birth_years_not_dates_on_the_members_page(app):
    at = app("emergency/ui/members_page.py", as_user="leader")
    table = at.dataframe[0].value
    assert "出生日期" not in table.columns
    years = table["出生年份"].dropna()
    assert len(years) and years.map(lambda v: bool(re.fullmatch(r"\d{4}年", str(v)))).all()
