"""The API on the whole stack: real workers, the simulator, Chromium; a Node client; the dashboard."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from archibot.client import Client
from archibot_devtools.local import Workers
from tests.fix_api import AUTH, TEST_TOKEN, ApiProcess
from tests.fix_erpsim import REPO_ROOT, LoopRunner
from tests.fix_stack import SimProcess, erp_orders, marker
from tests.test_submit_order import order_for


def wait_ready(server: ApiProcess, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(server.url + "/readyz", timeout=5)
        if r.status_code == 200 or time.monotonic() > deadline:
            return dict(r.json())
        time.sleep(0.2)


def test_one_key_sent_twenty_times_across_two_processes_makes_one_erp_order(
    api_servers: list[ApiProcess], client: Client, sim: SimProcess, agents: list[str],
    start_worker_processes: Callable[..., Workers],
) -> None:
    # Given workers on the simulator, and two API processes
    start_worker_processes(processes=1, threads=2)
    ready = wait_ready(api_servers[0])
    assert ready["status"] == "ready" and ready["checks"]["workers"] == 1
    body = {"type": "submit-order", "agent": agents[0], "payload": order_for(sim, agents[0])}
    headers = {**AUTH, "Idempotency-Key": "stack-race-1"}

    # When the main app sends the same order 20 times at once, to both
    def post(i: int) -> httpx.Response:
        return httpx.post(api_servers[i % 2].url + "/v1/operations", json=body, headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    assert all(a.status_code in (200, 202) for a in answers), [(a.status_code, a.text) for a in answers]
    op_ids = {a.json()["id"] for a in answers}
    assert len(op_ids) == 1 and sum(a.status_code == 202 for a in answers) == 1
    (op_id,) = op_ids
    final = client.wait(op_id, 120)

    # Then one operation, one ERP order carrying its marker
    assert final["status"] == "done", final
    orders = [o for o in erp_orders(sim) if marker(op_id) in json.dumps(o)]
    assert len(orders) == 1 and str(orders[0]["id"]) == str(final["result"]["order_id"])
    metrics = httpx.get(api_servers[1].url + "/metrics", headers=AUTH, timeout=10).text
    assert 'archibot_operations{status="done",type="submit-order"} 1.0' in metrics
    assert "archibot_workers 1.0" in metrics
    assert f'archibot_logins_total{{agent="{agents[0]}"}} 1.0' in metrics
    # the worker's heartbeat (refreshed every few seconds) reports its context and Chromium's RSS
    deadline = time.monotonic() + 15
    while True:
        metrics = httpx.get(api_servers[1].url + "/metrics", headers=AUTH, timeout=10).text
        contexts = _samples(metrics, "archibot_worker_browser_contexts")
        rss = _samples(metrics, "archibot_worker_chromium_rss_bytes")
        if (contexts and contexts[0] >= 1) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(contexts) == 1 and contexts[0] >= 1 and rss[0] > 10_000_000
    listed = httpx.get(api_servers[0].url + "/v1/agents", headers=AUTH, timeout=10).json()
    mine = next(a for a in listed if a["agent"] == agents[0])
    assert mine["logins_today"] == 1 and mine["queue_depth"] == 0 and mine["state"] == "free"


def _samples(metrics: str, name: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(name + "{")]


def test_a_node_client_sends_and_follows_an_operation(
    api_servers: list[ApiProcess], client: Client, sim: SimProcess, agents: list[str],
    start_worker_processes: Callable[..., Workers],
) -> None:
    node = shutil.which("node")
    assert node, "Node 20 is needed: apt-get install nodejs"
    start_worker_processes(processes=1, threads=2)
    env = {**os.environ, "ARCHIBOT_API_URL": api_servers[0].url, "ARCHIBOT_API_TOKEN": TEST_TOKEN}
    run = subprocess.run(
        [node, str(REPO_ROOT / "examples" / "node-client.mjs"), "submit-order", agents[1],
         json.dumps(order_for(sim, agents[1], 1))],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[0]["event"] == "sent"
    statuses = [line["status"] for line in lines[1:]]
    # (the first event is the state when the stream opened: a quick worker may have claimed it)
    assert statuses[0] in ("queued", "running") and statuses[-1] == "done" and "running" in statuses
    assert client.status(lines[0]["id"])["result"] == lines[-1]["result"]


def test_the_dashboard_sends_an_operation_and_shows_it_done(
    api_servers: list[ApiProcess], client: Client, sim: SimProcess, agents: list[str],
    start_worker_processes: Callable[..., Workers], aio: LoopRunner, page: Any, tmp_path: Path,
) -> None:
    # The README's screenshot is refreshed with ARCHIBOT_UPDATE_SCREENSHOTS=1 (else it goes to tmp).
    shot = REPO_ROOT / "docs" / "dashboard.png" if os.environ.get("ARCHIBOT_UPDATE_SCREENSHOTS") else tmp_path / "dashboard.png"
    start_worker_processes(processes=1, threads=2)
    server = api_servers[0]
    payload = json.dumps(order_for(sim, agents[2], 2))

    async def flow() -> str:
        await page.setViewport({"width": 1280, "height": 900})
        await page.goto(server.url + "/")
        await page.type("#token", TEST_TOKEN)
        await asyncio_all(page.waitForNavigation(), page.click("#login"))
        await page.waitForSelector("#send-form")
        await page.waitForFunction("document.getElementById('live').textContent === 'live'")
        await page.select("#send-type", "submit-order")
        await page.select("#send-agent", agents[2])
        await page.evaluate("(p) => { document.getElementById('send-payload').value = p; }", payload)
        await page.click("#send")
        await page.waitForFunction("document.getElementById('send-result').dataset.opId")
        op_id: str = await page.evaluate("document.getElementById('send-result').dataset.opId")
        # Nothing reloads the page: the event stream makes it refresh itself.
        await page.waitForSelector(f'#recent tr[data-op="{op_id}"][data-status="done"]', {"timeout": 90_000})
        await page.screenshot({"path": str(shot)})
        return op_id

    op_id = aio.run(flow())
    assert client.status(op_id)["status"] == "done"
    assert shot.stat().st_size > 10_000


async def asyncio_all(*aws: Any) -> list[Any]:
    import asyncio

    return list(await asyncio.gather(*aws))


def test_worker_logs_are_json_with_the_operation_on_every_line(
    client: Client, sim: SimProcess, agents: list[str], start_worker_processes: Callable[..., Workers],
    tmp_path: Path,
) -> None:
    start_worker_processes(processes=1, threads=2, log_format="json", log_level="DEBUG")
    op_id = client.send("submit-order", agents[3], order_for(sim, agents[3], 3))
    assert client.wait(op_id, 120)["status"] == "done"
    time.sleep(0.5)
    lines = (tmp_path / "workers.log").read_text().splitlines()
    records = []
    for line in lines:
        if line.startswith("{"):
            records.append(json.loads(line))
    ours = [r for r in records if r.get("op_id") == op_id]
    assert any("op_start" in r["msg"] for r in ours) and any("op_done" in r["msg"] for r in ours)
    for record in ours:
        assert {"agent", "type", "attempt", "fence"} <= set(record), record
        assert record["agent"] == agents[3] and record["type"] == "submit-order"
    assert any(r["logger"].startswith("dramatiq") for r in records)
    assert any(r["level"] == "debug" for r in records)
    password = next(a["password"] for a in sim.state(include="agents")["agents"] if a["username"] == agents[3])
    assert password not in "\n".join(lines)


def test_cancelling_a_running_sync_stops_it_at_the_next_page(
    api_servers: list[ApiProcess], client: Client, sim: SimProcess, agents: list[str],
    start_worker_processes: Callable[..., Workers],
) -> None:
    # Given a products sync that has stored its first page
    start_worker_processes(processes=1, threads=2)
    op_id = client.send("sync-products", agents[4], {})
    deadline = time.monotonic() + 60
    while (client.status(op_id)["progress"] or {}).get("pages_done", 0) < 1:
        assert time.monotonic() < deadline, client.status(op_id)
        time.sleep(0.05)
    # When it is cancelled through the API
    r = httpx.post(f"{api_servers[0].url}/v1/operations/{op_id}/cancel", headers=AUTH, timeout=10)
    assert r.status_code == 200 and r.json()["outcome"] in ("cancelling", "cancelled"), r.text
    final = client.wait(op_id, 60)
    # Then it ends cancelled before its last page, and nothing runs it again
    assert final["status"] == "cancelled", final
    assert final["progress"]["pages_done"] < final["progress"]["pages_total"]
    time.sleep(1)
    assert client.status(op_id)["attempts"] == 1
