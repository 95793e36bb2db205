"""What the conversation service hands back, in the shapes OpenAI's Responses API lists use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Order = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of a stored response's input items, in the order asked for."""

    data: list[dict[str, Any]]
    has_more: bool

    @property
    def first_id(self) -> str | None:
        return self.data[0]["id"] if self.data else None

    @property
    def last_id(self) -> str | None:
        return self.data[-1]["id"] if self.data else None

    def wire(self) -> dict[str, Any]:
        """The list object `GET /v1/responses/{id}/input_items` answers with."""
        return {
            "object": "list",
            "data": self.data,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "has_more": self.has_more,
        }
