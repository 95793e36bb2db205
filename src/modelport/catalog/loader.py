"""Reading the catalog file. A malformed catalog stops the server, naming entry and field."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from modelport.catalog.model import CatalogEntry, CatalogModel
from modelport.catalog.router import CatalogRouter, RouterEntry
from modelport.catalog.service import Catalog

Entry = TypeVar("Entry", CatalogEntry, RouterEntry)


class CatalogError(ValueError):
    """The catalog file cannot be used; the message says where and why."""


def default_catalog_text() -> str:
    return resources.files("modelport.catalog").joinpath("default.toml").read_text("utf-8")


def load_catalog(path: Path | None, env: Callable[[str], str | None]) -> Catalog:
    """The catalog at `path` (or the shipped one); CatalogError if bad."""
    where = str(path) if path else "the default catalog"
    try:
        text = path.read_text("utf-8") if path else default_catalog_text()
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {where}: {exc.strerror}") from None
    return parse_catalog(text, where, env)


def parse_catalog(text: str, where: str, env: Callable[[str], str | None]) -> Catalog:
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog {where} is not valid TOML: {exc}") from None
    entries = document.get("models")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"catalog {where} has no [[models]] entries")
    models: dict[str, CatalogModel] = {}
    for position, raw in enumerate(entries, start=1):
        entry = _entry(raw, position, where, CatalogEntry, "entry")
        if entry.id in models:
            raise CatalogError(f"catalog {where}: entry {position} repeats the id {entry.id!r}")
        models[entry.id] = CatalogModel.resolve(entry, env)
    routers: dict[str, CatalogRouter] = {}
    for position, raw in enumerate(document.get("routers") or [], start=1):
        router = _router(_entry(raw, position, where, RouterEntry, "router"), models, where)
        if router.id in models or router.id in routers:
            raise CatalogError(f"catalog {where}: router {router.id!r} repeats an id")
        routers[router.id] = router
    return Catalog(models, routers)


def _router(entry: RouterEntry, models: dict[str, CatalogModel], where: str) -> CatalogRouter:
    """The router, once its models are known to exist and to share a type."""
    for model_id in entry.models:
        if model_id not in models:
            raise CatalogError(
                f"catalog {where}: router {entry.id!r} names {model_id!r}, "
                "which is not a model of the catalog"
            )
    if len({models[model_id].entry.type for model_id in entry.models}) > 1:
        raise CatalogError(f"catalog {where}: router {entry.id!r} mixes model types")
    return CatalogRouter(entry)


def _entry(raw: Any, position: int, where: str, kind: type[Entry], noun: str) -> Entry:
    label = f"{noun} {position}"
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        label += f" ({raw['id']})"
    try:
        return kind.model_validate(raw)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "(entry)"
        raise CatalogError(f"catalog {where}: {label}, field {field!r}: {problem['msg']}") from None
