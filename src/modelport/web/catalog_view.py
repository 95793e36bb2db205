"""The Model catalog page's table: filtered by type and provider, sorted by any column."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from modelport.catalog.model import CatalogModel
from modelport.errors import InvalidInput

COMPARE_MIN, COMPARE_MAX = 2, 4
PICK_TO_COMPARE = f"Tick {COMPARE_MIN} to {COMPARE_MAX} models to compare them."

SORTS: dict[str, Callable[[CatalogModel], Any]] = {
    "name": lambda m: m.entry.name.lower(),
    "provider": lambda m: (m.entry.provider, m.entry.name.lower()),
    "type": lambda m: (m.entry.type, m.entry.name.lower()),
    "context": lambda m: m.entry.context_window,
    "input": lambda m: m.entry.input_price_per_million,
    "output": lambda m: m.entry.output_price_per_million,
}


@dataclass(frozen=True, slots=True)
class CatalogView:
    models: list[CatalogModel]
    types: list[str]
    providers: list[str]
    type: str
    provider: str
    sort: str
    descending: bool

    def sort_link(self, column: str) -> str:
        """The page sorted by `column`: ascending first, descending when clicked again."""
        descending = column == self.sort and not self.descending
        query = {"type": self.type, "provider": self.provider, "sort": column}
        query["order"] = "desc" if descending else "asc"
        return "/catalog?" + urlencode({k: v for k, v in query.items() if v})

    def aria_sort(self, column: str) -> str | None:
        if column != self.sort:
            return None
        return "descending" if self.descending else "ascending"


def catalog_view(
    models: Sequence[CatalogModel], type_: str, provider: str, sort: str, order: str
) -> CatalogView:
    """The models that pass the filters, in the chosen order (catalog order by default).
    Unknown filter or sort values are ignored rather than refused: they come from links."""
    shown = [
        m
        for m in models
        if (not type_ or m.entry.type == type_) and (not provider or m.entry.provider == provider)
    ]
    if sort in SORTS:
        shown.sort(key=SORTS[sort], reverse=order == "desc")
    return CatalogView(
        models=shown,
        types=sorted({m.entry.type for m in models}),
        providers=sorted({m.entry.provider for m in models}),
        type=type_,
        provider=provider,
        sort=sort if sort in SORTS else "",
        descending=order == "desc",
    )


def to_compare(models: Sequence[CatalogModel], wanted: Sequence[str]) -> list[CatalogModel]:
    """The chosen models in the order ticked; InvalidInput unless there are two to four."""
    by_id = {m.id: m for m in models}
    chosen = [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
    if not COMPARE_MIN <= len(chosen) <= COMPARE_MAX:
        raise InvalidInput(PICK_TO_COMPARE, field="models")
    return chosen
