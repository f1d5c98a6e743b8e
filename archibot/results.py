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
    """A write on an order: the ERP order it acted on."""

    order_id: str | int
    #: An earlier attempt had already done it (found by its marker or its state).
    reconciled: bool | None = None
    #: edit-order: the order already had the wanted lines.
    unchanged: bool | None = None
    #: delete-order: the order was gone already.
    already_gone: bool | None = None
    #: send-to-verona: the ERP's sales order id.
    sales_id: str | int | None = None


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


def checked(model: type[Result], result: dict[str, Any]) -> dict[str, Any]:
    """``result`` as it is, once checked against ``model``. A result of another shape is a
    bug of its executor: logged as an error, never a reason to redo work the ERP holds."""
    try:
        model.model_validate(result)
    except ValidationError as exc:
        log.error("result_shape model=%s error=%s", model.__name__, exc)
    return result
