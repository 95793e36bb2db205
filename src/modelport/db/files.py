"""The data folder and the SQLite files: readable by the service's own user, and nobody else.

They hold emails, password hashes, key and session digests and the server secret. The folder
is 0700 and the database 0600. SQLite gives a database's `-wal`, `-shm` and `-journal` files
the database file's own mode when it creates them, so the database file is created 0600
before SQLite first opens it. An install made before this gets its modes fixed at its next
start. Standard library only: `cli/local.py`, which every command loads, imports it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def private_folder(folder: Path) -> None:
    """Create `folder` (and any missing parent) and make it 0700, whether it is new or not.

    Raises OSError when the folder cannot be created or is not ours to change.
    """
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    folder.chmod(FOLDER_MODE)


def private_sqlite_files(database: Path) -> None:
    """Create the database file 0600 if it is missing, and make it and its side files 0600.

    Does nothing when the database's folder does not exist: SQLite then reports that when it
    first connects, like any other database it cannot open. Raises OSError when a file is not
    ours to change.
    """
    if not database.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for path in (database, *(database.with_name(database.name + s) for s in SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            path.chmod(FILE_MODE)
