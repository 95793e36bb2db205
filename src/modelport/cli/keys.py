"""`modelport keys ...`: the key lifecycle, and each key's limits, over the REST API."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from modelport.cli.client import (
    Api,
    ContextOption,
    Output,
    OutputOption,
    PageOption,
    PerPageOption,
    TokenOption,
    UrlOption,
    fail,
    show,
)
from modelport.cli.output import FormatOption, NoHeaderOption, View

app = typer.Typer(no_args_is_help=True, help="Model access keys.")

BASE = "/v2/gen-ai/models/api_keys"
COLUMNS = ("uuid", "name", "created_at", "hint", "last_used_at", "models", "limits")
ONCE = "This secret will not be shown again. Store it now."
CLEAR = "none"
"""What `keys update` takes to clear a limit (it sends null)."""

ConfirmOption = Annotated[
    str | None, typer.Option("--confirm", help="The key's name, to skip the prompt.")
]
ExpiresHelp = "When the key stops working: ISO 8601 (without a zone: UTC)"
SpendHelp = "USD a calendar month (UTC) may cost, e.g. 25 or 12.50"
AllowedIpsHelp = (
    "Accept requests only from these addresses and CIDR ranges, comma-separated "
    "(e.g. 10.0.0.0/8,2001:db8::/32)"
)


@app.command("list")
def list_keys(
    page: PageOption = None,
    per_page: PerPageOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """List keys, newest first."""
    data, infos, count = Api(url, token, context).list(BASE, "api_key_infos", page, per_page)
    show(View(output, fields, not no_header), data, _rows(infos), COLUMNS, count)


@app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="A name for the key.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Limit the key to this model; repeat.")
    ] = None,
    expires_at: Annotated[str | None, typer.Option(help=ExpiresHelp + ".")] = None,
    monthly_spend_limit: Annotated[str | None, typer.Option(help=SpendHelp + ".")] = None,
    rpm_limit: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    tpm_limit: Annotated[int | None, typer.Option(min=1, help="Tokens per minute.")] = None,
    allowed_ips: Annotated[
        str | None, typer.Option(metavar="CIDR,...", help=AllowedIpsHelp + ".")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Create a key and print its secret, once. Limits are optional."""
    body: dict[str, Any] = {"name": name}
    if model:
        body["models"] = model
    given = {
        "expires_at": None if expires_at is None else _expiry(expires_at),
        "monthly_spend_limit": monthly_spend_limit,
        "rpm_limit": rpm_limit,
        "tpm_limit": tpm_limit,
        "allowed_ips": None if allowed_ips is None else _addresses(allowed_ips),
    }
    body.update({field: value for field, value in given.items() if value is not None})
    info = Api(url, token, context).call("POST", BASE, json=body)["api_key_info"]
    _show_secret(output, info)


@app.command("get")
def get_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Show one key."""
    data = Api(url, token, context).call("GET", f"{BASE}/{key_id}")
    show(output, data, _rows([data["api_key_info"]]), COLUMNS)


@app.command("rename")
def rename_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str, typer.Argument(help="The new name.")],
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Rename a key."""
    body = {"api_key_uuid": key_id, "name": name}
    data = Api(url, token, context).call("PUT", f"{BASE}/{key_id}", json=body)
    show(output, data, _rows([data["api_key_info"]]), COLUMNS)


@app.command("update")
def update_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    expires_at: Annotated[
        str | None, typer.Option(metavar="ISO|none", help=ExpiresHelp + "; none: never.")
    ] = None,
    monthly_spend_limit: Annotated[
        str | None, typer.Option(metavar="USD|none", help=SpendHelp + "; none: no limit.")
    ] = None,
    rpm_limit: Annotated[
        str | None, typer.Option(metavar="N|none", help="Requests per minute; none: no limit.")
    ] = None,
    tpm_limit: Annotated[
        str | None, typer.Option(metavar="N|none", help="Tokens per minute; none: no limit.")
    ] = None,
    allowed_ips: Annotated[
        str | None,
        typer.Option(metavar="CIDR,...|none", help=AllowedIpsHelp + "; none: from anywhere."),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Change a key's name or limits. Only what is given changes; `none` clears a limit."""
    changes: dict[str, Any] = {} if name is None else {"name": name}
    for field, text, parse in (
        ("expires_at", expires_at, _expiry),
        ("monthly_spend_limit", monthly_spend_limit, str.strip),
        ("rpm_limit", rpm_limit, _per_minute("--rpm-limit")),
        ("tpm_limit", tpm_limit, _per_minute("--tpm-limit")),
        ("allowed_ips", allowed_ips, _addresses),
    ):
        if text is not None:
            changes[field] = None if text.strip().lower() == CLEAR else parse(text)
    if not changes:
        fail("nothing to change: give --name or a limit (see --help)")
    body = {"api_key_uuid": key_id, **changes}
    data = Api(url, token, context).call("PUT", f"{BASE}/{key_id}", json=body)
    show(output, data, _rows([data["api_key_info"]]), COLUMNS)


@app.command("credit")
def credit(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    add: Annotated[
        str | None,
        typer.Option(metavar="USD", help="Top the credit up by this much, e.g. 10.50."),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Show a key's prepaid credit (granted, spent, remaining), or top it up with --add.

    A key with credit gets 402 once it is spent; it never resets. Each top-up is audited.
    """
    api, path = Api(url, token, context), f"{BASE}/{key_id}/credit"
    data = (
        api.call("GET", path)
        if add is None
        else api.call("POST", path, json={"amount_usd": add.strip()})
    )
    info = data["api_key_info"]
    row = {"uuid": info["uuid"], "name": info["name"], **data["credit"]}
    show(output, data, [row], ("uuid", "name", "granted", "spent", "remaining"))


@app.command("regenerate")
def regenerate_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    overlap: Annotated[
        int,
        typer.Option(
            metavar="SECONDS",
            help="Keep the old secret working this many seconds more (at most 86400).",
        ),
    ] = 0,
    confirm: ConfirmOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Give a key a new secret. The old secret stops working at once, or after --overlap."""
    api = Api(url, token, context)
    _confirm(api, key_id, confirm, "regenerate")
    body = {"overlap_seconds": overlap} if overlap else None
    info = api.call("PUT", f"{BASE}/{key_id}/regenerate", json=body)["api_key_info"]
    _show_secret(output, info)
    if info.get("old_secret_expires_at") is not None:
        typer.echo(f"The old secret works until {info['old_secret_expires_at']}.", err=True)


@app.command("delete")
def delete_key(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    confirm: ConfirmOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Delete a key for good. Every app using it loses access at once."""
    api = Api(url, token, context)
    _confirm(api, key_id, confirm, "delete")
    data = api.call("DELETE", f"{BASE}/{key_id}")
    show(output, data, _rows([data["api_key_info"]]), (*COLUMNS, "deleted_at"))


def _confirm(api: Api, key_id: str, typed: str | None, verb: str) -> None:
    """Ask for the key's name, as the control panel does; abort unchanged on a mismatch."""
    name = api.call("GET", f"{BASE}/{key_id}")["api_key_info"]["name"]
    if typed is None:
        typed = _ask(f"Type the key's name ({name}) to {verb} it")
    if typed != name:
        fail(f"the name does not match; nothing was changed (expected {name!r})")


def _ask(question: str) -> str:
    """One line from stdin, asked on stderr: stdout carries only the command's result.

    (click's prompt writes part of itself to stdout, which would spoil `--output json`.)
    """
    typer.echo(f"{question}: ", err=True, nl=False)
    answer = sys.stdin.readline()
    if not sys.stdin.isatty():
        typer.echo(err=True)  # the answer was not echoed: end the prompt's line
    return answer.rstrip("\r\n")


def _show_secret(output: Output, info: dict[str, Any]) -> None:
    """The key with its secret on stdout; the warning on stderr, so JSON stays parseable."""
    show(output, {"api_key_info": info}, _rows([info]), (*COLUMNS, "secret_key"))
    typer.echo(ONCE, err=True)


def _rows(infos: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Key infos with a `limits` cell for tables: every limit set, in a few words."""
    return [{**info, "limits": _limits(info)} for info in infos]


def _limits(info: dict[str, Any]) -> str | None:
    words = []
    if info.get("expires_at") is not None:
        words.append(f"expires {info['expires_at']}")
    if info.get("monthly_spend_limit") is not None:
        words.append(f"${info['monthly_spend_limit']}/month")
    if info.get("credit") is not None:
        words.append(f"${info['credit']} credit")
    for field, unit in (("rpm_limit", "rpm"), ("tpm_limit", "tpm")):
        if info.get(field) is not None:
            words.append(f"{info[field]} {unit}")
    if info.get("allowed_ips") is not None:
        words.append("from " + " ".join(info["allowed_ips"]))
    if info.get("old_secret_expires_at") is not None:
        words.append(f"old secret expires at {info['old_secret_expires_at']}")
    return ", ".join(words) or None


def _expiry(text: str) -> str:
    """An ISO 8601 date or date-time as the API takes it, UTC if no zone is given."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--expires-at: {text!r} is not an ISO 8601 date-time (e.g. 2027-01-31T00:00:00Z)")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _addresses(text: str) -> list[str] | None:
    """A comma-separated list as the API takes it (the hub checks each entry); none: None."""
    if text.strip().lower() == CLEAR:
        return None
    return [item.strip() for item in text.split(",") if item.strip()]


def _per_minute(option: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            fail(f"{option}: {text!r} is not a whole number (or none)")
        if value < 1:
            fail(f"{option} must be at least 1 (or none for no limit)")
        return value

    return parse
