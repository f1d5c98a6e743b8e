"""The cache never wiped by a partial read, rows removed only after two misses, documents stored
once and served — the store and the HTTP API, without a browser."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from archibot.client import Client
from archibot.errors import UnknownDocument
from store.cache import Cache, PartialRead
from store.db import Database
from store.documents import Documents, document_id
from tests.fix_api import AUTH

AGENT = "agent01"


def _run(cache: Cache, entity: str, rows: list[dict[str, Any]], *, agent: str = AGENT,
         min_read_pct: int = 70, slack_rows: int = 5) -> int:
    """One complete sync run that saw ``rows``: returns how many it removed."""
    run_id = str(uuid.uuid4())
    held = cache.held(entity, agent)
    with cache._db.connection() as conn:  # the run starts after every earlier write
        started = conn.execute("SELECT clock_timestamp() AS t").fetchone()["t"].isoformat()
    seen = cache.upsert(entity, agent, run_id, rows)
    return cache.finish_run(entity, agent, run_id, started, seen=seen, held_before=held,
                            min_read_pct=min_read_pct, slack_rows=slack_rows)


def _customers(n: int) -> list[dict[str, Any]]:
    return [{"accountnum": f"C{i:04d}", "name": f"Cliente {i}"} for i in range(n)]


def test_a_read_of_too_few_rows_removes_nothing_and_says_what_it_saw(db: Database) -> None:
    cache = Cache(db)
    assert _run(cache, "customers", _customers(100)) == 0
    # When a sync sees 40 of the 100 customers the cache holds (a remembered filter)
    with pytest.raises(PartialRead, match=r"showed 40 rows but the cache holds 100 \(less than 70 %"):
        _run(cache, "customers", _customers(40))
    # Then nothing was removed, nor counted as missed
    assert cache.count("customers", AGENT) == 100
    with pytest.raises(PartialRead, match="showed 0 rows"):
        _run(cache, "customers", [])
    assert _run(cache, "customers", _customers(99)) == 0  # the next good read: 1 missed once
    assert cache.count("customers", AGENT) == 100


def test_a_row_leaves_the_cache_only_when_two_syncs_in_a_row_miss_it(db: Database) -> None:
    cache = Cache(db)
    _run(cache, "ddt", [{"id": str(i)} for i in range(10)])
    without_3 = [{"id": str(i)} for i in range(10) if i != 3]
    # One miss keeps it; being seen again forgives the miss
    assert _run(cache, "ddt", without_3) == 0
    assert _run(cache, "ddt", [{"id": str(i)} for i in range(10)]) == 0
    assert _run(cache, "ddt", without_3) == 0
    assert cache.count("ddt", AGENT) == 10
    # Two misses in a row remove it
    assert _run(cache, "ddt", without_3) == 1
    assert {r["id"] for r in cache.rows("ddt", AGENT)} == {str(i) for i in range(10) if i != 3}


def test_the_thresholds_are_settings_and_an_empty_cache_trusts_an_empty_list(db: Database) -> None:
    cache = Cache(db)
    assert _run(cache, "invoices", []) == 0  # nothing held: nothing to protect
    _run(cache, "invoices", [{"invoiceid": f"F{i}"} for i in range(10)])
    five = [{"invoiceid": f"F{i}"} for i in range(5)]
    assert _run(cache, "invoices", five, min_read_pct=50, slack_rows=0) == 0
    with pytest.raises(PartialRead, match="less than 60 %"):
        _run(cache, "invoices", five, min_read_pct=60, slack_rows=0)
    # A small list a few rows short is trusted (3 orders, one deleted, is no partial read):
    # this is the second complete run in a row that misses F5-F9, so they go
    assert _run(cache, "invoices", five, min_read_pct=70, slack_rows=5) == 5


def test_shared_lists_are_one_for_everyone(db: Database) -> None:
    cache = Cache(db)
    _run(cache, "prices", [{"id": str(i), "amount": "1.5"} for i in range(4)], agent="agent01")
    _run(cache, "prices", [{"id": str(i), "amount": "2.5"} for i in range(4)], agent="agent02")
    assert cache.count("prices") == 4
    assert {r["amount"] for r in cache.rows("prices")} == {"2.5"}


def test_sync_state_records_walks_and_skips(db: Database) -> None:
    cache = Cache(db)
    assert cache.sync_state(AGENT, "sync-orders") is None
    cache.record_walk(AGENT, "sync-orders", {"orders": "2026-12-01T10:00:00|40"})
    cache.record_skip(AGENT, "sync-orders")
    state = cache.sync_state(AGENT, "sync-orders")
    assert state is not None and state.sentinel == {"orders": "2026-12-01T10:00:00|40"}
    assert (state.walks_total, state.skipped_total) == (1, 1)
    assert state.last_complete is not None and state.last_complete >= state.last_full_walk


@pytest.mark.parametrize("where", ["postgresql", "directory"])
def test_a_document_is_stored_once_and_served_with_its_name_and_type(
    where: str, db: Database, tmp_path: Path, api: TestClient, client: Client,
) -> None:
    directory = str(tmp_path / "docs") if where == "directory" else ""
    docs = Documents(db, directory)
    for agent in (AGENT, "agent02"):
        client.agents.add(agent, "pw")
    op_a = client.send("download-ddt-pdf", AGENT, {"ddt": "DDT/26000001"})
    op_b = client.send("download-ddt-pdf", "agent02", {"ddt": "DDT/26000001"})
    content = b"%PDF-1.4\n" + bytes(range(256)) * 8
    # When two operations fetch the same PDF
    first = docs.store(content, "../DDT 26000001.pdf", "application/pdf", op_a)
    second = docs.store(content, "DDT 26000001.pdf", "application/pdf", op_b)
    # Then it is one document, named by its content, linked to both
    digest = hashlib.sha256(content).hexdigest()
    assert first == second and first.id == document_id(digest) and first.size == len(content)
    assert first.filename == "DDT 26000001.pdf"  # no path from the ERP's name
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) AS n, bool_and(content IS NULL) AS outside FROM documents").fetchone()
    assert row["n"] == 1 and row["outside"] is (where == "directory")
    if directory:
        assert len(list(Path(directory).rglob("*.bin"))) == 1
    # Served by the client and by the HTTP API, listed on each operation
    reader = Client(dataclasses.replace(client.settings, documents_dir=directory), db=db)
    try:
        assert reader.document(first.id) == content
        assert [d["document_id"] for d in reader.status(op_b)["documents"]] == [first.id]
    finally:
        reader.close()
    got = api.get(f"/v1/documents/{first.id}", headers=AUTH)
    if not directory:  # the API's own settings keep bytes in PostgreSQL
        assert got.status_code == 200 and got.content == content
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"].startswith('attachment; filename="DDT 26000001.pdf"')
    assert api.get("/v1/documents/doc_nope", headers=AUTH).status_code == 404
    assert api.get(f"/v1/documents/{first.id}").status_code == 401
    op = api.get(f"/v1/operations/{op_a}", headers=AUTH).json()
    assert [d["sha256"] for d in op["documents"]] == [digest]


def test_documents_past_their_retention_are_forgotten(db: Database, tmp_path: Path, client: Client) -> None:
    docs = Documents(db, str(tmp_path))
    old = docs.store(b"%PDF old", "old.pdf", "application/pdf")
    new = docs.store(b"%PDF new", "new.pdf", "application/pdf")
    with db.connection() as conn:
        conn.execute("UPDATE documents SET last_used_at = now() - interval '31 days' WHERE id = %s", (old.id,))
    assert docs.purge(30) == 1
    assert docs.content(old.id) is None and docs.content(new.id) is not None
    assert len(list(tmp_path.rglob("*.bin"))) == 1
    with pytest.raises(UnknownDocument):
        client.document(old.id)
