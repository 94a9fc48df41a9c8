"""How a value looks on screen: one place for every page's cells, captions and metrics.

Pages never hand raw frames to Streamlit. `display_frame` turns every column into one type before
`st.dataframe` sees it, because Arrow cannot convert a column that mixes dates and the string "—"
(an `ArrowTypeError` in the server log and a slow fallback) and Streamlit's canvas draws a null as
"None". The rules, in one table:

| value                          | shown as              |
|--------------------------------|-----------------------|
| None, NaN, NaT, pd.NA, ""      | —                     |
| an instant (time zone or time) | 2026-11-11 18:06 (county time) |
| a date (or a midnight stamp)   | 2026-11-11            |
| a rate (fraction 0..1)         | 54.5%                 |
| a duration in minutes          | 24.9 分钟             |
| a whole float                  | 12                    |
| another float                  | 12.3 (one decimal)    |
| True / False                   | 是 / 否               |

A column without empty cells whose values are whole numbers stays numeric (it sorts as numbers);
every other column becomes text. No streamlit here: the CLI, exports and tests use the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

import pandas as pd

from .db import TZ
from .hygiene import is_blank

EMPTY = "—"


def timestamp(value) -> str:
    """An instant as the county's wall-clock time to the minute: 2026-11-11 18:06."""
    if is_blank(value):
        return EMPTY
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(TZ)
    return f"{stamp:%Y-%m-%d %H:%M}"


def day(value) -> str:
    """A day: 2026-11-11 (a datetime is cut to its day in the county's time zone)."""
    if is_blank(value):
        return EMPTY
    if isinstance(value, datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert(TZ)
        return f"{stamp:%Y-%m-%d}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def number(value, decimals: int = 1) -> str:
    """12 for a whole number, 12.3 otherwise (never 12.300000)."""
    if is_blank(value):
        return EMPTY
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}" if abs(value) >= 10000 else str(int(value))
    return f"{value:.{decimals}f}"


def rate(value, *, percent: bool = False) -> str:
    """A share as 54.5% (`value` a fraction 0..1, or already in percent with percent=True)."""
    if is_blank(value):
        return EMPTY
    share = float(value) if percent else float(value) * 100
    return f"{share:.1f}%"


def minutes(value) -> str:
    """A duration in minutes: 24.9 分钟."""
    if is_blank(value):
        return EMPTY
    return f"{number(value)} 分钟"


def cell(value) -> str:
    """Any single value as text by the table above (dates, instants, numbers, booleans, text)."""
    if is_blank(value):
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None and stamp == stamp.normalize():
            return day(stamp)
        return timestamp(stamp)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, list | tuple):
        return "、".join(cell(v) for v in value) or EMPTY
    return str(value)


def _is_whole_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return False
    if series.isna().any():
        return False
    return bool((series.astype(float) % 1 == 0).all())


def display_frame(
    frame: pd.DataFrame, *, rates: Iterable[str] = (), percents: Iterable[str] = (), durations: Iterable[str] = ()
) -> pd.DataFrame:
    """A copy of `frame` with every column of one type: whole numbers without gaps stay integers,
    everything else becomes text by the rules of this module. `rates` are columns of fractions
    (0.545 -> 54.5%), `percents` columns already in percent (54.5 -> 54.5%), `durations` columns of
    minutes (24.9 -> 24.9 分钟). Column names are kept (pass the Chinese ones)."""
    shown = frame.copy()
    rates, percents, durations = set(rates), set(percents), set(durations)
    for column in shown.columns:
        series = shown[column]
        if column in rates:
            shown[column] = series.map(rate).astype(object)
        elif column in percents:
            shown[column] = series.map(lambda v: rate(v, percent=True)).astype(object)
        elif column in durations:
            shown[column] = series.map(minutes).astype(object)
        elif _is_whole_numeric(series):
            shown[column] = series.astype("int64")
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            shown[column] = series.map(timestamp).astype(object)
        elif pd.api.types.is_datetime64_dtype(series):  # DuckDB's DATE arrives as midnight stamps
            filled = series.dropna()
            as_days = bool((filled.dt.normalize() == filled).all())
            shown[column] = series.map(day if as_days else timestamp).astype(object)
        else:
            shown[column] = series.map(cell).astype(object)
    return shown
