"""The synced copy of the ERP: customers and orders per agent, products for everyone.

A sync writes page by page (never the whole list in memory), stamping each row
with its run id; :meth:`Cache.finish_run` then deletes what the run did not see —
what disappeared from the ERP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from store.db import Database


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
}


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
                   " SET data = EXCLUDED.data, sync_run = EXCLUDED.sync_run, synced_at = now()")
            params: list[tuple[Any, ...]] = [(agent, key, Jsonb(row), run_id) for key, row in keyed]
        else:
            sql = (f"INSERT INTO {spec.table} ({spec.key_column}, data, sync_run)"
                   f" VALUES (%s, %s, %s) ON CONFLICT ({spec.key_column}) DO UPDATE"
                   " SET data = EXCLUDED.data, sync_run = EXCLUDED.sync_run, synced_at = now()")
            params = [(key, Jsonb(row), run_id) for key, row in keyed]
        with self._db.connection() as conn, conn.cursor() as cur:
            cur.executemany(sql, params)
        return len(keyed)

    def finish_run(self, entity: str, agent: str, run_id: str, started_at: str) -> int:
        """Delete the rows a complete run did not see; returns how many.

        Only rows last written before the run started: another run overlapping this
        one (two agents syncing the shared products) keeps what it wrote meanwhile.
        """
        spec = ENTITIES[entity]
        where = "sync_run <> %s AND synced_at < %s"
        params: tuple[str, ...] = (run_id, started_at)
        if spec.per_agent:
            where, params = "agent = %s AND " + where, (agent, *params)
        with self._db.connection() as conn:
            cur = conn.execute(f"DELETE FROM {spec.table} WHERE {where}", params)
        return cur.rowcount

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
