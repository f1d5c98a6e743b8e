"""Client ids of the detail views, with the per-visit random numbers of the real Archibald.

The real ERP renders a detail view's layout as ``Vertical_v{N}_{rand}_MainLayoutView`` (view
mode) or ``…_MainLayoutEdit`` (edit mode) and an embedded grid as
``…_xaf_dviSALESLINEs_v{M}_{rand2}_LE_v{M}``; both numbers change on every visit (FACTS §0,
structure dump ``detailViews``). Callbacks post the control's full client name, so the
server reads the numbers back from it instead of keeping them in the view state.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

Mode = Literal["View", "Edit"]

#: Random numbers in ids have eight digits, as in the dumps (57978763, 50941909).
DEFAULT_RAND_DIGITS = 8
_LAYOUT_RE = re.compile(r"^Vertical_v(\d+)_(\d+)_MainLayout(View|Edit)")
_GRID_RE = re.compile(r"_v(\d+)_(\d+)_LE_v\d+")


def new_rand() -> int:
    """A fresh per-visit number (never starting with 0, so it keeps its eight digits)."""
    low: int = 10 ** (DEFAULT_RAND_DIGITS - 1)
    return low + secrets.randbelow(9 * low)


@dataclass(frozen=True)
class Visit:
    """The random parts of one rendered detail view: layout and embedded grid numbers."""

    view: int
    mode: Mode
    layout_rand: int
    grid_view: int
    grid_rand: int

    @classmethod
    def fresh(cls, view: int, grid_view: int, mode: Mode) -> Visit:
        return cls(view, mode, new_rand(), grid_view, new_rand())

    @classmethod
    def parse(cls, control: str) -> Visit | None:
        """The visit a control's client name belongs to; None if it is not a detail control."""
        layout = _LAYOUT_RE.match(control)
        if layout is None:
            return None
        grid = _GRID_RE.search(control)
        mode: Mode = "View" if layout.group(3) == "View" else "Edit"
        return cls(
            view=int(layout.group(1)),
            mode=mode,
            layout_rand=int(layout.group(2)),
            grid_view=int(grid.group(1)) if grid else 0,
            grid_rand=int(grid.group(2)) if grid else 0,
        )

    @property
    def layout(self) -> str:
        return f"Vertical_v{self.view}_{self.layout_rand}_MainLayout{self.mode}"

    def grid(self, path: str, prop: str) -> str:
        """An embedded list grid: ``{layout}_{path}_xaf_dvi{prop}_v{M}_{rand}_LE_v{M}``."""
        m = self.grid_view
        return f"{self.layout}_{path}_xaf_dvi{prop}_v{m}_{self.grid_rand}_LE_v{m}"

    def field(self, path: str, field: str) -> str:
        """A property editor: ``…_xaf_dvi{FIELD}_Edit`` in edit mode, ``…_View`` in view mode."""
        return f"{self.layout}_{path}_xaf_dvi{field}_{self.mode}"


def field_suffix(field: str) -> str:
    """How a posted edit input's name ends, whatever the visit: ``xaf_dvi{FIELD}_Edit_I``."""
    return f"xaf_dvi{field}_Edit_I"


def posted_field(form: dict[str, str], field: str) -> str | None:
    """The posted value of a detail field, found by its name's suffix; None if not posted."""
    suffix = field_suffix(field)
    for name, value in form.items():
        if name.endswith(suffix) and "dviSALESLINEs" not in name:
            return value
    return None
