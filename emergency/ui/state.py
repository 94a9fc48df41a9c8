"""The process-wide resources a page needs: the database (opened and prepared once per process) and
the scheduler (started once per process, after the database, and shut down when released).

The scheduler runs unless the environment variable EMERGENCY_SCHEDULER says "off" (tests/conftest.py
sets it: AppTest runs pages inside the test process, on a demo database that must stay untouched).
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path

import streamlit as st

from ..db import Database, default_db_path
from ..setup import ensure_ready_with_demo


@st.cache_resource(show_spinner="正在准备数据库（首次启动将生成演示数据）……")
def _database(path: str) -> Database:
    db = Database(path)
    ensure_ready_with_demo(db)
    return db


def warm_up() -> None:
    """Work the first page view after a start would otherwise pay, done at the start: Streamlit
    imports its emoji catalogue and compiles its regex (0.1-0.8 s of CPU) at the first alert or
    label in Chinese."""
    from streamlit.string_util import extract_leading_emoji

    extract_leading_emoji("预热")


def warm_caches() -> None:
    """Fill the caches the first views of 地图 and 三级联动 read now (地图's data, folium strings and first
    table; 三级联动's status and first tables: 0.2-0.4 s of CPU each at the county's size), and the
    counts of 队伍健康检查's county view (0.7 s at 100 times the county), so that these views do not
    wait for them."""
    from .. import roster
    from ..db import local_today
    from ..linkage import _now
    from . import linkage_cache, map_cache

    db, now = get_db(), _now()
    map_cache.warm(db, now)
    linkage_cache.warm(db, now)
    roster.health_summary_kept(db, local_today(), None, roster.health_settings(db))


def keep_warm_in_background(after: threading.Thread | None = None) -> threading.Thread:
    """keep_warm in a daemon thread, started once `after` (the preload) has ended."""

    def work() -> None:
        if after is not None:
            after.join()
        keep_warm()

    thread = threading.Thread(target=work, name="keep-warm", daemon=True)
    thread.start()
    return thread


def keep_warm(stop: threading.Event | None = None) -> None:
    """warm_caches now and again at the start of each linkage status period (their key: a view in a
    new period would otherwise compute them), until `stop` is set; a failure is logged, not raised
    (a view computes what it misses)."""
    import logging
    from datetime import timedelta

    from ..linkage import STATUS_MINUTES, _now, status_period

    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            warm_caches()
        except Exception:  # noqa: BLE001 - a warm-up must not end the thread
            logging.getLogger(__name__).exception("warming the page caches failed")
        now = _now()
        next_period = status_period(now) + timedelta(minutes=STATUS_MINUTES, seconds=5)
        stop.wait((next_period - now).total_seconds())


def scheduler_enabled() -> bool:
    setting = os.environ.get("EMERGENCY_SCHEDULER", "").strip().lower()
    return setting not in ("off", "0", "false", "no")


def _stop_scheduler(scheduler) -> None:
    from .. import scheduler as jobs

    jobs.stop(scheduler, wait=False)


@st.cache_resource(show_spinner=False, on_release=_stop_scheduler)
def _scheduler(path: str):
    import atexit

    from .. import scheduler as jobs

    running = jobs.start(_database(path))
    atexit.register(jobs.stop, running, False)
    return running


def get_db() -> Database:
    """The app's database; EMERGENCY_DB chooses the file (read at each run, so tests can point it).
    The first call in a process also starts the scheduler (see scheduler_enabled)."""
    path = str(default_db_path())
    db = _database(path)
    if scheduler_enabled():
        _scheduler(path)
    return db


def get_scheduler():
    """The running scheduler of this process, or None when it is switched off."""
    return _scheduler(str(default_db_path())) if scheduler_enabled() else None


def demo_banner(db: Database) -> None:
    if db.memo(("settings",), ("setting", "demo"), lambda: db.setting("demo")) is not None:
        st.caption("注意：当前为演示数据：人员姓名、电话、身份证号均为程序生成的虚构信息。")


# streamlit_folium declares its browser component when it is imported, and Streamlit registers it only
# during a run of the app (imported at the server's start, the map's frame stays empty): folium_view
# registers it at its first draw (folium_view.ensure_registered), so it is preloaded like the others.
# resources_widgets draws its map through folium_view's registration too; it is left to the page.
IN_A_RUN = frozenset({"resources_widgets"})


def helper_modules() -> list[str]:
    """The modules preload_modules imports: folium and its plugins (what streamlit_folium imports), the
    map's domain module, and the modules of emergency/ui that are neither page scripts (those run, they
    are not imported) nor IN_A_RUN."""
    from . import nav

    here = Path(__file__).parent
    pages = {Path(spec.path).stem for spec in (*nav.PAGES, *nav.PUBLIC_PAGES)}
    skip = pages | IN_A_RUN | {"__init__"}
    own = sorted(f"emergency.ui.{p.stem}" for p in here.glob("*.py") if p.stem not in skip)
    return ["folium", "folium.plugins", "emergency.mapview", *own]


def preload_modules() -> threading.Thread:
    """Import the modules the pages use (helper_modules, and what they import) in a background thread
    at the server's start: folium alone compiles about 140 jinja templates at import (1-2 s of CPU),
    the call chains and resources modules a few tenths more, which the first view of 地图, 三级联动 or
    a resources page after a start paid for; then warm_up. A page that needs a module meanwhile waits for the one
    import (Python's import lock), it does not import it twice."""

    def work() -> None:
        for name in helper_modules():
            importlib.import_module(name)
        warm_up()

    thread = threading.Thread(target=work, name="preload-modules", daemon=True)
    thread.start()
    return thread
