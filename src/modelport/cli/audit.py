"""`modelport audit`: the team's audit log over the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from modelport.cli.client import Api, Output, OutputOption, TokenOption, UrlOption, show

COLUMNS = ("at", "actor", "action", "target_name", "target_uuid", "client_addr")


def audit(
    page: Annotated[int, typer.Option(help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(help="Events per page, up to 200.")] = 20,
    url: UrlOption = None,
    token: TokenOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Show who did what to which key, newest first."""
    data = Api(url, token).call(
        "GET", "/v2/gen-ai/audit_events", params={"page": page, "per_page": per_page}
    )
    show(output, data, data["audit_events"], COLUMNS)
