"""The simulator's records: agents, customers, products and orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUS_OPEN = "Ordine aperto"
#: BLOCKED of a customer as the Italian page shows it (FACTS §13): not blocked, invoices
#: blocked, everything blocked.
BLOCKED_NO = "No"
BLOCKED_VALUES = (BLOCKED_NO, "Fattura:", "Completo")
TRANSFER_EDITABLE = "Modifica"
#: LINEDISC values (the customer's "Sconto linea", copied into each new order): none, and the
#: price-discount group PRICEDISCGROUP(223) that gives every new order line LINEPERCENT 20 %
#: (FACTS §2.15, §11; d4-dropdowns.json).
LINE_DISCOUNT_NONE = "N/A"
STREET_PRICE_DISCOUNT = "Discount to get street price"
STREET_PRICE_LINE_PERCENT = 20.0
TRANSFER_SENT = "Trasferito"


@dataclass
class Agent:
    """One ERP account (a sales agent)."""

    username: str
    password: str
    full_name: str

    def to_json(self, with_password: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"username": self.username, "name": self.full_name}
        if with_password:
            data["password"] = self.password
        return data


@dataclass
class AltAddress:
    """One alternative address of a customer (the "Indirizzo alt." grid, FACTS §13).

    `id` is the ERP's record id (an order's delivery address refers to it); the other
    attributes are the grid's nine columns, `kind` its TYPE ("Consegna", …).
    """

    id: int
    kind: str
    name: str
    street: str
    zip_code: str
    city: str
    county: str = ""
    state: str = ""
    country: str = "IT"
    district: str = ""

    @property
    def text(self) -> str:
        """As DLVADDRESS shows it: "street, zip city"."""
        return f"{self.street}, {self.zip_code} {self.city}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.kind,
            "name": self.name,
            "street": self.street,
            "zip": self.zip_code,
            "city": self.city,
            "county": self.county,
            "state": self.state,
            "country": self.country,
            "district": self.district,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AltAddress:
        return cls(
            id=int(data["id"]),
            kind=str(data.get("type", "")),
            name=str(data.get("name", "")),
            street=str(data.get("street", "")),
            zip_code=str(data.get("zip", "")),
            city=str(data.get("city", "")),
            county=str(data.get("county", "")),
            state=str(data.get("state", "")),
            country=str(data.get("country", "IT")),
            district=str(data.get("district", "")),
        )


@dataclass
class Customer:
    """A customer of one agent (CUSTTABLE)."""

    id: int
    agent: str
    account: str
    name: str
    vat_number: str
    fiscal_code: str
    email: str
    street: str
    zip_code: str
    city: str
    phone: str
    #: CELLULARPHONE, EMAIL and NAMEALIAS of the detail view.
    mobile: str = ""
    contact_email: str = ""
    name_alias: str = ""
    created: float = 0.0
    changed: float = 0.0
    #: The VAT check's VATLASTCHECKEDDATE ("" never checked), VATVALIEDE and VATADDRESS.
    vat_checked: str = ""
    vat_valid: bool = False
    vat_address: str = ""
    #: LINEDISC, the "Prezzi e sconti" combo; `editable` False: ?mode=Edit goes to Error.aspx.
    line_discount: str = LINE_DISCOUNT_NONE
    editable: bool = True
    #: LEGALAUTHORITY (SDI), the combos DLVMODE and PRICEGROUP, PAYMTERMID (a payment term's
    #: code), and COUNTY / STATE the CAP's pick fills.
    sdi: str = ""
    delivery_mode: str = "N/A"
    price_group: str = "N/A"
    payment_terms: str = ""
    county: str = ""
    state: str = ""
    #: The "Indirizzo alt." records, and BLOCKED (one of BLOCKED_VALUES).
    addresses: list[AltAddress] = field(default_factory=list)
    blocked: str = BLOCKED_NO

    @property
    def address_text(self) -> str:
        """The customer's own address as DLVADDRESS shows it (an order's default)."""
        return f"{self.street}, {self.zip_code} {self.city}"

    def delivery_text(self, address_id: int) -> str | None:
        """DLVADDRESS of an order delivered to `address_id` (0: the customer's own address);
        None when the customer has no such address."""
        if not address_id:
            return self.address_text
        found = next((a for a in self.addresses if a.id == address_id), None)
        return None if found is None else found.text

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "id": str(self.id),
            "account": self.account,
            "name": self.name,
            "vat_number": self.vat_number,
            "fiscal_code": self.fiscal_code,
            "email": self.email,
            "street": self.street,
            "zip": self.zip_code,
            "city": self.city,
            "phone": self.phone,
            "mobile": self.mobile,
            "contact_email": self.contact_email,
            "name_alias": self.name_alias,
            "created": self.created,
            "changed": self.changed,
            "vat_checked": self.vat_checked,
            "vat_valid": self.vat_valid,
            "vat_address": self.vat_address,
            "line_discount": self.line_discount,
            "sdi": self.sdi,
            "delivery_mode": self.delivery_mode,
            "price_group": self.price_group,
            "payment_terms": self.payment_terms,
            "county": self.county,
            "state": self.state,
            "editable": self.editable,
            "addresses": [a.to_json() for a in self.addresses],
            "blocked": self.blocked,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Customer:
        return cls(
            id=int(data["id"]),
            agent=data["agent"],
            account=data["account"],
            name=data["name"],
            vat_number=data["vat_number"],
            fiscal_code=data.get("fiscal_code", ""),
            email=data.get("email", ""),
            street=data.get("street", ""),
            zip_code=data.get("zip", ""),
            city=data.get("city", ""),
            phone=data.get("phone", ""),
            mobile=data.get("mobile", ""),
            contact_email=data.get("contact_email", ""),
            name_alias=data.get("name_alias", ""),
            created=float(data.get("created", 0.0)),
            changed=float(data.get("changed", 0.0)),
            vat_checked=data.get("vat_checked", ""),
            vat_valid=bool(data.get("vat_valid", False)),
            vat_address=data.get("vat_address", ""),
            line_discount=data.get("line_discount", LINE_DISCOUNT_NONE),
            sdi=data.get("sdi", ""),
            delivery_mode=data.get("delivery_mode", "N/A"),
            price_group=data.get("price_group", "N/A"),
            payment_terms=data.get("payment_terms", ""),
            county=data.get("county", ""),
            state=data.get("state", ""),
            editable=bool(data.get("editable", True)),
            addresses=[AltAddress.from_json(a) for a in data.get("addresses", [])],
            blocked=str(data.get("blocked", BLOCKED_NO)),
        )


@dataclass(frozen=True)
class Variant:
    """One package of an article, e.g. "005159K3" holding 5 pieces."""

    variant_id: str
    package_content: int


@dataclass
class Product:
    """An article of the global catalogue (INVENTTABLE)."""

    item_id: str
    name: str
    description: str
    group: str
    price_eur: float
    variants: tuple[Variant, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "name": self.name,
            "description": self.description,
            "group": self.group,
            "price": self.price_eur,
            "variants": [
                {"variant": v.variant_id, "package_content": v.package_content}
                for v in self.variants
            ],
        }


@dataclass
class OrderLine:
    """A committed line of an order (SALESLINE)."""

    article: str
    variant: str
    quantity: float
    discount: float | None
    price_eur: float
    #: LINEPERCENT ("SCONTO %"): the line discount the order's LINEDISC gives a new line,
    #: applied besides MANUALDISCOUNT (`discount`, "APPLICA SCONTO %").
    line_percent: float = 0.0

    @property
    def amount_eur(self) -> float:
        gross = self.quantity * self.price_eur
        kept = (1 - self.line_percent / 100.0) * (1 - (self.discount or 0.0) / 100.0)
        return round(gross * kept, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "article": self.article,
            "variant": self.variant,
            "quantity": self.quantity,
            "discount": self.discount,
            "line_percent": self.line_percent,
            "price": self.price_eur,
        }


@dataclass
class Order:
    """A sales order (SALESTABLE); drafts use the same record before they are saved."""

    id: int
    agent: str
    customer: str | None
    customer_name: str = ""
    #: DLVADDRESS: the text of the delivery address; DELIVERYPOSTALADDRESS its record, one of
    #: the customer's AltAddress ids (0: the customer's own address, the default).
    delivery_address: str = ""
    delivery_address_id: int = 0
    lines: list[OrderLine] = field(default_factory=list)
    #: TEXTEXTERNAL: the order's notes.
    notes: str = ""
    #: PURCHORDERFORMNUM: the order's reference, where the bot writes its marker (FACTS §2.14).
    reference: str = ""
    #: CUSTOMERREF: the customer's own reference.
    customer_ref: str = ""
    #: TEXTINTERNAL: notes for the office.
    internal_notes: str = ""
    delivery_date: str = ""
    discount: float | None = None
    #: LINEDISC of the order (tab "Prezzi e sconti"): the customer's when it was chosen.
    line_discount: str = LINE_DISCOUNT_NONE
    #: Saves of this order with LINEDISC cleared (the ERP's rounds, FACTS §2.15).
    line_discount_clears: int = 0
    status: str = STATUS_OPEN
    transfer_status: str = TRANSFER_EDITABLE
    sales_id: str = ""
    transfer_date: float = 0.0
    created: float = 0.0
    changed: float = 0.0

    @property
    def gross_amount_eur(self) -> float:
        total = sum(line.amount_eur for line in self.lines)
        return round(total * (1 - (self.discount or 0.0) / 100.0), 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "id": str(self.id),
            "customer": self.customer,
            "customer_name": self.customer_name,
            "delivery_address": self.delivery_address,
            "delivery_address_id": str(self.delivery_address_id or ""),
            "lines": [line.to_json() for line in self.lines],
            "notes": self.notes,
            "reference": self.reference,
            "customer_ref": self.customer_ref,
            "internal_notes": self.internal_notes,
            "delivery_date": self.delivery_date,
            "discount": self.discount,
            "line_discount": self.line_discount,
            "status": self.status,
            "transfer_status": self.transfer_status,
            "sales_id": self.sales_id,
            "transfer_date": self.transfer_date,
            "gross_amount": self.gross_amount_eur,
            "created": self.created,
            "changed": self.changed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        lines = [
            OrderLine(
                article=ln["article"],
                variant=ln["variant"],
                quantity=float(ln["quantity"]),
                discount=ln.get("discount"),
                price_eur=float(ln.get("price", 0.0)),
                line_percent=float(ln.get("line_percent") or 0.0),
            )
            for ln in data.get("lines", [])
        ]
        return cls(
            id=int(data["id"]),
            agent=data["agent"],
            customer=data.get("customer"),
            customer_name=data.get("customer_name", ""),
            delivery_address=data.get("delivery_address", ""),
            delivery_address_id=int(data.get("delivery_address_id") or 0),
            lines=lines,
            notes=data.get("notes", ""),
            reference=data.get("reference", ""),
            customer_ref=data.get("customer_ref", ""),
            internal_notes=data.get("internal_notes", ""),
            delivery_date=data.get("delivery_date", ""),
            discount=data.get("discount"),
            line_discount=data.get("line_discount", LINE_DISCOUNT_NONE),
            status=data.get("status", STATUS_OPEN),
            transfer_status=data.get("transfer_status", TRANSFER_EDITABLE),
            sales_id=data.get("sales_id", ""),
            transfer_date=float(data.get("transfer_date", 0.0)),
            created=float(data.get("created", 0.0)),
            changed=float(data.get("changed", 0.0)),
        )
