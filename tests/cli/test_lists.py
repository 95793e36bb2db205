"""List commands, as doctl prints them: every page unless `--page`, `--format` to pick
columns, `--no-header`, `-o json`; and shell completion. One backend: paging is the API's."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from modelport.cli.contexts import Context, Contexts
from tests.support.cli import Ran, assert_clean_failure, clean_env, modelport
from tests.support.hub import Hub, Team

KEYS = "/v2/gen-ai/models/api_keys"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
def test_lists_page_through_everything_or_show_one_page(
    hub: Hub, team: Team, api: httpx.Client
) -> None:
    made = [api.post(KEYS, json={"name": f"key {n}"}).json()["api_key_info"] for n in range(5)]
    newest_first = [info["uuid"] for info in reversed(made)]
    env = clean_env(MODELPORT_URL=hub.url, MODELPORT_TOKEN=team.token)
    commands = [
        ("keys", "list", "--per-page", "2", "--format", "ID,Name", "--no-header"),
        ("keys", "list", "--per-page", "2", "--page", "3", "--format", "CreatedAt,uuid"),
        ("keys", "list", "--per-page", "2", "--page", "2", "-o", "json"),
        ("keys", "list", "--per-page", "2", "-o", "json"),
        ("audit", "--per-page", "2", "--format", "target_name,Action", "--no-header"),
        ("models", "list", "--format", "id", "--no-header", "-o", "text"),
        ("keys", "list", "--format", "id,colour"),
    ]
    with ThreadPoolExecutor(4) as pool:
        every, last, second, as_json, audit, models, bad = pool.map(
            lambda args: modelport(hub, *args, env=env), commands
        )

    assert every.lines == [f"{uuid}  key {4 - n}" for n, uuid in enumerate(newest_first)]
    assert every.err == "5 in all\n"
    oldest = made[0]
    created_at = oldest["created_at"]
    assert last.lines == [
        f"{'CREATED_AT'.ljust(len(created_at))}  UUID",
        f"{created_at}  {oldest['uuid']}",
    ]
    assert last.err == "page 3 of 3, 5 in all\n"
    assert json.loads(second.out) == api.get(KEYS, params={"page": 2, "per_page": 2}).json()
    assert json.loads(as_json.out) == {
        "api_key_infos": api.get(KEYS, params={"per_page": 5}).json()["api_key_infos"],
        "meta": {"total": 5},
    }
    assert audit.lines == [f"key {n}  key.create" for n in range(4, -1, -1)]
    catalog = api.get("/v2/gen-ai/models", params={"per_page": 200}).json()["models"]
    assert models.lines == [m["id"] for m in catalog]
    assert_clean_failure(bad, "--format: no column 'colour'", "uuid,name,created_at")


def test_shell_completion(tmp_path: Path) -> None:
    """The script to install, and the completions it asks the command for: subcommands,
    options, and the names of stored contexts."""
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path))
    stored = {name: Context("http://127.0.0.1:1", "t") for name in ("prod", "staging", "dev")}
    Contexts(tmp_path / "modelport" / "config.toml", "prod", stored).save()

    def complete(words: str) -> Ran:
        cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
        extra = {"_MODELPORT_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        return modelport(None, env={**env, **extra})

    # Typer asks the shell it runs under which script to print: run it from bash, as a user
    # would (under make or CI the nearest shell is sh, which Typer has no script for).
    # (A second command keeps bash from exec-ing into the first and leaving sh its parent.)
    command = f"{shlex.quote(sys.executable)} -m modelport --show-completion; exit $?"
    script = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert "complete -o default -F _modelport_completion modelport" in script.stdout
    assert "_MODELPORT_COMPLETE=complete_bash" in script.stdout
    assert complete("modelport ke").lines == ["keys"]
    assert complete("modelport keys list --no").lines == ["--no-header"]
    assert set(complete("modelport db ").lines) == {"upgrade", "current", "history"}
    assert complete("modelport keys list --context ").lines == ["dev", "prod", "staging"]
    assert complete("modelport --context st").lines == ["staging"]
