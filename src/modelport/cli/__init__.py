"""The `modelport` command line, like doctl.

`serve`, `tokens`, `users` and `db` work on the data folder and the database directly;
`keys`, `models`, `usage` and `audit` talk to the REST API like any other client, with the
hub URL and token of `--url/--token`, `MODELPORT_URL/MODELPORT_TOKEN` or a context stored by
`modelport auth init`. Shell completion: `modelport --install-completion`.
"""

from __future__ import annotations

import gc

import typer

from modelport.cli import audit, auth, keys, local, models, usage
from modelport.cli.client import ContextOption, remember_root_context

app = typer.Typer(no_args_is_help=True, help=__doc__)


@app.callback()
def root(context: ContextOption = None) -> None:
    """The options every API command takes, given before the command."""
    remember_root_context(context)


local.register(app)
app.add_typer(auth.app, name="auth")
app.add_typer(keys.app, name="keys")
app.add_typer(models.app, name="models")
app.command("usage")(usage.usage)
app.command("audit")(audit.audit)


def main() -> None:
    try:
        app(prog_name="modelport")
    finally:
        # The command is done (a server has stopped, its logs are flushed): the collections
        # Python runs while exiting would walk every object the imports made, ~0.3 s of CPU
        # after `serve`. Frozen objects are not walked; the memory goes back to the system
        # all the same, and atexit handlers still run.
        gc.freeze()
