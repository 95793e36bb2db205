"""Page-number paging, as DigitalOcean's API does it (`page`, `per_page`, `links`, `meta`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A validated page request. Build it with `PageRequest.parse`."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def parse(cls, page: int | None, per_page: int | None) -> PageRequest:
        """A page request, or ValueError naming the bad parameter."""
        page = 1 if page is None else page
        per_page = DEFAULT_PER_PAGE if per_page is None else per_page
        if page < 1:
            raise ValueError("page must be 1 or more")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        return cls(page, per_page)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and how long the whole list is: every paged list's answer."""

    items: list[T]
    total: int


def page_of(items: Sequence[T], request: PageRequest) -> Page[T]:
    """The page `request` asks for of a list already in memory."""
    start = request.offset
    return Page(list(items[start : start + request.per_page]), len(items))


@dataclass(frozen=True, slots=True)
class Window:
    """Where a page lies in a list ordered newest first, and how to read it cheaply.

    Reading the far end of a long list with OFFSET walks every row before it. When the page
    lies in the older half, we read the list oldest first instead, with a small offset, and
    reverse the rows: the last page costs what the first does.
    """

    offset: int
    limit: int
    reverse: bool


def window(request: PageRequest, total: int) -> Window:
    """The cheapest way to read `request` from a list of `total` rows, newest first."""
    start = request.offset
    if start >= total:
        return Window(offset=0, limit=0, reverse=False)
    end = min(start + request.per_page, total)
    if start <= total - end:
        return Window(offset=start, limit=end - start, reverse=False)
    return Window(offset=total - end, limit=end - start, reverse=True)


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill; an empty list still has its first page."""
    return max(1, -(-total // per_page))
