"""`modelport models list`: the catalog over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

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

app = typer.Typer(no_args_is_help=True, help="The model catalog.")

COLUMNS = (
    "id",
    "provider",
    "type",
    "context",
    "input_$/M",
    "cached_$/M",
    "cache_write_$/M",
    "output_$/M",
    "available",
)


@app.command("list")
def list_models(
    usecase: Annotated[
        list[str] | None, typer.Option("--usecase", help="e.g. MODEL_USECASE_KNOWLEDGEBASE")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """List every model: type, context window, prices per million tokens, availability.
    A cache price shown as `-` is the input price."""
    api = Api(url, token, context)
    params = {"usecases": usecase or []}
    data, models, count = api.list("/v2/gen-ai/models", "models", None, None, params)
    show(View(output, fields, not no_header), data, [_row(m) for m in models], COLUMNS, count)


def _row(model: dict[str, Any]) -> dict[str, Any]:
    pricing = model["pricing"]
    return {
        "id": model["id"],
        "provider": model["provider_name"],
        "type": model["type"],
        "context": model["context_window"],
        "input_$/M": pricing["input_price_per_million"],
        "cached_$/M": pricing.get("cache_read_input_price_per_million"),
        "cache_write_$/M": pricing.get("cache_write_input_price_per_million"),
        "output_$/M": pricing["output_price_per_million"],
        "available": "yes" if model["available"] else "no: " + model["unavailable_reason"],
    }
