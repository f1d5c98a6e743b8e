"""The simulator's in-memory database, with optional persistence to a JSON file."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from erpsim import find_popup
from erpsim.config import SimConfig
from erpsim.culture import Lang, label
from erpsim.documents import DocumentStore
from erpsim.errors import SimError, SimValidation, StateFileError
from erpsim.fmt import fmt_int
from erpsim.model import (
    BLOCKED_VALUES,
    TRANSFER_EDITABLE,
    TRANSFER_SENT,
    Agent,
    AltAddress,
    Customer,
    Order,
    Product,
)
from erpsim.prices import PriceBook
from erpsim.seeding import FIRST_ADDRESS_ID, seed_data

MISSING_OBJECT = "L'oggetto richiesto non esiste o è stato eliminato."
#: Customer detail fields a save writes (FIELD -> Italian label), in form order: VATNUM first.
CUSTOMER_FIELDS = {
    "VATNUM": "Partita IVA",
    "NAME": "Ragione sociale",
    "NAMEALIAS": "Nome breve",
    "LEGALEMAIL": "PEC",
    "PHONE": "Telefono",
    "CELLULARPHONE": "Cellulare",
    "EMAIL": "E-mail",
    "STREET": "Indirizzo",
    "LOGISTICSADDRESSZIPCODE": "CAP",
    "CITY": "Città",
    "FISCALCODE": "Codice fiscale",
    "LEGALAUTHORITY": "SDI",
}
#: Fields a save takes from the form's combos and lookups (not from text editors): the
#: LOGISTICSADDRESSZIPCODE and PAYMTERMID a FindPopup chose (their keys), DLVMODE, PRICEGROUP.
CUSTOMER_CHOICES = ("DLVMODE", "PRICEGROUP", "PAYMTERMID")
#: LINEDISC of a new customer's form: the default the bot must reset to "N/A" (FACTS §2.15, §6).
NEW_CUSTOMER_LINE_DISCOUNT = "Discount to get street price"


class SimState:
    """Agents, customers, products and saved orders; drafts live in sessions, not here."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.state_file = config.state_file
        self.reseed(config.seed, config.agents)
        if self.state_file and os.path.exists(self.state_file):
            self._load(self.state_file)

    def reseed(self, seed: int, agents: int) -> None:
        """Regenerate everything from `seed`, dropping saved orders."""
        data = seed_data(
            seed,
            agents,
            self.config.customers_per_agent,
            self.config.products,
            self.config.orders_per_agent,
        )
        self.seed = seed
        self.agents: dict[str, Agent] = {a.username: a for a in data.agents}
        self.customers: list[Customer] = data.customers
        self.customers_by_account: dict[str, Customer] = {c.account: c for c in data.customers}
        self.customers_by_id: dict[int, Customer] = {c.id: c for c in data.customers}
        self.customers_by_agent: dict[str, list[Customer]] = {}
        for customer in data.customers:
            self.customers_by_agent.setdefault(customer.agent, []).append(customer)
        self.products: list[Product] = data.products
        self.products_by_id: dict[str, Product] = {p.item_id: p for p in data.products}
        #: The global price and line-discount lists, and the products' change times.
        self.price_book = PriceBook(seed, data.products)
        self.orders: dict[int, Order] = {o.id: o for o in data.orders}
        self.next_order_id = data.next_order_id
        self.next_sales_number = data.next_sales_number
        self.next_account = max((int(c.account) for c in data.customers), default=1002000) + 1
        #: Customers created or changed since seeding: the only ones the state file keeps.
        self.touched_customers: set[int] = set()
        #: (agent, VAT) -> the VAT check callback's last result.
        self.vat_checks: dict[tuple[str, str], VatCheck] = {}
        #: Delivery notes and invoices (erpsim.documents), seeded from the same seed.
        self.documents = DocumentStore.seeded(seed, self)

    # -- lookups ---------------------------------------------------------------------------

    def check_password(self, username: str, password: str) -> Agent | None:
        agent = self.agents.get(username.strip().lower())
        return agent if agent is not None and agent.password == password else None

    def agent_customer(self, agent: str, account: str) -> Customer | None:
        customer = self.customers_by_account.get(account.strip())
        return customer if customer is not None and customer.agent == agent else None

    def search_customers(self, agent: str, text: str) -> list[Customer]:
        needle = text.strip().lower()
        rows = self.customers_by_agent.get(agent, [])
        if not needle:
            return rows
        return [
            c
            for c in rows
            if needle in c.account
            or needle == str(c.id)
            or needle in c.name.lower()
            or needle in c.vat_number
            or needle in c.city.lower()
        ]

    def search_products(self, text: str) -> list[Product]:
        needle = text.strip().lower()
        if not needle:
            return self.products
        exact = [p for p in self.products if p.item_id.lower().startswith(needle)]
        if exact:
            return sorted(exact, key=lambda p: p.item_id)
        return [p for p in self.products if needle in p.name.lower() or needle in p.group.lower()]

    def agent_orders(self, agent: str, text: str = "") -> list[Order]:
        rows = sorted((o for o in self.orders.values() if o.agent == agent), key=lambda o: -o.id)
        needle = text.strip().lower()
        if not needle:
            return rows
        return [o for o in rows if needle in _order_haystack(o)]

    # -- writes ----------------------------------------------------------------------------

    def allocate_order_id(self) -> int:
        order_id = self.next_order_id
        self.next_order_id += 1
        return order_id

    def commit_order(
        self, draft: Order, *, editing: bool = False, allow_empty: bool = False
    ) -> Order:
        """Validate and store a draft; raises SimValidation with the Italian banner text.

        `editing`: the draft is a copy of a saved order, which must still exist and still be
        editable (not yet sent to Verona). Line commits store the order as it stands
        (`allow_empty`: a line delete may leave it without lines until the form is saved).
        """
        if editing or draft.id in self.orders:
            self.editable_order(draft.agent, draft.id)
        problems = []
        customer = self.agent_customer(draft.agent, draft.customer or "")
        if customer is None:
            problems.append("Il campo 'Cliente' deve essere compilato con un cliente valido.")
        if not draft.lines and not allow_empty:
            problems.append("L'ordine deve contenere almeno una riga.")
        if problems:
            raise SimValidation("Data Validation Error: " + " ".join(problems))
        assert customer is not None
        now = time.time()
        draft.customer_name = customer.name
        text = customer.delivery_text(draft.delivery_address_id)
        if text is None:  # an address the customer no longer has: back to the default
            draft.delivery_address_id, text = 0, customer.address_text
        draft.delivery_address = text
        if not draft.created:
            draft.created = now
        draft.changed = now
        self.orders[draft.id] = draft
        self.persist()
        return draft

    def agent_order(self, agent: str, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.agent != agent:
            raise SimValidation(MISSING_OBJECT)
        return order

    def editable_order(self, agent: str, order_id: int) -> Order:
        """The agent's order if it can still be changed; else SimValidation in Italian."""
        order = self.agent_order(agent, order_id)
        if order.transfer_status != TRANSFER_EDITABLE:
            raise SimValidation(
                f"L'ordine {fmt_int(order_id)} è già stato trasferito a Verona "
                f"({order.sales_id}) e non può essere modificato o cancellato."
            )
        return order

    def roll_back_order(self, order_id: int, origin: Order | None) -> None:
        """Undo what an order form committed: back to `origin`, or gone if it was new."""
        if origin is None:
            self.orders.pop(order_id, None)
        else:
            self.orders[order_id] = origin
        self.persist()

    def delete_order(self, agent: str, order_id: int) -> None:
        self.editable_order(agent, order_id)
        del self.orders[order_id]
        self.persist()

    def send_order(self, agent: str, order_id: int) -> Order:
        """Transfer an order to Verona: irreversible; it gets its ORD/ number."""
        order = self._sendable_order(agent, order_id)
        order.sales_id = f"ORD/{self.next_sales_number}"
        self.next_sales_number += 1
        order.transfer_status = TRANSFER_SENT
        order.transfer_date = time.time()
        order.changed = order.transfer_date
        self.persist()
        return order

    def act_on_orders(self, agent: str, command: str, order_ids: list[int]) -> None:
        """Delete or send the selected orders of one list action, all or none.

        XAF runs a list action on all selected objects in one object space and commits once:
        one order it refuses (already sent, not the agent's) fails the whole action with its
        message and changes nothing — so an order already sent, ticked again, is never
        silently passed over.
        """
        check = self.editable_order if command == "Delete" else self._sendable_order
        problems = []
        for order_id in dict.fromkeys(order_ids):
            try:
                check(agent, order_id)
            except SimValidation as exc:
                problems.append(exc.message)
        if problems:
            raise SimValidation(" ".join(dict.fromkeys(problems)))
        for order_id in dict.fromkeys(order_ids):
            if command == "Delete":
                self.delete_order(agent, order_id)
            else:
                self.send_order(agent, order_id)

    def _sendable_order(self, agent: str, order_id: int) -> Order:
        order = self.agent_order(agent, order_id)
        if order.transfer_status != TRANSFER_EDITABLE:
            raise SimValidation(
                f"L'ordine {fmt_int(order_id)} è già stato inviato a Verona ({order.sales_id})."
            )
        return order

    # -- customers -------------------------------------------------------------------------

    def save_customer(
        self,
        agent: str,
        customer_id: int | None,
        fields: dict[str, str],
        *,
        check_warnings: bool = False,
        version: str | None = None,
        original: dict[str, str] | None = None,
        lang: Lang = "it",
    ) -> Customer:
        """Create (customer_id None) or update a customer from FIELD -> text.

        SimValidation for errors, CustomerWarnings for warnings only (with `check_warnings`:
        the form's save unless "Ignora avvisi" is ticked), CustomerConflict when the record changed since `version` (the
        edit page's); with `original` (the values the edit page showed) the save merges:
        fields the user left as shown keep the other user's values.
        """
        values = {name: fields.get(name, "").strip() for name in CUSTOMER_FIELDS}
        existing = None
        if customer_id is not None:
            # Any agent's customer saves by its id, as on the live ERP (FACTS §13).
            existing = self.customers_by_id.get(customer_id)
            if existing is None:
                raise SimValidation(MISSING_OBJECT)
            values["VATNUM"] = existing.vat_number  # read-only once created
            if original is not None:
                current = customer_field_values(existing)
                for name in CUSTOMER_FIELDS:
                    if values[name] == original.get(name, "").strip():
                        values[name] = current[name]
            elif version is not None and version != customer_version(existing):
                raise CustomerConflict(existing.id)
        zip_row = _chosen_zip(values["LOGISTICSADDRESSZIPCODE"], existing)
        if zip_row is not None:
            values["LOGISTICSADDRESSZIPCODE"] = zip_row.zip_code
        elif existing is None or values["LOGISTICSADDRESSZIPCODE"] != existing.zip_code:
            values["LOGISTICSADDRESSZIPCODE"] = ""
        problems = customer_save_errors(values, lang)
        if problems:
            raise SimValidation("Data Validation Error: " + " ".join(problems), "required")
        vat = values["VATNUM"]
        check = None
        if existing is None:
            if not (len(vat) == 11 and vat.isdigit()):
                raise SimValidation(
                    "Data Validation Error: Il campo 'Partita IVA' deve contenere 11 cifre.",
                    "VATNUM",
                )
            owner = self.vat_owner(vat)
            if owner is not None:
                raise SimValidation(duplicate_vat_message(owner), "VATNUM")
            check = self.vat_checks.get((agent, vat))
            if (check is None or not check.valid) and check_warnings:
                # An unverified VAT is a warning: "Ignora avvisi" lets it through.
                raise CustomerWarnings("Data Validation Error: " + vat_not_validated(lang))
        now = time.time()
        if existing is None:
            customer = Customer(
                # Not len()+1: /__sim/remove may have deleted customers before this one.
                id=max(self.customers_by_id, default=0) + 1,
                agent=agent,
                account=str(self.next_account),
                name="",
                vat_number=vat,
                fiscal_code="",
                email="",
                street="",
                zip_code="",
                city="",
                phone="",
                created=now,
                line_discount=NEW_CUSTOMER_LINE_DISCOUNT,
            )
            if check is not None:
                customer.vat_checked, customer.vat_valid = check.checked, check.valid
                customer.vat_address = check.address
            self.next_account += 1
            self.customers.append(customer)
            self.customers_by_id[customer.id] = customer
            self.customers_by_account[customer.account] = customer
            self.customers_by_agent.setdefault(agent, []).append(customer)
        else:
            customer = existing
        _apply_customer_values(customer, values)
        if zip_row is not None:
            customer.county, customer.state = zip_row.county, zip_row.state
        customer.line_discount = fields.get("LINEDISC", "").strip() or customer.line_discount
        customer.delivery_mode = fields.get("DLVMODE", "").strip() or customer.delivery_mode
        customer.price_group = fields.get("PRICEGROUP", "").strip() or customer.price_group
        term = find_popup.payment_term(fields.get("PAYMTERMID", ""))
        if term is not None:
            customer.payment_terms = term.code
        customer.changed = now
        self.touched_customers.add(customer.id)
        self.persist()
        return customer

    def vat_owner(self, vat: str) -> Customer | None:
        """The customer (of any agent) holding this VAT number."""
        return next((c for c in self.customers if c.vat_number == vat.strip()), None)

    def record_vat_check(self, agent: str, vat: str, valid: bool, address: str) -> VatCheck:
        """The VAT check callback's result, kept server-side for the save (XAF's ObjectSpace)."""
        check = VatCheck(time.strftime("%d/%m/%Y %H:%M:%S"), valid, address)
        self.vat_checks[(agent, vat.strip())] = check
        return check

    def change_customer(
        self, customer_id: int, fields: dict[str, str], editable: bool | None = None
    ) -> Customer:
        """Another user's change (admin API): FIELD -> text, and whether it can be edited."""
        customer = self.customers_by_id.get(customer_id)
        if customer is None:
            raise SimValidation(MISSING_OBJECT)
        unknown = sorted(set(fields) - set(CUSTOMER_FIELDS) - {"VATNUM"})
        if unknown:
            raise SimValidation(f"unknown customer fields {unknown}")
        values = customer_field_values(customer)
        values.update({k: str(v).strip() for k, v in fields.items() if k != "VATNUM"})
        _apply_customer_values(customer, values)
        if editable is not None:
            customer.editable = editable
        customer.changed = max(time.time(), customer.changed + 1e-6)
        self.touched_customers.add(customer.id)
        self.persist()
        return customer

    def set_customer_addresses(
        self,
        customer_id: int,
        addresses: list[dict[str, Any]] | None = None,
        blocked: str | None = None,
    ) -> Customer:
        """Another user's change (admin API): the alternative addresses (a new one without
        "id" gets the next free id) and BLOCKED."""
        customer = self.customers_by_id.get(customer_id)
        if customer is None:
            raise SimValidation(MISSING_OBJECT)
        if blocked is not None and blocked not in BLOCKED_VALUES:
            raise SimValidation(f"blocked must be one of {list(BLOCKED_VALUES)}, not {blocked!r}")
        if addresses is not None:
            next_id = 1 + max(
                (a.id for c in self.customers for a in c.addresses), default=FIRST_ADDRESS_ID - 1
            )
            records = []
            for row in addresses:
                if "id" not in row:
                    row = {**row, "id": next_id}
                    next_id += 1
                records.append(AltAddress.from_json(row))
            customer.addresses = records
        if blocked is not None:
            customer.blocked = blocked
        customer.changed = max(time.time(), customer.changed + 1e-6)
        self.touched_customers.add(customer.id)
        self.persist()
        return customer

    # -- export and persistence ------------------------------------------------------------

    def to_json(self, include: set[str], with_passwords: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"seed": self.seed}
        if "agents" in include:
            data["agents"] = [a.to_json(with_passwords) for a in self.agents.values()]
        if "customers" in include:
            data["customers"] = [c.to_json() for c in self.customers]
        if "orders" in include:
            data["orders"] = [o.to_json() for o in sorted(self.orders.values(), key=lambda o: o.id)]
        if "products" in include:
            data["products"] = [p.to_json() for p in self.products]
        for part in ("prices", "line_discounts"):
            if part in include:
                data[part] = self.price_book.to_json(part)
        return data

    def persist(self) -> None:
        if not self.state_file:
            return
        payload = {
            "seed": self.seed,
            "agents": len(self.agents),
            "next_order_id": self.next_order_id,
            "next_sales_number": self.next_sales_number,
            "next_account": self.next_account,
            "orders": [o.to_json() for o in self.orders.values()],
            "customers": [
                self.customers_by_id[i].to_json() for i in sorted(self.touched_customers)
            ],
        }
        tmp = f"{self.state_file}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
            os.replace(tmp, self.state_file)
        except OSError as exc:
            raise StateFileError(f"cannot write state file {self.state_file}: {exc}") from exc

    def _load(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as fh:
                payload = json.load(fh)
        except (OSError, ValueError) as exc:
            raise StateFileError(f"cannot read state file {path}: {exc}") from exc
        self.reseed(int(payload["seed"]), int(payload["agents"]))
        self.orders = {int(o["id"]): Order.from_json(o) for o in payload.get("orders", [])}
        self.next_order_id = int(payload["next_order_id"])
        self.next_sales_number = int(payload["next_sales_number"])
        self.next_account = int(payload.get("next_account", self.next_account))
        for row in payload.get("customers", []):
            self._restore_customer(Customer.from_json(row))

    def _restore_customer(self, customer: Customer) -> None:
        old = self.customers_by_id.get(customer.id)
        if old is not None:
            self.customers[self.customers.index(old)] = customer
            mine = self.customers_by_agent[old.agent]
            mine[mine.index(old)] = customer
        else:
            self.customers.append(customer)
            self.customers_by_agent.setdefault(customer.agent, []).append(customer)
        self.customers_by_id[customer.id] = customer
        self.customers_by_account[customer.account] = customer
        self.touched_customers.add(customer.id)


def _order_haystack(order: Order) -> str:
    parts = (
        str(order.id),
        fmt_int(order.id),
        order.sales_id,
        order.customer or "",
        order.customer_name,
        order.reference,
        order.customer_ref,
        order.notes,
    )
    return " ".join(parts).lower()


@dataclass(frozen=True)
class VatCheck:
    """A VAT check's VATLASTCHECKEDDATE, VATVALIEDE and VATADDRESS."""

    checked: str
    valid: bool
    address: str


class CustomerWarnings(SimValidation):
    """A customer save refused for warnings only: ticking "Ignora avvisi" saves anyway."""


class CustomerConflict(SimError):
    """The customer changed since its edit page was opened ("changed by another user")."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"customer {customer_id} changed by another user")
        self.customer_id = customer_id


def customer_version(customer: Customer) -> str:
    """The record's version as the edit page keeps it (its last change)."""
    return repr(customer.changed)


def duplicate_vat_message(owner: Customer) -> str:
    return f"Il numero IVA è già utilizzato dal cliente con ID: {owner.account}"


def customer_field_values(customer: Customer) -> dict[str, str]:
    """FIELD -> stored text of the fields a save writes."""
    return {
        "VATNUM": customer.vat_number,
        "NAME": customer.name,
        "NAMEALIAS": customer.name_alias,
        "LEGALEMAIL": customer.email,
        "PHONE": customer.phone,
        "CELLULARPHONE": customer.mobile,
        "EMAIL": customer.contact_email,
        "STREET": customer.street,
        "LOGISTICSADDRESSZIPCODE": customer.zip_code,
        "CITY": customer.city,
        "FISCALCODE": customer.fiscal_code,
        "LEGALAUTHORITY": customer.sdi,
    }


def _apply_customer_values(customer: Customer, values: dict[str, str]) -> None:
    customer.name = values["NAME"]
    customer.fiscal_code = values["FISCALCODE"]
    customer.email = values["LEGALEMAIL"]
    customer.street = values["STREET"]
    customer.zip_code = values["LOGISTICSADDRESSZIPCODE"]
    customer.city = values["CITY"]
    customer.phone = values["PHONE"]
    customer.mobile = values["CELLULARPHONE"]
    customer.contact_email = values["EMAIL"]
    customer.name_alias = values["NAMEALIAS"]
    customer.sdi = values["LEGALAUTHORITY"]


#: PHONE and CELLULARPHONE as the live save accepts them: international, "+" first
#: (d6-save-flow.json:37-38).
PHONE_RE = re.compile(r"^\+[1-9]\d{1,15}$")
#: A save's mandatory texts: FIELD -> label key (d6-save-flow.json:29-39).
_REQUIRED = (
    ("VATNUM", "field_vat_number"),
    ("NAME", "field_name"),
    ("STREET", "field_street"),
)
#: One of these is needed: the e-invoicing address (PEC), its SDI code, or the fiscal code.
_ONE_OF = (("LEGALEMAIL", "field_pec"), ("LEGALAUTHORITY", "field_sdi"),
           ("FISCALCODE", "field_fiscal_code"))


def customer_save_errors(values: dict[str, str], lang: Lang) -> list[str]:
    """The save's validation errors for FIELD -> text, as the live form words them."""
    problems = [
        label("validation_empty", lang).format(field=label(key, lang))
        for field, key in _REQUIRED
        if not values[field]
    ]
    if not values["LOGISTICSADDRESSZIPCODE"]:
        problems.append(label("validation_zip_empty", lang))
    if not any(values[field] for field, _ in _ONE_OF):
        problems.extend(
            label("validation_empty", lang).format(field=label(key, lang)) for _, key in _ONE_OF
        )
    for field, key in (("PHONE", "field_phone"), ("CELLULARPHONE", "field_mobile")):
        if values[field] and not PHONE_RE.match(values[field]):
            problems.append(label("validation_phone", lang).format(field=label(key, lang)))
    return problems


def vat_not_validated(lang: Lang) -> str:
    """The warning of a save whose VAT number no check confirmed (VATVALIEDE still 0)."""
    return label("validation_zero", lang).format(field=label("field_vat_valid", lang))


def _chosen_zip(key: str, existing: Customer | None) -> find_popup.ZipCode | None:
    """The CAP row a posted key names; an existing customer's own CAP stands as it is."""
    row = find_popup.zip_of_key(key)
    if row is None and existing is not None and key == existing.zip_code:
        return None
    return row
