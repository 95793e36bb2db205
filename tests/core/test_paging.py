"""Paging: validated requests, page counts, and `window()`, which reads far pages cheaply."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelport.core.paging import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    PageRequest,
    page_count,
    window,
)


def _read(rows: list[int], total: int, request: PageRequest) -> list[int]:
    """What the repository returns for `window()`: rows newest first, `rows` newest first."""
    where = window(request, total)
    ordered = rows[::-1] if where.reverse else rows
    chunk = ordered[where.offset : where.offset + where.limit]
    return chunk[::-1] if where.reverse else chunk


@given(
    total=st.integers(min_value=0, max_value=1000),
    page=st.integers(min_value=1, max_value=60),
    per_page=st.integers(min_value=1, max_value=MAX_PER_PAGE),
)
def test_a_window_reads_exactly_the_naive_slice(total: int, page: int, per_page: int) -> None:
    rows = list(range(total, 0, -1))
    request = PageRequest.parse(page, per_page)
    assert _read(rows, total, request) == rows[request.offset : request.offset + per_page]


@given(
    total=st.integers(min_value=0, max_value=10**6),
    page=st.integers(min_value=1, max_value=10**4),
    per_page=st.integers(min_value=1, max_value=MAX_PER_PAGE),
)
def test_a_window_never_skips_more_than_half_the_list(total: int, page: int, per_page: int) -> None:
    where = window(PageRequest.parse(page, per_page), total)
    assert 2 * where.offset <= total
    assert 0 <= where.limit <= per_page


def test_the_last_page_of_a_long_list_is_read_from_the_old_end() -> None:
    where = window(PageRequest.parse(5000, 20), 100_000)
    assert where.reverse
    assert (where.offset, where.limit) == (0, 20)


def test_a_page_past_the_end_reads_nothing() -> None:
    assert window(PageRequest.parse(10**30, 200), 45).limit == 0


def test_missing_parameters_take_the_defaults() -> None:
    assert PageRequest.parse(None, None) == PageRequest(1, DEFAULT_PER_PAGE)
    assert DEFAULT_PER_PAGE == 20
    assert MAX_PER_PAGE == 200


@pytest.mark.parametrize(
    ("page", "per_page", "says"),
    [
        (0, 20, "page must be 1 or more"),
        (-1, 20, "page must be 1 or more"),
        (1, 0, "per_page must be between 1 and 200"),
        (1, 201, "per_page must be between 1 and 200"),
        (1, -3, "per_page must be between 1 and 200"),
    ],
)
def test_bad_pages_are_refused_by_name(page: int, per_page: int, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        PageRequest.parse(page, per_page)


@pytest.mark.parametrize(
    ("total", "per_page", "pages"),
    [(0, 20, 1), (1, 20, 1), (20, 20, 1), (21, 20, 2), (45, 20, 3), (45, 7, 7), (200, 200, 1)],
)
def test_page_count(total: int, per_page: int, pages: int) -> None:
    assert page_count(total, per_page) == pages
