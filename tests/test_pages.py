"""AppTest: each page runs headless against the demo database, as each role."""

from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emergency import auth, teams
from emergency.demo import DEMO_PASSWORDS
from tests.helpers import ACCOUNT_CHANGES, change_account, user_row

ROOT = Path(__file__).resolve().parent.parent


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.label + " " + str(m.value) for m in at.metric]
    parts += [str(e.value) for e in at.title] + [str(e.value) for e in at.subheader]
    return "\n".join(parts)


def all_cells(at: AppTest) -> str:
    return "\n".join(d.value.to_csv() for d in at.dataframe)


def test_no_data_before_login(app):
    at = app(as_user=None, year="2024")
    assert not at.metric and not at.dataframe
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_login_form_logs_in_and_out(app):
    at = app(as_user=None)
    at.text_input[0].input("town100")
    at.text_input[1].input(DEMO_PASSWORDS["township"])
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert "城关镇" in texts(at)
    at.button(key="logout").click().run()
    assert not at.metric and "已退出登录" in at.info[0].value


def test_wrong_password_is_refused(app):
    at = app(as_user=None)
    at.text_input[0].input("leader")
    at.text_input[1].input("not-the-password1")
    at.button[0].click().run()
    assert at.error[0].value == "用户名或密码错误" and not at.metric


@pytest.mark.parametrize("change", ACCOUNT_CHANGES)
def test_open_tab_is_logged_out_at_its_next_rerun_after_an_account_change(app, scratch_db, change):
    at = app(as_user="town100", db=scratch_db)
    assert at.title[0].value == "总览"
    change_account(scratch_db, change)
    at.run()  # the same browser tab, still holding the user in its session state
    assert not at.exception and not at.metric and not at.dataframe
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert "登录已失效" in at.info[0].value


def test_users_page_changes_role_and_disables(app, scratch_db):
    db = scratch_db
    token = auth.open_session(db, user_row(db, "town100"))
    at = app("emergency/ui/users_page.py", db=db)
    at.selectbox(key="account_user").set_value("town100")
    at.selectbox(key="account_role").set_value("viewer")
    next(b for b in at.button if b.label == "修改角色").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert user_row(db, "town100").role == "viewer" and auth.resume_session(db, token) is None
    at.selectbox(key="account_user").set_value("town101")
    next(b for b in at.button if b.label == "停用账号").click().run()
    assert db.scalar("SELECT is_active FROM users WHERE username = 'town101'") is False
    at.selectbox(key="account_user").set_value("admin")
    next(b for b in at.button if b.label == "停用账号").click().run()
    assert "自己" in at.error[0].value
    assert db.scalar("SELECT is_active FROM users WHERE username = 'admin'") is True


def test_overview_shows_the_2024_figures(app):
    at = app(year="2024", as_user="leader")
    assert at.title[0].value == "总览"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["应急救援队伍（支）"] == "388"
    assert metrics["队员（人）"] == "7,349"
    assert metrics["县乡两级演练（场次）"] == "92"
    assert metrics["非煤矿山等领域参演（人次）"] == "6,967"
    assert "现有应急救援队伍388支、队员7349人" in texts(at)


def test_overview_year_switch_recomputes(app):
    at = app(year="2024")
    at.selectbox[0].set_value(2023).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["县乡两级演练（场次）"] != "92"


def test_places_page_shows_missing_coordinates(app):
    at = app("emergency/ui/places.py")
    assert any("白河镇" in w.value for w in at.warning)
    frame = at.dataframe[0].value
    assert len(frame) == 19 and "坐标缺失" in frame["驻地坐标WGS84"].tolist()


def test_plans_page_lists_the_four_categories(app):
    at = app("emergency/ui/plans_page.py")
    assert [s.value for s in at.subheader] == ["自然灾害", "事故灾难", "公共卫生事件", "社会安全事件"]
    assert sum(len(d.value) for d in at.dataframe[:4]) == 40  # then the township and village plans


def test_admin_pages_are_admin_only(app, log_in, demo_db, demo_db_path, monkeypatch):
    assert app("emergency/ui/audit_page.py", as_user="admin").dataframe  # the admin reaches it
    for username in ("leader", "town100"):
        with pytest.raises(ValueError):  # not in a non-admin's navigation at all
            app("emergency/ui/audit_page.py", as_user=username)
        # and the page refuses even when run directly
        at = AppTest.from_file(str(ROOT / "emergency/ui/audit_page.py"), default_timeout=60)
        log_in(at, username)
        at.run()
        assert at.error and "管理员" in at.error[0].value and not at.dataframe


def test_viewer_sees_phones_and_ids_masked_on_every_page(app, demo_db):
    phones = [p for (p,) in demo_db.query("SELECT phone FROM members WHERE phone IS NOT NULL LIMIT 2000")]
    for page in ("emergency/ui/members_page.py", "emergency/ui/teams_page.py"):
        at = app(page, as_user="leader")
        cells = all_cells(at)
        assert "****" in cells
        assert not any(p in cells for p in phones if len(p) == 11), page
        assert "********" in cells or page.endswith("teams_page.py")


def test_township_sees_own_phones_in_full_others_masked(app, demo_db):
    at = app("emergency/ui/members_page.py", as_user="town100")
    frame = at.dataframe[0].value
    own_phone = demo_db.scalar(
        "SELECT m.phone FROM members m JOIN teams t ON t.id = m.team_id"
        " WHERE t.township_code = '410325100' AND length(m.phone) = 11 AND m.left_on IS NULL"
        " LIMIT 1"
    )
    assert own_phone in frame["手机号"].tolist()
    at.selectbox[0].set_value("田湖镇").run()
    assert all("****" in p for p in at.dataframe[0].value["手机号"] if p)


def test_team_name_with_markup_is_shown_as_text(app, scratch_db):
    admin = user_row(scratch_db, "admin")
    name = "<img src=x onerror=alert(1)>"
    teams.create_team(
        scratch_db,
        admin,
        {
            "name": name,
            "kind": "civil",
            "level": "civil",
            "township_code": "410325107",
            "established_on": datetime(2024, 1, 1).date(),
        },
        ["flood"],
    )
    at = app("emergency/ui/teams_page.py", db=scratch_db)
    at.selectbox[0].set_value("白河镇").run()
    assert name in at.dataframe[0].value["队伍名称"].tolist()
    assert not any("<img" in m.value for m in at.markdown)  # never injected as markup


def test_no_full_phone_or_id_number_reaches_a_viewer_on_any_page(app, demo_db):
    """Every page the viewer can open, as drawn: tables, text, and the map script."""
    import re

    from emergency import privacy
    from emergency.ui import nav

    phones = set()
    for sql in (
        "SELECT phone FROM members",
        "SELECT duty_phone FROM teams",
        "SELECT phone FROM contacts",
        "SELECT contact_phone FROM enterprises",
    ):
        phones |= {p for (p,) in demo_db.query(sql) if p and len(p) == 11}
    ids = {privacy.decrypt_id(c) for (c,) in demo_db.query("SELECT id_cipher FROM members LIMIT 300")}
    pages = [p.path for specs in nav.pages_for("viewer").values() for p in specs]
    assert len(pages) >= 15
    for page in pages:
        at = app(page, as_user="leader")
        drawn = [all_cells(at), texts(at)]
        drawn += [getattr(e.proto, "json_args", "") for e in at.get("component_instance")]
        drawn += [str(e.value) for e in at.get("code")] + [str(e.value) for e in at.caption]
        text = "\n".join(drawn)
        shown = set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))
        assert not (shown & phones), (page, sorted(shown & phones)[:3])
        assert not any(i in text for i in ids), page


def test_users_page_creates_a_user_then_draws_the_form_empty_with_the_user_listed(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/users_page.py", db=db)
    form = {t.label: t for t in at.text_input}
    form["用户名"].input("town_new")
    form["姓名"].input("新填报员")
    form["初始密码"].input("Town-new-2026!")
    next(b for b in at.button if b.label == "创建").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    new_id = db.scalar("SELECT id FROM users WHERE username = 'town_new'")
    assert [s.value for s in at.success] == [f"已创建用户（编号 {new_id}）"]
    assert "town_new" in at.dataframe[0].value["用户名"].tolist()  # the list above the form has it
    assert {t.label: t.value for t in at.text_input}["初始密码"] == ""  # the password is not kept
