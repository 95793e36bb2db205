"""The CLI's REST client: URL and token from options or `MODELPORT_URL`/`MODELPORT_TOKEN`."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import httpx
import typer

from modelport.config import Settings


class Output(enum.StrEnum):
    table = "table"
    json = "json"


UrlOption = Annotated[str | None, typer.Option("--url", help="Hub URL (MODELPORT_URL).")]
TokenOption = Annotated[
    str | None, typer.Option("--token", help="API token (MODELPORT_TOKEN).", show_default=False)
]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table or json.")]


class Api:
    """A thin httpx wrapper that turns /v2 errors into a clean exit with their message."""

    def __init__(self, url: str | None, token: str | None) -> None:
        try:
            settings = Settings()
        except ValueError as exc:
            fail(f"bad MODELPORT_* setting: {exc}")
        token = token or (settings.token.get_secret_value() if settings.token else None)
        if not token:
            fail("no API token: pass --token or set MODELPORT_TOKEN")
        base_url = (url or settings.url).rstrip("/")
        try:
            self._client = httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
            )
        except httpx.InvalidURL as exc:
            fail(f"the hub URL {base_url!r} is not valid: {exc}")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer; on any failure, exits with a one-line message (never the token)."""
        try:
            response = self._client.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            fail(f"cannot reach {self._client.base_url}: {exc}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_error:
            if isinstance(body, dict) and "message" in body:
                fail(f"{body['message']} ({body.get('id')}, {response.status_code})")
            fail(f"HTTP {response.status_code} from {response.url}")
        if body is None:
            fail(f"{response.url} did not answer with JSON: is the URL a modelport hub?")
        return body


def fail(message: str) -> NoReturn:
    """Print `Error: message` on stderr and exit with status 1."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def show(output: Output, data: Any, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print `data` as JSON, or `rows` as an aligned table of `columns`."""
    if output is Output.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    typer.echo(header.rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)
