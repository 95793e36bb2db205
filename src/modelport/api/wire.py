"""What /v2 wire shapes share: a field that is left out, rather than null, when it has no value."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")


def _none(value: object) -> bool:
    return value is None


Omitted = Annotated[T | SkipJsonSchema[None], Field(exclude_if=_none)]
"""A field absent from the JSON when it is None, documented as its type alone (not nullable,
not required). DigitalOcean's schemas allow no null: a strict client of them refuses one.
Give it `Field(default=None, ...)`."""
