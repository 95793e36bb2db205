"""Settings from a `.env` file and from `MODELPORT_*_FILE` files (Docker and systemd secrets).

The real environment wins over `.env`; a `_FILE` variable's file holds the value, less its
trailing newline; giving a setting and its `_FILE` is an error, and so is a file that cannot
be read: both name the variable, never a value.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from modelport.config import Settings, describe, environment_value
from tests.support.cli import clean_env, modelport

SECRET = "s3cret-" + "x" * 40


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder of its own, and an environment with no MODELPORT_* setting."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("MODELPORT_")]:
        monkeypatch.delenv(name)
    return tmp_path


def settings_error(**environment: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        with pytest.raises(ValidationError) as raised:
            Settings()
    return describe(raised.value)


def test_dot_env_and_files_give_settings_and_the_environment_wins(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "secret").write_text(SECRET + "\n")
    (folder / "database").write_text("postgresql://modelport:pa ss@db/modelport\r\n")
    (folder / ".env").write_text(
        "MODELPORT_PORT=9001\n"
        "MODELPORT_LOG_LEVEL=debug\n"
        f"MODELPORT_SECRET_FILE={folder / 'secret'}\n"
        "UPSTREAM_KEY=from-dot-env\n"
        "OTHER_KEY=from-dot-env\n"
    )
    monkeypatch.setenv("MODELPORT_PORT", "9002")
    monkeypatch.setenv("MODELPORT_DATABASE_URL_FILE", str(folder / "database"))
    monkeypatch.setenv("OTHER_KEY", "from-environment")
    settings = Settings()
    assert (settings.port, settings.log_level) == (9002, "debug")
    assert settings.secret is not None
    assert settings.secret.get_secret_value() == SECRET
    assert settings.database_url == "postgresql://modelport:pa ss@db/modelport"
    assert environment_value("UPSTREAM_KEY") == "from-dot-env"
    assert environment_value("OTHER_KEY") == "from-environment"


def test_both_or_an_unreadable_file_is_a_clear_error(folder: Path) -> None:
    (folder / "redis").write_text("redis://:hunter2@cache:6379/0\n")
    (folder / "latin1").write_bytes(b"caf\xe9")
    both = settings_error(
        MODELPORT_REDIS_URL="redis://:hunter2@cache:6379/0",
        MODELPORT_REDIS_URL_FILE=str(folder / "redis"),
    )
    assert both == "give MODELPORT_REDIS_URL or MODELPORT_REDIS_URL_FILE, not both"
    missing = settings_error(MODELPORT_SECRET_FILE=str(folder / "nope"))
    assert (
        missing
        == f"MODELPORT_SECRET_FILE: cannot read {folder / 'nope'}: No such file or directory"
    )
    binary = settings_error(MODELPORT_DATABASE_URL_FILE=str(folder / "latin1"))
    assert binary.endswith("cannot read " + str(folder / "latin1") + ": not UTF-8 text")
    (folder / "empty").write_text("\n")
    empty = settings_error(MODELPORT_METRICS_TOKEN_FILE=str(folder / "empty"))
    assert empty == f"MODELPORT_METRICS_TOKEN_FILE: {folder / 'empty'} is empty"


def test_a_bad_setting_is_named_as_it_is_read(folder: Path) -> None:
    assert settings_error(OTEL_SDK_DISABLED="maybe").startswith("OTEL_SDK_DISABLED: ")
    assert settings_error(MODELPORT_PORT="x").startswith("MODELPORT_PORT: ")
    url = settings_error(MODELPORT_DATABASE_URL="postgresql:/u:hunter2@h/db")
    assert url == "MODELPORT_DATABASE_URL: is not a database URL (sqlite:///path, postgresql://...)"
    assert "hunter2" not in url


def test_serve_refuses_a_bad_secret_file_in_one_line(tmp_path: Path) -> None:
    env = clean_env(
        MODELPORT_SECRET=SECRET,
        MODELPORT_SECRET_FILE=str(tmp_path / "secret"),
        MODELPORT_DATA_DIR=str(tmp_path / "data"),
    )
    ran = modelport(None, "serve", env=env)
    assert ran.code == 2
    assert (
        ran.err
        == "modelport: bad setting: give MODELPORT_SECRET or MODELPORT_SECRET_FILE, not both\n"
    )
    assert not (tmp_path / "data").exists()
