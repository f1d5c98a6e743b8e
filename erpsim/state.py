"""The simulator's in-memory database, with optional persistence to a JSON file."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from erpsim.config import SimConfig
from erpsim.errors import SimValidation, StateFileError
from erpsim.model import TRANSFER_EDITABLE, TRANSFER_SENT, Agent, Customer, Order, Product
from erpsim.seeding import seed_data


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
        self.customers_by_agent: dict[str, list[Customer]] = {}
        for customer in data.customers:
            self.customers_by_agent.setdefault(customer.agent, []).append(customer)
        self.products: list[Product] = data.products
        self.products_by_id: dict[str, Product] = {p.item_id: p for p in data.products}
        self.orders: dict[int, Order] = {o.id: o for o in data.orders}
        self.next_order_id = data.next_order_id
        self.next_sales_number = data.next_sales_number

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

    def commit_order(self, draft: Order) -> Order:
        """Validate and store a draft; raises SimValidation with the Italian banner text."""
        problems = []
        customer = self.agent_customer(draft.agent, draft.customer or "")
        if customer is None:
            problems.append("Il campo 'Cliente' deve essere compilato con un cliente valido.")
        if not draft.lines:
            problems.append("L'ordine deve contenere almeno una riga.")
        if problems:
            raise SimValidation("Data Validation Error: " + " ".join(problems))
        assert customer is not None
        now = time.time()
        draft.customer_name = customer.name
        draft.delivery_address = f"{customer.street}, {customer.zip_code} {customer.city}"
        if not draft.created:
            draft.created = now
        draft.changed = now
        self.orders[draft.id] = draft
        self.persist()
        return draft

    def delete_order(self, agent: str, order_id: int) -> None:
        order = self.orders.get(order_id)
        if order is None or order.agent != agent:
            raise SimValidation(f"Ordine {order_id} non trovato.")
        if order.transfer_status != TRANSFER_EDITABLE:
            raise SimValidation(
                f"L'ordine {order_id} è già stato trasferito e non può essere cancellato."
            )
        del self.orders[order_id]
        self.persist()

    def send_order(self, agent: str, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.agent != agent:
            raise SimValidation(f"Ordine {order_id} non trovato.")
        if order.transfer_status == TRANSFER_EDITABLE:
            order.sales_id = f"ORD/{self.next_sales_number}"
            self.next_sales_number += 1
            order.transfer_status = TRANSFER_SENT
            order.changed = time.time()
            self.persist()
        return order

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
        return data

    def persist(self) -> None:
        if not self.state_file:
            return
        payload = {
            "seed": self.seed,
            "agents": len(self.agents),
            "next_order_id": self.next_order_id,
            "next_sales_number": self.next_sales_number,
            "orders": [o.to_json() for o in self.orders.values()],
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


def _order_haystack(order: Order) -> str:
    parts = (
        str(order.id),
        order.sales_id,
        order.customer or "",
        order.customer_name,
        order.reference,
        order.purch_order_num,
        order.notes,
    )
    return " ".join(parts).lower()
