"""The synced copy of the ERP: each agent's customers, orders, delivery notes and invoices; the
products, prices and line discounts for everyone; and what each sync learned (``sync_state``).

A sync writes page by page (never the whole list in memory), stamping each row with its run
id; :meth:`Cache.finish_run` then counts a miss against each row the complete run did not
see, and removes a row only once it has been missed by ``misses_to_remove`` runs in a row.
A run that read too little of what the cache holds (a remembered filter, an empty first
load) removes nothing and fails: :class:`PartialRead`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from store.db import Database
from store.errors import StoreError

#: The sync_state ``agent`` of the lists that are the same for everyone.
EVERYONE = "*"


@dataclass(frozen=True)
class Entity:
    """How one synced list is stored: its table and the column that keys a row."""

    table: str
    key_column: str
    row_key: str  # the ERP list's column holding the key
    per_agent: bool


ENTITIES = {
    "customers": Entity("customers_cache", "account", "accountnum", per_agent=True),
    "orders": Entity("orders_cache", "order_id", "id", per_agent=True),
    "products": Entity("products_cache", "item_id", "itemid", per_agent=False),
    "ddt": Entity("ddt_cache", "ddt_id", "id", per_agent=True),
    "invoices": Entity("invoices_cache", "invoice_id", "invoiceid", per_agent=True),
    "prices": Entity("prices_cache", "price_id", "id", per_agent=False),
    "line_discounts": Entity("line_discounts_cache", "discount_id", "id", per_agent=False),
}
#: Records read one at a time (not by a sync): entity → (table, key column).
RECORDS = {"customer_records": ("customer_records_cache", "account")}


class PartialRead(StoreError):
    """A complete run read too few rows to trust its absences: nothing was removed."""


@dataclass(frozen=True)
class SyncState:
    """What the last syncs of one list (of one agent, or everyone's) learned."""

    last_complete: dt.datetime | None
    last_full_walk: dt.datetime | None
    #: The newest MODIFIEDDATETIME of each list at the last complete walk's start.
    sentinel: dict[str, str | None]
    skipped_total: int
    walks_total: int
    #: Pages the last complete walk read from its longest list (None: not known yet).
    last_walk_pages: int | None = None

class Cache:
    """Upserts synced rows and removes the ones a complete run did not see."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, entity: str, agent: str, run_id: str, rows: list[dict[str, Any]]) -> int:
        """Store one page of rows; returns how many were written."""
        spec = ENTITIES[entity]
        keyed = [(str(r[spec.row_key]), r) for r in rows if r.get(spec.row_key)]
        if not keyed:
            return 0
        if spec.per_agent:
            sql = (f"INSERT INTO {spec.table} (agent, {spec.key_column}, data, sync_run)"
                   f" VALUES (%s, %s, %s, %s) ON CONFLICT (agent, {spec.key_column}) DO UPDATE"
                   " SET data = EXCLUDED.data, sync_run = EXCLUDED.sync_run, synced_at = now(),"
                   " missed = 0")
            params: list[tuple[Any, ...]] = [(agent, key, Jsonb(row), run_id) for key, row in keyed]
        else:
            sql = (f"INSERT INTO {spec.table} ({spec.key_column}, data, sync_run)"
                   f" VALUES (%s, %s, %s) ON CONFLICT ({spec.key_column}) DO UPDATE"
                   " SET data = EXCLUDED.data, sync_run = EXCLUDED.sync_run, synced_at = now(),"
                   " missed = 0")
            params = [(key, Jsonb(row), run_id) for key, row in keyed]
        with self._db.connection() as conn, conn.cursor() as cur:
            cur.executemany(sql, params)
        return len(keyed)

    def finish_run(
        self, entity: str, agent: str, run_id: str, started_at: str, *, seen: int,
        held_before: int, min_read_pct: int = 70, slack_rows: int = 5, misses_to_remove: int = 2,
    ) -> int:
        """End a complete run that saw ``seen`` rows; returns how many rows it removed.

        PartialRead, removing nothing, when the cache held rows (``held_before``, counted when
        the run began) and the run saw none, or fewer than ``min_read_pct`` % of them and more
        than ``slack_rows`` fewer (a small list losing a row or two is no partial read). Else every
        row the run did not see is missed once more, and those missed by ``misses_to_remove``
        runs in a row are removed. Only rows last written before the run started count: another
        run overlapping this one (two agents syncing the shared products) keeps what it wrote.
        """
        short = seen * 100 < held_before * min_read_pct and held_before - seen > slack_rows
        if held_before > 0 and (seen == 0 or short):
            raise PartialRead(
                f"the {entity} list showed {seen} rows but the cache holds {held_before} "
                f"(less than {min_read_pct} %, ARCHIBOT_SYNC_MIN_READ_PCT): a filter or a failed "
                "load hides rows, so nothing was removed"
            )
        spec = ENTITIES[entity]
        where = "sync_run <> %s AND synced_at < %s"
        params: tuple[Any, ...] = (run_id, started_at)
        if spec.per_agent:
            where, params = "agent = %s AND " + where, (agent, *params)
        with self._db.connection() as conn, conn.transaction():
            conn.execute(f"UPDATE {spec.table} SET missed = missed + 1 WHERE {where}", params)
            cur = conn.execute(f"DELETE FROM {spec.table} WHERE {where} AND missed >= %s",
                               (*params, misses_to_remove))
        return cur.rowcount

    def missed_once(self, entity: str, agent: str) -> bool:
        """Whether a row awaits its next complete run (missed, not yet removed): the next sync
        must walk, even if the list looks unchanged, or that row would stay for good."""
        spec = ENTITIES[entity]
        where, params = ("agent = %s AND missed > 0", (agent,)) if spec.per_agent else ("missed > 0", ())
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {spec.table} WHERE {where}) AS x",
                               params).fetchone()
        return bool(row and row["x"])

    def held(self, entity: str, agent: str) -> int:
        """How many rows a sync of ``entity`` for ``agent`` would compare itself with."""
        return self.count(entity, agent if ENTITIES[entity].per_agent else None)

    def put_record(self, entity: str, agent: str, key: str, data: dict[str, Any]) -> None:
        """Keep one record read on its own (``customer_records``: refresh-customer)."""
        table, key_column = RECORDS[entity]
        with self._db.connection() as conn:
            conn.execute(
                f"INSERT INTO {table} (agent, {key_column}, data) VALUES (%s, %s, %s)"
                f" ON CONFLICT (agent, {key_column}) DO UPDATE SET data = EXCLUDED.data,"
                " refreshed_at = now()",
                (agent, key, Jsonb(data)),
            )

    def record(self, entity: str, agent: str, key: str) -> dict[str, Any] | None:
        """One record kept by :meth:`put_record`, or None."""
        table, key_column = RECORDS[entity]
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT data FROM {table} WHERE agent = %s AND {key_column} = %s",
                               (agent, key)).fetchone()
        return None if row is None else dict(row["data"])

    # -- sync_state: what skip-unchanged and the freshness scheduler read -----------------------

    def sync_state(self, agent: str, op_type: str) -> SyncState | None:
        """What the last syncs of ``op_type`` for ``agent`` (or EVERYONE) learned."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT last_complete, last_full_walk, last_sentinel, skipped_total, walks_total,"
                " last_walk_pages"
                " FROM sync_state WHERE agent = %s AND op_type = %s", (agent, op_type),
            ).fetchone()
        if row is None:
            return None
        sentinel = json.loads(row["last_sentinel"]) if row["last_sentinel"] else {}
        return SyncState(row["last_complete"], row["last_full_walk"], sentinel,
                         row["skipped_total"], row["walks_total"], row["last_walk_pages"])

    def record_walk(
        self, agent: str, op_type: str, sentinel: dict[str, str | None], pages: int | None = None
    ) -> None:
        """A complete walk ended; ``sentinel``: each list's newest MODIFIEDDATETIME at its start;
        ``pages``: how many pages its longest list took."""
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO sync_state (agent, op_type, last_complete, last_full_walk, last_sentinel,"
                " walks_total, last_walk_pages) VALUES (%s, %s, now(), now(), %s, 1, %s)"
                " ON CONFLICT (agent, op_type) DO UPDATE SET last_complete = now(),"
                " last_full_walk = now(), last_sentinel = EXCLUDED.last_sentinel,"
                " walks_total = sync_state.walks_total + 1,"
                " last_walk_pages = EXCLUDED.last_walk_pages",
                (agent, op_type, json.dumps(sentinel, sort_keys=True), pages),
            )

    def record_skip(self, agent: str, op_type: str) -> None:
        """A sync found its lists unchanged and walked nothing: the cache is fresh as of now."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE sync_state SET last_complete = now(), last_skipped = now(),"
                " skipped_total = skipped_total + 1 WHERE agent = %s AND op_type = %s",
                (agent, op_type),
            )

    def count(self, entity: str, agent: str | None = None) -> int:
        """How many rows are cached (for the agent, where per agent)."""
        spec = ENTITIES[entity]
        with self._db.connection() as conn:
            if spec.per_agent and agent is not None:
                row = conn.execute(f"SELECT count(*) AS n FROM {spec.table} WHERE agent = %s", (agent,)).fetchone()
            else:
                row = conn.execute(f"SELECT count(*) AS n FROM {spec.table}").fetchone()
        return int(row["n"]) if row else 0

    def rows(self, entity: str, agent: str | None = None) -> list[dict[str, Any]]:
        """Every cached row's data (for the agent, where per agent)."""
        spec = ENTITIES[entity]
        with self._db.connection() as conn:
            if spec.per_agent:
                found = conn.execute(f"SELECT data FROM {spec.table} WHERE agent = %s ORDER BY 1", (agent,)).fetchall()
            else:
                found = conn.execute(f"SELECT data FROM {spec.table}").fetchall()
        return [r["data"] for r in found]
