"""Model routers: a model id that sends each request to other catalog models.

A `[[routers]]` entry names catalog models of one type. `fallback` tries them in the order
written; `weighted` picks the first by weight and falls back to the others. The request is
served, recorded and priced as the model that answered it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Strategy = Literal["fallback", "weighted"]


class RouterEntry(BaseModel):
    """A `[[routers]]` entry of the catalog file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    name: str = Field(min_length=1, max_length=128)
    description: str = ""
    strategy: Strategy = "fallback"
    models: list[str] = Field(min_length=1, max_length=16)
    weights: list[int] | None = None
    """For `weighted`: one per model, each at least 1 (equal shares when unset)."""

    @model_validator(mode="after")
    def _coherent(self) -> RouterEntry:
        if len(set(self.models)) != len(self.models):
            raise ValueError("a model is named twice")
        if self.weights is not None:
            if self.strategy != "weighted":
                raise ValueError("weights are for the weighted strategy")
            if len(self.weights) != len(self.models) or min(self.weights) < 1:
                raise ValueError("give one weight of at least 1 per model")
        return self


@dataclass(frozen=True, slots=True)
class CatalogRouter:
    """A router whose models the catalog has checked: they exist, are no routers, and share
    a type."""

    entry: RouterEntry

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def models(self) -> list[str]:
        return self.entry.models

    @property
    def weights(self) -> list[int]:
        return self.entry.weights or [1] * len(self.entry.models)
