"""`modelport auth ...`: contexts (a hub URL and a token each) stored for the API commands.

The file is private (0600 in a 0700 folder) and never printed; a flag or variable wins over
the context, and a context's token only ever goes to its own URL. One backend is enough: no
command here touches storage beyond what the API does.
"""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from modelport.cli.contexts import Context, Contexts
from tests.support.cli import Ran, assert_clean_failure, clean_env, modelport, side_by_side
from tests.support.hub import Hub, Team

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
KEYS = "/v2/gen-ai/models/api_keys"


def ok(ran: Ran) -> Ran:
    assert ran.code == 0, ran.err
    return ran


@SQLITE_ONLY
def test_contexts_choose_the_hub_and_token(hub: Hub, team: Team, tmp_path: Path) -> None:
    other = hub.new_team()
    config = tmp_path / "xdg" / "modelport" / "config.toml"
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path / "xdg"))

    def cli(*args: str, stdin: str = "", **extra: str) -> Ran:
        return modelport(hub, *args, env={**env, **extra}, stdin=stdin)

    # The token comes from stdin (no terminal), the first context becomes the current one.
    stored = ok(cli("auth", "init", "--url", hub.url, stdin=team.token + "\n"))
    ok(cli("auth", "init", "--context", "other", "--url", hub.url, "--token", other.token))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert tomllib.loads(config.read_text())["contexts"]["other"]["token"] == other.token
    assert "the current context" in stored.err
    with hub.client(team.token) as api:
        ours = api.post(KEYS, json={"name": "ours"}).json()["api_key_info"]["uuid"]
    ids = ("--format", "id", "--no-header")
    contexts, current, before, after, variable, named_wins, elsewhere, gone, refused = side_by_side(
        lambda: cli("auth", "list", "--no-header"),
        lambda: cli("keys", "list", *ids),
        lambda: cli("--context", "other", "keys", "list", *ids),
        lambda: cli("keys", "list", *ids, "--context", "other"),
        lambda: cli("keys", "list", *ids, MODELPORT_CONTEXT="other"),
        lambda: cli("keys", "list", *ids, "--context", "other", MODELPORT_TOKEN=team.token),
        # A URL given otherwise does not get the context's token.
        lambda: cli("keys", "list", MODELPORT_URL="http://127.0.0.1:1"),
        lambda: cli("keys", "list", "--context", "gone"),
        lambda: cli("auth", "init", "--context", "bad", "--url", hub.url, stdin="mpt_" + "x" * 38),
    )
    assert ok(contexts).lines == [f"default  {hub.url}  yes", f"other    {hub.url}  no"]
    assert ok(current).lines == [ours]
    assert ok(before).lines == ok(after).lines == ok(variable).lines == []
    # A context named on the command line beats MODELPORT_TOKEN: its own token, to its own URL.
    assert ok(named_wins).lines == []
    assert_clean_failure(elsewhere, "no API token")
    assert_clean_failure(gone, "no context named 'gone'")
    assert_clean_failure(refused, "unauthorized", "401")
    assert "bad" not in tomllib.loads(config.read_text())["contexts"]

    ok(cli("auth", "switch", "--context", "other"))
    assert ok(cli("keys", "list", *ids)).lines == []
    ok(cli("auth", "remove", "--context", "other"))
    listed, no_current = side_by_side(
        lambda: cli("auth", "list", "-o", "json"), lambda: cli("keys", "list")
    )
    assert json.loads(ok(listed).out) == {
        "contexts": [{"name": "default", "url": hub.url, "current": False}]
    }
    assert_clean_failure(no_current, "no API token", "modelport auth init")
    for ran in (stored, contexts, elsewhere, refused, listed):
        assert team.token not in ran.out + ran.err
        assert other.token not in ran.out + ran.err


def test_the_file_keeps_any_name_and_value(tmp_path: Path) -> None:
    """Names and values with quotes, backslashes and control characters come back as
    written: the file is written by hand, read by tomllib."""
    path = tmp_path / "config" / "config.toml"
    odd = 'we "ird" \\ name\t\u0007\u007f é'
    written = Contexts(
        path, odd, {odd: Context(url='http://h/\\"', token=odd), "b": Context("u", "t")}
    )
    written.save()
    assert Contexts.load(path) == written
    path.write_text("current = [")
    with pytest.raises(ValueError, match="is not a modelport config file"):
        Contexts.load(path)
