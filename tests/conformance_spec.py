"""What the real Archibald looks like, read from the dump of its live pages.

`archibald-structure.json` (beside FACTS.md in ../shared/erp-real/) holds the live pages reduced
to structure. The functions here turn it into the expectations `test_conformance.py` holds
erpsim against: id patterns (per-visit numbers replaced by `\\d+`), visible columns in visible
order, toolbar labels, cookies, detail-view field ids, and the per-culture text shapes. Only
facts the dump does not hold come from FACTS.md, each with its section.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DUMP_PATH = Path(__file__).resolve().parents[2] / "shared" / "erp-real" / "archibald-structure.json"
#: The same dump, committed (gzip) so that a clone without ../shared beside it — a CI
#: checkout elsewhere — still holds erpsim against it; when both are there they must agree.
VENDORED_DUMP_PATH = Path(__file__).resolve().parent / "data" / "archibald-structure.json.gz"

#: The login action: a menu item, not a <button> (FACTS §1, TECH:34; the dump lists no buttons).
LOGIN_ACTION_ID = "Logon_PopupActions_Menu_DXI0_T"
#: The auth cookie the real ERP does not set (FACTS §1: no .ASPXAUTH).
ABSENT_COOKIE = ".ASPXAUTH"
#: Rows a list shows before the user changes it (FACTS §8: sizes 10/20/50/100/200, default 20).
DEFAULT_PAGE_SIZE = 20
#: The page size the persistence check sets (one of the pager's sizes, FACTS §8).
PERSISTED_PAGE_SIZE = 50
#: A list grid's client name: `Vertical_v{N}_{rand}_LE_v{N}` (FACTS §0, §8: N varies by source).
LIST_GRID_PREFIX = r"Vertical_v\d+_\d+"
#: Italian labels of the dump's English ones, where FACTS.md names them (§2, §4, §5, §7, §8).
ITALIAN_LABELS: dict[str, tuple[str, ...]] = {
    "New": ("Nuovo",),
    "Delete": ("Cancellare", "Elimina"),
    "Edit": ("Modifica",),
    "Send Order(s)": ("Invia ordine/i",),
    "Export to": ("Esportare in",),
    "All Orders": ("Tutti gli ordini",),
}

#: Cell-text shapes the dump names (rowCells[].shape), as regexes per browser language.
#: en-US: "51,847", "3/28/2026 6:24:57 AM" (FACTS §8, FA:721-730); it-IT: "51.847",
#: dd/MM/yyyy HH:mm:ss (FACTS §0, §8, TECH:700-707). Shapes about content ("text", "empty",
#: money) are not culture facts and are not checked.
CULTURE_SHAPES: dict[str, dict[str, str]] = {
    "en-US": {
        "int_thousands_comma e.g. 51,847": r"\d{1,3}(?:,\d{3})*",
        "M/D/YYYY h:mm:ss AM": r"(?:1[0-2]|[1-9])/(?:3[01]|[12]\d|[1-9])/\d{4} "
        r"(?:1[0-2]|[1-9]):[0-5]\d:[0-5]\d [AP]M",
        "M/D/YYYY": r"(?:1[0-2]|[1-9])/(?:3[01]|[12]\d|[1-9])/\d{4}",
        "digits": r"\d+",
    },
    "it-IT": {
        "int_thousands_comma e.g. 51,847": r"\d{1,3}(?:\.\d{3})*",
        "M/D/YYYY h:mm:ss AM": r"(?:3[01]|[12]\d|0[1-9])/(?:1[0-2]|0[1-9])/\d{4} "
        r"(?:2[0-3]|[01]\d):[0-5]\d:[0-5]\d",
        "M/D/YYYY": r"(?:3[01]|[12]\d|0[1-9])/(?:1[0-2]|0[1-9])/\d{4}",
        "digits": r"\d+",
    },
}


class DumpMissing(FileNotFoundError):
    """The dump of the real pages is not where the conformance test looks for it."""


@functools.cache
def load_dump(path: Path = DUMP_PATH) -> dict[str, Any]:
    """The dump as JSON (the authority in ../shared, else the committed copy).

    DumpMissing says where it was looked for.
    """
    if path.is_file():
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    if path == DUMP_PATH and VENDORED_DUMP_PATH.is_file():
        return load_vendored_dump()
    raise DumpMissing(
        f"the dump of the real Archibald is missing: expected {path} "
        f"(../shared/erp-real/archibald-structure.json beside the repository) or {VENDORED_DUMP_PATH}"
    )


@functools.cache
def load_vendored_dump() -> dict[str, Any]:
    """The committed copy of the dump."""
    with gzip.open(VENDORED_DUMP_PATH, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def visit_id_pattern(sample_id: str) -> str:
    """A regex for ids like the sampled one, its per-visit numbers (`_v0_10491577_`) as `\\d+`.

    The control index after `_v` is kept: only the random number that changes every visit
    (FACTS §0, FA:5975-5980) becomes `\\d+`.
    """
    out: list[str] = []
    pos = 0
    for match in re.finditer(r"_v\d+_(\d+)(?=_)", sample_id):
        out += [re.escape(sample_id[pos : match.start(1)]), r"\d+"]
        pos = match.end(1)
    out.append(re.escape(sample_id[pos:]))
    return "^" + "".join(out) + "$"


def undouble(text: str) -> str:
    """A toolbar label from the dump's anchor text.

    The dump read `textContent` of anchors holding both the item's image text and its label,
    so an item with an image reads twice ("NewNew", "Send Order(s)Send Order(s)"): a text
    made of two equal halves is one label. Texts are stripped first.
    """
    text = text.strip()
    half, odd = divmod(len(text), 2)
    if not odd and half and text[:half] == text[half:]:
        return text[:half].strip()
    return text


def visible_fields(columns: list[dict[str, Any]]) -> list[str]:
    """Field names of the visible columns in visible order; system columns read as ""."""
    shown = [c for c in columns if c.get("visible")]
    shown.sort(key=lambda c: int(c["visibleIndex"]))
    return [c.get("fieldName") or "" for c in shown]


@dataclass(frozen=True)
class ToolbarItem:
    """One toolbar anchor of a page: its id, English label and whether it starts disabled."""

    anchor_id: str
    li_id: str
    label: str
    disabled: bool


@dataclass(frozen=True)
class FilterCombo:
    """A list's filter combo: id pattern, shown text, item texts, value pattern."""

    id_pattern: str
    display_text: str
    items: tuple[str, ...]
    value_pattern: str


@dataclass(frozen=True)
class ListSpec:
    """What one list view of the dump shows."""

    name: str
    path: str
    grid_pattern: str
    visible_fields: tuple[str, ...]
    cell_count: int
    system_cells: tuple[dict[str, Any], ...]
    cell_shapes: dict[str, str]
    pager_suffix: str
    page_size_suffix: str
    toolbar: tuple[ToolbarItem, ...]
    filter_combos: tuple[FilterCombo, ...]

    @property
    def url_path(self) -> str:
        """The list's URL relative to the /Archibald/ base."""
        return self.path.removeprefix("/Archibald/")


def toolbar_items(entries: list[dict[str, Any]]) -> tuple[ToolbarItem, ...]:
    """The anchors of a dumped toolbar (separators and anchor-less items left out)."""
    return tuple(
        ToolbarItem(
            anchor_id=e["anchorId"],
            li_id=e["liId"],
            label=undouble(e["text"]),
            disabled=bool(e["disabled"]),
        )
        for e in entries
        if e.get("anchorId")
    )


def filter_combo(entry: dict[str, Any]) -> FilterCombo:
    """A dumped filter combo; `k` in `…_ITCNT{n}_xaf_a{k}_Cb` drifts (FACTS §8), so both are `\\d+`."""
    id_pattern = "^" + re.sub(r"\d+", r"\\d+", re.escape(entry["ctrlId"])) + "$"
    value_pattern = "^" + re.sub(r"(?<=_a)\d+", r"\\d+", re.escape(entry["currentXafValue"])) + "$"
    return FilterCombo(
        id_pattern=id_pattern,
        display_text=entry["displayText"],
        items=tuple(entry["items"]),
        value_pattern=value_pattern,
    )


def list_spec(dump: dict[str, Any], name: str) -> ListSpec:
    """The expectations for the dump's list view `name` (Customers, Orders, Products, …)."""
    view = dump["listViews"][name]
    client_name = view["grid"]["clientName"]
    fields = visible_fields(view["columns"])
    dom = view["domStructure"]
    # Where the dump holds no rows (Products) the rule seen on the other lists holds:
    # one cell per visible column, the first two being system cells.
    cell_count = int(dom["cellCount"]) if dom.get("found") else len(fields)
    cells = view["rowCells"]
    shapes = {
        fields[c["cellIndex"]]: c["shape"]
        for c in cells
        if not c["isSystemCell"] and c["cellIndex"] < len(fields)
    }
    return ListSpec(
        name=name,
        path=view["url"],
        grid_pattern="^" + LIST_GRID_PREFIX + re.escape(view["grid"]["suffix"]) + "$",
        visible_fields=tuple(fields),
        cell_count=cell_count,
        system_cells=tuple(c for c in cells if c["isSystemCell"] and c["cellIndex"] < 2),
        cell_shapes=shapes,
        pager_suffix=view["pager"]["pagerId"].removeprefix(client_name),
        page_size_suffix=view["pageSize"]["inputId"].removeprefix(client_name),
        toolbar=toolbar_items(view["toolbar"]),
        filter_combos=tuple(filter_combo(f) for f in view["filterCombos"]),
    )


@dataclass(frozen=True)
class LoginSpec:
    """The login page and the cookies after logging in."""

    path: str
    title: str
    user_input_pattern: str
    password_input_pattern: str
    button_count: int
    form_id: str
    form_action: str
    post_login_path: str
    cookies: dict[str, dict[str, Any]]


def login_spec(dump: dict[str, Any]) -> LoginSpec:
    """The login page's expectations; cookie flags come from the logged-in session's dump."""
    login = dump["login"]
    by_type = {i["type"]: i["id"] for i in login["inputs"] if i["type"] in ("text", "password")}
    form = login["forms"][0]
    return LoginSpec(
        path=login["url"],
        title=login["title"],
        user_input_pattern=visit_id_pattern(by_type["text"]),
        password_input_pattern=visit_id_pattern(by_type["password"]),
        button_count=len(login["buttons"]),
        form_id=form["id"],
        form_action=form["action"],
        post_login_path=login["postLoginUrl"],
        cookies={
            c["name"]: {k: c[k] for k in ("httpOnly", "session", "sameSite", "path")}
            for c in dump["session"]["cookies"]
        },
    )


@dataclass(frozen=True)
class DetailField:
    """One `xaf_dvi{FIELD}_View` element of a detail view in View mode."""

    field: str
    id_pattern: str
    tag: str


@dataclass(frozen=True)
class EmbeddedGrid:
    """A grid inside a detail view (the order's SALESLINEs): name pattern and columns."""

    name_pattern: str
    columns: tuple[tuple[str, int], ...]


def layout_prefix(dump: dict[str, Any], view: str) -> str:
    """The id prefix of a detail view's layout items, as a regex.

    The dump reduces field ids to `xaf_dvi{FIELD}_View`; the full prefix shows in the
    embedded grid's client name and the inputs' ids:
    `Vertical_v11_57978763_MainLayoutView_xaf_l1504_pg_xaf_l1954_xaf_dviSALESLINEs_…`.
    """
    sample = dump["detailViews"][view]["embeddedGrids"][0]["clientName"]
    head = sample.split("_xaf_l", 1)[0]  # Vertical_v11_57978763_MainLayoutView
    # The control index (v11) depends on what the session opened before: both numbers vary.
    return re.sub(r"_v\d+_\d+", r"_v\\d+_\\d+", re.escape(head)) + r"(?:_[A-Za-z0-9]+)*_"


def detail_fields(dump: dict[str, Any], view: str, fields: tuple[str, ...]) -> list[DetailField]:
    """The View-mode elements of `fields` in the dump's `view`; KeyError names a missing one."""
    entries = {
        e["fieldName"]: e
        for e in dump["detailViews"][view]["xafDviFields"]
        if e["fullId"] == f"xaf_dvi{e['fieldName']}_View"
    }
    missing = [f for f in fields if f not in entries]
    if missing:
        raise KeyError(f"{view} of the dump has no xaf_dvi…_View element for {missing}")
    prefix = layout_prefix(dump, view)
    return [
        DetailField(
            field=f,
            id_pattern="^" + prefix + re.escape(entries[f]["fullId"]) + "$",
            tag=entries[f]["htmlTag"],
        )
        for f in fields
    ]


def embedded_grid(dump: dict[str, Any], view: str, dvi_name: str) -> EmbeddedGrid:
    """The detail view's grid whose name holds `xaf_dvi{dvi_name}_v` (e.g. SALESLINEs)."""
    for grid in dump["detailViews"][view]["embeddedGrids"]:
        name = grid["clientName"]
        if f"_xaf_dvi{dvi_name}_v" in name:
            pattern = (
                "^"
                + layout_prefix(dump, view)
                + f"xaf_dvi{re.escape(dvi_name)}_v\\d+_\\d+_LE_v\\d+$"
            )
            columns = tuple((c["fieldName"], int(c["visibleIndex"])) for c in grid["columns"])
            return EmbeddedGrid(name_pattern=pattern, columns=columns)
    raise KeyError(f"{view} of the dump has no embedded grid {dvi_name}")


@dataclass(frozen=True)
class Persistence:
    """The dump's cross-page checks of per-user list state (crossPageTests)."""

    page_size_persists: bool
    page_index: int
    page_index_persists: bool
    grid_name_changes: bool


def persistence(dump: dict[str, Any]) -> Persistence:
    """Per-user page size and index and the per-visit grid number, as the dump observed them."""
    tests = dump["crossPageTests"]
    return Persistence(
        page_size_persists=bool(tests["pageSizePersistence"]["persists"]),
        page_index=int(tests["pageIndexPersistence"]["setToPage"]),
        page_index_persists=bool(tests["pageIndexPersistence"]["persists"]),
        grid_name_changes=not tests["gridIdStability"]["sameAcrossVisits"],
    )


def dump_has(dump: dict[str, Any], key: str) -> bool:
    """True if a dotted key ("listViews.DDT", "detailViews.*.tabs") names something in the dump.

    `*` matches every entry; in a list a segment matches the items holding that value, so
    "listViews.Orders.toolbar.Vertical_mainMenu_Menu_DXI3_T" names one toolbar item, and
    `name=value` the items whose `name` reads `value` ("columns.visible=false").
    """
    nodes: list[Any] = [dump]
    for segment in key.split("."):
        found: list[Any] = []
        for node in nodes:
            if isinstance(node, dict) and segment == "*":
                found += list(node.values())
            elif isinstance(node, dict) and segment in node:
                found.append(node[segment])
            elif isinstance(node, list):
                found += [item for item in node if _item_matches(item, segment)]
        nodes = found
    return bool(nodes)


def _item_matches(item: Any, segment: str) -> bool:
    if segment == "*":
        return True
    if not isinstance(item, dict):
        return False
    name, equals, value = segment.partition("=")
    if equals:
        return name in item and json.dumps(item[name]).strip('"') == value
    return segment in item.values()
