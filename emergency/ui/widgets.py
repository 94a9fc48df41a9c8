"""Small drawing helpers shared by pages: Chinese column labels, enum labels, township choices."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from emergency import enums


def show_table(frame: pd.DataFrame, columns: dict[str, str], enum_columns: dict[str, dict] | None = None,
               **kwargs) -> pd.DataFrame:
    """Draw the chosen columns under Chinese headers; codes shown as their labels. Returns what was drawn."""
    shown = frame[list(columns)].copy()
    for column in shown.columns:  # DuckDB DATE arrives as midnight timestamps: show it as a date
        if pd.api.types.is_datetime64_dtype(shown[column]) and (shown[column].dropna().dt.normalize()
                                                                 == shown[column].dropna()).all():
            shown[column] = shown[column].dt.date
    for column, mapping in (enum_columns or {}).items():
        shown[column] = shown[column].map(lambda v, m=mapping: enums.label(m, v))
    shown = shown.rename(columns=columns)
    display = shown.copy()
    for column in display.columns:  # an empty text or date cell reads "—", not "None"
        if display[column].dtype == object:
            display[column] = display[column].where(display[column].notna(), "—")
    st.dataframe(display, hide_index=True, width="stretch", **kwargs)
    return shown


def township_options(db, include_all: bool = True) -> dict[str, str | None]:
    options = {"全部乡镇": None} if include_all else {}
    options.update({name: code for code, name in db.query(
        "SELECT code, name FROM townships WHERE is_township ORDER BY sort_order")})
    return options


def enum_select(label: str, mapping: dict, *, include_all: bool = True, key: str | None = None):
    options = ([None] if include_all else []) + list(mapping)
    return st.selectbox(label, options, key=key,
                        format_func=lambda c: "全部" if c is None else enums.label(mapping, c))


def write_feedback(action, success: str) -> bool:
    """Run a service call; show its refusal or validation message instead of a traceback."""
    from emergency.auth import PermissionDenied

    try:
        action()
    except PermissionDenied as exc:
        st.error(f"无权操作：{exc}")
        return False
    except ValueError as exc:
        st.error(f"未保存：{exc}")
        return False
    st.success(success)
    return True
