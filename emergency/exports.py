"""Excel exports of any list: Chinese headers, personal data masked by the viewer's role (the
frames come from the role-aware list functions), formula-like cells neutralised, and audited.
"""
from __future__ import annotations

import io

import pandas as pd

from . import audit
from .hygiene import neutralise_formula


def to_xlsx(frame: pd.DataFrame, sheet: str = "数据") -> bytes:
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formula)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def export_xlsx(db, actor, frame: pd.DataFrame, what: str) -> bytes:
    """The workbook, with an audit row saying who exported what and how many rows."""
    data = to_xlsx(frame, what[:31])
    db.write(lambda cur: audit.record(cur, actor, "export", what, None, None, {"rows": len(frame)}))
    return data
