"""Websocket bytes and browser time of each page, through the real server and chromium (issue 19).

    .venv/bin/python scripts/page_bytes.py DB [--user admin] [--pages 演练记录,救援队伍] [--json]

DB is a database file (e.g. a demo generated at a scale: see emergency/bench.py); the server is
started on it on a free port as ./start.sh would, the user logs in, and every page of the sidebar
(or those named) is opened in turn; each line gives the bytes received over Streamlit's websocket
until the page went quiet, and the seconds it took. A development tool: it uses tests/helpers.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emergency.demo import DEMO_PASSWORDS  # noqa: E402
from emergency.ui import nav  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers import WebsocketBytes, login, page_bytes, running_server  # noqa: E402

ROLES = {"admin": "admin", "town100": "township", "leader": "viewer"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--user", default="admin", choices=sorted(ROLES))
    parser.add_argument("--pages", default="", help="page titles, comma-separated (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    role = ROLES[args.user]
    titles = [t for t in args.pages.split(",") if t] or [p.title for p in nav.PAGES if role in p.roles]
    from playwright.sync_api import sync_playwright

    results = []
    with tempfile.TemporaryDirectory() as logs, running_server(args.db, Path(logs)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN").new_page()
        counter = WebsocketBytes(page)
        login(page, server["url"], args.user, DEMO_PASSWORDS[role])
        page.get_by_role("heading", name="总览").wait_for(timeout=300_000)
        for title in titles:
            counter.settled(page, quiet_ms=800)
            started = time.monotonic()
            size = page_bytes(page, counter, title)
            # from the click to the last frame of the page (not the quiet period waited for after it)
            results.append({"page": title, "bytes": size, "seconds": round(counter.last_at - started, 2)})
            if not args.json:
                print(f"{title}\t{size / 1e6:.3f} MB\t{results[-1]['seconds']} s", flush=True)
        browser.close()
    if args.json:
        print(json.dumps({"db": str(args.db), "user": args.user, "pages": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
