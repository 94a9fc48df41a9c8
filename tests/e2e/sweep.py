"""The browser sweep of every page as a role (check_role): the visible text is Chinese, with no
Streamlit English ("Choose options", "Upload", "Page not found"), no nan/None, no English sentence
and no float with six decimals; tables get no nulls; a page the role may not see says "无权访问此页面";
the server log of the sweep has no traceback. One test file per role (test_sweep_*_browser.py), so
that the three sweeps, each on its own server (the sweep_server fixture), run on both test workers."""

from __future__ import annotations

import re

from emergency.demo import DEMO_PASSWORDS
from emergency.ui import nav
from tests.helpers import go_to, login, open_browser_tab, screenshot

ACCOUNTS = {"admin": "admin", "township": "town100", "viewer": "leader"}

STREAMLIT_ENGLISH = (
    "Choose options",
    "Choose an option",
    "No options",
    "Page not found",
    "main page",
    "Drag and drop",
    "per file",
    "Upload",
    "Browse files",
    "No results",
)
RAW_VALUES = re.compile(r"(?<![A-Za-z])(nan|NaN|NaT|None|null|true|false)(?![A-Za-z])")
SIX_DECIMALS = re.compile(r"\d\.\d{6}")
# An English sentence: three or more Latin words in a row ("no coordinate in any source").
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ ,;:/()-]+[A-Za-z][A-Za-z'’]*){2,}")
ALLOWED_RUNS: set[str] = set()  # none needed so far: file names and codes are single words


def findings(text: str) -> list[str]:
    """What must not be on screen, found in `text` (the page's visible text)."""
    found = [f"Streamlit English: {s}" for s in STREAMLIT_ENGLISH if s in text]
    found += [
        f"raw value: {m.group(0)!r} in …{text[max(0, m.start() - 30) : m.end() + 30]}…"
        for m in RAW_VALUES.finditer(text)
    ]
    found += [f"six decimals: {m.group(0)}" for m in SIX_DECIMALS.finditer(text)]
    found += [f"English: {m.group(0)!r}" for m in ENGLISH_RUN.finditer(text) if m.group(0) not in ALLOWED_RUNS]
    return found


def _settle(page, marker: str = "如何使用") -> None:
    """Wait until the page has drawn its `marker` (every page has its help expander) and the script
    run is over (no status widget)."""
    page.get_by_test_id("stMain").get_by_text(marker, exact=True).first.wait_for(timeout=120_000)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=120_000)
    page.wait_for_timeout(400)


def _open_everything(page) -> None:
    """Expand every expander so that their content is swept too. A lazy one (widgets.lazy_expander)
    reruns the page at the click and draws its content then: wait for each such run to end."""
    closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary:visible")
    opened = 0
    for _ in range(50):
        if not closed.count():
            break
        closed.first.click()
        opened += 1
        page.wait_for_timeout(150)
        page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=120_000)
    if opened:  # let what was opened draw (nothing to wait for when every expander was open)
        page.wait_for_timeout(300)


def _every_tab_text(page) -> str:
    """The visible text of the page with every expander open, and again under each tab in turn (an
    expander in a tab not shown cannot be opened, and its text is not visible). Each tab is opened
    once: the tables' cells are read separately (_table_cells)."""
    _open_everything(page)
    texts = [_chrome_free_text(page)]
    tabs = page.get_by_role("tab")
    for index in range(tabs.count()):
        tab = tabs.nth(index)
        if tab.is_visible():
            open_browser_tab(page, tab)
            _open_everything(page)
            texts.append(_chrome_free_text(page))
    return "\n".join(texts)


def _chrome_free_text(page) -> str:
    """body's visible text without code (paths, commands: shown as code on purpose), Streamlit's icon ligatures (e.g. "keyboard_double_arrow_left",
    drawn as an icon) and its visually hidden "Skip to main content" link (shown on keyboard focus only,
    then in Chinese by widgets.CHINESE_CSS)."""
    return page.evaluate(
        """() => {
        const chrome = [...document.querySelectorAll('[data-testid=stIconMaterial], [data-testid=stSkipToContent], code')];
        const before = chrome.map(e => e.style.display);
        chrome.forEach(e => { e.style.display = 'none'; });
        const text = document.body.innerText;
        chrome.forEach((e, i) => { e.style.display = before[i]; });
        return text;
    }"""
    )


def _uploader_problems(page) -> tuple[int, list[str]]:
    """A file uploader's English nodes are hidden (so not in the text above) and Chinese is drawn in
    their place: the button reads 选择文件, the line below it names the 20 MB limit."""
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stFileUploaderDropzone]')].map(zone => [
            getComputedStyle(zone.querySelector('button'), '::after').content,
            getComputedStyle(zone.querySelector('[data-testid=stFileUploaderDropzoneInstructions] > div'), '::after').content,
        ])"""
    )
    return len(drawn), [
        f"file uploader without its Chinese text: {pair}"
        for pair in drawn
        if "选择文件" not in pair[0] or "20 MB" not in pair[1]
    ]


def _table_cells(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stDataFrame] table td')].map(td => td.textContent)"
    )


def _sweep(page, url: str, role: str) -> dict[str, list[str]]:
    login(page, url, ACCOUNTS[role], DEMO_PASSWORDS[role])
    page.get_by_role("heading", name="总览").wait_for(timeout=120_000)
    page.wait_for_timeout(500)  # the session cookie is written
    problems: dict = {}  # page title -> findings; "_uploaders": how many file uploaders were checked
    for specs in nav.pages_for(role).values():
        for spec in specs:
            go_to(page, spec.title)
            if spec != nav.PAGES[0]:  # the default page's URL is the root
                page.wait_for_url(re.compile(rf"/{re.escape(spec.url_path)}(\?.*)?$"), timeout=60_000)
            _settle(page)
            cells = _table_cells(page)
            found = findings(_every_tab_text(page) + "\n" + "\n".join(cells))
            found += [f"empty table cell (a null reached st.dataframe): {n}" for n in [cells.count("")] if n]
            uploaders, wrong = _uploader_problems(page)
            found += wrong
            problems.setdefault("_uploaders", 0)
            problems["_uploaders"] += uploaders
            if found:
                problems[spec.title] = found
                screenshot(page, f"sweep_{role}_{spec.url_path}")
    return problems


def check_role(sweep_server, page, role: str) -> None:
    """Sweep every page as `role` and assert nothing was found (the module's docstring)."""
    problems = _sweep(page, sweep_server["url"], role)
    uploaders = problems.pop("_uploaders")
    hidden = [spec for spec in nav.PAGES if role not in spec.roles]
    for spec in hidden:  # the role may not see it: a Chinese refusal, not Streamlit's "Page not found"
        page.goto(f"{sweep_server['url']}/{spec.url_path}", wait_until="domcontentloaded")
        _settle(page, "无权访问此页面")
        found = findings(_chrome_free_text(page))
        if found:
            problems[f"{spec.title} (hidden)"] = found
    if role != "viewer":  # the import page's uploader (at least) was swept
        assert uploaders > 0
    assert problems == {}, "\n".join(f"{title}: {found}" for title, found in problems.items())
    log = sweep_server["log"]  # and the server log of the sweep has no traceback
    log.flush()
    log.seek(0)
    text = log.read()
    assert "Traceback" not in text and "ArrowTypeError" not in text, text[-5000:]
    assert page.outside_requests == [], page.outside_requests
    if role == "viewer":
        assert hidden, "the viewer has pages it may not see"
