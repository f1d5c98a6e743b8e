"""The one registry of operation types: everything that differs from one type to another.

Each type has a dashed name (the contract with the main app), an actor of the same name with
underscores (registered from here in one loop, actors/operation_actors.py), its kind (a
write, which changes the ERP and is checked there before any retry, or a sync, which copies
an ERP list into the cache), its payload model (:mod:`archibot.payloads`: ``send``'s
validation, the HTTP API's schema and the workers' parsing all come from it), its result
model (:mod:`archibot.results`), its executor — named as ``"module:function"`` of the erp
layer, so importing the registry pulls in no pyppeteer: the client stays light — and its
time limit. Nothing else in the code base names an operation type.

Adding a type: a payload (and result) model, one executor in erp/, one entry below, its
simulator pages and its tests (README, "Adding an operation type").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from archibot import payloads, results
from archibot.errors import InvalidOperation

if TYPE_CHECKING:
    from archibot.settings import Settings

Payload = dict[str, Any]
CUSTOMER_FIELDS = payloads.CUSTOMER_FIELDS


class Kind(StrEnum):
    """How the worker runs a type's executor."""

    #: Changes the ERP: runs under the agent's FIFO, looks for an earlier attempt's effect
    #: before acting again, and journals its phases around the irreversible click.
    WRITE = "write"
    #: Copies ERP lists into the cache page by page; preemptible by the agent's writes.
    SYNC = "sync"
    #: Reads from the ERP without changing it (a document, a VAT check left unsaved, one
    #: record): runs under the agent's lease like any operation, retried freely, nothing to
    #: reconcile. Queued like a sync: behind the agent's writes.
    READ = "read"


@dataclass(frozen=True)
class OperationType:
    """One kind of operation: see the module docstring."""

    name: str
    kind: Kind
    model: type[payloads.Spec]
    result: type[results.Result]
    #: ``"module:function"`` in the erp layer. A write's is called with ``(page, erp_url,
    #: payload, op_id=, reconcile=, hooks=)``; a read's with ``(page, erp_url, payload,
    #: hooks=)``; a sync's is the list walker ``iter_list``.
    executor: str
    #: One line on what it does (the actor's docstring, the API's description).
    summary: str
    #: For a sync, the ERP lists it copies into the cache, in order (erp.lists.VIEWS).
    sync_views: tuple[str, ...] = ()
    #: Its time limit when ``ARCHIBOT_OP_TIMEOUTS`` does not name it (None: ``ARCHIBOT_OP_TIMEOUT_S``).
    time_limit_s: int | None = None
    #: Its limit grows by ``ARCHIBOT_OP_TIMEOUT_PER_LINE_S`` for each line of its payload.
    limit_grows_with_lines: bool = False

    @property
    def is_write(self) -> bool:
        """Whether it changes the ERP."""
        return self.kind is Kind.WRITE

    @property
    def sync_view(self) -> str | None:
        """A sync's first (for most, only) list."""
        return self.sync_views[0] if self.sync_views else None

    @property
    def actor_name(self) -> str:
        """The Dramatiq actor that runs it (``submit-order`` → ``submit_order``)."""
        return self.name.replace("-", "_")

    @property
    def refers_to_order(self) -> bool:
        """It names existing orders (ERP ids, or op ids of the submit-orders that made them)."""
        return "order" in self.model.model_fields

    def validate(self, payload: Payload) -> Payload:
        """The payload checked and normalised; InvalidOperation names the field."""
        return payloads.parse(self.model, payload)

    def parse(self, payload: Payload) -> payloads.Spec:
        """A journaled (already normalised) payload as its typed model."""
        return self.model.model_validate(payload)

    def time_limit_for(self, settings: Settings, payload: Mapping[str, object] | None = None) -> int:
        """The limit of one attempt (s): ``ARCHIBOT_OP_TIMEOUTS``, else the type's own, else
        ``ARCHIBOT_OP_TIMEOUT_S``; plus the per-line growth when it writes order lines."""
        limit = settings.op_timeout_overrides().get(self.name, self.time_limit_s or settings.op_timeout_s)
        lines = (payload or {}).get("lines")
        if self.limit_grows_with_lines and isinstance(lines, list):
            limit += settings.op_timeout_per_line_s * len(lines)
        return limit


#: A full products sync walks ~30 pages on the live ERP; customers and orders fewer.
DEFAULT_SYNC_PRODUCTS_LIMIT_S = 1_800
DEFAULT_SYNC_LIST_LIMIT_S = 900

#: A document download or one record's read: a list search, one page, one file.
DEFAULT_READ_LIMIT_S = 300


def _sync(name: str, views: tuple[str, ...], summary: str, limit_s: int = DEFAULT_SYNC_LIST_LIMIT_S) -> OperationType:
    return OperationType(name, Kind.SYNC, payloads.Sync, results.SyncResult, "erp.lists:iter_list",
                         summary, sync_views=views, time_limit_s=limit_s)


OPERATION_TYPES: dict[str, OperationType] = {
    t.name: t
    for t in (
        OperationType("submit-order", Kind.WRITE, payloads.SubmitOrder, results.OrderResult,
                      "erp.operations:submit_order", "Create an order in the ERP.",
                      limit_grows_with_lines=True),
        OperationType("edit-order", Kind.WRITE, payloads.EditOrder, results.OrderResult,
                      "erp.operations:edit_order", "Make an order's lines what the payload says.",
                      limit_grows_with_lines=True),
        OperationType("delete-order", Kind.WRITE, payloads.OrderRef, results.OrderResult,
                      "erp.operations:delete_order",
                      "Delete an order not yet sent, or a batch of them in one list action."),
        OperationType("send-to-verona", Kind.WRITE, payloads.OrderRef, results.OrderResult,
                      "erp.operations:send_to_verona",
                      "Send an order (or a batch in one list action) to Verona (irreversible)."),
        OperationType("create-customer", Kind.WRITE, payloads.CreateCustomer, results.CustomerResult,
                      "erp.operations:create_customer", "Create a customer."),
        OperationType("update-customer", Kind.WRITE, payloads.UpdateCustomer, results.CustomerResult,
                      "erp.operations:update_customer", "Change a customer's fields."),
        _sync("sync-customers", ("customers",), "Copy the agent's customers into the cache."),
        _sync("sync-orders", ("orders",), "Copy the agent's orders into the cache."),
        _sync("sync-products", ("products",), "Copy the product catalogue into the cache.",
              DEFAULT_SYNC_PRODUCTS_LIMIT_S),
        _sync("sync-ddt", ("ddt",), "Copy the agent's delivery notes (DDT) into the cache."),
        _sync("sync-invoices", ("invoices",), "Copy the agent's invoices into the cache."),
        _sync("sync-prices", ("prices", "line_discounts"),
              "Copy the price list and the line-discount list into the cache.",
              DEFAULT_SYNC_PRODUCTS_LIMIT_S),
        OperationType("download-ddt-pdf", Kind.READ, payloads.DdtRef, results.DocumentResult,
                      "erp.documents:download_ddt_pdf", "Fetch a delivery note's PDF.",
                      time_limit_s=DEFAULT_READ_LIMIT_S),
        OperationType("download-invoice-pdf", Kind.READ, payloads.InvoiceRef, results.DocumentResult,
                      "erp.documents:download_invoice_pdf", "Fetch an invoice's PDF.",
                      time_limit_s=DEFAULT_READ_LIMIT_S),
        OperationType("order-lines-pdf", Kind.READ, payloads.OrderLinesRef, results.OrderLinesResult,
                      "erp.documents:order_lines_pdf",
                      "Export an order's lines as PDF and read its lines and VAT totals.",
                      time_limit_s=DEFAULT_READ_LIMIT_S),
        OperationType("check-vat", Kind.READ, payloads.CheckVat, results.VatResult,
                      "erp.customer_reads:check_vat",
                      "Have the ERP check a VAT number on a new customer form, left unsaved.",
                      time_limit_s=DEFAULT_READ_LIMIT_S),
        OperationType("refresh-customer", Kind.READ, payloads.CustomerRef, results.CustomerRecord,
                      "erp.customer_reads:refresh_customer",
                      "Read one customer's whole record, addresses and blocked status into the cache.",
                      time_limit_s=DEFAULT_READ_LIMIT_S),
    )
}
#: Types that reference orders (ERP ids, or op ids of the submit-orders that made them).
ORDER_REF_TYPES = tuple(n for n, t in OPERATION_TYPES.items() if t.refers_to_order)
#: The type whose result names the ERP order later writes may refer to by its op id.
ORDER_CREATING_TYPE = "submit-order"
#: The syncs whose lists are the same for every agent: one fresh sync serves everyone.
CATALOGUE_SYNC = "sync-products"
CATALOGUE_SYNCS = (CATALOGUE_SYNC, "sync-prices")
#: Every sync type (the freshness scheduler keeps each within its target age).
SYNC_TYPES = tuple(n for n, t in OPERATION_TYPES.items() if t.kind is Kind.SYNC)


#: An agent's name in Archibot (their key in the journal, Redis and logs): letters, digits and
#: ``._@-``, starting with a letter or digit, at most 64 characters. Their ERP username may
#: differ (``archibot agents add NAME --username …``).
AGENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def check_agent_name(agent: object) -> str:
    """``agent`` if it is a valid agent name; InvalidOperation(field="agent") otherwise."""
    if not isinstance(agent, str) or not agent.strip():
        raise InvalidOperation("agent is required", field="agent")
    if not AGENT_NAME_RE.match(agent):
        raise InvalidOperation(
            f"agent {agent[:80]!r} is not a valid agent name: letters, digits and ._@- "
            "(starting with a letter or digit), at most 64 characters",
            field="agent",
        )
    return agent


def operation_type(name: str) -> OperationType:
    """The type called ``name``; InvalidOperation listing the known ones otherwise."""
    try:
        return OPERATION_TYPES[name]
    except KeyError:
        known = ", ".join(OPERATION_TYPES)
        raise InvalidOperation(f"unknown operation type (op_type) {name!r}; known: {known}", field="op_type") from None
