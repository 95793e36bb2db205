"""Reading the catalog file. A malformed catalog stops the server, naming entry and field."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modelport.catalog.model import CatalogEntry, CatalogModel


class CatalogError(ValueError):
    """The catalog file cannot be used; the message says where and why."""


def default_catalog_text() -> str:
    return resources.files("modelport.catalog").joinpath("default.toml").read_text("utf-8")


def load_catalog(path: Path | None, env: Callable[[str], str | None]) -> dict[str, CatalogModel]:
    """Every model of the catalog at `path` (or the shipped one), by id; CatalogError if bad."""
    where = str(path) if path else "the default catalog"
    try:
        text = path.read_text("utf-8") if path else default_catalog_text()
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {where}: {exc.strerror}") from None
    return parse_catalog(text, where, env)


def parse_catalog(
    text: str, where: str, env: Callable[[str], str | None]
) -> dict[str, CatalogModel]:
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog {where} is not valid TOML: {exc}") from None
    entries = document.get("models")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"catalog {where} has no [[models]] entries")
    models: dict[str, CatalogModel] = {}
    for position, raw in enumerate(entries, start=1):
        entry = _entry(raw, position, where)
        if entry.id in models:
            raise CatalogError(f"catalog {where}: entry {position} repeats the id {entry.id!r}")
        models[entry.id] = CatalogModel.resolve(entry, env)
    return models


def _entry(raw: Any, position: int, where: str) -> CatalogEntry:
    label = f"entry {position}"
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        label += f" ({raw['id']})"
    try:
        return CatalogEntry.model_validate(raw)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "(entry)"
        raise CatalogError(f"catalog {where}: {label}, field {field!r}: {problem['msg']}") from None
