"""Browser tests: the real server on a free port, driven by Playwright in Debian's chromium."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

import pytest

from emergency.bench_browser import CHROMIUM, CHROMIUM_ARGS  # one way to launch chromium, bench and tests
from tests.helpers import running_server, screenshot

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@pytest.fixture(scope="session")
def server(tmp_path_factory, _private_key):
    """The app as a user starts it, on a database file that does not exist yet (first start)."""
    db = tmp_path_factory.mktemp("server") / "server.duckdb"
    with running_server(db, tmp_path_factory.mktemp("log")) as running:
        yield running


@pytest.fixture(scope="module")
def sweep_server(demo_db_path, tmp_path_factory, _private_key):
    """The app on a copy of the demo database, for one module's sweep of every page (tests/e2e/sweep.py)."""
    path = tmp_path_factory.mktemp("sweep") / "sweep.duckdb"
    shutil.copy(demo_db_path, path)
    with running_server(path, tmp_path_factory.mktemp("sweep_log")) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, for the page fixture to see whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request):
    """A page that refuses, and records, every request leaving this machine. When the test fails the
    page's screenshot and text are kept, so a failure in CI says what the user would have seen."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    outside: list[str] = []

    def guard(route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.outside_requests = outside
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _keep_what_was_on_screen(pg, request.node.name)
    context.close()


def _keep_what_was_on_screen(pg, name: str) -> None:
    try:
        screenshot(pg, f"failed_{name}")
        print("the page's text when the test failed:\n" + pg.locator("body").inner_text(timeout=5_000)[:4000])
    except Exception as exc:  # the page may be gone with the failure: the test's own error is what counts
        print(f"the page could not be read after the failure: {exc}")
