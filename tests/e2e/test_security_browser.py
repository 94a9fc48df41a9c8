"""In a real browser: user text is never Markdown, and every download button gives a file that opens."""

import io
import shutil

import docx
import openpyxl
import pytest

from emergency.db import Database
from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, open_browser_tab, running_server, screenshot

BEACON = "http://attacker.invalid/beacon.png"
HOSTILE = {
    "title": "演练[点我](http://attacker.invalid/link)",
    "place": f"![b]({BEACON})",
    "evaluation": "**粗体** <img src=http://attacker.invalid/x.png> http://attacker.invalid/auto www.attacker.invalid",
    "participating_units": ":red[红色] $x^2$ <a href='http://attacker.invalid/a'>a</a>",
}


@pytest.fixture(scope="module")
def hostile_server(demo_db_path, tmp_path_factory, _private_key):
    """The demo with one drill whose every text field holds Markdown and HTML."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    drill = db.scalar("SELECT min(id) FROM drills WHERE township_code = '410325100'")
    db.write(
        lambda cur: cur.execute(
            f"UPDATE drills SET {', '.join(f'{k} = ?' for k in HOSTILE)} WHERE id = ?", [*HOSTILE.values(), drill]
        )
    )
    db.close()
    with running_server(path, tmp_path_factory.mktemp("hostile_log")) as running:
        running["drill"] = drill
        yield running


def test_markdown_in_a_drill_is_shown_as_text(hostile_server, page):
    login(page, hostile_server["url"], "leader", DEMO_PASSWORDS["viewer"])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    page.wait_for_timeout(500)  # the session cookie is written: the next load resumes the session
    page.goto(hostile_server["url"] + f"/drills?drill={hostile_server['drill']}", wait_until="domcontentloaded")
    page.get_by_role("heading", name="演练记录").wait_for(timeout=90_000)
    page.get_by_text("![b](", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    screenshot(page, "hostile_drill")
    main = page.get_by_test_id("stMain")
    assert main.locator("img[src*='attacker']").count() == 0
    links = main.locator("a[href*='attacker']:not([href^='#'])")  # a heading's own in-page anchor is fine
    assert links.count() == 0, [links.nth(i).evaluate("e => e.outerHTML") for i in range(links.count())]
    assert main.locator("strong:has-text('粗体')").count() == 0
    body = main.inner_text().replace("\u2060", "")  # the invisible word joiner that stops autolinks
    for typed in (
        "![b](http://attacker.invalid/beacon.png)",
        "[点我](http://attacker.invalid/link)",
        "**粗体**",
        ":red[红色]",
    ):
        assert typed in body, typed
    assert page.outside_requests == [], page.outside_requests


def _download(page, button) -> bytes:
    with page.expect_download(timeout=180_000) as info:  # the roster checks read every member
        button.click()
    return open(info.value.path(), "rb").read()


def _opens(name: str, data: bytes) -> None:
    if name.endswith(".xlsx"):
        assert openpyxl.load_workbook(io.BytesIO(data)).active.max_row >= 1
    elif name.endswith(".docx"):
        assert docx.Document(io.BytesIO(data)).paragraphs
    else:
        assert data.decode("utf-8").strip()


# (page title, roles that open it) for every page with a download button
DOWNLOAD_PAGES = [
    ("救援队伍", ("admin", "leader", "town100")),
    ("队员", ("admin", "leader", "town100")),
    ("演练记录", ("admin", "leader", "town100")),
    ("专项应急预案", ("leader",)),
    ("演练计划", ("town100",)),
    ("重点企业", ("town100",)),
    ("三级联动", ("leader",)),
    ("队伍健康检查", ("admin", "leader")),
    ("导入", ("admin",)),
    ("年度报告", ("admin",)),
    ("审计日志", ("admin",)),
]
PASSWORDS = {
    "admin": DEMO_PASSWORDS["admin"],
    "leader": DEMO_PASSWORDS["viewer"],
    "town100": DEMO_PASSWORDS["township"],
}


@pytest.mark.parametrize("username", ["admin", "leader", "town100"])
def test_every_download_button_gives_a_file_that_opens(server, page, username):
    login(page, server["url"], username, PASSWORDS[username])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    got = []
    for title, roles in DOWNLOAD_PAGES:
        if username not in roles:
            continue
        go_to(page, title)
        page.get_by_role("heading", name=title).wait_for(timeout=60_000)
        page.get_by_test_id("stDownloadButton").first.wait_for(state="attached", timeout=60_000)
        closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary:has-text('导出')")
        while closed.count():  # exports inside an expander (三级联动)
            closed.first.click()
            page.wait_for_timeout(300)
        page.get_by_test_id("stDownloadButton").locator("button:visible").first.wait_for(timeout=60_000)
        tabs = page.get_by_role("tab")
        for index in range(max(1, tabs.count())):
            if tabs.count():
                open_browser_tab(page, tabs.nth(index))
            buttons = page.get_by_test_id("stDownloadButton").locator("button:visible")
            for i in range(buttons.count()):
                data = _download(page, buttons.nth(i))
                name = info_name = buttons.nth(i).inner_text()
                kind = ".docx" if "Word" in info_name else ".txt" if "文本" in info_name else ".xlsx"
                _opens(kind, data)
                got.append((title, name))
    assert got and page.outside_requests == []
    expected = {title for title, roles in DOWNLOAD_PAGES if username in roles}
    assert {title for title, _ in got} == expected, got
