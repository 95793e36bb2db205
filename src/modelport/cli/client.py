"""The CLI's REST client, and where its hub URL and API token come from.

Each of URL and token comes from the first of: its option (`--url`, `--token`), its
variable (`MODELPORT_URL`, `MODELPORT_TOKEN`, or `*_FILE`), the context (`--context`, else
`MODELPORT_CONTEXT`, else the current one `modelport auth` stored). A context's token is only
ever sent to its own URL: a URL given otherwise needs its token given too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from modelport.cli.contexts import Contexts
from modelport.cli.output import Output, OutputOption, fail, show
from modelport.config import Settings, cli_config_file, describe

__all__ = ["Api", "Output", "OutputOption", "fail", "show"]

DEFAULT_URL = "http://127.0.0.1:8080"
PAGE_SIZE = 200
"""The most the API gives in one page: listing everything takes the fewest requests."""

UrlOption = Annotated[str | None, typer.Option("--url", help="Hub URL (MODELPORT_URL).")]
TokenOption = Annotated[
    str | None, typer.Option("--token", help="API token (MODELPORT_TOKEN).", show_default=False)
]


def stored_context_names(incomplete: str) -> list[str]:
    """Shell completion for --context: the stored names that start with what was typed."""
    try:
        names = Contexts.load(cli_config_file()).stored
    except ValueError:
        return []
    return sorted(name for name in names if name.startswith(incomplete))


ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        help="A stored context (see `modelport auth`); MODELPORT_CONTEXT.",
        show_default=False,
        autocompletion=stored_context_names,
    ),
]
PageOption = Annotated[
    int | None, typer.Option(min=1, help="Show only this page (default: every page).")
]
PerPageOption = Annotated[
    int | None, typer.Option(min=1, max=PAGE_SIZE, help=f"Items per request, up to {PAGE_SIZE}.")
]


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        fail(f"bad setting: {describe(exc)}", code=2)


_given_before_the_command: dict[str, str] = {}


def remember_root_context(name: str | None) -> None:
    """`modelport --context NAME <command>`: the root command hands NAME on to the command."""
    if name:
        _given_before_the_command["context"] = name


def chosen_context(named: str | None, settings: Settings) -> str | None:
    """The context a command names, else the one given before it (`modelport --context`)
    or MODELPORT_CONTEXT names; None for the current one."""
    return named or _given_before_the_command.get("context") or settings.context


class Api:
    """A thin httpx wrapper that turns /v2 errors into a clean exit with their message."""

    def __init__(self, url: str | None, token: str | None, context: str | None = None) -> None:
        # Imported here, not at the top: httpx costs every CLI command (`--help`, `tokens`,
        # `db`) ~0.07 s to import, and only the API commands need it.
        import httpx

        settings = load_settings()
        named = context or _given_before_the_command.get("context")
        if named is None:
            url = url or (settings.url if "url" in settings.model_fields_set else None)
            token = token or (settings.token.get_secret_value() if settings.token else None)
        # A context named on the command line beats MODELPORT_URL and MODELPORT_TOKEN, and
        # its token goes to its own URL only: never the environment's token to its URL.
        if url is None or token is None:
            url, token = _from_context(url, token, named or settings.context)
        if not token:
            fail(
                "no API token: pass --token, set MODELPORT_TOKEN, or store one with "
                "`modelport auth init`"
            )
        base_url = url.rstrip("/")
        if not token.isascii() or not token.isprintable():
            fail("the API token holds characters a token cannot have: paste it again")
        try:
            self._client = httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
            )
        except httpx.InvalidURL as exc:
            fail(f"the hub URL {base_url!r} is not valid: {exc}")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer; on any failure, exits with a one-line message (never the token)."""
        import httpx  # already imported by __init__

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

    def list(
        self,
        path: str,
        field: str,
        page: int | None,
        per_page: int | None,
        params: dict[str, Any] | None = None,
    ) -> tuple[Any, list[Any], str]:
        """A paged list: the JSON to print, its items, and a line saying how many.

        With `page`, that page as the API gives it; else every page, `per_page` at a time,
        as `{field: [...], "meta": {"total": n}}`.
        """
        if page is not None:
            data = self._page(path, params, page, per_page or 20)
            meta = data["meta"]
            return (
                data,
                data[field],
                f"page {meta['page']} of {meta['pages']}, {meta['total']} in all",
            )
        items: list[Any] = []
        for data in self._pages(path, params, per_page or PAGE_SIZE):
            items.extend(data[field])
        return {field: items, "meta": {"total": len(items)}}, items, f"{len(items)} in all"

    def _pages(self, path: str, params: dict[str, Any] | None, per_page: int) -> Iterator[Any]:
        number = 1
        while True:
            data = self._page(path, params, number, per_page)
            yield data
            if number >= data["meta"]["pages"]:
                return
            number += 1

    def _page(self, path: str, params: dict[str, Any] | None, page: int, per_page: int) -> Any:
        return self.call("GET", path, params={**(params or {}), "page": page, "per_page": per_page})


def _from_context(url: str | None, token: str | None, name: str | None) -> tuple[str, str | None]:
    try:
        contexts = Contexts.load(cli_config_file())
    except ValueError as exc:
        fail(str(exc))
    name = name or contexts.current
    if name is None:
        return url or DEFAULT_URL, token
    stored = contexts.stored.get(name)
    if stored is None:
        fail(f"no context named {name!r}: see `modelport auth list`")
    if url is None:
        return stored.url, token or stored.token
    same_hub = url.rstrip("/") == stored.url.rstrip("/")
    return url, token or (stored.token if same_hub else None)
