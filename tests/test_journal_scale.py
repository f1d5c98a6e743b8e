"""The journal stays O(pending): the agent's fence row, retention, the picker's index reads.

Fast: PostgreSQL only (no Chromium, no Redis). Rows are written with SQL so each test sets
up exactly the history it needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Json

from store.claims import Claims
from store.db import Database, _migration_files
from store.retention import Retention

#: The picker before the ``units`` column (store/claim_sql.py at 0008): the reference answer.
OLD_FREE_AGENTS_SQL = """
WITH recent AS (
    SELECT op_type, exec_ms, greatest(1, coalesce(jsonb_array_length(payload -> 'lines'), 1)) AS units
    FROM operations WHERE status = 'done' AND exec_ms > 0 ORDER BY seq DESC LIMIT 500
), rates AS (
    SELECT op_type, sum(exec_ms)::float / sum(units) AS ms_per_unit FROM recent GROUP BY op_type
), pending AS (
    SELECT o.agent, bool_or(o.status = 'running') AS busy,
           sum(coalesce(r.ms_per_unit, 1000)
               * greatest(1, coalesce(jsonb_array_length(o.payload -> 'lines'), 1))) AS work_ms
    FROM operations o LEFT JOIN rates r USING (op_type)
    WHERE o.status IN ('queued', 'running') GROUP BY o.agent
), head_writes AS (
    SELECT DISTINCT ON (agent) agent, (not_before IS NULL OR not_before <= clock_timestamp()) AS ready
    FROM operations WHERE is_write AND status IN ('queued', 'running') ORDER BY agent, seq
), ready_syncs AS (
    SELECT DISTINCT agent FROM operations WHERE NOT is_write AND status IN ('queued', 'running')
      AND (not_before IS NULL OR not_before <= clock_timestamp())
)
SELECT p.agent FROM pending p LEFT JOIN head_writes h USING (agent)
WHERE NOT p.busy AND (coalesce(h.ready, false) OR p.agent IN (SELECT agent FROM ready_syncs))
ORDER BY p.work_ms DESC, p.agent LIMIT %(limit)s
"""


def add_agent(conn: psycopg.Connection[Any], agent: str) -> None:
    conn.execute("INSERT INTO agents (agent, erp_username, password_enc) VALUES (%s, %s, '\\x00')",
                 (agent, agent))


def add_op(conn: psycopg.Connection[Any], agent: str, *, status: str = "queued", fence: int | None = None,
           lines: int = 0, is_write: bool = True, op_type: str = "submit-order", exec_ms: int = 0,
           age_days: float = 0, not_before_s: float | None = None) -> str:
    op_id = str(uuid.uuid4())
    payload: dict[str, Any] = {"lines": [{}] * lines} if lines else {}
    conn.execute(
        "INSERT INTO operations (id, agent, op_type, is_write, payload, status, fence, exec_ms,"
        " finished_at, not_before) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s,"
        " CASE WHEN %s IN ('done', 'failed', 'cancelled')"
        "  THEN clock_timestamp() - make_interval(secs => %s) END,"
        " clock_timestamp() + make_interval(secs => %s))",
        (op_id, agent, op_type, is_write, Json(payload), status, fence, exec_ms,
         status, age_days * 86_400, not_before_s),
    )
    return op_id


def test_a_claim_raises_the_agents_fence_row_and_refuses_a_lower_fence(db: Database) -> None:
    claims = Claims(db)
    with db.connection() as conn:
        add_agent(conn, "a1")
        first, second = add_op(conn, "a1"), add_op(conn, "a1", is_write=False, op_type="sync-orders")

    claimed = claims.claim_next("a1", fence=7, worker="w")
    assert claimed is not None and claimed.id == first
    with db.connection() as conn:
        assert conn.execute("SELECT fence FROM agent_fences WHERE agent = 'a1'").fetchone()["fence"] == 7
    assert claims.max_fence("a1") == 7

    # A holder with an older lease claims nothing, even a row no claim has touched.
    assert claims.claim_next("a1", fence=6, worker="old", only=second) is None
    with db.connection() as conn:
        assert conn.execute("SELECT status FROM operations WHERE id = %s", (second,)).fetchone()["status"] == "queued"
    assert claims.max_fence("a1") == 7

    # The newer holder takes the orphan (its holder died) and the fence row follows it.
    again = claims.claim_next("a1", fence=9, worker="new")
    assert again is not None and again.id == first and again.fence == 9
    assert claims.max_fence("a1") == 9


def test_the_same_fence_claims_several_rows(db: Database) -> None:
    claims = Claims(db)
    with db.connection() as conn:
        add_agent(conn, "a1")
        add_op(conn, "a1", is_write=False, op_type="sync-orders")
        add_op(conn, "a1", is_write=False, op_type="sync-customers")
    assert claims.claim_next("a1", fence=3, worker="w") is not None
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'done' WHERE status = 'running'")
    assert claims.claim_next("a1", fence=3, worker="w") is not None


def test_max_fence_survives_pruning(db: Database) -> None:
    claims = Claims(db)
    with db.connection() as conn:
        add_agent(conn, "a1")
        add_op(conn, "a1")
    claimed = claims.claim_next("a1", fence=41, worker="w")
    assert claimed is not None
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'done',"
                     " finished_at = clock_timestamp() - interval '40 days'")
        conn.execute("UPDATE webhook_deliveries SET delivered_at = clock_timestamp()")
    assert Retention(db).prune(30).deleted == 1
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM operations").fetchone()["n"] == 0
    assert claims.max_fence("a1") == 41


def test_prune_deletes_only_old_ended_rows_not_still_needed_in_batches(db: Database) -> None:
    with db.connection() as conn:
        add_agent(conn, "a1")
        old = [add_op(conn, "a1", status=s, age_days=40) for s in ("done", "failed", "cancelled") * 3]
        recent = add_op(conn, "a1", status="done", age_days=10)
        pending = add_op(conn, "a1", status="queued")
        keyed = add_op(conn, "a1", status="done", age_days=40)
        conn.execute("INSERT INTO idempotency_keys (key, request_hash, op_id) VALUES ('k', 'h', %s)", (keyed,))
        expired_key = add_op(conn, "a1", status="done", age_days=40)
        conn.execute("INSERT INTO idempotency_keys (key, request_hash, op_id, created_at)"
                     " VALUES ('k-old', 'h', %s, clock_timestamp() - interval '2 days')", (expired_key,))
        documented = add_op(conn, "a1", status="done", age_days=40)
        conn.execute("INSERT INTO documents (id, sha256, filename, content_type, size)"
                     " VALUES ('d1', 's', 'f.pdf', 'application/pdf', 1)")
        conn.execute("INSERT INTO operation_documents (op_id, document_id) VALUES (%s, 'd1')", (documented,))
        conn.execute("UPDATE webhook_deliveries SET delivered_at = clock_timestamp()")
        undelivered = add_op(conn, "a1", status="done", age_days=40)
        conn.execute("UPDATE webhook_deliveries SET delivered_at = NULL WHERE op_id = %s", (undelivered,))
        given_up = add_op(conn, "a1", status="done", age_days=40)  # its webhook is past sending
        conn.execute("UPDATE webhook_deliveries SET delivered_at = NULL,"
                     " created_at = clock_timestamp() - interval '2 days' WHERE op_id = %s", (given_up,))

    first = Retention(db).prune(30, key_retention_s=86_400, batch_rows=4, max_batches=2)
    assert (first.deleted, first.batches, first.more) == (8, 2, True)
    rest = Retention(db).prune(30, key_retention_s=86_400, batch_rows=4, max_batches=2)
    assert (rest.deleted, rest.more) == (3, False)

    with db.connection() as conn:
        left = {str(r["id"]) for r in conn.execute("SELECT id FROM operations")}
        keys = {r["key"] for r in conn.execute("SELECT key FROM idempotency_keys")}
    assert left == {recent, pending, keyed, documented, undelivered}
    assert not left & {*old, expired_key, given_up}
    assert keys == {"k"}


def test_the_picker_answers_as_before_on_a_mixed_journal(db: Database) -> None:
    with db.connection() as conn:
        for n in range(8):
            add_agent(conn, f"a{n}")
        for n in range(40):
            add_op(conn, f"a{n % 8}", status="done", lines=n % 5, exec_ms=100 * (n % 7),
                   op_type=("submit-order", "sync-orders")[n % 2], is_write=n % 2 == 0)
        add_op(conn, "a0", lines=3)
        add_op(conn, "a0", lines=12, is_write=False, op_type="sync-orders")
        add_op(conn, "a1", lines=20, not_before_s=600)  # its head write waits
        add_op(conn, "a1", is_write=False, op_type="sync-orders")
        add_op(conn, "a2", lines=30, not_before_s=600)  # waits, nothing else ready
        add_op(conn, "a3", status="running", fence=1)
        add_op(conn, "a3", lines=50)
        for n in range(4, 8):
            add_op(conn, f"a{n}", lines=n, op_type=("submit-order", "sync-orders")[n % 2], is_write=n % 2 == 0)
        expected = [str(r["agent"]) for r in conn.execute(OLD_FREE_AGENTS_SQL, {"limit": 10})]
    assert Claims(db).free_agents_by_work(limit=10) == expected
    assert set(expected) == {"a0", "a1", "a4", "a5", "a6", "a7"}


#: A schema of the test database the migration test migrates by hand (no CREATE DATABASE,
#: which fails while another session uses template1).
BACKFILL_SCHEMA = "journal_backfill"


@pytest.fixture()
def bare_schema(database: Database) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose tables go to an empty schema of their own."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {BACKFILL_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {BACKFILL_SCHEMA}")
        conn.execute(f"SET search_path = {BACKFILL_SCHEMA}")
        yield conn
        conn.execute(f"DROP SCHEMA {BACKFILL_SCHEMA} CASCADE")


def test_the_migration_backfills_each_agents_highest_fence(bare_schema: psycopg.Connection[Any]) -> None:
    files = _migration_files()
    before = [sql for name, sql in files if name < "0009"]
    fences_sql = next(sql for name, sql in files if name.startswith("0009"))
    conn = bare_schema
    for sql in before:
        conn.execute(sql.encode())
    for agent in ("a1", "a2", "a3"):
        add_agent(conn, agent)
    for fence in (3, 11, None, 5):
        add_op(conn, "a1", status="done", fence=fence)
    add_op(conn, "a2", status="running", fence=2)
    add_op(conn, "a3")
    conn.execute(fences_sql.encode())
    rows = dict(conn.execute("SELECT agent, fence FROM agent_fences").fetchall())
    assert rows == {"a1": 11, "a2": 2}
