"""`modelport audit`: the team's audit log over the REST API."""

from __future__ import annotations

from modelport.cli.client import (
    Api,
    ContextOption,
    Output,
    OutputOption,
    PageOption,
    PerPageOption,
    TokenOption,
    UrlOption,
)
from modelport.cli.output import FormatOption, NoHeaderOption, View, show

COLUMNS = ("at", "actor", "action", "target_name", "target_uuid", "client_addr")


def audit(
    page: PageOption = None,
    per_page: PerPageOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    context: ContextOption = None,
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """Show who did what to which key, newest first."""
    api = Api(url, token, context)
    data, events, count = api.list("/v2/gen-ai/audit_events", "audit_events", page, per_page)
    show(View(output, fields, not no_header), data, events, COLUMNS, count)
