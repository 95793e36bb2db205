"""The `modelport` command line, like doctl.

`serve`, `tokens` and `users` work on the database directly; `keys`, `models`, `usage` and
`audit` talk to the REST API like any other client.
"""

from __future__ import annotations

import typer

from modelport.cli import audit, keys, local, models, usage

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
local.register(app)
app.add_typer(keys.app, name="keys")
app.add_typer(models.app, name="models")
app.command("usage")(usage.usage)
app.command("audit")(audit.audit)


def main() -> None:
    app()
