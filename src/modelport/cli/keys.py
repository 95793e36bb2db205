"""`modelport keys ...`: the key lifecycle over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from modelport.cli.client import Api, Output, OutputOption, TokenOption, UrlOption, fail, show

app = typer.Typer(no_args_is_help=True, help="Model access keys.")

BASE = "/v2/gen-ai/models/api_keys"
COLUMNS = ("uuid", "name", "created_at", "hint", "last_used_at", "models")
ONCE = "This secret will not be shown again. Store it now."

ConfirmOption = Annotated[
    str | None, typer.Option("--confirm", help="The key's name, to skip the prompt.")
]


@app.command("list")
def list_keys(
    page: Annotated[int, typer.Option(help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(help="Keys per page, up to 200.")] = 20,
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """List keys, newest first."""
    data = Api(url, token).call("GET", BASE, params={"page": page, "per_page": per_page})
    show(output, data, data["api_key_infos"], COLUMNS)
    if output is Output.table:
        meta = data["meta"]
        typer.echo(f"page {meta['page']} of {meta['pages']}, {meta['total']} keys")


@app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="A name for the key.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Limit the key to this model; repeat.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Create a key and print its secret, once."""
    body: dict[str, Any] = {"name": name}
    if model:
        body["models"] = model
    info = Api(url, token).call("POST", BASE, json=body)["api_key_info"]
    _show_secret(output, info)


@app.command("get")
def get_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Show one key."""
    data = Api(url, token).call("GET", f"{BASE}/{key_id}")
    show(output, data, [data["api_key_info"]], COLUMNS)


@app.command("rename")
def rename_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str, typer.Argument(help="The new name.")],
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Rename a key."""
    body = {"api_key_uuid": key_id, "name": name}
    data = Api(url, token).call("PUT", f"{BASE}/{key_id}", json=body)
    show(output, data, [data["api_key_info"]], COLUMNS)


@app.command("regenerate")
def regenerate_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    confirm: ConfirmOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Give a key a new secret. The old secret stops working at once."""
    api = Api(url, token)
    _confirm(api, key_id, confirm, "regenerate")
    info = api.call("PUT", f"{BASE}/{key_id}/regenerate")["api_key_info"]
    _show_secret(output, info)


@app.command("delete")
def delete_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    confirm: ConfirmOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Delete a key for good. Every app using it loses access at once."""
    api = Api(url, token)
    _confirm(api, key_id, confirm, "delete")
    data = api.call("DELETE", f"{BASE}/{key_id}")
    show(output, data, [data["api_key_info"]], (*COLUMNS, "deleted_at"))


def _confirm(api: Api, key_id: str, typed: str | None, verb: str) -> None:
    """Ask for the key's name, as the control panel does; abort unchanged on a mismatch."""
    name = api.call("GET", f"{BASE}/{key_id}")["api_key_info"]["name"]
    if typed is None:
        typed = typer.prompt(f"Type the key's name ({name}) to {verb} it")
    if typed != name:
        fail(f"the name does not match; nothing was changed (expected {name!r})")


def _show_secret(output: Output, info: dict[str, Any]) -> None:
    show(output, {"api_key_info": info}, [info], (*COLUMNS, "secret_key"))
    if output is Output.table:
        typer.echo(ONCE, err=True)
