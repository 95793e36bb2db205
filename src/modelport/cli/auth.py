"""`modelport auth ...`: named contexts (a hub URL and an API token), as doctl keeps them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from modelport.cli.client import DEFAULT_URL, Api, load_settings
from modelport.cli.contexts import Context, Contexts
from modelport.cli.output import (
    FormatOption,
    NoHeaderOption,
    Output,
    OutputOption,
    View,
    fail,
    show,
)
from modelport.config import cli_config_file

app = typer.Typer(no_args_is_help=True, help="Stored contexts: a hub URL and an API token each.")

COLUMNS = ("name", "url", "current")
DEFAULT_CONTEXT = "default"

NameOption = Annotated[str, typer.Option("--context", help="The context's name.")]


def _load() -> Contexts:
    try:
        return Contexts.load(cli_config_file())
    except ValueError as exc:
        fail(str(exc))


def _save(contexts: Contexts) -> None:
    try:
        contexts.save()
    except OSError as exc:
        fail(f"cannot write {contexts.path}: {exc.strerror}")


@app.command("init")
def init(
    context: Annotated[
        str, typer.Option("--context", help="A name for this hub and token.")
    ] = DEFAULT_CONTEXT,
    url: Annotated[
        str | None, typer.Option("--url", help=f"The hub's URL (default: {DEFAULT_URL}).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="The API token; asked for (hidden) or read from stdin."),
    ] = None,
) -> None:
    """Store a hub URL and an API token under a name, after checking that the token works.

    The first context stored becomes the current one; `auth switch` changes it.
    """
    settings = load_settings()
    url = (url or (settings.url if "url" in settings.model_fields_set else DEFAULT_URL)).rstrip("/")
    token = (token or _read_token()).strip()
    if not token:
        fail("no API token given")
    Api(url, token).call("GET", "/v2/gen-ai/models/api_keys", params={"per_page": 1})
    contexts = _load()
    contexts.stored[context] = Context(url=url, token=token)
    if contexts.current is None:
        contexts.current = context
    _save(contexts)
    now = (
        "the current context"
        if contexts.current == context
        else f"use it with --context {context} or `modelport auth switch --context {context}`"
    )
    typer.echo(f"stored context {context} ({url}) in {contexts.path}; {now}", err=True)


def _read_token() -> str:
    """The token, asked for without echo on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return str(typer.prompt("API token", hide_input=True, err=True))
    return sys.stdin.readline()


@app.command("list")
def list_contexts(
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """List the stored contexts (never their tokens)."""
    contexts = _load()
    rows = [
        {"name": name, "url": c.url, "current": name == contexts.current}
        for name, c in sorted(contexts.stored.items())
    ]
    show(View(output, fields, not no_header), {"contexts": rows}, rows, COLUMNS)


@app.command("switch")
def switch(context: NameOption) -> None:
    """Make a stored context the current one."""
    contexts = _load()
    if context not in contexts.stored:
        fail(f"no context named {context!r}: see `modelport auth list`")
    contexts.current = context
    _save(contexts)
    typer.echo(f"now using context {context} ({contexts.stored[context].url})", err=True)


@app.command("remove")
def remove(context: NameOption) -> None:
    """Forget a stored context and its token."""
    contexts = _load()
    if contexts.stored.pop(context, None) is None:
        fail(f"no context named {context!r}: see `modelport auth list`")
    if contexts.current == context:
        contexts.current = None
    _save(contexts)
    typer.echo(f"removed context {context}", err=True)
