"""Excel exports of any list: Chinese headers, personal data masked by the viewer's role (the
frames come from the role-aware list functions), formula-like cells neutralised, and audited.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from . import audit
from .db import TIME_ZONE
from .hygiene import neutralise_formula

if TYPE_CHECKING:
    from .db import Database


def _local_naive(value):
    """Excel has no time zones: an instant is written as the county's wall-clock time."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return pd.Timestamp(value).tz_convert(TIME_ZONE).tz_localize(None).to_pydatetime()
    return value


def sheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy that Excel takes as it is meant: text that looks like a formula stays text, instants in
    local time without a zone (openpyxl refuses zoned datetimes)."""
    safe = frame.copy()
    for column in safe.columns:
        series = safe[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            safe[column] = series.dt.tz_convert(TIME_ZONE).dt.tz_localize(None)
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            safe[column] = series.map(lambda v: neutralise_formula(_local_naive(v)))
    return safe


def sheets_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One workbook with a sheet per frame (names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            sheet_safe(frame).to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()


def to_xlsx(frame: pd.DataFrame, sheet: str = "数据") -> bytes:
    return sheets_xlsx({sheet: frame})


def export_xlsx(db: Database, actor, frame: pd.DataFrame, what: str) -> bytes:
    """The workbook, with an audit row saying who exported what and how many rows."""
    data = to_xlsx(frame, what)
    db.write(lambda cur: audit.record(cur, actor, "export", what, None, None, {"rows": len(frame)}))
    return data
