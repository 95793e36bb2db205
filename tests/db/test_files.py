"""The data folder is 0700 and the SQLite files 0600, for a new install and an old one alike.

A real `modelport serve` with the default database (SQLite in the data folder). Its first
start writes the setup invitation, so the WAL files exist by the time it answers.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop

DATABASE = "modelport.db"
SIDE_FILES = ("-wal", "-shm")


def mode(path: Path) -> str:
    """The permission bits, as `0o600`: a failure then shows what it found."""
    return oct(stat.S_IMODE(path.stat().st_mode))


def modes(data: Path) -> dict[str, str]:
    """The folder's mode and each SQLite file's (all must exist)."""
    found = {".": mode(data), DATABASE: mode(data / DATABASE)}
    found.update({DATABASE + s: mode(data / (DATABASE + s)) for s in SIDE_FILES})
    return found


PRIVATE = {".": "0o700", DATABASE: "0o600", **{DATABASE + s: "0o600" for s in SIDE_FILES}}


@contextmanager
def serving(
    loop: BackgroundLoop, upstream_env: dict[str, str], root: Path, data: Path
) -> Iterator[Hub]:
    """`modelport serve` with its data in `data` and its database there, by default."""
    env = {**upstream_env, "MODELPORT_DATA_DIR": str(data), "MODELPORT_DATABASE_URL": ""}
    hub = Hub(f"sqlite:///{data / DATABASE}", root / "hub", loop, env)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_a_fresh_install_is_private(
    loop: BackgroundLoop, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "fresh" / "data"
    with serving(loop, upstream_env, tmp_path, data) as hub:
        assert modes(data) == PRIVATE
        assert "/setup?code=" in hub.stdout()  # the write that made the WAL files


def test_an_install_made_readable_by_everyone_is_made_private_at_start(
    loop: BackgroundLoop, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """As an older modelport left it: folder 0755, database and WAL files 0644 (the WAL files
    exist while another connection, here the test's own, holds the database open)."""
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    with closing(sqlite3.connect(data / DATABASE)) as old:
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE left_over (x INTEGER)")
        old.execute("INSERT INTO left_over VALUES (1)")
        old.commit()
        for path in data.iterdir():
            path.chmod(0o644)
        assert modes(data) == {".": "0o755", **{name: "0o644" for name in PRIVATE if name != "."}}
        with serving(loop, upstream_env, tmp_path, data):
            assert modes(data) == PRIVATE
