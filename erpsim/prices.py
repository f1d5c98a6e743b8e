"""The price list and the line-discount list (PRICEDISCTABLE), and when catalogue records changed.

Both lists are global (every agent sees the same rows) and derived from the seeded products,
deterministically from the seed, without drawing from the main seeding stream (the rest of the
seeded data stays as it was). Each row carries the MODIFIEDDATETIME the real lists keep in a
hidden column: the sentinel a sync reads to skip a list that did not change (FACTS §8).

Values are (kind, invariant raw) cells as the grid writes them; shapes follow the structure
dump (`listViews.Prices` / `listViews.LineDiscounts`): ids grouped ("51,847"), QUANTITYAMOUNTTO
"100,000,000", dates M/D/YYYY in en-US, AMOUNT as money.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from typing import Any

from erpsim.model import Product

FIRST_PRICE_ID = 40_000
#: Line-discount ids are small on the live list (the dump's first row shows plain digits).
FIRST_LINE_DISCOUNT_ID = 100
#: Seeded changes happen before this instant (2026-01-15 09:00 UTC), as the seeded orders'.
SEED_EPOCH_S = 1768467600.0
#: AX's "no upper bound" of a quantity range, and of a validity (a price open-ended).
NO_QUANTITY_LIMIT = "100000000"
NO_END_DATE = "2154-12-31"
#: (ACCOUNTRELATIONID, ACCOUNTRELATIONTXT) of the price groups (FACTS §13: PRICEGROUP).
PRICE_GROUPS = (("1", "DETTAGLIO (consigliato)"), ("2", "INGROSSO"))
#: Customer line-discount groups (the customer's LINEDISC, "…PRICEDISCGROUP(223)"); the
#: first, with no relation, is ACCOUNTCODE "Tutti": every customer (the dump's first row).
DISCOUNT_GROUPS = (
    ("", ""),
    ("221", "Sconto base"),
    ("222", "Sconto rivenditori"),
    ("223", "Discount to get street price"),
)
# ACCOUNTCODE / ITEMCODE as XAF shows AX's TableGroupAll enum (data, not UI labels).
CODE_TABLE = "Tabella"
CODE_GROUP = "Gruppo"
CODE_ALL = "Tutti"

Cell = str | tuple[str, str]


@dataclass
class _PriceDiscRow:
    """What a price row and a line-discount row share: both are rows of one AX table
    (PRICEDISCTABLE) shown by two list views, so id, account group, validity, quantity range
    and change stamps read the same; each kind adds its own fields and cells."""

    id: int
    group: tuple[str, str]
    from_date: str
    to_date: str
    quantity_from: int
    modified: float
    created: float

    @property
    def key(self) -> str:
        return str(self.id)

    def closed(self) -> bool:
        """Its validity ended (TODATE in the past): only "Closed …" shows it."""
        return bool(self.to_date) and self.to_date < time.strftime("%Y-%m-%d")

    def _cells(self, relation: str, own: dict[str, Cell]) -> dict[str, Cell]:
        """The row's grid cells: the table's common columns around the kind's `own`."""
        return {
            "ID": ("int", str(self.id)),
            "ACCOUNTRELATIONID": self.group[0],
            "ACCOUNTRELATIONTXT": self.group[1],
            **own,
            "FROMDATE": ("date", self.from_date),
            "TODATE": ("date", self.to_date),
            "QUANTITYAMOUNTFROM": ("int", str(self.quantity_from)),
            "QUANTITYAMOUNTTO": ("int", NO_QUANTITY_LIMIT),
            "PRICEUNIT": ("int", "1"),
            "CURRENCY": "EUR",
            "DATAAREAID": "bras",
            "RELATION": relation,
            "MODIFIEDDATETIME": ("datetime", iso_local(self.modified)),
            "CREATEDDATETIME": ("datetime", iso_local(self.created)),
            "MODIFIEDBY": "admin",
            "CREATEDBY": "admin",
        }

    def _json(self, own: dict[str, Any]) -> dict[str, Any]:
        """The row for the admin state: the common fields around the kind's `own`."""
        return {
            "id": self.key,
            "account_relation": self.group[0],
            **own,
            "from_date": self.from_date,
            "to_date": self.to_date,
            "quantity_from": self.quantity_from,
            "quantity_to": int(NO_QUANTITY_LIMIT),
            "modified": iso_local(self.modified),
            "closed": self.closed(),
        }


@dataclass
class PriceRow(_PriceDiscRow):
    """One row of PRICEDISCTABLE_ListView: an article's sales price for a price group."""

    item_id: str
    item_name: str
    amount: float

    def values(self) -> dict[str, Cell]:
        return self._cells("Prezzo (vendite)", {
            "ACCOUNTCODE": CODE_GROUP,
            "ITEMRELATIONID": self.item_id,
            "ITEMRELATIONTXT": self.item_name,
            "ITEMCODE": CODE_TABLE,
            "AMOUNT": ("money", f"{self.amount:.2f}"),
            "BRASNETPRICE": "",
            "PERCENT1": ("int", "0"),
            "PERCENT2": ("int", "0"),
            "UNITID": "Pz",
        })

    def to_json(self) -> dict[str, Any]:
        return self._json({
            "item_id": self.item_id,
            "item_name": self.item_name,
            "amount": self.amount,
            "currency": "EUR",
            "price_unit": 1,
        })


@dataclass
class LineDiscountRow(_PriceDiscRow):
    """One row of PRICEDISCTABLE_ListViewLineDisc: a discount of a customer discount group on
    an article (ITEMCODE Tabella) or on a whole product group (ITEMCODE Gruppo)."""

    item_code: str
    item_relation: str
    item_text: str
    percent1: int
    percent2: int

    def values(self) -> dict[str, Cell]:
        return self._cells("Sconto riga (vendite)", {
            "ACCOUNTCODE": CODE_GROUP if self.group[0] else CODE_ALL,
            "ITEMCODE": self.item_code,
            "ITEMRELATIONID": self.item_relation,
            "ITEMRELATIONTXT": self.item_text,
            "PERCENT1": ("int", str(self.percent1)),
            "PERCENT2": ("int", str(self.percent2)),
            "AMOUNT": ("money", "0.00"),
        })

    def to_json(self) -> dict[str, Any]:
        return self._json({
            "item_code": self.item_code,
            "item_relation": self.item_relation,
            "item_text": self.item_text,
            "percent1": self.percent1,
            "percent2": self.percent2,
        })


def iso_local(epoch_s: float) -> str:
    """The invariant datetime the grid formats (server local time, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch_s)) if epoch_s else ""


def _day(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(epoch_s))


def seeded_change(seed: int, key: str) -> float:
    """A record's seeded MODIFIEDDATETIME: fixed per (seed, key), within the year before the
    seed epoch, to the second."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return SEED_EPOCH_S - 3600 - int.from_bytes(digest[:4], "big") % (365 * 86400)


class PriceBook:
    """The price and line-discount rows, and the change times of the products (INVENTTABLE's
    MODIFIEDDATETIME, kept here so the product model stays the catalogue's)."""

    def __init__(self, seed: int, products: list[Product]) -> None:
        rng = random.Random(f"{seed}:prices")
        self.seed = seed
        self.prices: list[PriceRow] = []
        self.line_discounts: list[LineDiscountRow] = []
        self.product_modified: dict[str, float] = {
            p.item_id: seeded_change(seed, "product:" + p.item_id) for p in products
        }
        self._seed_prices(rng, products)
        self._seed_line_discounts(rng, products)

    def _seed_prices(self, rng: random.Random, products: list[Product]) -> None:
        next_id = FIRST_PRICE_ID
        for n, product in enumerate(products):
            modified = seeded_change(self.seed, f"price:{product.item_id}")
            created = modified - rng.randrange(0, 90) * 86400
            if n % 7 == 3:
                # The article's previous price, closed the day before the current one started.
                next_id += rng.randrange(1, 4)
                old_start = created - 400 * 86400
                self.prices.append(PriceRow(
                    id=next_id, group=PRICE_GROUPS[0], item_id=product.item_id,
                    item_name=product.name, amount=round(product.price_eur * 0.95, 2),
                    from_date=_day(old_start), to_date=_day(created - 86400), quantity_from=1,
                    modified=created - 86400, created=old_start,
                ))
            next_id += rng.randrange(1, 4)
            self.prices.append(PriceRow(
                id=next_id, group=PRICE_GROUPS[0], item_id=product.item_id,
                item_name=product.name, amount=product.price_eur, from_date=_day(created),
                to_date=NO_END_DATE, quantity_from=1, modified=modified, created=created,
            ))
            if n % 10 == 5:
                # A wholesale price from 10 pieces on.
                next_id += 1
                self.prices.append(PriceRow(
                    id=next_id, group=PRICE_GROUPS[1], item_id=product.item_id,
                    item_name=product.name, amount=round(product.price_eur * 0.85, 2),
                    from_date=_day(created), to_date=NO_END_DATE, quantity_from=10,
                    modified=modified, created=created,
                ))

    def _seed_line_discounts(self, rng: random.Random, products: list[Product]) -> None:
        next_id = FIRST_LINE_DISCOUNT_ID
        groups = sorted({p.group for p in products})
        for g, group_name in enumerate(groups):
            for account in DISCOUNT_GROUPS:
                next_id += 1
                modified = seeded_change(self.seed, f"linedisc:{account[0]}:{group_name}")
                self.line_discounts.append(LineDiscountRow(
                    id=next_id, group=account, item_code=CODE_GROUP, item_relation=str(300 + g),
                    item_text=group_name, percent1=rng.choice((5, 10, 15, 20)),
                    percent2=rng.choice((0, 0, 5)), from_date=_day(modified - 30 * 86400),
                    to_date=NO_END_DATE, quantity_from=1, modified=modified,
                    created=modified - 30 * 86400,
                ))
        for n, product in enumerate(products):
            if n % 6 != 1:
                continue
            account = DISCOUNT_GROUPS[1 + n % (len(DISCOUNT_GROUPS) - 1)]
            next_id += rng.randrange(1, 3)
            modified = seeded_change(self.seed, f"linedisc:{account[0]}:{product.item_id}")
            closed = n % 42 == 1
            start = modified - 60 * 86400
            self.line_discounts.append(LineDiscountRow(
                id=next_id, group=account, item_code=CODE_TABLE, item_relation=product.item_id,
                item_text=product.name, percent1=rng.choice((10, 20, 25, 30)), percent2=0,
                from_date=_day(start), to_date=_day(modified) if closed else NO_END_DATE,
                quantity_from=rng.choice((1, 1, 5, 10)), modified=modified, created=start,
            ))

    # -- admin: rows disappearing and changing ------------------------------------------------

    def rows(self, entity: str) -> list[Any]:
        """The rows of "prices" or "line_discounts"."""
        if entity == "prices":
            return self.prices
        if entity == "line_discounts":
            return self.line_discounts
        raise KeyError(entity)

    def remove(self, entity: str, keys: set[str]) -> list[str]:
        """Delete rows by key; returns the keys that existed, in list order."""
        rows = self.rows(entity)
        gone = [r.key for r in rows if r.key in keys]
        rows[:] = [r for r in rows if r.key not in keys]
        return gone

    def touch(self, entity: str, key: str, now: float) -> str | None:
        """Someone changed the row: its MODIFIEDDATETIME moves to now. The new value, or None."""
        for row in self.rows(entity):
            if row.key == key:
                row.modified = max(now, row.modified + 1)
                return iso_local(row.modified)
        return None

    def touch_product(self, item_id: str, now: float) -> str | None:
        if item_id not in self.product_modified:
            return None
        self.product_modified[item_id] = max(now, self.product_modified[item_id] + 1)
        return iso_local(self.product_modified[item_id])

    def to_json(self, entity: str) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.rows(entity)]
