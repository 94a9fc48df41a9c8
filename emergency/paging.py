"""One page of a list: the rows of page k and the total of the whole filtered list.

Every list page draws a Page (issue 19: no page sends the whole county to the browser). The domain
module of the data gives two functions over the same WHERE (filters, scope, `records.live`): a count
and a list taking limit/offset; `fetch` asks for the total first, keeps the page number inside
1..pages, then fetches that page's rows with LIMIT/OFFSET. Exports call the list without a limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

PAGE_SIZE = 100  # what a list page shows unless it asks for another size
MAX_PAGE_SIZE = 200  # never more rows on one page
PICK_LIMIT = 50  # a searchable picker offers at most this many matches

Rows = TypeVar("Rows")


@dataclass(frozen=True)
class Page(Generic[Rows]):
    """Page `page` (from 1) of `page_size` rows out of `total` matching rows."""

    rows: Rows
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_size_of(size: int | None) -> int:
    """A page size within 1..MAX_PAGE_SIZE (PAGE_SIZE when not given)."""
    return max(1, min(int(size or PAGE_SIZE), MAX_PAGE_SIZE))


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows fill (an empty list still has its one, empty, page)."""
    return max(1, -(-int(total) // page_size))


def fetch(
    count: Callable[[], int], rows: Callable[[int, int], Rows], page: int = 1, page_size: int | None = None
) -> Page[Rows]:
    """The Page: `count()` gives the total, `rows(limit, offset)` the rows of the page asked for,
    brought within 1..pages (a filter narrowed meanwhile, a page number typed past the end)."""
    size = page_size_of(page_size)
    total = int(count() or 0)
    number = max(1, min(int(page or 1), page_count(total, size)))
    return Page(rows(size, (number - 1) * size), total, number, size)


def limit_clause(limit: int | None, offset: int = 0) -> str:
    """' LIMIT n OFFSET m' for a list query (integers only, never user text), '' for the whole list."""
    return f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit else ""


def of_list(rows: list, page: int = 1, page_size: int | None = None) -> Page[list]:
    """A Page of a list already computed in Python (a list whose status is a Python rule, e.g. the
    enterprises' drill clocks): the bytes sent are bounded all the same."""
    return fetch(lambda: len(rows), lambda limit, offset: rows[offset : offset + limit], page, page_size)
