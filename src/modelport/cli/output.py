"""How commands print: an aligned table (`--format` picks its columns) or JSON, like doctl."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer


class Output(enum.StrEnum):
    text = "text"
    table = "table"
    """The older name of `text`, still accepted."""
    json = "json"


OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="text (a table) or json.", show_default=False)
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="COLUMNS",
        help="Columns to show, comma-separated, e.g. ID,Name,CreatedAt (any case; _ optional).",
    ),
]
NoHeaderOption = Annotated[bool, typer.Option("--no-header", help="Rows only, no column names.")]


@dataclass(frozen=True)
class View:
    """What a list command was asked to print."""

    output: Output = Output.text
    format: str | None = None
    header: bool = True


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `Error: message` on stderr and exit with status `code` (1; 2 for bad usage)."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def show(
    output: Output | View,
    data: Any,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    count: str | None = None,
) -> None:
    """Print `data` as JSON, or `rows` as an aligned table of `columns` (or those picked)
    and `count` (a list's "N in all") on standard error, out of a script's way."""
    view = output if isinstance(output, View) else View(output)
    if view.output is Output.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if view.format is not None:
        columns = pick(view.format, columns)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [
        max([len(c) if view.header else 0, *(len(r[i]) for r in cells)])
        for i, c in enumerate(columns)
    ]
    if view.header:
        header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
        typer.echo(header.rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if count is not None:
        typer.echo(count, err=True)


def pick(wanted: str, columns: Sequence[str]) -> list[str]:
    """The columns `--format` names, in its order; `CreatedAt`, `created_at` and `CREATEDAT`
    are the same column, and `ID` is the uuid where there is no other id."""
    known = {_squash(c): c for c in columns}
    if "id" not in known and "uuid" in known:
        known["id"] = known["uuid"]
    chosen = []
    for name in (part.strip() for part in wanted.split(",")):
        column = known.get(_squash(name))
        if column is None:
            fail(f"--format: no column {name!r}; the columns are {','.join(columns)}")
        chosen.append(column)
    return chosen


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)
