"""The HTTP API: every endpoint, auth, bad input, idempotency, cancel, events, webhooks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import hashlib
import hmac
import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from actors.lock import AgentLock
from archibot import cli
from archibot.client import Client
from archibot.keys import heartbeat_key
from archibot.settings import Settings
from store.claims import Claims
from store.rows import Operation
from store.tokens import TokenStore
from tests.fix_api import AUTH, ApiProcess

ORDER = {"customer": "1002305", "lines": [{"article": "H1.314.016", "quantity": 5}]}


def order_request(agent: str = "agent01", **payload: Any) -> dict[str, Any]:
    return {"type": "submit-order", "agent": agent, "payload": {**ORDER, **payload}}


@pytest.fixture()
def test_env(api_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the CLI reads, pointing at the test services."""
    for key, value in api_settings.to_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture()
def agent(client: Client) -> str:
    client.agents.add("agent01", "pw-agent01-secret")
    return "agent01"


def journal_size(client: Client) -> int:
    with client.db.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM operations").fetchone()
    return int(row["n"])  # type: ignore[index]


def queued_messages(redis_client: redis.Redis) -> int:
    return sum(redis_client.llen(k) for k in redis_client.keys("dramatiq:*") if redis_client.type(k) == b"list")


def claim(client: Client, op_id: str, fence: int = 1) -> Operation:
    """Claim the operation as a worker would (the real journal call)."""
    row = client.journal.get(op_id)
    assert row is not None
    op = Claims(client.db).claim_next(str(row["agent"]), fence, "test-worker")
    assert op is not None and op.id == op_id
    return op


# -- auth ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("GET", "/v1/operations"), ("POST", "/v1/operations"),
                                         ("GET", "/v1/agents"), ("GET", "/metrics"),
                                         ("GET", "/v1/operations/x/events")])
def test_requests_without_a_good_token_get_401(api: TestClient, method: str, path: str) -> None:
    assert api.request(method, path).status_code == 401
    bad = api.request(method, path, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "unauthorized" and "archibot tokens add" in bad.json()["detail"]


def test_health_and_docs_need_no_token(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    schema = api.get("/openapi.json").json()
    assert "/v1/operations" in schema["paths"] and "/v1/operations/{op_id}/cancel" in schema["paths"]
    assert api.get("/docs").status_code == 200
    # each type's payload schema comes from its model in the registry
    assert schema["x-archibot-payloads"]["submit-order"] == {"$ref": "#/components/schemas/SubmitOrder"}
    submit = schema["components"]["schemas"]["SubmitOrder"]
    assert set(submit["required"]) == {"customer", "lines"}
    assert schema["components"]["schemas"]["Line"]["properties"]["quantity"]["minimum"] == 0.001


def test_a_stored_token_works_and_only_its_hash_is_kept(api: TestClient, client: Client, agent: str,
                                                        capsys: pytest.CaptureFixture[str], test_env: None) -> None:
    assert cli.main(["tokens", "add", "mainapp"]) == 0
    token = capsys.readouterr().out.strip()
    assert api.get("/v1/agents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with client.db.connection() as conn:
        stored = conn.execute("SELECT token_hash FROM api_tokens WHERE name = 'mainapp'").fetchone()
    assert stored is not None and stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(stored)
    assert TokenStore(client.db).verify(token + "x") is None


# -- operations ---------------------------------------------------------------------------

def test_post_operation_returns_202_and_the_queued_operation(api: TestClient, client: Client, agent: str,
                                                             redis_client: redis.Redis) -> None:
    r = api.post("/v1/operations", json=order_request(), headers=AUTH)
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "queued" and body["type"] == "submit-order" and body["agent"] == agent
    assert body["payload"] == {"customer": "1002305", "lines": [{"article": "H1.314.016", "quantity": 5.0}]}
    assert r.headers["location"] == f"/v1/operations/{body['id']}"
    assert client.status(body["id"])["status"] == "queued"
    assert queued_messages(redis_client) == 1


def test_the_same_idempotency_key_returns_the_same_operation(api: TestClient, client: Client, agent: str,
                                                             redis_client: redis.Redis) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    first = api.post("/v1/operations", json=order_request(), headers=headers)
    again = api.post("/v1/operations", json=order_request(), headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    other = api.post("/v1/operations", json=order_request(notes="different"), headers=headers)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    assert journal_size(client) == 1 and queued_messages(redis_client) == 1
    # the client and the CLI share the rule
    assert client.send("submit-order", agent, ORDER, idempotency_key="order-42") == first.json()["id"]


def test_an_expired_idempotency_key_makes_a_new_operation(api_settings: Settings, client: Client, agent: str) -> None:
    short = Client(dataclasses.replace(api_settings, idempotency_retention_s=1))
    try:
        first = short.send("submit-order", agent, ORDER, idempotency_key="k-expiring")
        assert short.send("submit-order", agent, ORDER, idempotency_key="k-expiring") == first
        time.sleep(1.2)
        assert short.send("submit-order", agent, ORDER, idempotency_key="k-expiring") != first
    finally:
        short.close()


def test_cli_send_refuses_a_customer_the_erp_would_refuse(client: Client, agent: str, test_env: None,
                                                         redis_client: redis.Redis,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    payload = {"name": "Rossi", "vat_number": "01234567897", "street": "Via Roma 1", "zip": "37100",
               "city": "Verona", "email": "r@pec.it", "phone": "045 123456"}
    assert cli.main(["send", "create-customer", "--agent", agent, "--payload", json.dumps(payload)]) == 1
    assert "'phone'" in capsys.readouterr().err
    assert journal_size(client) == 0 and queued_messages(redis_client) == 0


def test_cli_send_with_an_idempotency_key_prints_the_same_id(client: Client, agent: str, test_env: None,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = ["send", "submit-order", "--agent", agent, "--payload", json.dumps(ORDER), "--idempotency-key", "cli-1"]
    assert cli.main(args) == 0
    first = capsys.readouterr().out.strip()
    assert cli.main(args) == 0
    assert capsys.readouterr().out.strip() == first
    assert journal_size(client) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "submit-order", "agent": "agent01", "payload": {"customer": "1", "lines": [{"quantity": 1}]}},
         "payload.lines[0].article"),
        ({"type": "submit-order", "agent": "agent01", "payload": {"lines": ORDER["lines"]}}, "payload.customer"),
        ({"type": "create-customer", "agent": "agent01", "payload": {"name": "Rossi", "vat_number": "123",
          "street": "Via Roma 1", "zip": "37100", "city": "Verona"}}, "payload.vat_number"),
        ({"type": "create-customer", "agent": "agent01", "payload": {"name": "Rossi", "vat_number": "01234567897",
          "street": "Via Roma 1", "zip": "37100", "city": "Verona", "email": "r@pec.it", "phone": "045 1"}},
         "payload.phone"),
        ({"type": "create-customer", "agent": "agent01", "payload": {"name": "Rossi", "vat_number": "01234567897",
          "street": "Via Roma 1", "zip": "37100", "city": "Verona"}}, "payload.email"),
        ({"type": "sync-orders", "agent": "agent01", "payload": {"page": 3}}, "payload.page"),
        ({"type": "order-pizza", "agent": "agent01", "payload": {}}, "type"),
        ({"type": "submit-order", "agent": "nobody", "payload": ORDER}, "agent"),
        ({"agent": "agent01", "payload": ORDER}, "type"),
        ({"type": "submit-order", "agent": "agent01", "payload": [1, 2]}, "payload"),
        ({"type": "submit-order", "agent": "agent01", "payload": ORDER, "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_422_naming_the_field(api: TestClient, client: Client, agent: str,
                                           redis_client: redis.Redis, body: dict[str, Any], field: str) -> None:
    r = api.post("/v1/operations", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert journal_size(client) == 0 and queued_messages(redis_client) == 0


def test_a_body_over_the_limit_is_413(api: TestClient, agent: str) -> None:
    big = order_request(notes="x" * 1_100_000)
    r = api.post("/v1/operations", content=json.dumps(big), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"

    def chunks() -> Any:  # no Content-Length: counted as it streams
        text = json.dumps(big).encode()
        for i in range(0, len(text), 64_000):
            yield text[i:i + 64_000]

    streamed = api.post("/v1/operations", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"] == "too_large"


def test_get_and_list_operations_with_filters_and_cursor(api: TestClient, client: Client, agent: str) -> None:
    client.agents.add("agent02", "pw")
    ids = [client.send("submit-order", agent, ORDER) for _ in range(5)]
    sync = client.send("sync-orders", "agent02", {})
    assert api.get(f"/v1/operations/{ids[0]}", headers=AUTH).json()["id"] == ids[0]
    assert api.get("/v1/operations/00000000-0000-0000-0000-000000000000", headers=AUTH).status_code == 404
    assert api.get("/v1/operations/not-a-uuid", headers=AUTH).status_code == 404
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"agent": agent, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/operations", params=params, headers=AUTH).json()
        seen += [o["id"] for o in page["operations"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    only_sync = api.get("/v1/operations", params={"type": "sync-orders"}, headers=AUTH).json()["operations"]
    assert [o["id"] for o in only_sync] == [sync]
    assert api.get("/v1/operations", params={"status": "done"}, headers=AUTH).json()["operations"] == []
    bad = api.get("/v1/operations", params={"status": "lost"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    assert api.get("/v1/operations", params={"limit": 0}, headers=AUTH).json()["field"] == "limit"


# -- cancel -------------------------------------------------------------------------------

def test_cancel_a_queued_operation_and_it_is_never_claimed(api: TestClient, client: Client, agent: str) -> None:
    op_id = client.send("submit-order", agent, ORDER)
    r = api.post(f"/v1/operations/{op_id}/cancel", headers=AUTH)
    assert r.status_code == 200 and r.json()["outcome"] == "cancelled"
    assert client.status(op_id)["status"] == "cancelled"
    assert Claims(client.db).claim_next(agent, 1, "test-worker") is None
    again = api.post(f"/v1/operations/{op_id}/cancel", headers=AUTH)
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    assert api.post("/v1/operations/00000000-0000-0000-0000-000000000000/cancel", headers=AUTH).status_code == 404


def test_a_running_write_cannot_be_cancelled(api: TestClient, client: Client, agent: str) -> None:
    op_id = client.send("submit-order", agent, ORDER)
    claim(client, op_id)
    r = api.post(f"/v1/operations/{op_id}/cancel", headers=AUTH)
    assert r.status_code == 409 and "cannot be taken back" in r.json()["detail"]
    assert client.status(op_id)["status"] == "running"


def test_a_queued_write_that_may_have_reached_the_erp_cannot_be_cancelled(api: TestClient, client: Client,
                                                                           agent: str) -> None:
    op_id = client.send("submit-order", agent, ORDER)
    op = claim(client, op_id)
    Claims(client.db).set_phase(op, "about_to_commit")
    Claims(client.db).retry_later(op, "timed out", 60_000)
    assert api.post(f"/v1/operations/{op_id}/cancel", headers=AUTH).status_code == 409


def test_a_running_sync_is_asked_to_stop(api: TestClient, client: Client, agent: str) -> None:
    op_id = client.send("sync-orders", agent, {})
    op = claim(client, op_id)
    r = api.post(f"/v1/operations/{op_id}/cancel", headers=AUTH)
    assert r.status_code == 200 and r.json()["outcome"] == "cancelling"
    assert Claims(client.db).cancel_requested(op_id)
    Claims(client.db).mark_cancelled(op, {"pages_done": 1, "pages_total": 3})
    assert client.status(op_id)["status"] == "cancelled"


# -- agents -------------------------------------------------------------------------------

def test_put_and_list_agents_never_show_a_secret(api: TestClient, client: Client, api_settings: Settings) -> None:
    r = api.put("/v1/agents/agent07", json={"username": "erp07", "password": "s3cret-07"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["username"] == "erp07"
    assert client.agents.credentials("agent07").password == "s3cret-07"
    assert api.put("/v1/agents/agent08", json={"password": ""}, headers=AUTH).json()["field"] == "password"
    op_id = client.send("sync-orders", "agent07", {})
    op = claim(client, op_id)
    client.send("submit-order", "agent07", ORDER)
    Claims(client.db).set_progress(op, {"pages_done": 1, "pages_total": 4})
    client.agents.record_login("agent07", "test-worker")

    async def hold_lease() -> None:
        conn = aioredis.Redis.from_url(api_settings.redis_url)
        lock = AgentLock(conn, ttl_ms=10_000)
        lease = await lock.acquire("agent07", "test")
        assert lease is not None
        await conn.aclose()

    asyncio.run(hold_lease())
    listed = api.get("/v1/agents", headers=AUTH)
    (state,) = listed.json()
    assert state["state"] == "busy" and state["queue_depth"] == 2
    assert state["current"] == {"id": op_id, "type": "sync-orders", "progress": {"pages_done": 1, "pages_total": 4}}
    assert state["logins_today"] == 1 and state["last_login"] is not None
    assert "s3cret-07" not in listed.text and "password" not in listed.text


# -- health and metrics -------------------------------------------------------------------

def test_readyz_wants_a_worker_heartbeat(api: TestClient, redis_client: redis.Redis) -> None:
    r = api.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"] == {"postgres": "ok", "redis": "ok", "workers": 0}
    redis_client.set(heartbeat_key("host-a", 1), json.dumps({"worker": "host-a:1"}), ex=5)
    assert api.get("/readyz").status_code == 200


def test_metrics_come_from_the_journal_and_the_heartbeats(api: TestClient, client: Client, agent: str,
                                                          redis_client: redis.Redis) -> None:
    done = client.send("submit-order", agent, ORDER)
    Claims(client.db).finish(claim(client, done), {"order_id": "1"})
    failed = client.send("submit-order", agent, ORDER)
    Claims(client.db).fail(claim(client, failed, fence=2), "the ERP rejected the operation: unknown article")
    client.send("submit-order", agent, ORDER)
    client.agents.record_login(agent, "w")
    for host, contexts in (("host-a", 3), ("host-b", 2)):
        redis_client.set(heartbeat_key(host, 7), json.dumps(
            {"worker": f"{host}:7", "contexts_open": contexts, "chromium_rss_bytes": 1000, "worker_rss_bytes": 10}), ex=5)
    text = api.get("/metrics", headers=AUTH).text
    for line in (
        'archibot_operations{status="done",type="submit-order"} 1.0',
        'archibot_operations{status="failed",type="submit-order"} 1.0',
        'archibot_operations{status="queued",type="submit-order"} 1.0',
        'archibot_operation_duration_seconds_count{type="submit-order"} 1.0',
        'archibot_queue_depth{agent="agent01"} 1.0',
        'archibot_logins_total{agent="agent01"} 1.0',
        'archibot_erp_errors_total{kind="rejected"} 1.0',
        "archibot_workers 2.0",
        'archibot_worker_browser_contexts{worker="host-a:7"} 3.0',
        'archibot_worker_chromium_rss_bytes{worker="host-b:7"} 1000.0',
    ):
        assert line in text, line
    assert "archibot_oldest_pending_age_seconds" in text
    assert "archibot_webhook_deliveries_pending" not in text  # no webhook URL: nothing to deliver


# -- dashboard ----------------------------------------------------------------------------

def test_the_dashboard_asks_for_a_token_then_shows_the_state(api: TestClient, client: Client, agent: str) -> None:
    api.cookies.clear()
    assert api.get("/").status_code == 401 and 'name="token"' in api.get("/").text
    assert api.post("/login", content="token=wrong",
                    headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 401
    r = api.post("/login", content="token=test-token-1", follow_redirects=False,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
    op_id = client.send("submit-order", agent, ORDER)
    page = api.get("/")
    assert page.status_code == 200 and op_id[:8] in page.text and "agent01" in page.text
    api.cookies.clear()


# -- real processes -------------------------------------------------------------------------

def test_twenty_concurrent_posts_with_one_key_on_two_processes_make_one_operation(
    api_servers: list[ApiProcess], client: Client, agent: str, redis_client: redis.Redis
) -> None:
    headers = {**AUTH, "Idempotency-Key": "race-1"}

    def post(i: int) -> httpx.Response:
        return httpx.post(api_servers[i % 2].url + "/v1/operations", json=order_request(), headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    assert sorted({a.status_code for a in answers}) in ([200, 202], [202])
    assert sum(a.status_code == 202 for a in answers) == 1
    assert len({a.json()["id"] for a in answers}) == 1
    assert journal_size(client) == 1 and queued_messages(redis_client) == 1


def test_events_stream_status_and_progress_until_terminal(api_servers: list[ApiProcess], client: Client,
                                                          agent: str) -> None:
    op_id = client.send("sync-orders", agent, {})
    events: list[dict[str, Any]] = []
    opened = threading.Event()

    def follow() -> None:
        with httpx.stream("GET", f"{api_servers[0].url}/v1/operations/{op_id}/events", headers=AUTH,
                          timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            kind = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "status":
                    events.append(json.loads(line[6:]))
                    opened.set()

    reader = threading.Thread(target=follow)
    reader.start()
    assert opened.wait(10)
    op = claim(client, op_id)
    time.sleep(0.2)
    Claims(client.db).set_progress(op, {"pages_done": 1, "pages_total": 2})
    time.sleep(0.2)
    Claims(client.db).finish(op, {"rows": 10, "pages": 2, "removed": 0})
    reader.join(10)
    assert not reader.is_alive(), "the stream did not end after the terminal status"
    assert [e["status"] for e in events] == ["queued", "running", "running", "done"]
    assert events[2]["progress"] == {"pages_done": 1, "pages_total": 2}


class _Hooks(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, str]]] = []
    answers: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, self.headers["Archibot-Signature"]))
        code = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhooks_are_signed_retried_and_journaled(start_api_process: Any, api_settings: Settings,
                                                   client: Client, agent: str) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hooks.received, _Hooks.answers = [], [500]
    try:
        api_proc = start_api_process(dataclasses.replace(
            api_settings, webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            webhook_secret="hook-secret", log_format="json"))
        op_id = client.send("submit-order", agent, ORDER)
        Claims(client.db).finish(claim(client, op_id), {"order_id": "77"})
        deadline = time.monotonic() + 20
        while len(_Hooks.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
    assert len(_Hooks.received) == 2, "a failed delivery is retried"
    body, signature = _Hooks.received[-1]
    assert signature == hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    sent = json.loads(body)
    assert sent["event"] == "operation.done" and sent["operation"]["id"] == op_id
    assert sent["operation"]["result"] == {"order_id": "77"}
    # The deliverer journals the answer after the receiver got the body: wait for that write.
    deadline = time.monotonic() + 10
    while True:
        with client.db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM webhook_deliveries WHERE op_id = %s", (op_id,)
            ).fetchone()
        if (row and row["delivered_at"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row is not None and row["attempts"] == 2 and row["last_status"] == 200
    assert row["delivered_at"] is not None
    metrics = httpx.get(api_proc.url + "/metrics", headers=AUTH, timeout=10).text
    assert "archibot_webhook_deliveries_pending 0.0" in metrics
    # the API process logs JSON, one object a line, uvicorn's own lines included
    api_proc.stop()
    records = [json.loads(line) for line in Path(api_proc.log_path).read_text().splitlines() if line.strip()]
    assert any(r["logger"] == "archibot.api.webhooks" and op_id in r["msg"] for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records)


def test_the_client_imports_no_chromium_automation() -> None:
    # (tests/test_deploy.py checks the same of the installed wheel, and what the wheel holds.)
    code = "import sys, archibot.client, archibot.operations, archibot.payloads; "
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyppeteer', 'pool', 'erp', "
    code += "'actors', 'periodiq', 'fastapi', 'aiohttp', 'erpsim', 'archibot_devtools')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
