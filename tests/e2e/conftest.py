"""Browser tests: the real server on a free port, driven by Playwright in Debian's chromium."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse

import pytest

from tests.helpers import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@pytest.fixture(scope="session")
def server(tmp_path_factory, _private_key):
    """The app as a user starts it, on a database file that does not exist yet (first start)."""
    db = tmp_path_factory.mktemp("server") / "server.duckdb"
    port = free_port()
    env = dict(os.environ, EMERGENCY_DB=str(db))
    log = open(tmp_path_factory.mktemp("log") / "server.log", "w+")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "server.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            log.seek(0)
            raise RuntimeError("server did not start:\n" + log.read())
        yield {"url": url, "db": db, "startup_seconds": time.monotonic() - started, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page that refuses, and records, every request leaving this machine."""
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
    context.close()

