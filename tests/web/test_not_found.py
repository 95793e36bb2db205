"""Unknown paths: the panel's answer with a page, the APIs' and operations' with their own 404."""

from __future__ import annotations

import httpx

from tests.support.hub import Hub


def test_an_unknown_panel_path_gets_a_not_found_page(hub: Hub) -> None:
    with httpx.Client(base_url=hub.url) as web:
        for path in ["/nope", "/keys/nope", "/inference/nope/deeper", "/v2nope"]:
            answer = web.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html"), path
            assert "<h1>Not found</h1>" in answer.text, path
            assert "content-security-policy" in answer.headers
        in_window = web.get("/nope", headers={"hx-request": "true"})
        assert in_window.status_code == 404
        assert '<h2 id="modal-title">Not found</h2>' in in_window.text


def test_unknown_api_and_operations_paths_keep_their_json_404(hub: Hub) -> None:
    with httpx.Client(base_url=hub.url) as client:
        for path in ["/v2/nope", "/healthz/nope", "/metrics/nope", "/docs/nope", "/v1/nope"]:
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/json", path
