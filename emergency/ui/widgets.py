"""Small drawing helpers shared by pages: Chinese column labels, enum labels, township choices."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd
import streamlit as st

from emergency import enums, regions
from emergency.errors import Problem, ValidationError
from emergency.hygiene import escape_markdown

if TYPE_CHECKING:
    from ..db import Database


def show_table(
    frame: pd.DataFrame, columns: dict[str, str], enum_columns: dict[str, dict] | None = None, **kwargs
) -> pd.DataFrame:
    """Draw the chosen columns under Chinese headers; codes shown as their labels. Returns what was drawn."""
    shown = frame[list(columns)].copy()
    for column in shown.columns:  # DuckDB DATE arrives as midnight timestamps: show it as a date
        if (
            pd.api.types.is_datetime64_dtype(shown[column])
            and (shown[column].dropna().dt.normalize() == shown[column].dropna()).all()
        ):
            shown[column] = shown[column].dt.date
    for column, mapping in (enum_columns or {}).items():
        shown[column] = shown[column].map(lambda v, m=mapping: enums.label(m, v))
    shown = shown.rename(columns=columns)
    display = shown.copy()
    for column in display.columns:  # an empty text or date cell reads "—", not "None"
        if display[column].dtype == object:
            display[column] = display[column].where(display[column].notna(), "—")
    status_columns = [c for c in display.columns if str(c).endswith("状态")]
    if status_columns and len(display) <= STYLE_MAX_ROWS:
        display = display.style.map(status_colour, subset=status_columns)
    st.dataframe(display, hide_index=True, width="stretch", **kwargs)
    return shown


# Status labels coloured as on the map: red for late or broken, amber for soon, green for fine.
STATUS_COLOURS = {
    **dict.fromkeys(("已逾期", "从未开展", "异常", "逾期未整改", "已过计划日期未完成"), "#fde2e1"),
    **dict.fromkeys(("90天内到期", "即将到期", "需关注", "7天内到期"), "#fff1d6"),
    **dict.fromkeys(("按期", "正常", "已完成", "已整改", "已验收"), "#e3f4e6"),
}
STYLE_MAX_ROWS = 2000  # styling is per cell: long lists stay plain


def status_colour(value) -> str:
    colour = STATUS_COLOURS.get(str(value))
    return f"background-color: {colour}" if colour else ""


@overload
def township_options(db: Database, include_all: Literal[False]) -> dict[str, str]: ...
@overload
def township_options(db: Database, include_all: Literal[True] = ...) -> dict[str, str | None]: ...
def township_options(db: Database, include_all: bool = True) -> dict[str, str] | dict[str, str | None]:
    """{name: code} of the townships in their order, after "全部乡镇": None unless include_all is False."""
    options: dict[str, str | None] = {"全部乡镇": None} if include_all else {}
    options.update({t["name"]: t["code"] for t in regions.townships(db)})
    return options


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
    slot = f"_drawn_{kind}"
    seen = st.session_state.get(slot, record)
    st.session_state[slot] = record
    return seen


def problems_markdown(heading: str, problems: Iterable[Problem]) -> str:
    """The heading, then each problem (errors.Problem) as an item of a Markdown list, escaped."""
    return heading + "\n\n" + "\n".join(f"- {escape_markdown(str(p))}" for p in problems)


def write_feedback(action, success: str, saved_as: str | None = None) -> bool:
    """Run a service call; show its refusal or validation message instead of a traceback.

    saved_as names the drawn() record the form saves: the record as saved (the service's result)
    becomes what the page drew, so a second save from the same view is checked against it rather than
    refused for the user's own first save.
    """
    from emergency.auth import PermissionDenied
    from emergency.stale import StaleRecord

    try:
        result = action()
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
    if saved_as is not None:
        slot = f"_drawn_{saved_as}"
        if isinstance(result, dict):
            st.session_state[slot] = result
        else:
            st.session_state.pop(slot, None)
    st.success(success)
    return True
