"""What is wrong with what a user entered: one Problem record for forms and imports, and ValidationError.

A validator returns a list of Problem, each naming its field (the form's Chinese label, or the
import's column header) and the reason apart, so that a page can show one problem per line, the
import can put each in its (row, column) cell and the CLI can print one per line. An import's
problems also carry their row as Excel shows it (0 for the whole file); a form's have none.

ValidationError is a ValueError whose text is still the problems joined by "；" ("队伍名称：不能为空；
成立日期：必须填写日期"), so callers that catch ValueError and show its text keep working.
PermissionDenied (auth.py) and StaleRecord (stale.py) are the other two refusals a write can raise;
nothing is written in any of the three cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str  # the form's label or the import's column header; "" for the record or the file as a whole
    reason: str  # in Chinese, without the field: "不能为空"
    row: int | None = None  # an import's row as Excel shows it (0 = the whole file); None for a form

    @property
    def column(self) -> str:
        """The import's name for `field`: its column header."""
        return self.field

    def __str__(self) -> str:
        if self.row is None:
            return f"{self.field}：{self.reason}" if self.field else self.reason
        where = f"第{self.row}行" if self.row else "文件"
        return f"{where} «{self.field}»: {self.reason}" if self.field else f"{where}: {self.reason}"


class ValidationError(ValueError):
    """A record (or settings value) with one or more problems; nothing was written.

    `problems` holds every Problem found; str() is their text joined by "；", as before.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("；".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, field: str, reason: str) -> ValidationError:
        """One problem: `raise ValidationError.single("撤销原因", "不能为空")`."""
        return cls([Problem(field, reason)])
