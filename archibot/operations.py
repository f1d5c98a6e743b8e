"""The operation types and their payloads, validated before anything is queued.

Each type has a dashed name (the contract with the main app), an actor of the
same name with underscores, and a payload validator that returns the payload
normalised (stripped strings, numbers as numbers) or raises InvalidOperation
naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archibot.errors import InvalidOperation

Payload = dict[str, Any]

_VAT_RE = re.compile(r"^(IT)?\d{11}$")
_ZIP_RE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class OperationType:
    """One kind of operation: its dashed name, whether it writes, its validator."""

    name: str
    is_write: bool
    validate: Callable[[Payload], Payload]

    @property
    def actor_name(self) -> str:
        """The Dramatiq actor that runs it (``submit-order`` → ``submit_order``)."""
        return self.name.replace("-", "_")


def _text(payload: Payload, field: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = payload.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidOperation(f"payload field {field!r} is required", field=field)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidOperation(f"payload field {field!r} must be text, not {type(value).__name__}", field=field)
    value = value.strip()
    if len(value) > max_len:
        raise InvalidOperation(f"payload field {field!r} is longer than {max_len} characters", field=field)
    return value


def _number(payload: Payload, field: str, *, where: str, low: float, high: float, required: bool) -> float | None:
    value = payload.get(field)
    name = f"{where}{field}"
    if value is None:
        if required:
            raise InvalidOperation(f"payload field {name!r} is required", field=name)
        return None
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "."))
        except ValueError:
            raise InvalidOperation(f"payload field {name!r} must be a number, not {value!r}", field=name) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOperation(f"payload field {name!r} must be a number", field=name)
    if not low <= value <= high:
        raise InvalidOperation(f"payload field {name!r} must be between {low:g} and {high:g}, not {value:g}", field=name)
    return float(value)


def _lines(payload: Payload) -> list[Payload]:
    lines = payload.get("lines")
    if not isinstance(lines, list):
        raise InvalidOperation("payload field 'lines' must be a list of {article, quantity}", field="lines")
    if not lines:
        raise InvalidOperation("payload field 'lines' is empty: an order needs at least one line", field="lines")
    out = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]."
        if not isinstance(line, dict):
            raise InvalidOperation(f"payload field 'lines[{i}]' must be an object", field=f"lines[{i}]")
        article = _text(line, "article", max_len=40) if "article" in line else None
        if article is None:
            raise InvalidOperation(f"payload field '{where}article' is required", field=f"{where}article")
        item: Payload = {
            "article": article,
            "quantity": _number(line, "quantity", where=where, low=0.001, high=1_000_000, required=True),
        }
        discount = _number(line, "discount", where=where, low=0, high=100, required=False)
        if discount is not None:
            item["discount"] = discount
        variant = line.get("variant")
        if variant is not None:
            item["variant"] = _text(line, "variant", max_len=40)
        out.append(item)
    return out


def _optional(out: Payload, payload: Payload, field: str, max_len: int = 200) -> None:
    value = _text(payload, field, required=False, max_len=max_len)
    if value is not None:
        out[field] = value


def _date(payload: Payload, field: str) -> str | None:
    value = _text(payload, field, required=False, max_len=10)
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidOperation(f"payload field {field!r} must be a date yyyy-mm-dd, not {value!r}", field=field) from None
    return value


def validate_submit_order(payload: Payload) -> Payload:
    out: Payload = {"customer": _text(payload, "customer", max_len=40), "lines": _lines(payload)}
    _optional(out, payload, "notes", max_len=500)
    delivery = _date(payload, "delivery_date")
    if delivery is not None:
        out["delivery_date"] = delivery
    discount = _number(payload, "discount", where="", low=0, high=100, required=False)
    if discount is not None:
        out["discount"] = discount
    return out


def validate_edit_order(payload: Payload) -> Payload:
    out: Payload = {"order": _text(payload, "order", max_len=64), "lines": _lines(payload)}
    _optional(out, payload, "notes", max_len=500)
    return out


def validate_order_ref(payload: Payload) -> Payload:
    return {"order": _text(payload, "order", max_len=64)}


def validate_create_customer(payload: Payload) -> Payload:
    out: Payload = {}
    for field in ("name", "vat_number", "street", "zip", "city"):
        out[field] = _text(payload, field)
    vat = str(out["vat_number"]).replace(" ", "").upper()
    if not _VAT_RE.match(vat):
        raise InvalidOperation(f"payload field 'vat_number' must be 11 digits (optionally 'IT' first), not {vat!r}", field="vat_number")
    out["vat_number"] = vat.removeprefix("IT")
    if not _ZIP_RE.match(str(out["zip"])):
        raise InvalidOperation(f"payload field 'zip' must be 5 digits, not {out['zip']!r}", field="zip")
    for field in ("email", "phone", "fiscal_code"):
        _optional(out, payload, field)
    return out


CUSTOMER_FIELDS = ("name", "street", "zip", "city", "email", "phone", "fiscal_code")


def validate_update_customer(payload: Payload) -> Payload:
    customer = _text(payload, "customer", max_len=40)
    fields = payload.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise InvalidOperation("payload field 'fields' must be a non-empty object of customer fields", field="fields")
    unknown = sorted(set(fields) - set(CUSTOMER_FIELDS))
    if unknown:
        raise InvalidOperation(f"payload field 'fields.{unknown[0]}' cannot be updated; allowed: {', '.join(CUSTOMER_FIELDS)}", field=f"fields.{unknown[0]}")
    clean = {k: _text(fields, k, required=True) for k in fields}
    return {"customer": customer, "fields": clean}


def validate_sync(payload: Payload) -> Payload:
    if payload:
        field = min(payload)
        raise InvalidOperation(f"payload field {field!r} is not expected: a sync takes {{}}", field=field)
    return {}


OPERATION_TYPES: dict[str, OperationType] = {
    t.name: t
    for t in (
        OperationType("submit-order", True, validate_submit_order),
        OperationType("edit-order", True, validate_edit_order),
        OperationType("delete-order", True, validate_order_ref),
        OperationType("send-to-verona", True, validate_order_ref),
        OperationType("create-customer", True, validate_create_customer),
        OperationType("update-customer", True, validate_update_customer),
        OperationType("sync-customers", False, validate_sync),
        OperationType("sync-orders", False, validate_sync),
        OperationType("sync-products", False, validate_sync),
    )
}


def operation_type(name: str) -> OperationType:
    """The type called ``name``; InvalidOperation listing the known ones otherwise."""
    try:
        return OPERATION_TYPES[name]
    except KeyError:
        known = ", ".join(OPERATION_TYPES)
        raise InvalidOperation(f"unknown operation type (op_type) {name!r}; known: {known}", field="op_type") from None
