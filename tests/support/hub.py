"""A real `modelport serve` process for tests, on a real database, over real HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from modelport.auth.service import TokenService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from tests.support.loop import BackgroundLoop
from tests.support.ports import free_port

SECRET_PATTERN = re.compile(r"\bmp[a-z]?_[0-9A-Za-z]{38}\b")
"""A key, an API token, an invitation code or a session token: `mp`, a letter or not, `_`."""
BODY_LENGTH = 38
"""What follows the prefix: the random body and its checksum, a secret all the same."""
TEST_SECRET = "test-server-secret-" + "x" * 32
LOG_LINES_SHOWN = 20
"""How much of a hub's log a failed start shows."""

HUBS: list[Hub] = []
"""Every hub made in this test run, whoever made it: their logs are all searched at the end."""


BODY_RUN = re.compile(rf"[0-9A-Za-z]{{{BODY_LENGTH},}}")
"""Where a body can be: a run of its characters at least as long as it."""


def find_leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets that appear in `text`: any of `secrets` (ours with their prefix or without
    it), and anything shaped like one of ours (a secret no test saw is a leak all the same).

    One of ours appears when its body does (with its prefix it does too). The bodies looked for
    are every stretch of `text` a body could be, collected once: the session's last check
    looks for thousands of secrets in every hub's logs, and a substring search of the whole
    text per secret took ~13 s of it."""
    bodies: set[str] | None = None
    found: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        if SECRET_PATTERN.fullmatch(secret) is None:
            if secret in text:
                found.add(secret)
            continue
        if bodies is None:
            bodies = _possible_bodies(text)
        if secret[-BODY_LENGTH:] in bodies:
            found.add(secret)
    found.update(SECRET_PATTERN.findall(text))
    return sorted(found)


def _possible_bodies(text: str) -> set[str]:
    """Every `BODY_LENGTH` characters of `text` that a body could be: a body holds only
    letters and digits, so it lies within a run of them."""
    return {
        run[start : start + BODY_LENGTH]
        for run in BODY_RUN.findall(text)
        for start in range(len(run) - BODY_LENGTH + 1)
    }


@dataclass(frozen=True)
class Team:
    """A team of its own for one test, with a read-write and a read-only token."""

    name: str
    token: str
    read_only_token: str


class Hub:
    """One running hub. Tests isolate themselves by working in a team of their own."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        loop: BackgroundLoop,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = loop
        self._env = {
            **os.environ,
            "MODELPORT_DATABASE_URL": database_url,
            "MODELPORT_SECRET": TEST_SECRET,
            "MODELPORT_DATA_DIR": str(data_dir),
            "MODELPORT_LOG_FILE": str(self.log_path),
            "MODELPORT_API_RATE_LIMIT_PER_MINUTE": "100000",
            **(extra_env or {}),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._settings = Settings(database_url=database_url, secret=TEST_SECRET)
        self.issued: set[str] = set()
        """Every secret this hub handed out to a test, to search the logs for at the end."""
        self._database: Database | None = None
        """The tests' own connections to the hub's database, kept from one team to the next:
        a new engine per team cost ~20-40 ms (a connection and, on PostgreSQL, the dialect's
        first queries). Closed with the hub; an idle one is checked before it is used
        (`modelport.db.engine`), so a database restarted meanwhile is reconnected to."""
        HUBS.append(self)

    @property
    def env(self) -> dict[str, str]:
        return dict(self._env)

    def start(self, timeout: float = 30) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "modelport", "serve", "--port", str(self.port)],
            env=self._env,
            stdout=open(self.data_dir / "stdout.log", "ab"),  # noqa: SIM115
            stderr=open(self.data_dir / "stderr.log", "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self._process.poll()) is not None:
                raise RuntimeError(f"modelport serve exited with {code}: {self._why()}")
            # Asked only once the port takes connections: each refused httpx.get cost this
            # process ~20 ms of CPU (a new client), taken from the starting server on CI's
            # two cores, and a connection attempt costs nothing, so it can be made often.
            if self._listening():
                try:
                    if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)
        raise RuntimeError(f"modelport serve did not become healthy: {self._why()}")

    def _why(self) -> str:
        """What the server printed, and the end of its log: it logs to a file, so a port
        found taken or a failed start is told there, not on stderr."""
        lines = self.logs().splitlines()[-LOG_LINES_SHOWN:]
        return "\n".join([self.stderr(), f"last lines of {self.log_path}:", *lines])

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.close_database()

    def close_database(self) -> None:
        """Close the tests' connections to the hub's database (made again if needed)."""
        if self._database is not None:
            database, self._database = self._database, None
            self._loop.run(database.dispose())

    def signal(self, sig: int) -> None:
        """Send the server process `sig` (SIGTERM starts its drain) without waiting."""
        assert self._process is not None
        self._process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The server process's exit code, once it has exited (TimeoutExpired after `timeout`)."""
        assert self._process is not None
        return self._process.wait(timeout)

    def stdout(self) -> str:
        """What the server printed for its operator (the setup link), never its logs."""
        path = self.data_dir / "stdout.log"
        return path.read_text() if path.exists() else ""

    def stderr(self) -> str:
        path = self.data_dir / "stderr.log"
        return path.read_text() if path.exists() else ""

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def new_team(self, name: str | None = None) -> Team:
        """A team (a fresh one unless `name` is given) with a new read-write and a new
        read-only token, made on the database."""
        name = name or "t-" + uuid.uuid4().hex[:12]
        token, read_only = self._loop.run(self._issue_tokens(name))
        self.issued.update((token, read_only))
        return Team(name=name, token=token, read_only_token=read_only)

    async def _issue_tokens(self, team_name: str) -> tuple[str, str]:
        if self._database is None:
            self._database = Database(self._settings.sqlalchemy_url)
        async with self._database.write() as unit:
            service = TokenService(unit, Digester(self._settings.server_secret()))
            team = await service.team(team_name, create=True)
            _, token = await service.issue(team, "rw", read_only=False, created_by="test")
            _, read_only = await service.issue(team, "ro", read_only=True, created_by="test")
        return token, read_only

    def client(self, token: str | None) -> httpx.Client:
        """A client whose every response is scanned for issued secrets."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=30,
            event_hooks={"response": [self._remember_secrets]},
        )

    def async_client(self, token: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            timeout=60,
            event_hooks={"response": [self._remember_secrets_async]},
        )

    def _remember_secrets(self, response: httpx.Response) -> None:
        response.read()
        self.issued.update(SECRET_PATTERN.findall(response.text))

    async def _remember_secrets_async(self, response: httpx.Response) -> None:
        await response.aread()
        self.issued.update(SECRET_PATTERN.findall(response.text))

    def remember(self, text: str) -> None:
        """Note every secret in `text` (say, a CLI's output), to search the logs for it."""
        self.issued.update(SECRET_PATTERN.findall(text))

    def leaked_secrets(self, also: Iterable[str] = ()) -> list[str]:
        """Secrets (issued here, or `also`) that appear in the server's logs (should be none)."""
        return find_leaks(self.logs() + self.stderr(), {*self.issued, *also})
