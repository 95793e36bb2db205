"""The CLI's stored contexts, like doctl's: a name, a hub URL and an API token each.

They live in one TOML file (`config.cli_config_file()`), 0600 in a 0700 folder, since it
holds tokens. tomllib reads it; it is written here, every string quoted and escaped, and
replaced whole (a new file renamed over the old one), so a crash leaves the old one intact.

```toml
current = "default"

[contexts."default"]
url = "http://127.0.0.1:8080"
token = "mpt_..."
```
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


@dataclass(frozen=True)
class Context:
    url: str
    token: str


@dataclass
class Contexts:
    """Every stored context, and which one commands use when none is named."""

    path: Path
    current: str | None = None
    stored: dict[str, Context] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Contexts:
        """The file's contexts; none if it does not exist. ValueError if it is not ours."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(text)
            stored = {
                name: Context(url=str(entry["url"]), token=str(entry["token"]))
                for name, entry in data.get("contexts", {}).items()
            }
        except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path} is not a modelport config file: {exc}") from None
        current = data.get("current")
        return cls(path, current if current in stored else None, stored)

    def save(self) -> None:
        """Write the file 0600 in a 0700 folder, replacing the old one at once."""
        folder = self.path.parent
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        folder.chmod(FOLDER_MODE)
        lines = [] if self.current is None else [f"current = {_quote(self.current)}"]
        for name, context in sorted(self.stored.items()):
            lines += ["", f"[contexts.{_quote(name)}]"]
            lines += [f"url = {_quote(context.url)}", f"token = {_quote(context.token)}"]
        partial = folder / f".{self.path.name}.{os.getpid()}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        partial.chmod(FILE_MODE)
        partial.replace(self.path)


def _quote(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
