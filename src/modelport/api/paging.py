"""The envelope of a paged /v2 list (`links`, `meta`), and its query parameters."""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from fastapi import Query, Request
from pydantic import BaseModel, Field

from modelport.api.wire import Omitted
from modelport.core.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, Page, PageRequest, page_count
from modelport.errors import InvalidInput


class Pages(BaseModel):
    """Links to the other pages; a link is absent where there is no such page."""

    first: Omitted[str] = Field(default=None)
    previous: Omitted[str] = Field(default=None)
    next: Omitted[str] = Field(default=None)
    last: Omitted[str] = Field(default=None)


class Links(BaseModel):
    pages: Pages


class Meta(BaseModel):
    page: int
    pages: int
    total: int


class Paged(BaseModel):
    """Every paged /v2 list: its items under a name of its own (a subclass's one field), and
    `links` and `meta` as DigitalOcean's API gives them."""

    links: Links
    meta: Meta

    @classmethod
    def of(cls, request: Request, wanted: PageRequest, page: Page[Any], **items: Any) -> Self:
        """The list's answer for `page`; `items` names its one field (`models=[...]`)."""
        links, meta = _links_and_meta(request, wanted, page.total)
        return cls(links=links, meta=meta, **items)


WHOLE_NUMBER = re.compile(r"-?[0-9]+")


async def page_request(
    request: Request,
    page: Annotated[
        int, Query(description="Page number, from 1.", json_schema_extra={"minimum": 1})
    ] = 1,
    per_page: Annotated[
        int,
        Query(
            description=f"Items per page, 1 to {MAX_PER_PAGE}.",
            json_schema_extra={"minimum": 1, "maximum": MAX_PER_PAGE},
        ),
    ] = DEFAULT_PER_PAGE,
) -> PageRequest:
    """The page asked for; InvalidInput naming the bad parameter.

    The limits are only documented on the parameters: checked here, the message is ours.
    Each is one whole number as written: a repeated parameter (of which the framework would
    take the last) or `120.0` is refused, not guessed at.
    """
    for name in ("page", "per_page"):
        given = request.query_params.getlist(name)
        if len(given) > 1:
            raise InvalidInput(f"{name} is given more than once", field=name)
        if given and not WHOLE_NUMBER.fullmatch(given[0]):
            raise InvalidInput(f"{name} must be a whole number", field=name)
    try:
        return PageRequest.parse(page, per_page)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="page") from None


def _links_and_meta(request: Request, wanted: PageRequest, total: int) -> tuple[Links, Meta]:
    """Absolute links to the neighbouring pages, as DigitalOcean's API gives them."""
    pages = page_count(total, wanted.per_page)

    def url(number: int) -> str:
        return str(request.url.include_query_params(page=number, per_page=wanted.per_page))

    links = Pages()
    if wanted.page > 1:
        links.first = url(1)
        links.previous = url(min(wanted.page - 1, pages))
    if wanted.page < pages:
        links.next = url(wanted.page + 1)
        links.last = url(pages)
    return Links(pages=links), Meta(page=wanted.page, pages=pages, total=total)
