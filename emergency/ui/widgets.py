"""Small drawing helpers shared by pages: Chinese column labels, enum labels, township choices."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import pandas as pd
import streamlit as st

from emergency import enums, regions
from emergency.db import local_today
from emergency.display import display_frame
from emergency.errors import Problem, ValidationError
from emergency.hygiene import escape_markdown
from emergency.paging import PICK_LIMIT, Page, of_list

if TYPE_CHECKING:
    from ..auth import User
    from ..db import Database

T = TypeVar("T")


def show_table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    enum_columns: dict[str, dict] | None = None,
    *,
    rates: Iterable[str] = (),
    percents: Iterable[str] = (),
    durations: Iterable[str] = (),
    **kwargs,
) -> pd.DataFrame:
    """Draw the chosen columns under Chinese headers; codes shown as their labels. Returns what was drawn
    (dates as dates, before formatting). `rates`, `percents`, `durations` name source columns formatted
    as 54.5% (from a fraction or from percent) and 24.9 分钟 (display.display_frame)."""
    shown = table_frame(frame, columns, enum_columns)
    draw_prepared(_formatted(shown, columns, rates, percents, durations), **kwargs)
    return shown


def prepared_table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    enum_columns: dict[str, dict] | None = None,
    *,
    rates: Iterable[str] = (),
    percents: Iterable[str] = (),
    durations: Iterable[str] = (),
) -> pd.DataFrame:
    """What show_table would send to the browser, formatted and marked, for a page that caches it
    beside the data it comes from (formatting is pandas work per column); draw it with draw_prepared."""
    return _formatted(table_frame(frame, columns, enum_columns), columns, rates, percents, durations)


def _formatted(
    shown: pd.DataFrame,
    columns: dict[str, str],
    rates: Iterable[str],
    percents: Iterable[str],
    durations: Iterable[str],
) -> pd.DataFrame:
    """prepared_frame of table_frame's result, its formatted columns named by their source columns."""
    return prepared_frame(
        shown,
        rates=[columns[c] for c in rates],
        percents=[columns[c] for c in percents],
        durations=[columns[c] for c in durations],
    )


def table_frame(
    frame: pd.DataFrame, columns: dict[str, str], enum_columns: dict[str, dict] | None = None
) -> pd.DataFrame:
    """The chosen columns under their Chinese headers, codes as labels, DuckDB's midnight stamps as
    dates: what show_table draws and export_list exports."""
    shown = frame[list(columns)].copy()
    if shown.index.name is None and not isinstance(shown.index, pd.RangeIndex):
        shown = shown.reset_index(drop=True)  # the row labels of a filtered list, not data to show
    for column in shown.columns:  # DuckDB DATE arrives as midnight timestamps: show it as a date
        if (
            pd.api.types.is_datetime64_dtype(shown[column])
            and (shown[column].dropna().dt.normalize() == shown[column].dropna()).all()
        ):
            shown[column] = shown[column].dt.date
    for column, mapping in (enum_columns or {}).items():
        shown[column] = shown[column].map(lambda v, m=mapping: enums.label(m, v))
    return shown.rename(columns=columns)


def draw_frame(
    frame: pd.DataFrame,
    *,
    rates: Iterable[str] = (),
    percents: Iterable[str] = (),
    durations: Iterable[str] = (),
    **kwargs,
) -> None:
    """The one door to st.dataframe: every column formatted to one type first (display.display_frame:
    "—" for empty cells, no None/nan on the canvas, no ArrowTypeError), status columns marked.
    A frame with a meaningful index (a pivot) is drawn with that index as its first column."""
    draw_prepared(prepared_frame(frame, rates=rates, percents=percents, durations=durations), **kwargs)


def prepared_frame(
    frame: pd.DataFrame, *, rates: Iterable[str] = (), percents: Iterable[str] = (), durations: Iterable[str] = ()
) -> pd.DataFrame:
    """What draw_frame sends: display.display_frame's text, status cells marked (mark_status)."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    display = display_frame(frame, rates=rates, percents=percents, durations=durations)
    for column in display.columns:
        if str(column).endswith("状态"):
            display[column] = display[column].map(mark_status)
    return display


# What the kept lists read (widgets.kept): the registry's data, not the messages the scheduler
# delivers (notifications), the 叫应 it escalates (calls), the accounts or the bookkeeping, which
# change every minute on their own.
LIST_READS = ("drills", "places", "plans", "records", "registry", "resources", "settings")


def kept(db: Database, key: tuple, compute: Callable[[], T], families: tuple[str, ...] = LIST_READS) -> T:
    """compute() (a page's list and its table as prepared_table formats it) kept until a committed
    write touches one of `families` (what it reads) or the day changes, so that a rerun with the
    same filters runs no query and formats no cell. `key` names the list and everything it depends
    on: its filters, its page and the viewer's role and township (masking). Shared by every
    session: never change what it returns."""
    return db.memo(families, (*key, local_today()), compute)


def list_key(name: str, page: int, filters: Mapping[str, Any], viewer: User | None = None) -> tuple:
    """kept's key for page `page` of the list `name` under `filters` (in a fixed order), and for a list
    masked per viewer, the viewer's role and township."""
    scope = (viewer.role, viewer.township_code) if viewer is not None else ()
    return (name, *scope, page, tuple(sorted(filters.items())))


def draw_prepared(display: pd.DataFrame, **kwargs) -> None:
    """Draw a frame prepared_frame / prepared_table made (perhaps cached by the page)."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    st.dataframe(display, **kwargs)


# Status labels marked as on the map: red for late or broken, amber for soon, green for fine. A marker
# in the cell's text, not a pandas Styler: a Styler renders every cell to HTML structures before
# Streamlit serialises it (about 35 µs a cell), which made a table of statuses the page's main cost.
RED, AMBER, GREEN = "🔴", "🟡", "🟢"
STATUS_MARKS = {
    **dict.fromkeys(("已逾期", "从未开展", "异常", "逾期未整改", "已过计划日期未完成"), RED),
    **dict.fromkeys(("90天内到期", "即将到期", "需关注", "7天内到期"), AMBER),
    **dict.fromkeys(("按期", "正常", "已完成", "已整改", "已验收"), GREEN),
}
MARKS = (RED, AMBER, GREEN)


def mark_status(value):
    """A status label with its colour's marker in front ("🔴 已逾期"); other values unchanged."""
    mark = STATUS_MARKS.get(value) if isinstance(value, str) else None
    return f"{mark} {value}" if mark else value


def status_label(text):
    """The label of a marked status cell ("🔴 已逾期" -> "已逾期"); other values unchanged."""
    if isinstance(text, str) and text[:1] in MARKS and text[1:2] == " ":
        return text[2:]
    return text


@overload
def township_options(db: Database, include_all: Literal[False]) -> dict[str, str]: ...
@overload
def township_options(db: Database, include_all: Literal[True] = ...) -> dict[str, str | None]: ...
def township_options(db: Database, include_all: bool = True) -> dict[str, str] | dict[str, str | None]:
    """{name: code} of the townships in their order, after "全部乡镇": None unless include_all is False."""
    options: dict[str, str | None] = {"全部乡镇": None} if include_all else {}
    options.update({t["name"]: t["code"] for t in regions.townships(db)})
    return options


def lazy_tabs(labels: Iterable[str], key: str):
    """st.tabs whose hidden tabs do not run: the open tab is kept in session_state[key] and choosing
    another reruns the page, so a view pays for one tab's tables and forms, not every tab's (plain
    st.tabs runs them all). Draw a tab's content under `if tab.open:`; a test opens one by setting
    session_state[key] to its label."""
    return st.tabs(list(labels), key=key, on_change="rerun")


def lazy_expander(label: str, key: str, *, expanded: bool = False):
    """st.expander whose content runs only while it is open: its state is kept in session_state[key]
    and opening or closing it reruns the page, so that a closed form (its widgets, its option lists,
    the record it is filled from) costs a view nothing. Draw the content under `if box.open:`; a test
    opens it by setting session_state[key] to True."""
    return st.expander(label, expanded=expanded, key=key, on_change="rerun")


def label_of(mapping: Mapping[Any, Any]) -> Callable[[Any], str]:
    """A typed format_func for a selectbox over `mapping`'s keys: each option shown as its label
    (what `format_func=mapping.get` did, which mypy cannot type through Streamlit's generics)."""
    return lambda option: str(mapping.get(option))


def enum_select(label: str, mapping: dict, *, include_all: bool = True, key: str | None = None):
    options = ([None] if include_all else []) + list(mapping)
    return st.selectbox(label, options, key=key, format_func=lambda c: "全部" if c is None else enums.label(mapping, c))


def drawn(kind: str, record: dict) -> dict:
    """What a form submitted in this run was filled in against: the `kind` record (e.g. "member") as
    the previous run of the page drew it; this run's `record` is kept for the next run. The form passes
    it to the service as `expected`, so that a save someone else made in between is refused
    (StaleRecord) instead of overwritten. A record picker whose choice fell back to another record
    (the chosen one left the list) is caught the same way: the ids differ. Pickers stay outside forms."""
    store = _drawn_store()
    seen = store.get(kind, record)
    store[kind] = record
    return seen


def forget_drawn(kind: str) -> None:
    """The next run's forms of `kind` are checked against the record as that run draws it."""
    _drawn_store().pop(kind, None)


def _drawn_store() -> dict:
    # One dict in session state, changed in place: write_feedback updates it right after a save
    # without a session-state access, where Streamlit may stop the run (see write_feedback).
    return st.session_state.setdefault("_drawn", {})


def problems_markdown(heading: str, problems: Iterable[Problem]) -> str:
    """The heading, then each problem (errors.Problem) as an item of a Markdown list, escaped."""
    return heading + "\n\n" + "\n".join(f"- {escape_markdown(str(p))}" for p in problems)


def write_feedback(
    action, success: str, saved_as: str | None = None, then: Callable[[Any], None] | None = None
) -> bool:
    """Run a service call; show its refusal or validation message instead of a traceback.

    saved_as names the drawn() record the form saves: the record as saved (the service's result)
    becomes what the page drew, so a second save from the same view is checked against it rather than
    refused for the user's own first save. `then(result)` runs right after a successful call.

    Both happen before any Streamlit call: Streamlit may stop a run at any element or session-state
    access when a new run is asked for (a double click's second click), and bookkeeping lost after a
    write lets the second click save again (tests/test_save_once.py).
    """
    from emergency.auth import PermissionDenied
    from emergency.stale import StaleRecord

    store = _drawn_store() if saved_as is not None else None
    try:
        result = action()
        if store is not None:
            if isinstance(result, dict):
                store[saved_as] = result
            else:
                store.pop(saved_as, None)
        if then is not None:
            then(result)
    except PermissionDenied as exc:
        st.error(f"无权操作：{escape_markdown(exc)}")
        return False
    except StaleRecord as exc:  # the form now shows the record as it is; its next save is checked against that
        st.error(escape_markdown(str(exc)))
        return False
    except ValidationError as exc:  # one line per problem
        st.error(problems_markdown("未保存：", exc.problems))
        return False
    except ValueError as exc:
        st.error(f"未保存：{escape_markdown(exc)}")
        return False
    st.success(success)
    return True


# Chinese everywhere ------------------------------------------------------------------------------------
MULTISELECT_PLACEHOLDER = "请选择（可多选）"
SELECT_PLACEHOLDER = "请选择"

# Streamlit's file uploader has no options for its button ("Upload") and its limit line ("20MB per
# file"): the English nodes are hidden (display:none, so no screen reader or copy sees them either)
# and Chinese text is drawn in their place by CSS. Verified in chromium (tests/e2e/test_sweep_browser.py).
CHINESE_CSS = """
<style>
[data-testid="stFileUploaderDropzone"] button > * { display: none; }
[data-testid="stFileUploaderDropzone"] button::after { content: "选择文件"; }
[data-testid="stFileUploaderDropzoneInstructions"] > div > * { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {
  content: "拖放文件到此处，或点击“选择文件”（单个文件不超过 20 MB）";
  font-size: 0.875rem; opacity: 0.7;
}
[data-testid="stSkipToContent"] { font-size: 0; }
[data-testid="stSkipToContent"]::after { content: "跳到正文"; font-size: 1rem; }
</style>
"""


def chinese_widgets() -> None:
    """Once per run (app.py): Chinese texts for the parts of Streamlit's widgets that have no option."""
    st.html(CHINESE_CSS)


def multiselect(label: str, options, **kwargs):
    """st.multiselect with a Chinese placeholder (Streamlit's default is "Choose options")."""
    kwargs.setdefault("placeholder", MULTISELECT_PLACEHOLDER)
    return st.multiselect(label, options, **kwargs)


def no_access_page() -> None:
    """What a role sees at the URL of a page it may not open (instead of Streamlit's "Page not found")."""
    st.title("无权访问此页面")
    st.error("您的账号无权访问此页面。如需使用，请联系县应急管理局管理员。")
    st.page_link(nav_home(), label="返回首页")


def nav_home() -> str:
    from emergency.ui import nav

    return nav.PAGES[0].path


# One default year ---------------------------------------------------------------------------------------
def default_year(*, report: bool = False, today: date | None = None) -> int:
    """The year every page opens on: the current year; for a report, the last full year."""
    today = today or local_today()
    return today.year - 1 if report else today.year


def year_select(label: str, years: Iterable[int], *, report: bool = False, key: str | None = None, container=st) -> int:
    """A year picker over `years` (newest first) that always offers and opens on default_year(report);
    a ?year= in the URL chooses another year when it is offered."""
    default = default_year(report=report)
    options = sorted({int(y) for y in years} | {default}, reverse=True)
    wanted = st.query_params.get("year")
    index = (
        options.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in options else options.index(default)
    )
    return int(container.selectbox(label, options, index=index, key=key))


# In-app help --------------------------------------------------------------------------------------------
def page_help(page: str) -> None:
    """The page's "如何使用" expander (texts in ui/help.py, keyed by the page's url_path)."""
    from emergency.ui.help import HELP

    with st.expander("如何使用"):
        st.markdown(HELP[page])


# Find and take away -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Search:
    """What the search bar asks for: text in the name, a date range, a plan (each None if not asked)."""

    text: str | None = None
    since: date | None = None
    until: date | None = None
    plan_code: str | None = None


def search_bar(
    key: str, *, text_label: str = "按名称查找", dates: str | None = None, plans: Mapping[str, str] | None = None
) -> Search:
    """The search row of a list page: a name search, an optional date range (`dates` names the date,
    e.g. "演练日期") and an optional plan choice ({code: name}). Filtering happens in SQL in the domain
    module the page calls with these values."""
    columns = st.columns(1 + (2 if dates else 0) + (1 if plans else 0))
    text = columns[0].text_input(text_label, key=f"{key}_text", placeholder="输入关键字")
    since = until = plan_code = None
    at = 1
    if dates:
        since = columns[at].date_input(f"{dates}自", value=None, key=f"{key}_since", format="YYYY-MM-DD")
        until = columns[at + 1].date_input(f"{dates}至", value=None, key=f"{key}_until", format="YYYY-MM-DD")
        at += 2
    if plans:
        options: list[str | None] = [None, *plans]
        plan_code = columns[at].selectbox(
            "预案", options, key=f"{key}_plan", format_func=lambda c: "全部预案" if c is None else f"{c} {plans[c]}"
        )
    return Search(text.strip() or None, since, until, plan_code)


def export_button(db: Database, user, frame: pd.DataFrame | Callable[[], pd.DataFrame], what: str, *, key: str) -> None:
    """An "导出 Excel" button for a list (Chinese headers; the list functions have masked it for this
    user's role). `frame` may be a function, called only at the click: a whole county's list costs
    nothing on a page view. exports.export_xlsx writes the workbook and its audit row at the click."""
    from emergency import exports

    def workbook() -> bytes:
        table = frame() if callable(frame) else frame
        for column in table.columns:  # minutes and rates to one decimal, not 12.333333
            if pd.api.types.is_float_dtype(table[column]):
                table[column] = table[column].round(1)
        return exports.export_xlsx(db, user, table, what)

    st.download_button(
        "导出 Excel",
        data=workbook,
        file_name=f"{what}_{local_today():%Y%m%d}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=key,
        on_click="ignore",
    )


def export_list(
    db: Database,
    user,
    frame: pd.DataFrame | Callable[[], pd.DataFrame],
    columns: dict[str, str],
    what: str,
    *,
    key: str,
    enum_columns: dict[str, dict] | None = None,
) -> None:
    """export_button for a list given as show_table takes it (source frame or a function giving it,
    {column: header}, enum labels)."""

    def table() -> pd.DataFrame:
        return table_frame(frame() if callable(frame) else frame, columns, enum_columns)

    export_button(db, user, table, what, key=key)


# Bounded pages --------------------------------------------------------------------------------------------
def page_number(key: str, filters: Mapping[str, Any]) -> int:
    """The page the list `key` is on: its 上一页 / 下一页 / 页码 choice, back to 1 whenever its filters
    change. The page passes it to the domain's *_page function, then draws pager() with the result."""
    signature = repr(sorted((k, repr(v)) for k, v in filters.items()))
    if st.session_state.get(f"_{key}_filters") != signature:
        st.session_state[f"_{key}_filters"] = signature
        st.session_state[f"{key}_page"] = 1
    return int(st.session_state.get(f"{key}_page") or 1)


def _turn(key: str, step: int) -> None:
    st.session_state[f"{key}_page"] = int(st.session_state.get(f"{key}_page") or 1) + step


def pager(key: str, page: Page, *, unit: str = "条", note: str = "") -> None:
    """The result line of a paged list, "共 N 条，第 k / m 页" (and `note`), with 上一页 / 下一页 and a
    page number when there is more than one page. `page` is the domain's paging.Page."""
    st.session_state[f"{key}_page"] = page.page  # the page as the domain kept it (within 1..pages)
    line = f"共 {page.total} {unit}，第 {page.page} / {page.pages} 页" + (f"，{note}" if note else "")
    if page.pages <= 1:
        st.caption(line)
        return
    text, previous, following, number = st.columns([6, 1, 1, 1.2], vertical_alignment="center")
    text.caption(line)
    previous.button("上一页", key=f"{key}_previous", disabled=page.page <= 1, on_click=_turn, args=(key, -1))
    following.button("下一页", key=f"{key}_next", disabled=page.page >= page.pages, on_click=_turn, args=(key, 1))
    number.number_input(
        "页码", min_value=1, max_value=page.pages, step=1, key=f"{key}_page", label_visibility="collapsed"
    )


def picker(
    label: str,
    key: str,
    search: Callable[[str], Mapping[Any, str]],
    *,
    what: str = "",
    container: Any = st,
) -> Any:
    """A searchable picker over a set too large for one selectbox (teams, drills, enterprises, members):
    a text box, then a selectbox of the matches `search(text)` returns (a domain query giving at most
    paging.PICK_LIMIT of them, {id: label}). Returns the chosen id, or None when nothing matches.
    Outside forms (typing must rerun the page)."""
    text = container.text_input(f"查找{what or label}", key=f"{key}_find", placeholder="输入名称、关键字或编号")
    options = dict(search(text.strip()))
    if not options:
        container.caption(f"没有匹配的{what or label}，请换个关键字。")
        return None
    if len(options) >= PICK_LIMIT:
        container.caption(f"只列出前 {PICK_LIMIT} 个匹配项，请输入更多关键字缩小范围。")
    return container.selectbox(label, list(options), format_func=label_of(options), key=key)


def _paged_rows(key: str, count: int, filters: Mapping[str, Any], unit: str) -> Page[list]:
    """The page shown of a list of `count` rows already computed (their positions), its pager drawn."""
    rows = of_list(list(range(count)), page_number(key, filters))
    pager(key, Page(None, rows.total, rows.page, rows.page_size), unit=unit)
    return rows


def paged_frame(key: str, frame: pd.DataFrame, filters: Mapping[str, Any], *, unit: str = "条") -> pd.DataFrame:
    """One page of a frame a domain function has already computed (paging.of_list), with its pager:
    for lists whose rows come from Python rules or from another module's listing; the bytes sent to
    the browser are bounded as for the lists paged in SQL."""
    return frame.iloc[_paged_rows(key, len(frame), filters, unit).rows].reset_index(drop=True)


def kept_paged(
    db: Database,
    key: str,
    filters: Mapping[str, Any],
    listing: Callable[[], pd.DataFrame],
    prepare: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    depends: tuple = (),
    unit: str = "条",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """paged_frame over a list kept (kept) until a write to what it reads, with its page's table kept
    too: `listing()` gives the whole list, `prepare(rows)` the table of one page's rows (prepared_table;
    it may add columns to `rows`). `depends` is what the list depends on beyond `filters` (the viewer's
    role and township, which mask it). Draws the pager; returns (the whole list, the page's rows, its
    table), shared by every session: never change them."""
    signature = (*depends, *sorted(filters.items()))
    full = kept(db, (key, "list", *signature), listing)
    rows = _paged_rows(key, len(full), filters, unit)

    def page_table() -> tuple[pd.DataFrame, pd.DataFrame]:
        frame = full.iloc[rows.rows].reset_index(drop=True)
        return frame, prepare(frame)

    frame, table = kept(db, (key, "page", rows.page, *signature), page_table)
    return full, frame, table
