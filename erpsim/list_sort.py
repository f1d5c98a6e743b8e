"""A list grid's sort, applied on the server as the real ASPxGridView does (SortBy callbacks).

Sorting is per-user server state (erpsim.list_state.ListPrefs.sort), like the filter and the
page size: a bot that sorts a list for its own reading leaves that order to the agent unless
it puts it back. Any column sorts, hidden ones too (MODIFIEDDATETIME is hidden on most lists);
a row's value is its grid cell, so every list whose rows provide a field sorts by it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

#: A cell as the list views build them: text, or (kind, invariant raw value).
Cell = str | tuple[str, str]
#: (row, field name) -> the row's cell of that field, None when the row has no such field.
CellOf = Callable[[Any, str], Cell | None]
_NUMERIC_KINDS = ("int", "decimal", "money", "percent")


def sort_key(cell: Cell | None) -> tuple[int, Any]:
    """How a cell orders: empty first (DevExpress puts nulls first ascending), then numbers by
    value, dates by their ISO text, text case-insensitively."""
    if cell is None or cell == "" or (isinstance(cell, tuple) and cell[1] == ""):
        return (0, "")
    if isinstance(cell, str):
        return (1, cell.casefold())
    kind, raw = cell
    if kind in _NUMERIC_KINDS:
        try:
            return (1, Decimal(raw))
        except InvalidOperation:
            return (1, Decimal(0))
    return (1, raw.casefold() if kind == "text" else raw)


def sorted_items(items: list[Any], sort: tuple[tuple[str, str], ...], cell_of: CellOf) -> list[Any]:
    """`items` in the grid's sort (most significant column first); unchanged without one.

    Stable: rows equal on every sorted column keep the list's own order.
    """
    if not sort:
        return items
    out = list(items)
    for field, order in reversed(sort):
        out.sort(key=lambda item: sort_key(cell_of(item, field)), reverse=order == "DSC")
    return out
