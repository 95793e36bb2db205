"""Paged lists: newest first, 20 by default, up to 200, with DigitalOcean's links and meta."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.hub import Hub

BASE = "/v2/gen-ai/models/api_keys"
KEYS = 45


@dataclass(frozen=True)
class Listed:
    api: httpx.Client
    newest_first: list[str]
    """The uuids of the team's keys, newest first."""


@pytest.fixture(scope="module")
def listed(hub: Hub) -> Iterator[Listed]:
    with hub.client(hub.new_team().token) as api:
        created = []
        for number in range(KEYS):
            response = api.post(BASE, json={"name": f"k{number:02}"})
            assert response.status_code == 200, response.text
            created.append(response.json()["api_key_info"]["uuid"])
        yield Listed(api, created[::-1])


def _page(api: httpx.Client, **params: int) -> dict[str, Any]:
    response = api.get(BASE, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _uuids(body: dict[str, Any]) -> list[str]:
    return [key["uuid"] for key in body["api_key_infos"]]


def _link(body: dict[str, Any], which: str) -> dict[str, str]:
    """The query of one of the page's links, as a dict."""
    url = httpx.URL(body["links"]["pages"][which])
    assert url.path == BASE
    return dict(url.params)


def test_the_default_page_is_the_twenty_newest(listed: Listed) -> None:
    body = _page(listed.api)
    assert _uuids(body) == listed.newest_first[:20]
    assert body["meta"] == {"page": 1, "pages": 3, "total": KEYS}
    assert set(body["links"]["pages"]) == {"next", "last"}
    assert _link(body, "next") == {"page": "2", "per_page": "20"}
    assert _link(body, "last") == {"page": "3", "per_page": "20"}


def test_a_middle_page_links_every_way(listed: Listed) -> None:
    body = _page(listed.api, page=2)
    assert _uuids(body) == listed.newest_first[20:40]
    assert body["meta"] == {"page": 2, "pages": 3, "total": KEYS}
    pages = {which: _link(body, which)["page"] for which in body["links"]["pages"]}
    assert pages == {"first": "1", "previous": "1", "next": "3", "last": "3"}


def test_the_last_page_holds_the_oldest_and_links_back(listed: Listed) -> None:
    body = _page(listed.api, page=3)
    assert _uuids(body) == listed.newest_first[40:]
    assert body["meta"] == {"page": 3, "pages": 3, "total": KEYS}
    pages = {which: _link(body, which)["page"] for which in body["links"]["pages"]}
    assert pages == {"first": "1", "previous": "2"}


@pytest.mark.parametrize("page", [4, 10, 1000])
def test_a_page_past_the_end_is_empty_and_links_back(listed: Listed, page: int) -> None:
    body = _page(listed.api, page=page)
    assert body["api_key_infos"] == []
    assert body["meta"] == {"page": page, "pages": 3, "total": KEYS}
    pages = {which: _link(body, which)["page"] for which in body["links"]["pages"]}
    assert pages == {"first": "1", "previous": "3"}


@pytest.mark.parametrize("per_page", [45, 200])
def test_one_page_holds_everything_when_it_is_big_enough(listed: Listed, per_page: int) -> None:
    body = _page(listed.api, per_page=per_page)
    assert _uuids(body) == listed.newest_first
    assert body["meta"] == {"page": 1, "pages": 1, "total": KEYS}
    assert body["links"]["pages"] == {}


@pytest.mark.parametrize("per_page", [1, 7, 20, 44])
def test_following_next_links_walks_every_key_once(listed: Listed, per_page: int) -> None:
    body = _page(listed.api, per_page=per_page)
    seen = _uuids(body)
    pages = 1
    while "next" in body["links"]["pages"]:
        body = listed.api.get(body["links"]["pages"]["next"]).json()
        seen += _uuids(body)
        pages += 1
    assert seen == listed.newest_first
    assert pages == body["meta"]["pages"] == -(-KEYS // per_page)
    assert set(body["links"]["pages"]) == {"first", "previous"}
    assert _link(body, "first") == {"page": "1", "per_page": str(per_page)}


def test_the_lists_are_the_same_from_either_end(listed: Listed) -> None:
    """Pages in the older half are read oldest first and reversed: the order must not show."""
    per_page = 6
    pages = [_uuids(_page(listed.api, page=n, per_page=per_page)) for n in range(1, 9)]
    assert [key for page in pages for key in page] == listed.newest_first


def test_an_empty_list_has_one_page_and_no_links(hub: Hub) -> None:
    with hub.client(hub.new_team().token) as api:
        body = _page(api)
    assert body == {
        "api_key_infos": [],
        "links": {"pages": {}},
        "meta": {"page": 1, "pages": 1, "total": 0},
    }


def test_a_deleted_key_leaves_the_count_and_the_pages(hub: Hub) -> None:
    with hub.client(hub.new_team().token) as api:
        ids = [
            api.post(BASE, json={"name": f"d{n}"}).json()["api_key_info"]["uuid"] for n in range(3)
        ]
        assert api.delete(f"{BASE}/{ids[1]}").status_code == 200
        body = _page(api, per_page=1)
    assert body["meta"] == {"page": 1, "pages": 2, "total": 2}
    assert _uuids(body) == [ids[2]]
