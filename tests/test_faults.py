"""The fault suite: outages, crashes, shutdowns, dependencies and secrets, with real processes.

Each scenario runs real worker groups (``dramatiq actors``), Redis, PostgreSQL, Chromium and
the simulator over HTTP, and asserts what a user cares about: the simulator holds each
write's effect exactly once, every operation in the journal is terminal, and a ``failed``
one says the ERP does not hold it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import psycopg
import redis

from archibot.client import Client
from archibot.settings import DEFAULT_SECRET_KEY, Settings
from archibot_devtools.local import WORKER_ENV, SimProcess, Workers
from tests.fix_stack import erp_orders, marker, wait_all
from tests.test_operations import unsent_order
from tests.test_submit_order import order_for

#: Quick retries and a quick breaker, so each scenario takes seconds, not minutes.
FAST = {"retry_max_ms": 2_000, "erp_breaker_errors": 3, "sweep_interval_s": 3}


def _burst(client: Client, sim: SimProcess, agents: list[str], n: int = 0) -> list[tuple[str, str]]:
    """Per agent: a submit-order, then a send-to-Verona of that order (by op id)."""
    sent = []
    for agent in agents:
        submit = client.send("submit-order", agent, order_for(sim, agent, n, lines=1))
        verona = client.send("send-to-verona", agent, {"order": submit})
        sent += [("submit-order", submit), ("send-to-verona", verona)]
    return sent


def _assert_done_once(client: Client, sim: SimProcess, sent: list[tuple[str, str]], timeout_s: float) -> None:
    statuses = wait_all(client, [op_id for _, op_id in sent], timeout_s=timeout_s)
    assert [s["status"] for s in statuses] == ["done"] * len(sent), [
        (s["op_type"], s["status"], s["error"]) for s in statuses if s["status"] != "done"
    ]
    orders = erp_orders(sim)
    for (op_type, op_id), status in zip(sent, statuses, strict=True):
        if op_type == "submit-order":
            mine = [o for o in orders if o["reference"] == marker(op_id)]
            assert len(mine) == 1, f"{op_id}: {len(mine)} orders in the ERP"
        else:
            (order,) = [o for o in orders if o["id"] == status["result"]["order_id"]]
            assert order["sales_id"] and order["transfer_status"] != "Modifica"


def _assert_journal_terminal(client: Client) -> None:
    rows = client.reports.recent(1000)
    assert all(r["status"] in ("done", "failed") for r in rows), [
        (r["op_type"], r["status"]) for r in rows if r["status"] not in ("done", "failed")
    ]
    for r in rows:
        if r["status"] == "failed" and r["is_write"]:
            assert "may or may not" not in (r["error"] or ""), r["error"]


def _wait_running(client: Client, op_ids: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(client.status(o)["status"] == "running" for o in op_ids):
        assert time.monotonic() < deadline, "no operation started"
        time.sleep(0.05)


def _log(workers: Workers) -> str:
    return "".join(workers.log_lines)


def test_an_outage_opens_the_breaker_and_the_burst_completes_when_the_erp_returns(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given workers, and an ERP that goes down for 12 s just as a burst is sent
    workers = start_worker_processes(processes=2, threads=5, **FAST)
    sim.set_faults(outage_s=12)
    sent = _burst(client, sim, agents[:4])
    # Then the breaker opens (workers stop claiming), closes when the ERP answers,
    # and every write lands once: nothing failed for the outage
    _assert_done_once(client, sim, sent, timeout_s=150)
    _assert_journal_terminal(client)
    log = _log(workers)
    assert "erp_breaker_open" in log and "erp_breaker_closed" in log
    assert sim.counters()["outage_rejections"] > 0


def test_a_worker_group_killed_mid_burst_recovers_without_the_scheduler(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given a burst running on one worker group and no scheduler anywhere
    sim.set_faults(latency_ms=100)
    first = start_worker_processes(processes=1, threads=5)
    sent = _burst(client, sim, agents[:4])
    _wait_running(client, [o for _, o in sent])
    time.sleep(1.0)
    # When the whole group is SIGKILLed and another group starts
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    killed_at = time.monotonic()
    second = start_worker_processes(processes=1, threads=5, sweep_interval_s=3)
    # Then every operation ends, each write once — recovered by the workers' own sweep
    _assert_done_once(client, sim, sent, timeout_s=120)
    _assert_journal_terminal(client)
    assert time.monotonic() - killed_at < 90
    assert "sweep_resent" in _log(second) or "op_orphaned" in _log(second)


def test_a_group_sigterm_stops_in_time_and_drops_or_fails_nothing(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given a burst running on two worker processes
    sim.set_faults(latency_ms=100)
    first = start_worker_processes(processes=2, threads=5)
    sent = _burst(client, sim, agents[:6])
    _wait_running(client, [o for _, o in sent])
    time.sleep(1.0)
    # When the whole process group gets SIGTERM (supervisord stopasgroup, systemd), twice
    started = time.monotonic()
    os.killpg(first.proc.pid, signal.SIGTERM)
    time.sleep(0.5)
    os.killpg(first.proc.pid, signal.SIGTERM)
    first.proc.wait(60)
    # Then it exits within supervisord's stopwaitsecs, having failed and dropped nothing
    assert time.monotonic() - started < 60
    log = _log(first)
    assert "cannot schedule new futures" not in log and "message_dropped" not in log
    assert not [r for r in client.reports.recent(100) if r["status"] == "failed"]
    # and another group finishes the burst, each write once
    start_worker_processes(processes=1, threads=5, sweep_interval_s=3)
    _assert_done_once(client, sim, sent, timeout_s=120)


def test_lost_responses_end_done_once(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an ERP that commits every save but loses the response
    sim.set_faults(lost_response_rate=1.0)
    start_worker_processes(processes=1, threads=5, **FAST)
    op_ids = [client.send("submit-order", a, order_for(sim, a, 0, lines=1)) for a in agents[:3]]
    # Then each retry finds the save's effect (after it settled) instead of saving again
    statuses = wait_all(client, op_ids, timeout_s=120)
    assert [s["status"] for s in statuses] == ["done"] * 3, [s["error"] for s in statuses]
    assert all(s["attempts"] >= 2 for s in statuses)
    for op_id in op_ids:
        assert sum(o["reference"] == marker(op_id) for o in erp_orders(sim)) == 1


def test_a_spent_retry_budget_fails_saying_the_erp_does_not_hold_it(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an ERP whose pages all fail, and a retry budget of a few seconds
    sim.set_faults(error_rate=1.0)
    start_worker_processes(processes=1, threads=5, retry_budget_s=6, **FAST)
    agent = agents[0]
    op_id = client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))
    # Then it fails only once the budget is spent, and says the ERP does not hold it
    (status,) = wait_all(client, [op_id], timeout_s=90)
    assert status["status"] == "failed"
    assert "the ERP does not hold it" in status["error"] and "ARCHIBOT_RETRY_BUDGET_S" in status["error"]
    assert status["attempts"] >= 2
    assert not [o for o in erp_orders(sim) if o["reference"] == marker(op_id)]


def test_a_write_after_a_failed_write_on_its_order_fails_at_once_naming_it(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an edit of an ERP order that the ERP will refuse, and a send-to-Verona after it
    start_worker_processes(processes=1, threads=5)
    agent = agents[0]
    order = unsent_order(sim, agent)
    edit = client.send("edit-order", agent, {"order": order["id"],
                                             "lines": [{"article": "NO.SUCH.ARTICLE", "quantity": 1}]})
    verona = client.send("send-to-verona", agent, {"order": order["id"]})
    # Then the edit fails, and the send fails at once naming it; the order was not sent
    edit_status, verona_status = wait_all(client, [edit, verona], timeout_s=90)
    assert edit_status["status"] == "failed", edit_status
    assert verona_status["status"] == "failed" and edit in verona_status["error"]
    (now,) = [o for o in erp_orders(sim) if o["id"] == order["id"]]
    assert now["transfer_status"] == "Modifica" and not now["sales_id"]


def test_a_rejected_login_opens_the_agents_breaker_until_the_password_changes(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an agent stored with a wrong password and three orders for them
    agent = agents[1]
    right = next(a["password"] for a in sim.state(include="agents")["agents"] if a["username"] == agent)
    client.agents.add(agent, "wrong-password")
    start_worker_processes(processes=1, threads=5)
    op_ids = [client.send("submit-order", agent, order_for(sim, agent, n, lines=1)) for n in range(3)]
    # Then one login was tried: the first fails on it, the others without trying
    statuses = wait_all(client, op_ids, timeout_s=90)
    assert [s["status"] for s in statuses] == ["failed"] * 3
    assert "refused the login" in statuses[0]["error"]
    assert all("no login tried" in s["error"] for s in statuses[1:])
    assert [b["agent"] for b in client.breakers()["logins"]] == [agent]
    # and once the password is stored again, the agent works
    client.agents.add(agent, right)
    assert client.breakers()["logins"] == []
    (done,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 4, lines=1))])
    assert done["status"] == "done", done["error"]


def test_an_operation_that_kills_its_worker_fails_as_poison_saying_the_erp_does_not_hold_it(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes, tmp_path: Path
) -> None:
    # Given a submit-order whose save kills its worker, and one death allowed
    flag = tmp_path / "crashed"
    first = start_worker_processes(processes=1, threads=2, max_worker_deaths=1,
                                   test_crash_at=f"submit-order:before_click:{flag}")
    agent = agents[0]
    op_id = client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))
    first.proc.wait(60)
    assert flag.exists()
    # When another worker finds it orphaned
    start_worker_processes(processes=1, threads=2, max_worker_deaths=1, sweep_interval_s=3)
    # Then it fails as poison, after looking in the ERP: the save never happened
    (status,) = wait_all(client, [op_id], timeout_s=90)
    assert status["status"] == "failed"
    assert "poison" in status["error"] and "the ERP does not hold it" in status["error"]
    assert not [o for o in erp_orders(sim) if o["reference"] == marker(op_id)]


def test_redis_flushed_and_postgresql_connections_killed_mid_burst(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes,
    redis_client: redis.Redis, settings: Settings,
) -> None:
    # Given a burst running on two worker processes
    sim.set_faults(latency_ms=100)
    start_worker_processes(processes=2, threads=5, sweep_interval_s=3)
    sent = _burst(client, sim, agents[:6])
    _wait_running(client, [o for _, o in sent])
    time.sleep(1.5)
    # When Redis loses everything (locks, queues) and PostgreSQL drops every connection
    redis_client.flushdb()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = current_database() AND pid <> pg_backend_pid()")
    # Then the burst completes and nothing is doubled
    _assert_done_once(client, sim, sent, timeout_s=180)
    _assert_journal_terminal(client)


def _run_worker_until_exit(env: dict[str, str], timeout_s: float = 90) -> tuple[int, str]:
    proc = subprocess.run(
        # Dramatiq's parent waits --worker-fork-timeout (30 s) for a worker that exits during
        # its boot before it notices the exit: 1 s is enough here (no --forks to start).
        [sys.executable, "-m", "dramatiq", "actors", "--processes", "1", "--threads", "1",
         "--worker-fork-timeout", "1000"],
        env={**os.environ, **WORKER_ENV, **env}, capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    return proc.returncode, proc.stderr


def test_a_boot_without_postgresql_retries_then_exits_non_zero(stack_settings: Settings) -> None:
    env = {**stack_settings.to_env(), "ARCHIBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none",
           "ARCHIBOT_BOOT_TIMEOUT_S": "12"}
    code, log = _run_worker_until_exit(env)
    assert code != 0
    assert log.count("boot_retry") >= 2 and "worker_boot_failed" in log


def test_a_worker_refuses_the_development_key_against_a_real_erp(stack_settings: Settings) -> None:
    env = {**stack_settings.to_env(), "ARCHIBOT_SECRET_KEY": DEFAULT_SECRET_KEY,
           "ARCHIBOT_ERP_URL": "https://archibald.example.com/Archibald/"}
    code, log = _run_worker_until_exit(env)
    assert code != 0 and "refusing to start with the development secret key" in log
    assert "archibald.example.com" in log and "ARCHIBOT_DEV=1" in log


def test_keys_rotate_and_unreadable_sessions_are_dropped(client: Client, settings: Settings) -> None:
    # Given credentials and a session stored under an old key
    old = dataclasses.replace(settings, secret_key="old-key", secret_keys="")
    both = dataclasses.replace(settings, secret_keys="new-key,old-key")
    new = dataclasses.replace(settings, secret_keys="new-key")
    with closing(Client(old)) as c:
        c.agents.add("agent01", "pw-1")
        c.agents.save_cookies("agent01", [{"name": "ASP.NET_SessionId", "value": "x"}])
    # When the keys rotate (new first) and ``rotate-key`` re-encrypts
    with closing(Client(both)) as c:
        assert c.agents.rotate_keys() == (1, 1)
    # Then the new key alone reads them
    with closing(Client(new)) as c:
        assert c.agents.credentials("agent01").password == "pw-1"
        assert c.agents.load_cookies("agent01") == [{"name": "ASP.NET_SessionId", "value": "x"}]
    # and a session nobody can read any more is dropped, not fatal
    with closing(Client(dataclasses.replace(settings, secret_keys="other-key"))) as c:
        assert c.agents.load_cookies("agent01") is None
    with closing(Client(new)) as c:
        assert c.agents.load_cookies("agent01") is None


def test_a_worker_paused_past_its_lease_does_nothing_more_under_it(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given a slow write running in one worker group
    sim.set_faults(latency_ms=300)
    first = start_worker_processes(processes=1, threads=2)
    agent = agents[2]
    op_id = client.send("submit-order", agent, order_for(sim, agent, 0, lines=3))
    _wait_running(client, [op_id])
    time.sleep(1.0)
    (paused,) = first.worker_pids()
    # When its worker is paused (SIGSTOP) past its lease and another group takes over
    os.kill(paused, signal.SIGSTOP)
    sim.set_faults(latency_ms=0)  # the write was slow enough to be paused in; the rest need not be
    try:
        second = start_worker_processes(processes=1, threads=2, sweep_interval_s=3)
        (status,) = wait_all(client, [op_id], timeout_s=120)
        # Then the other group finishes it
        assert status["status"] == "done", status["error"]
        assert client.journal.get(op_id)["worker"].endswith(f":{second.worker_pids()[0]}")
    finally:
        os.kill(paused, signal.SIGCONT)
    # and the paused worker, resumed, records and saves nothing more under its lost lease
    time.sleep(5)
    assert sum(o["reference"] == marker(op_id) for o in erp_orders(sim)) == 1
    assert client.status(op_id)["status"] == "done"
    log = _log(first)
    assert "op_done op_id=" + op_id not in log
