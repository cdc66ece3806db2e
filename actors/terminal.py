"""Tables that fit the terminal: a row never wraps into fragments; on a narrow terminal the least important columns
are left out (and the caption says which), on a wide one every column shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Column:
    name: str
    priority: int = 0
    """0 always shows; higher numbers are left out first when the terminal is too narrow."""
    justify: str = "right"
    flexible: bool = False
    """Free text (an alert's): shortened with an ellipsis to fit, rather than pushing other columns out."""


FLEXIBLE_MIN = 24


def _content_width(column: Column, rows: Sequence[Sequence[str]], index: int) -> int:
    return max([len(column.name), *(len(Text.from_markup(row[index]).plain) for row in rows)])


def _width(columns: Sequence[Column], rows: Sequence[Sequence[str]], keep: Sequence[int]) -> int:
    """Width of a rich table with the default box and one space of padding each side (flexible columns at their
    shortest)."""
    widths = [min(_content_width(columns[i], rows, i), FLEXIBLE_MIN) if columns[i].flexible
              else _content_width(columns[i], rows, i) for i in keep]
    return sum(widths) + 3 * len(widths) + 1


def fitted_table(console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    keep = list(range(len(columns)))
    dropped: list[str] = []
    for index in sorted(keep, key=lambda i: (-columns[i].priority, -i)):
        if _width(columns, rows, keep) <= console.width or columns[index].priority == 0:
            break
        keep.remove(index)
        dropped.append(columns[index].name)
    caption = f"(too narrow for: {', '.join(dropped)})" if dropped else None
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    fixed = sum(_content_width(columns[i], rows, i) for i in keep if not columns[i].flexible) + 3 * len(keep) + 1
    flexible = [i for i in keep if columns[i].flexible]
    room = max(FLEXIBLE_MIN, (console.width - fixed) // len(flexible)) if flexible else 0
    for index in keep:
        column = columns[index]
        width = _content_width(column, rows, index)
        table.add_column(column.name, justify=column.justify, no_wrap=True, overflow="ellipsis",
                         max_width=min(width, room) if column.flexible else None,
                         min_width=None if column.flexible else width)
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def print_table(console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """The fitted table, or one line saying there is nothing to show."""
    if rows:
        console.print(fitted_table(console, title, columns, rows))
    else:
        console.print(f"[italic]{title}[/italic]: none", highlight=False)
