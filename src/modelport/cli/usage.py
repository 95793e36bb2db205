"""`modelport usage`: requests, tokens and cost over the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from modelport.cli.client import (
    Api,
    ContextOption,
    Output,
    OutputOption,
    TokenOption,
    UrlOption,
    show,
)
from modelport.cli.output import FormatOption, NoHeaderOption, View

COLUMNS = (
    "requests",
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost",
)


def usage(
    key: Annotated[str | None, typer.Option("--key", help="One key's usage (its uuid).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Start date or date-time; this month by default.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End date (inclusive) or date-time.")] = None,
    group_by: Annotated[str, typer.Option(help="day, model or key (key: team-wide only).")] = "day",
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """Show usage and charges (USD, exact), for the team or one key.

    Cached and cache-write tokens are part of the prompt tokens, reasoning tokens part of the
    completion tokens.
    """
    path = f"/v2/gen-ai/models/api_keys/{key}/usage" if key else "/v2/gen-ai/usage"
    params = {"group_by": group_by, "start": since, "end": until}
    data = Api(url, token, context).call(
        "GET", path, params={k: v for k, v in params.items() if v is not None}
    )
    label = {"day": "date", "model": "model", "key": "api_key_uuid"}.get(group_by, group_by)
    rows = [*data["usage"], {label: "TOTAL", **data["totals"]}]
    show(View(output, fields, not no_header), data, rows, (label, *COLUMNS))
