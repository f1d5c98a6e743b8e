"""What each operation type returns: the JSON its journal row's ``result`` holds.

One model per shape, read by the registry (:mod:`archibot.operations`): the worker checks
an executor's result against its type's model before journaling it ``done`` (a result of
the wrong shape is a bug, caught where it is made), and the HTTP API's schema shows it.
Fields beyond the model are kept (``extra="allow"``): they are additions, not errors.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger("archibot.results")


class Result(BaseModel):
    """The base of every result model."""

    model_config = ConfigDict(extra="allow", frozen=True)


class OrderResult(Result):
    """A write on an order: the ERP order it acted on; for a batch (``orders``), each order's
    outcome instead."""

    order_id: str | int | None = None
    #: An earlier attempt had already done it (found by its marker or its state).
    reconciled: bool | None = None
    #: edit-order: the order already had the wanted lines.
    unchanged: bool | None = None
    #: delete-order: the order was gone already.
    already_gone: bool | None = None
    #: send-to-verona: the ERP's sales order id.
    sales_id: str | int | None = None
    #: A batch: the orders sent (send-to-verona) or deleted (delete-order), and those the
    #: agent's list does not show; ``orders`` maps each to its own outcome.
    sent: list[str] | None = None
    deleted: list[str] | None = None
    not_found: list[str] | None = None
    #: A batch: orders whose own outcome did not happen (``orders[id]`` says what the list showed).
    failed: list[str] | None = None
    orders: dict[str, dict[str, Any]] | None = None
    #: A batch naming submit-orders by op id: each op id → the ERP order id it resolved to.
    refs: dict[str, str] | None = None


class CustomerResult(Result):
    """A write on a customer: the ERP's id and account of the customer."""

    customer_id: str | int
    account: str | int | None = None
    reconciled: bool | None = None


class SyncResult(Result):
    """A sync: rows copied, pages walked, rows removed (gone from the ERP)."""

    rows: int
    pages: int
    removed: int
    resumed_at_page: int = 0
    #: ``"unchanged"``: the list's newest MODIFIEDDATETIME was not newer than the last
    #: complete sync's, so it was not walked.
    skipped: str | None = None
    #: Rows each list of the sync held (sync-prices reads two lists).
    views: dict[str, dict[str, int]] | None = None


class DocumentResult(Result):
    """A PDF fetched from the ERP, stored once (``GET /v1/documents/{document_id}``); all
    None with ``pdf: null`` when the ERP has no PDF for it (its anchor reads "N/A")."""

    document_id: str | None = None
    filename: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    pdf: None = None


class OrderLinesResult(Result):
    """An order's lines exported as PDF by the ERP, and what the PDF says."""

    order_id: str | int
    document_id: str
    lines: list[dict[str, Any]]
    total_vat: float
    total_with_vat: float


class VatResult(Result):
    """What the ERP's VAT check filled in on a new customer form it was not saved from."""

    vat_number: str
    valid: bool
    name: str | None = None
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    fiscal_code: str | None = None
    checked_at: str | None = None
    #: The ERP already holds a customer with this VAT number (its id).
    duplicate_of: str | None = None


class CustomerRecord(Result):
    """One customer's whole record as its View page shows it, with alternative addresses."""

    customer_id: str | int
    account: str
    fields: dict[str, str]
    addresses: list[dict[str, str]]
    #: BLOCKED: "No", "Fattura:" (invoices blocked) or "Completo" (everything).
    blocked: str


def checked(model: type[Result], result: dict[str, Any]) -> dict[str, Any]:
    """``result`` as it is, once checked against ``model``. A result of another shape is a
    bug of its executor: logged as an error, never a reason to redo work the ERP holds."""
    try:
        model.model_validate(result)
    except ValidationError as exc:
        log.error("result_shape model=%s error=%s", model.__name__, exc)
    return result
