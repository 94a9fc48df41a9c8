"""The server's start imports the pages' helper modules in the background (state.preload_modules):
the first view of 地图 after a start no longer compiles folium's templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_preload_imports_every_helper_module_and_folium_but_no_page_script():
    code = (
        "import sys\n"
        "from emergency.ui import nav, state\n"
        "state.preload_modules().join()\n"
        "wanted = [*state.helper_modules(), 'folium.plugins', 'emergency.calls', 'streamlit.emojis', 'emergency.ui.folium_view']\n"
        "missing = [m for m in wanted if m not in sys.modules]\n"
        "missing += [m for m in ('emergency.ui.resources_widgets',) if m in sys.modules]\n"
        "pages = [s.path for s in nav.PAGES if 'emergency.ui.' + s.path.rsplit('/', 1)[1][:-3] in sys.modules]\n"
        "print(missing, pages)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # folium, folium_view (it registers streamlit_folium's component at its first draw) and the helper
    # modules imported; not resources_widgets (IN_A_RUN), no page script run
    assert done.stdout.strip() == "[] []"


def test_the_server_starts_the_preload_after_the_database():
    text = (ROOT / "server.py").read_text(encoding="utf-8")
    assert text.index("state.get_db()") < text.index("state.preload_modules()")
    assert text.index("state.preload_modules()") < text.index("state.keep_warm_in_background(after=preload)")


def test_no_page_script_decorates_a_cached_function():
    """A page script runs again at every rerun, and Streamlit's cache decorator reads the decorated
    function's source each time: the pages' st.cache functions live in modules (ui/*_cache.py)."""
    from emergency.ui import nav

    scripts = {spec.path for spec in (*nav.PAGES, *nav.PUBLIC_PAGES)}
    decorated = [path for path in sorted(scripts) if "@st.cache" in (ROOT / path).read_text(encoding="utf-8")]
    assert len(scripts) > 20 and decorated == []
