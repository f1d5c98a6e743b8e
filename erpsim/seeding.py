"""Deterministic generation of the simulator's data from a seed."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from erpsim import names
from erpsim.model import (
    BLOCKED_VALUES,
    STREET_PRICE_DISCOUNT,
    TRANSFER_SENT,
    Agent,
    AltAddress,
    Customer,
    Order,
    OrderLine,
    Product,
    Variant,
)

FIRST_ACCOUNT_NUMBER = 1002000
FIRST_ORDER_ID = 72000
FIRST_SALES_NUMBER = 26000100
#: Seeded orders are dated before this instant (2026-01-15 09:00 UTC) so seeds stay stable.
SEED_EPOCH_S = 1768467600.0
SHANKS = (104, 204, 205, 313, 314, 315)


@dataclass
class SeededData:
    """Everything `seed_data` produces."""

    agents: list[Agent]
    customers: list[Customer]
    products: list[Product]
    orders: list[Order]
    next_order_id: int
    next_sales_number: int


def agent_username(index: int) -> str:
    """The documented agent name for a 1-based index: agent01, agent02, …"""
    return f"agent{index:02d}"


def agent_password(username: str) -> str:
    """The documented password of an agent: pw-<username>."""
    return f"pw-{username}"


def vat_number(rng: random.Random) -> str:
    """A syntactically valid Italian partita IVA (11 digits, Luhn-like check digit)."""
    digits = [rng.randrange(10) for _ in range(7)] + [0, 0, rng.randrange(1, 10)]
    total = 0
    for i, d in enumerate(digits):
        if i % 2 == 0:
            total += d
        else:
            doubled = d * 2
            total += doubled - 9 if doubled > 9 else doubled
    check = (10 - total % 10) % 10
    return "".join(map(str, digits)) + str(check)


def seed_data(
    seed: int, agents: int, customers_per_agent: int, products: int, orders_per_agent: int
) -> SeededData:
    """Build agents, customers, the catalogue and a few orders; same seed, same data."""
    rng = random.Random(seed)
    agent_list = [_agent(rng, i) for i in range(1, agents + 1)]
    product_list = _products(rng, products)
    customer_list: list[Customer] = []
    account = FIRST_ACCOUNT_NUMBER
    for agent in agent_list:
        for _ in range(customers_per_agent):
            account += rng.randrange(1, 7)
            customer_list.append(_customer(rng, len(customer_list) + 1, agent.username, account))
    _seed_addresses(seed, customer_list)
    _seed_line_discounts(seed, customer_list)
    orders: list[Order] = []
    order_id = FIRST_ORDER_ID
    sales_number = FIRST_SALES_NUMBER
    by_agent: dict[str, list[Customer]] = {}
    for customer in customer_list:
        by_agent.setdefault(customer.agent, []).append(customer)
    for agent in agent_list:
        mine = by_agent.get(agent.username, [])
        for n in range(orders_per_agent if mine else 0):
            order_id += 1
            customer = rng.choice(mine)
            order = _order(rng, order_id, agent.username, customer, product_list)
            # The order took the customer's LINEDISC; its seeded lines carry no default (a
            # line added to it by an edit gets one).
            order.line_discount = customer.line_discount
            if n == 0:
                sales_number += 1
                order.sales_id = f"ORD/{sales_number}"
                order.transfer_status = TRANSFER_SENT
            orders.append(order)
    return SeededData(
        agent_list, customer_list, product_list, orders, order_id + 1, sales_number + 1
    )


def _agent(rng: random.Random, index: int) -> Agent:
    username = agent_username(index)
    full_name = f"{rng.choice(names.FIRST_NAMES)} {rng.choice(names.SURNAMES)}"
    return Agent(username=username, password=agent_password(username), full_name=full_name)


def _customer(rng: random.Random, row_id: int, agent: str, account: int) -> Customer:
    first, surname = rng.choice(names.FIRST_NAMES), rng.choice(names.SURNAMES)
    name = rng.choice(names.BUSINESS_KINDS).format(f=first, s=surname)
    city, zip_code, province = rng.choice(names.CITIES)
    vat = vat_number(rng)
    slug = surname.lower().replace(" ", "")
    return Customer(
        id=row_id,
        agent=agent,
        account=str(account),
        name=name,
        vat_number=vat,
        fiscal_code=vat,
        email=f"{slug}{rng.randrange(10, 99)}@pec.{slug}.it",
        street=f"{rng.choice(names.STREETS)} {rng.randrange(1, 180)}",
        zip_code=zip_code,
        city=f"{city} ({province})",
        # International, as the live save wants it (d6-save-flow.json: ^\+[1-9]\d{1,15}$).
        phone=f"+390{rng.randrange(10, 99)}{rng.randrange(100000, 9999999)}",
    )


def _products(rng: random.Random, count: int) -> list[Product]:
    seen: set[str] = set()
    result: list[Product] = []
    variant_number = 5000
    while len(result) < count:
        group, base_name, letter = rng.choice(names.PRODUCT_GROUPS)
        item_id = f"{letter}{rng.randrange(1, 999)}.{rng.choice(SHANKS)}.{rng.choice((8, 10, 12, 14, 16, 18, 21, 23, 25, 31)):03d}"
        if item_id in seen:
            continue
        seen.add(item_id)
        contents = sorted(rng.sample(names.PACKAGE_CONTENTS, rng.randrange(1, 4)))
        variants = []
        for content in contents:
            variant_number += rng.randrange(1, 40)
            variants.append(Variant(f"{variant_number:06d}K{rng.randrange(0, 10)}", content))
        shape = rng.choice(names.SHAPES)
        result.append(
            Product(
                item_id=item_id,
                name=f"{base_name} {shape}",
                description=f"{base_name} {shape}, {rng.choice(names.GRITS)}",
                group=group,
                price_eur=round(rng.uniform(2.5, 60.0), 2),
                variants=tuple(variants),
            )
        )
    return result


def _order(
    rng: random.Random, order_id: int, agent: str, customer: Customer, products: list[Product]
) -> Order:
    created = SEED_EPOCH_S - rng.randrange(3600, 60 * 86400)
    lines = []
    for product in rng.sample(products, rng.randrange(1, 5)):
        variant = rng.choice(product.variants)
        lines.append(
            OrderLine(
                article=product.item_id,
                variant=variant.variant_id,
                quantity=float(variant.package_content * rng.randrange(1, 4)),
                discount=rng.choice((None, None, 5.0, 10.0)),
                price_eur=product.price_eur,
            )
        )
    return Order(
        id=order_id,
        agent=agent,
        customer=customer.account,
        customer_name=customer.name,
        delivery_address=f"{customer.street}, {customer.zip_code} {customer.city}",
        lines=lines,
        # Derived, not drawn: the seeded data of every other field stays as it was.
        delivery_date=time.strftime(
            "%Y-%m-%d", time.localtime(created + (2 + order_id % 20) * 86400)
        ),
        created=created,
        changed=created,
    )


#: The first alternative address's ERP id; ids then grow across all customers.
FIRST_ADDRESS_ID = 40001
#: TYPE of an alternative address (Italian, as the simulator keeps values).
ADDRESS_TYPES = ("Consegna", "Consegna", "Fattura")


#: Share of customers whose LINEDISC is the street-price group (their new order lines get 20 %;
#: the production bot clears it on every order it enters, FACTS §2.15).
STREET_PRICE_SHARE = 0.5


def _seed_line_discounts(seed: int, customers: list[Customer]) -> None:
    """LINEDISC per customer, from a stream of its own (every other seeded value stays)."""
    rng = random.Random(f"{seed}:line-discounts")
    for customer in customers:
        if rng.random() < STREET_PRICE_SHARE:
            customer.line_discount = STREET_PRICE_DISCOUNT


def _seed_addresses(seed: int, customers: list[Customer]) -> None:
    """Alternative addresses (none for most, 1-3 for some) and BLOCKED (mostly "No").

    Drawn from a stream of their own, so every other seeded value stays as it was.
    """
    rng = random.Random(f"{seed}:addresses")
    next_id = FIRST_ADDRESS_ID
    for customer in customers:
        count = rng.choice((0, 0, 0, 1, 1, 2, 3))
        for _ in range(count):
            city, zip_code, province = rng.choice(names.CITIES)
            customer.addresses.append(
                AltAddress(
                    id=next_id,
                    kind=rng.choice(ADDRESS_TYPES),
                    name=customer.name,
                    street=f"{rng.choice(names.STREETS)} {rng.randrange(1, 180)}",
                    zip_code=zip_code,
                    city=city,
                    county=province,
                    country="IT",
                )
            )
            next_id += 1
        draw = rng.random()
        no, invoice, everything = BLOCKED_VALUES
        customer.blocked = everything if draw < 0.03 else invoice if draw < 0.1 else no
