"""What the real Archibald remembers per user about each list view, on the server.

Page size, page index and the list filter persist in the user's profile across sessions,
logins and browsers (FACTS.md §8; the dumps' crossPageTests): a bot that opens a list sees
whatever the agent — or the bot itself — left there.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from erpsim.culture import Lang, label, labels_in_all_languages
from erpsim.model import TRANSFER_EDITABLE, TRANSFER_SENT, Customer, Order

DEFAULT_PAGE_SIZE = 20
PAGE_SIZES = (10, 20, 50, 100, 200)


@dataclass
class ListPrefs:
    """One user's remembered state of one list view."""

    page_size: int = DEFAULT_PAGE_SIZE
    page_index: int = 0
    #: The filter item's value without its drifting `xaf_xaf_a{k}` prefix.
    filter: str = ""
    #: Columns the user hid with the column chooser (field names).
    hidden: tuple[str, ...] = ()
    #: The grid's sort, most significant first: (field name, "ASC" | "DSC"); () = the list's
    #: own order. Set by SortBy / a header click, kept like the filter (server state).
    sort: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "page_size": self.page_size,
            "page_index": self.page_index,
            "filter": self.filter,
            "hidden": list(self.hidden),
            "sort": [list(s) for s in self.sort],
        }


@dataclass(frozen=True)
class FilterItem:
    """One entry of a list's filter combo: its value suffix, label key and which rows it keeps."""

    value: str
    label_key: str
    keep: Callable[[object], bool]

    def text(self, lang: Lang) -> str:
        return label(self.label_key, lang)

    def texts(self) -> tuple[str, ...]:
        """Its text in every language (what an admin call may name it by)."""
        return labels_in_all_languages(self.label_key)


@dataclass(frozen=True)
class FilterCombo:
    """A filter combo in a list's toolbar: its toolbar slot, its items, the default."""

    slot: int
    items: tuple[FilterItem, ...]

    @property
    def default(self) -> str:
        return self.items[0].value

    def item(self, value: str) -> FilterItem:
        for item in self.items:
            if item.value == value:
                return item
        return self.items[0]


def _everything(row: object) -> bool:
    return True


def _nothing(row: object) -> bool:
    return False


def _created_since(days: int) -> Callable[[object], bool]:
    def keep(row: object) -> bool:
        assert isinstance(row, Order)
        today = dt.date.today()
        start = today - dt.timedelta(days=days)
        if days == 7:
            start = today - dt.timedelta(days=today.weekday())
        elif days == 31:
            start = today.replace(day=1)
        return dt.date.fromtimestamp(row.created or time.time()) >= start

    return keep


def _transfer_is(status: str) -> Callable[[object], bool]:
    def keep(row: object) -> bool:
        assert isinstance(row, Order)
        return row.transfer_status == status

    return keep


def _exclusive(row: object) -> bool:
    assert isinstance(row, Customer)
    return row.id % 7 == 0


ORDER_FILTERS = FilterCombo(
    slot=8,
    items=(
        FilterItem("ListViewSalesTableOrdersAll", "filter_all_orders", _everything),
        FilterItem("ListViewSalesTableOrdersToday", "filter_today", _created_since(0)),
        FilterItem("ListViewSalesTableOrdersWeek", "filter_week", _created_since(7)),
        FilterItem("ListViewSalesTableOrdersMonth", "filter_month", _created_since(31)),
        FilterItem("ListViewSalesTableOrdersEntered", "filter_entered",
                   _transfer_is(TRANSFER_EDITABLE)),
        FilterItem("ListViewSalesTableOrdersCompleted", "filter_completed", _nothing),
        FilterItem("ListViewSalesTableOrdersApproval", "filter_approval", _nothing),
        FilterItem("ListViewSalesTableOrdersTransferred", "filter_transferred",
                   _transfer_is(TRANSFER_SENT)),
        FilterItem("ListViewSalesTableOrdersQuote", "filter_quote", _nothing),
    ),
)
CUSTOMER_FILTERS = FilterCombo(
    slot=7,
    items=(
        FilterItem("All_Customers", "filter_all_customers", _everything),
        FilterItem("Exclusiv_Customers", "filter_exclusive_customers", _exclusive),
        FilterItem("Free_Customers", "filter_free_customers", lambda row: not _exclusive(row)),
    ),
)


def _dated_since(days: int) -> Callable[[object], bool]:
    """Documents (erpsim.documents) dated today, this week, this month or in the last `days`."""

    def keep(row: Any) -> bool:
        day = dt.date.fromisoformat(row.date)
        today = dt.date.today()
        if days == 0:
            return day == today
        if days == 7:
            return day >= today - dt.timedelta(days=today.weekday())
        if days == 31:
            return day >= today.replace(day=1)
        return day >= today - dt.timedelta(days=days)

    return keep


def _open_invoice(row: Any) -> bool:
    return float(row.settled) < float(row.total)


def _overdue_invoice(row: Any) -> bool:
    return _open_invoice(row) and dt.date.fromisoformat(row.due_date) < dt.date.today()


#: The delivery notes' filter (dump listViews.DDT: Today … All, slot ITCNT4, `xaf_a2`).
DDT_FILTERS = FilterCombo(
    slot=4,
    items=(
        FilterItem("ListViewPackingSlipsToday", "filter_doc_today", _dated_since(0)),
        FilterItem("ListViewPackingSlipsWeek", "filter_doc_week", _dated_since(7)),
        FilterItem("ListViewPackingSlipsMonth", "filter_doc_month", _dated_since(31)),
        FilterItem("ListViewPackingSlips3Month", "filter_doc_3months", _dated_since(92)),
        FilterItem("ListViewPackingSlipsAll", "filter_doc_all", _everything),
    ),
)
#: The invoices' filter (dump listViews.Invoices: Last 3 Month, open, overdue, All).
INVOICE_FILTERS = FilterCombo(
    slot=4,
    items=(
        FilterItem("Last_3_Month_invoices", "filter_inv_3months", _dated_since(92)),
        FilterItem("Open_invoices", "filter_inv_open", _open_invoice),
        FilterItem("Overdued_invoices", "filter_inv_overdue", _overdue_invoice),
        FilterItem("All_invoices", "filter_doc_all", _everything),
    ),
)


class ListStateStore:
    """Every user's remembered list state, keyed by (agent, view)."""

    def __init__(self) -> None:
        self._prefs: dict[tuple[str, str], ListPrefs] = {}

    def get(self, agent: str, view: str) -> ListPrefs:
        return self._prefs.setdefault((agent, view), ListPrefs())

    def set(
        self,
        agent: str,
        view: str,
        *,
        page_size: int | None = None,
        page_index: int | None = None,
        filter_value: str | None = None,
        hidden: tuple[str, ...] | None = None,
        sort: tuple[tuple[str, str], ...] | None = None,
    ) -> ListPrefs:
        """Change what is remembered; raises ValueError on a page size the pager lacks."""
        prefs = self.get(agent, view)
        if page_size is not None:
            if page_size not in PAGE_SIZES:
                raise ValueError(f"page_size must be one of {PAGE_SIZES}, not {page_size}")
            prefs.page_size = page_size
        if page_index is not None:
            prefs.page_index = max(0, page_index)
        if filter_value is not None:
            prefs.filter = filter_value
        if hidden is not None:
            prefs.hidden = hidden
        if sort is not None:
            bad = [order for _, order in sort if order not in SORT_ORDERS]
            if bad:
                raise ValueError(f"sort orders must be one of {SORT_ORDERS}, not {bad}")
            prefs.sort = sort
        return prefs

    def clear(self) -> None:
        self._prefs.clear()

    def to_json(self) -> list[dict[str, object]]:
        return [
            {"agent": agent, "view": view, **prefs.to_json()}
            for (agent, view), prefs in sorted(self._prefs.items())
        ]


def _active(row: Any) -> bool:
    """A price or line-discount row (erpsim.prices) still valid today."""
    return not bool(row.closed())


def _closed(row: object) -> bool:
    return not _active(row)


#: The price list's filter (dump listViews.Prices: slot ITCNT4, `xaf_a2`); no "all" item.
PRICE_FILTERS = FilterCombo(
    slot=4,
    items=(
        FilterItem("ActivePrices", "filter_active_prices", _active),
        FilterItem("ClosedPrices", "filter_closed_prices", _closed),
    ),
)
#: The line-discount list's filter (dump listViews.LineDiscounts); no "all" item either.
LINE_DISCOUNT_FILTERS = FilterCombo(
    slot=4,
    items=(
        FilterItem("ActiveLineDiscounts", "filter_active_line_discounts", _active),
        FilterItem("ClosedLineDiscounts", "filter_closed_line_discounts", _closed),
    ),
)

#: ASPxClientGridView.SortBy's sort orders ("NONE" removes the column from the sort).
SORT_ORDERS = ("ASC", "DSC")


def apply_sort(
    current: tuple[tuple[str, str], ...], field: str, order: str, reset: bool, index: int
) -> tuple[tuple[str, str], ...]:
    """The grid's sort after `SortBy(field, order, reset, index)`, as DevExpress documents it.

    `order` "" toggles the column (ASC unless it is sorted ASC now); "NONE" takes it out of
    the sort. `reset` clears the other columns' sort first; otherwise the column goes to
    position `index` among the sorted columns (-1: where it was, else last).
    """
    was = dict(current)
    if not order:
        order = "DSC" if was.get(field) == "ASC" else "ASC"
    others = [] if reset else [(f, o) for f, o in current if f != field]
    if order == "NONE":
        return tuple(others)
    if 0 <= index <= len(others):
        position = index
    elif field in was and not reset:
        position = [f for f, _ in current].index(field)
    else:
        position = len(others)
    others.insert(position, (field, order))
    return tuple(others)
