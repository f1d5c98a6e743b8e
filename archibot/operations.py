"""The one registry of operation types.

Each type has a dashed name (the contract with the main app), an actor of the same
name with underscores, whether it writes to the ERP, and its payload model
(:mod:`archibot.payloads`), from which ``send``'s validation, the HTTP API's schema and
the workers' parsing all come. A sync also names the ERP list it copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archibot import payloads
from archibot.errors import InvalidOperation

Payload = dict[str, Any]
CUSTOMER_FIELDS = payloads.CUSTOMER_FIELDS


@dataclass(frozen=True)
class OperationType:
    """One kind of operation: its dashed name, whether it writes, its payload model."""

    name: str
    is_write: bool
    model: type[payloads.Spec]
    #: For a sync, the ERP list it copies into the cache (``customers``, ``orders``, ``products``).
    sync_view: str | None = None

    @property
    def actor_name(self) -> str:
        """The Dramatiq actor that runs it (``submit-order`` → ``submit_order``)."""
        return self.name.replace("-", "_")

    def validate(self, payload: Payload) -> Payload:
        """The payload checked and normalised; InvalidOperation names the field."""
        return payloads.parse(self.model, payload)

    def parse(self, payload: Payload) -> payloads.Spec:
        """A journaled (already normalised) payload as its typed model."""
        return self.model.model_validate(payload)


OPERATION_TYPES: dict[str, OperationType] = {
    t.name: t
    for t in (
        OperationType("submit-order", True, payloads.SubmitOrder),
        OperationType("edit-order", True, payloads.EditOrder),
        OperationType("delete-order", True, payloads.OrderRef),
        OperationType("send-to-verona", True, payloads.OrderRef),
        OperationType("create-customer", True, payloads.CreateCustomer),
        OperationType("update-customer", True, payloads.UpdateCustomer),
        OperationType("sync-customers", False, payloads.Sync, sync_view="customers"),
        OperationType("sync-orders", False, payloads.Sync, sync_view="orders"),
        OperationType("sync-products", False, payloads.Sync, sync_view="products"),
    )
}
#: Writes that reference an order (an ERP id, or the op id of the submit-order that made it).
ORDER_REF_TYPES = tuple(n for n, t in OPERATION_TYPES.items() if "order" in t.model.model_fields
                        and n != "submit-order")


def operation_type(name: str) -> OperationType:
    """The type called ``name``; InvalidOperation listing the known ones otherwise."""
    try:
        return OPERATION_TYPES[name]
    except KeyError:
        known = ", ".join(OPERATION_TYPES)
        raise InvalidOperation(f"unknown operation type (op_type) {name!r}; known: {known}", field="op_type") from None
