"""Each operation type's payload, declared once as a pydantic model.

The model is the one declaration of a payload: ``send`` validates with it
(:func:`parse`), the HTTP API publishes its JSON schema, and the workers parse the
journaled payload with it. Validation keeps Archibot's own rules and messages, which
name the field the way the main app wrote it (``lines[0].quantity``): a before-validator
walks the model's fields — required ones first, then their checks, then optional ones —
applying each field's declared constraints (``max_length``, ``ge``, ``le``) and raising
InvalidOperation, which pydantic lets through unchanged. Strings are stripped, numbers
written as text (``"2,5"``) become numbers, an ERP id given as a number becomes text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from archibot.errors import InvalidOperation

Raw = dict[str, Any]
#: A number written as text longer than this is not a quantity anyone meant.
_MAX_NUMBER_TEXT = 32

_VAT_RE = re.compile(r"^(IT)?\d{11}$")
_ZIP_RE = re.compile(r"^\d{5}$")
#: A text field's length limit when its model declares none.
DEFAULT_TEXT_MAX_LEN = 200
#: The most lines one order may carry: a 40-line order takes ~17 min on the real ERP
#: (FACTS §10); 200 lines is a working day. Larger orders are split by the main app.
DEFAULT_MAX_LINES = 200
#: Characters no ERP field takes: C0 controls but tab and newlines, DEL, C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _bounds(info: FieldInfo) -> tuple[float | None, float | None, int]:
    low = high = None
    max_len = DEFAULT_TEXT_MAX_LEN
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Le):
            high = float(item.le)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.MaxLen):
            max_len = item.max_length
    return low, high, max_len


def _text(raw: Raw, key: str, name: str, *, required: bool, max_len: int) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidOperation(f"payload field {name!r} is required", field=name)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidOperation(f"payload field {name!r} must be text, not {type(value).__name__}", field=name)
    value = value.strip()
    if len(value) > max_len:
        raise InvalidOperation(f"payload field {name!r} is longer than {max_len} characters", field=name)
    bad = _CONTROL_RE.search(value)
    if bad:
        raise InvalidOperation(
            f"payload field {name!r} contains a control character (U+{ord(bad.group()):04X})",
            field=name,
        )
    return value


def _number(raw: Raw, key: str, name: str, *, required: bool, low: float, high: float) -> float | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise InvalidOperation(f"payload field {name!r} is required", field=name)
        return None
    if isinstance(value, str):
        if len(value) > _MAX_NUMBER_TEXT:
            raise InvalidOperation(f"payload field {name!r} must be a number", field=name)
        try:
            value = float(value.replace(",", "."))
        except ValueError:
            raise InvalidOperation(f"payload field {name!r} must be a number, not {value!r}", field=name) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOperation(f"payload field {name!r} must be a number", field=name)
    try:
        value = float(value)
    except OverflowError:  # an int of hundreds of digits
        raise InvalidOperation(f"payload field {name!r} is out of range", field=name) from None
    if not math.isfinite(value):
        raise InvalidOperation(f"payload field {name!r} must be a finite number", field=name)
    if not low <= value <= high:
        raise InvalidOperation(
            f"payload field {name!r} must be between {low:g} and {high:g}, not {value:g}", field=name
        )
    return float(value)


def _field(model: type[Spec], raw: Raw, key: str, info: FieldInfo, where: str) -> Any:
    name = f"{where}{key}"
    required = info.is_required()
    annotation = str(info.annotation)
    if key in model.nested_lists:
        return _lines(model.nested_lists[key], raw, key, name)
    if key in model.special:
        return model.special[key](raw, name)
    low, high, max_len = _bounds(info)
    if "float" in annotation:
        return _number(raw, key, name, required=required, low=low if low is not None else float("-inf"),
                       high=high if high is not None else float("inf"))
    return _text(raw, key, name, required=required, max_len=max_len)


def _lines(line_model: type[Spec], raw: Raw, key: str, name: str) -> list[Raw]:
    lines = raw.get(key)
    if not isinstance(lines, list):
        raise InvalidOperation(f"payload field {name!r} must be a list of {{article, quantity}}", field=name)
    if not lines:
        raise InvalidOperation(f"payload field {name!r} is empty: an order needs at least one line", field=name)
    if len(lines) > DEFAULT_MAX_LINES:
        raise InvalidOperation(
            f"payload field {name!r} has {len(lines)} lines; at most {DEFAULT_MAX_LINES} "
            "(split the order)",
            field=name,
        )
    out = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            raise InvalidOperation(f"payload field '{name}[{i}]' must be an object", field=f"{name}[{i}]")
        out.append(normalise(line_model, line, where=f"{name}[{i}]."))
    return out


def normalise(model: type[Spec], raw: Raw, where: str = "") -> Raw:
    """``raw`` checked against ``model``'s fields and normalised; InvalidOperation names the field.

    Required fields are read first, then the model's checks of them, then optional
    fields (each with its check) — so the first error reported is the most basic one.
    """
    odd = next((k for k in raw if not isinstance(k, str)), None)
    if odd is not None:
        raise InvalidOperation(f"payload field names must be text, not {odd!r}", field="payload")
    if model.no_fields_expected and raw:
        extra = min(raw)
        raise InvalidOperation(f"payload field {extra!r} is not expected: a sync takes {{}}",
                               field=extra or "payload")
    out: Raw = {}
    fields = model.model_fields
    required = [k for k, f in fields.items() if f.is_required()]
    for key in required:
        out[key] = _field(model, raw, key, fields[key], where)
    for key in required:
        if key in model.checks:
            out[key] = model.checks[key](out[key], f"{where}{key}")
    for key, info in fields.items():
        if info.is_required():
            continue
        value = _field(model, raw, key, info, where)
        if value is not None and key in model.checks:
            value = model.checks[key](value, f"{where}{key}")
        if value is not None:
            out[key] = value
    return out


class Spec(BaseModel):
    """A payload model: its fields (with constraints) plus the rules beyond them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: Field → a check of the read value, returning it (normalised) or raising InvalidOperation.
    checks: ClassVar[dict[str, Callable[[Any, str], Any]]] = {}
    #: Field → reader for fields that are neither text nor a number.
    special: ClassVar[dict[str, Callable[[Raw, str], Any]]] = {}
    #: Field → the model of each element of a list field.
    nested_lists: ClassVar[dict[str, type[Spec]]] = {}
    #: A sync takes ``{}``: any field is an error.
    no_fields_expected: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _archibot_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise InvalidOperation("payload must be a JSON object", field="payload")
        return cls.whole(normalise(cls, data))

    @classmethod
    def whole(cls, out: Raw) -> Raw:
        """The rules across fields, once each field is read and normalised (none by default)."""
        return out


class Line(Spec):
    """One order line."""

    article: str = Field(max_length=40, description="the ERP article code")
    quantity: float = Field(ge=0.001, le=1_000_000)
    discount: float | None = Field(default=None, ge=0, le=100, description="percent")
    variant: str | None = Field(default=None, max_length=40, description="the package variant")

    @model_validator(mode="before")
    @classmethod
    def _archibot_rules(cls, data: Any) -> Any:
        return data  # lines are read by their order's model, which names them lines[i]


def _date(value: str, name: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidOperation(f"payload field {name!r} must be a date yyyy-mm-dd, not {value!r}", field=name) from None
    return value


def _vat(value: str, name: str) -> str:
    vat = value.replace(" ", "").upper()
    if not _VAT_RE.match(vat):
        raise InvalidOperation(f"payload field {name!r} must be 11 digits (optionally 'IT' first), not {vat!r}",
                               field=name)
    return vat.removeprefix("IT")


def _zip(value: str, name: str) -> str:
    if not _ZIP_RE.match(value):
        raise InvalidOperation(f"payload field {name!r} must be 5 digits, not {value!r}", field=name)
    return value


_ADDRESS_ID_RE = re.compile(r"^\d[\d.]*$")


def _delivery_address(raw: Raw, name: str) -> dict[str, str] | None:
    """One of the customer's alternative addresses: its ERP id (``"4012"``, ``4012``,
    ``{"id": "4.012"}``) or its street and city (``{"street": …, "city": …}``)."""
    value = raw.get(name)
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = {"id": value}
    if not isinstance(value, dict):
        raise InvalidOperation(f"payload field {name!r} must be an address id or "
                               "{'street': …, 'city': …}", field=name)
    extra = sorted(str(k) for k in value if k not in ("id", "street", "city"))
    if extra:
        raise InvalidOperation(f"payload field {name + '.' + extra[0]!r} is not expected: "
                               "an address is named by 'id', or by 'street' and 'city'", field=name)
    if value.get("id") not in (None, ""):
        address_id = str(value["id"]).strip()
        if (not isinstance(value["id"], (str, int)) or isinstance(value["id"], bool)
                or not _ADDRESS_ID_RE.match(address_id) or len(address_id) > 20):
            raise InvalidOperation(f"payload field {name + '.id'!r} must be an ERP address id (digits), "
                                   f"not {value['id']!r}", field=f"{name}.id")
        return {"id": address_id.replace(".", "")}
    out: dict[str, str] = {}
    for key in ("street", "city"):
        text = value.get(key)
        if not isinstance(text, str) or not text.strip():
            raise InvalidOperation(f"payload field {name + '.' + key!r} is required when no 'id' names "
                                   "the address", field=f"{name}.{key}")
        if len(text.strip()) > 120 or _CONTROL_RE.search(text):
            raise InvalidOperation(f"payload field {name + '.' + key!r} is not an address text",
                                   field=f"{name}.{key}")
        out[key] = " ".join(text.split())
    return out


class SubmitOrder(Spec):
    """``submit-order``: a new order for a customer."""

    nested_lists: ClassVar[dict[str, type[Spec]]] = {"lines": Line}
    checks: ClassVar[dict[str, Callable[[Any, str], Any]]] = {"delivery_date": _date}
    special: ClassVar[dict[str, Callable[[Raw, str], Any]]] = {"delivery_address": _delivery_address}

    customer: str = Field(max_length=40, description="the customer's ERP account")
    lines: list[Line] = Field(min_length=1)
    notes: str | None = Field(default=None, max_length=500)
    delivery_date: str | None = Field(default=None, max_length=10, description="yyyy-mm-dd")
    discount: float | None = Field(default=None, ge=0, le=100, description="percent, on the whole order")
    delivery_address: dict[str, str] | None = Field(
        default=None, description="one of the customer's alternative addresses: {'id': …} or "
        "{'street': …, 'city': …} (an id alone may be given as text)")


class EditOrder(Spec):
    """``edit-order``: the full wanted set of lines of an order."""

    nested_lists: ClassVar[dict[str, type[Spec]]] = {"lines": Line}

    order: str = Field(max_length=64, description="an ERP order id, or the op id of its submit-order")
    lines: list[Line] = Field(min_length=1)
    notes: str | None = Field(default=None, max_length=500)


#: The most orders one batch ``delete-order``/``send-to-verona`` ticks in one list action.
DEFAULT_MAX_BATCH_ORDERS = 50


def _order_list(raw: Raw, name: str) -> list[str] | None:
    orders = raw.get("orders")
    if orders is None:
        return None
    if not isinstance(orders, list) or not orders:
        raise InvalidOperation(f"payload field {name!r} must be a non-empty list of order ids", field=name)
    if len(orders) > DEFAULT_MAX_BATCH_ORDERS:
        raise InvalidOperation(
            f"payload field {name!r} has {len(orders)} orders; at most {DEFAULT_MAX_BATCH_ORDERS} a batch",
            field=name,
        )
    out: list[str] = []
    for i, _ in enumerate(orders):
        value = _text({"o": orders[i]}, "o", f"{name}[{i}]", required=True, max_len=64)
        if value in out:
            raise InvalidOperation(f"payload field '{name}[{i}]' repeats the order {value!r}", field=f"{name}[{i}]")
        out.append(str(value))
    return out


class OrderRef(Spec):
    """``delete-order``, ``send-to-verona``: one order (``order``), or many ticked in one list
    action (``orders``) — exactly one of the two."""

    special: ClassVar[dict[str, Callable[[Raw, str], Any]]] = {"orders": _order_list}

    order: str | None = Field(default=None, max_length=64,
                              description="an ERP order id, or the op id of its submit-order")
    orders: list[str] | None = Field(default=None, description="ERP order ids (or submit-order op ids), "
                                     f"at most {DEFAULT_MAX_BATCH_ORDERS}, ticked in one list action")

    @classmethod
    def whole(cls, out: Raw) -> Raw:
        if ("order" in out) == ("orders" in out):
            raise InvalidOperation("payload needs exactly one of 'order' (one order) and 'orders' (a batch)",
                                   field="order")
        return out


class DdtRef(Spec):
    """``download-ddt-pdf``: one delivery note of the agent."""

    ddt: str = Field(max_length=40, description="the delivery note's number (PACKINGSLIPID) as the ERP shows it")


class InvoiceRef(Spec):
    """``download-invoice-pdf``: one invoice of the agent."""

    invoice: str = Field(max_length=40, description="the invoice's number (INVOICEID) as the ERP shows it")


class OrderLinesRef(Spec):
    """``order-lines-pdf``: one order's lines."""

    order: str = Field(max_length=64, description="an ERP order id, or the op id of its submit-order")


class CheckVat(Spec):
    """``check-vat``: a VAT number checked by the ERP's own registry look-up (nothing saved)."""

    checks: ClassVar[dict[str, Callable[[Any, str], Any]]] = {"vat_number": _vat}

    vat_number: str = Field(description="11 digits, optionally 'IT' first")


class CustomerRef(Spec):
    """``refresh-customer``: one customer of the agent."""

    customer: str = Field(max_length=40, description="the customer's ERP account")


#: PHONE and CELLULARPHONE as the ERP's save takes them: international, "+" first
#: (the production repository's d6-save-flow.json).
_PHONE_RE = re.compile(r"^\+[1-9]\d{1,15}$")
_SDI_RE = re.compile(r"^[A-Z0-9]{6,7}$")
#: The ERP's DLVMODE combo (d4-dropdowns.json) without its empty item.
DELIVERY_MODES = (
    "N/A", "Airenterprise", "Destinatario", "FedEx", "General Logistic Systems Spa", "Mittente",
    "Mototaxi", "Poste Italiane", "UPS - International Express Saver", "UPS Italia",
)
#: The ERP's PRICEGROUP combo (d4-dropdowns.json) without its empty item.
PRICE_GROUPS = ("N/A", "DETTAGLIO (consigliato)")


def _phone(value: str, name: str) -> str:
    if not _PHONE_RE.match(value):
        raise InvalidOperation(
            f"payload field {name!r} must be an international number, '+' then 2-16 digits "
            f"with no spaces (e.g. +390451234567): the ERP refuses {value!r}",
            field=name,
        )
    return value


def _sdi(value: str, name: str) -> str:
    code = value.upper()
    if not _SDI_RE.match(code):
        raise InvalidOperation(f"payload field {name!r} must be an SDI code of 6-7 letters or digits, "
                               f"not {value!r}", field=name)
    return code


def _one_of(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    def check(value: str, name: str) -> str:
        if value not in allowed:
            raise InvalidOperation(
                f"payload field {name!r} must be one of the ERP's values {list(allowed)}, not {value!r}",
                field=name,
            )
        return value

    return check


#: The checks of the customer fields both create-customer and update-customer take.
_CUSTOMER_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "zip": _zip,
    "phone": _phone,
    "mobile": _phone,
    "sdi": _sdi,
    "delivery_mode": _one_of(DELIVERY_MODES),
    "price_group": _one_of(PRICE_GROUPS),
}
#: One of these the ERP needs on a customer ("PEC:/SDI:/codice fiscale: non deve essere vuoto").
INVOICING_FIELDS = ("email", "sdi", "fiscal_code")


class CreateCustomer(Spec):
    """``create-customer``: the ERP wants street, CAP, a PEC (``email``) or SDI code or fiscal
    code, and international phone numbers; the combos take only the ERP's values."""

    checks: ClassVar[dict[str, Callable[[Any, str], Any]]] = {"vat_number": _vat, **_CUSTOMER_CHECKS}

    name: str
    vat_number: str = Field(description="11 digits, optionally 'IT' first")
    street: str
    zip: str = Field(description="5 digits, a CAP the ERP lists (chosen through its CAP lookup)")
    city: str
    email: str | None = Field(default=None, description="the PEC (LEGALEMAIL)")
    phone: str | None = Field(default=None, description="international: +390451234567")
    fiscal_code: str | None = None
    sdi: str | None = Field(default=None, max_length=7, description="the SDI code (LEGALAUTHORITY)")
    mobile: str | None = Field(default=None, description="CELLULARPHONE, international")
    delivery_mode: str | None = Field(default=None, description=f"DLVMODE, one of {list(DELIVERY_MODES)}")
    payment_terms: str | None = Field(default=None, max_length=20,
                                      description="PAYMTERMID: a payment term's code, e.g. 201")
    price_group: str | None = Field(default=None, description=f"PRICEGROUP, one of {list(PRICE_GROUPS)}")

    @classmethod
    def whole(cls, out: Raw) -> Raw:
        if not any(out.get(k) for k in INVOICING_FIELDS):
            raise InvalidOperation(
                "payload needs one of 'email' (the PEC), 'sdi' or 'fiscal_code': the ERP refuses a "
                "customer with none (PEC:/SDI:/codice fiscale: non deve essere vuoto)",
                field="email",
            )
        return out


class CustomerFields(BaseModel):
    """The customer fields ``update-customer`` may change (at least one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    email: str | None = None
    phone: str | None = None
    fiscal_code: str | None = None
    sdi: str | None = None
    mobile: str | None = None
    delivery_mode: str | None = None
    payment_terms: str | None = None
    price_group: str | None = None


CUSTOMER_FIELDS = tuple(CustomerFields.model_fields)


def _customer_fields(raw: Raw, name: str) -> dict[str, str]:
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise InvalidOperation(f"payload field {name!r} must be a non-empty object of customer fields", field=name)
    if any(not isinstance(k, str) for k in fields):
        raise InvalidOperation(f"payload field {name!r} must name customer fields", field=name)
    unknown = sorted(set(fields) - set(CUSTOMER_FIELDS))
    if unknown:
        raise InvalidOperation(
            f"payload field '{name}.{unknown[0]}' cannot be updated; allowed: {', '.join(CUSTOMER_FIELDS)}",
            field=f"{name}.{unknown[0]}",
        )
    out = {
        k: str(_text(fields, k, f"{name}.{k}", required=True, max_len=DEFAULT_TEXT_MAX_LEN))
        for k in fields
    }
    return {k: _CUSTOMER_CHECKS[k](v, f"{name}.{k}") if k in _CUSTOMER_CHECKS else v
            for k, v in out.items()}


class UpdateCustomer(Spec):
    """``update-customer``: only the fields that differ are written."""

    special: ClassVar[dict[str, Callable[[Raw, str], Any]]] = {"fields": _customer_fields}

    customer: str = Field(max_length=40, description="the customer's ERP account")
    fields: CustomerFields


class Sync(Spec):
    """Every ``sync-*`` type: no payload."""

    no_fields_expected: ClassVar[bool] = True


def parse(model: type[Spec], payload: Raw) -> Raw:
    """Validate and normalise ``payload`` with ``model``; the JSON the journal keeps.

    Anything pydantic itself refuses after Archibot's rules is InvalidOperation too, naming
    the field: ``send`` raises nothing else on bad input.
    """
    try:
        return model.model_validate(payload).model_dump(exclude_none=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "payload"
        raise InvalidOperation(f"payload field {field!r}: {first['msg']}", field=field) from None
