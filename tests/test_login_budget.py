"""The login budget and the keep-alive, end to end: real workers, the simulator over HTTP.

The ERP's operator blocks a client that logs in too often (FACTS §1): Archibot keeps its
sessions alive instead of logging in again, counts every login per agent, and an operation
that would need a login past the budget waits — visibly, unfailed — until it may.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from actors.lock import AgentLock
from archibot import cli
from archibot.client import Client
from archibot.settings import Settings
from archibot_devtools.local import SimProcess
from erp.session import login
from store.claims import Claims
from store.logins import (
    AUTO_PER_ADDRESS,
    LOGIN_POSTED,
    LOGIN_UNREACHED,
    LoginBudget,
    LoginGrant,
    LoginWait,
)
from store.recovery import Recovery
from tests.fix_api import AUTH
from tests.fix_stack import wait_all
from tests.test_api import claim, test_env  # noqa: F401 (a fixture)
from tests.test_submit_order import order_for

#: The login window of these tests: short, so the budget comes back within the test.
WINDOW_S = 20


def _wait_until(client: Client, op_id: str, check: Any, timeout_s: float = 90) -> dict[str, Any]:
    """Poll the operation's status until ``check(status)`` holds (fails after timeout_s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.status(op_id)
        if check(status):
            return status
        assert status["status"] not in ("done", "failed"), status
        assert time.monotonic() < deadline, f"never reached the awaited state: {status}"
        time.sleep(0.2)


def test_an_operation_past_the_login_budget_waits_visibly_then_completes(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given a budget of one login per agent per window, spent by a first order
    agent = agents[0]
    start_worker_processes(processes=1, threads=2, login_budget_per_day=1,
                           login_budget_window_s=WINDOW_S, keepalive_s=0)
    (first,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))])
    assert first["status"] == "done", first["error"]
    assert sim.counters()["logins"] == {agent: 1}
    # When the ERP drops the session and the agent's next order needs a new login
    sim.expire(agent)
    op_id = client.send("submit-order", agent, order_for(sim, agent, 1, lines=1))
    # Then the order waits, queued, saying for what and until when — no login is tried
    waiting = _wait_until(client, op_id, lambda s: s["waiting"] is not None)
    assert waiting["status"] == "queued"
    assert waiting["waiting"]["for"] == "login_budget"
    assert "waiting for the login budget until " in waiting["waiting"]["message"]
    assert "ARCHIBOT_LOGIN_BUDGET_PER_DAY" in waiting["waiting"]["message"]
    assert sim.counters()["logins"] == {agent: 1}
    assert client.logins()["agents"][agent]["in_window"] == 1
    # and once the window lets a login through, it logs in once and completes
    (done,) = wait_all(client, [op_id], timeout_s=WINDOW_S + 60)
    assert done["status"] == "done", done["error"]
    assert done["waiting"] is None and "waiting" not in (done["progress"] or {})
    assert done["attempts"] == 1
    assert sim.counters()["logins"] == {agent: 2}
    assert len([o for o in sim.orders(agent) if o["notes"].startswith("test order")]) == 2


def test_a_login_refused_with_403_waits_for_the_block_to_pass_instead_of_retrying(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an ERP that blocks this address after one login per 20 s, spent by a first agent
    # (the window outlasts the first agent's order even on a loaded machine: with 8 s, a slow
    # first order let the second login through unblocked)
    sim.set_faults(login_limit=1, login_window_s=20)
    start_worker_processes(processes=2, threads=2, keepalive_s=0)
    first, second = agents[:2]
    (done,) = wait_all(client, [client.send("submit-order", first, order_for(sim, first, 0, lines=1))])
    assert done["status"] == "done", done["error"]
    # When another agent needs a login while the address is blocked
    op_id = client.send("submit-order", second, order_for(sim, second, 0, lines=1))
    # Then its order waits for the block to pass — visibly, unfailed — instead of retrying
    waiting = _wait_until(client, op_id, lambda s: s["waiting"] is not None)
    assert waiting["status"] == "queued" and "403" in waiting["waiting"]["message"]
    (ended,) = wait_all(client, [op_id], timeout_s=90)
    assert ended["status"] == "done", ended["error"]
    counters = sim.counters()
    assert counters["logins"] == {first: 1, second: 1}
    # one refused attempt: the next one came when the ERP said the block would be over
    assert sum(counters["logins_refused"].values()) == 1, counters["logins_refused"]


def test_the_keepalive_keeps_a_session_past_the_idle_expiry_with_no_new_login(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an ERP that drops a session after 3 idle seconds, and a keep-alive every second
    sim.set_faults(session_expiry_s=3)
    agent = agents[0]
    start_worker_processes(processes=1, threads=2, keepalive_s=1)
    (first,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))])
    assert first["status"] == "done", first["error"]
    # When the agent has no work for several expiry periods
    time.sleep(10)
    # Then the next order runs on the same session: no new login, nothing expired, no overlap
    (second,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 1, lines=1))])
    assert second["status"] == "done", second["error"]
    counters = sim.counters()
    assert counters["logins"] == {agent: 1}
    assert counters["session_expiries"] == 0
    assert counters["overlaps"] == 0


def test_logins_are_counted_per_agent_per_day(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given two agents' orders, one of them after its session was dropped
    start_worker_processes(processes=2, threads=2, keepalive_s=0)
    a, b = agents[:2]
    assert [s["status"] for s in wait_all(client, [
        client.send("submit-order", a, order_for(sim, a, 0, lines=1)),
        client.send("submit-order", b, order_for(sim, b, 0, lines=1)),
    ])] == ["done", "done"]
    sim.expire(a)
    (again,) = wait_all(client, [client.send("submit-order", a, order_for(sim, a, 1, lines=1))])
    assert again["status"] == "done", again["error"]
    # Then the journal's count per agent per day matches the ERP's
    logins = client.logins()
    today = next(iter(logins["agents"][a]["per_day"]))
    assert {name: v["per_day"][today] for name, v in logins["agents"].items()} == {a: 2, b: 1}
    assert {name: v["in_window"] for name, v in logins["agents"].items()} == {a: 2, b: 1}
    assert logins["budget_per_day"] == 12 and logins["total_in_window"] == 3
    assert sim.counters()["logins"] == {a: 2, b: 1}


def test_the_budget_is_shared_by_every_worker_and_the_address_cap_counts_all_agents(
    client: Client, agents: list[str]
) -> None:
    # Given a budget of 2 logins per agent and 3 per address per hour
    budget = LoginBudget(per_agent=2, per_address=3, window_s=3600)
    reserve = client.agents.reserve_login
    # Then two logins of one agent go through, a third waits for the agent's budget
    assert isinstance(reserve(agents[0], "w1", budget), LoginGrant)
    assert isinstance(reserve(agents[0], "w2", budget), LoginGrant)
    wait = reserve(agents[0], "w1", budget)
    assert isinstance(wait, LoginWait) and wait.scope == "agent" and 3500 < wait.wait_s <= 3600
    # and another agent's first login is the address's third; its second waits for the address
    assert isinstance(reserve(agents[1], "w1", budget), LoginGrant)
    wait = reserve(agents[1], "w2", budget)
    assert isinstance(wait, LoginWait) and wait.scope == "address"
    assert client.logins()["agents"][agents[0]]["in_window"] == 2
    assert client.logins()["total_in_window"] == 3


def test_a_login_that_never_reached_the_erp_costs_nothing(client: Client, agents: list[str]) -> None:
    # Given a budget of one login per agent, taken by a login whose page never answered
    budget = LoginBudget(per_agent=1, per_address=0, window_s=3600)
    agent = agents[0]
    grant = client.agents.reserve_login(agent, "w1", budget)
    assert isinstance(grant, LoginGrant)
    # (while it is being tried it counts: a worker dying after its post must have spent one)
    assert isinstance(client.agents.reserve_login(agent, "w2", budget), LoginWait)
    client.agents.settle_login(grant.login_id, LOGIN_UNREACHED)
    # Then it is given back: the next login goes through, and only that one is counted
    posted = client.agents.reserve_login(agent, "w1", budget)
    assert isinstance(posted, LoginGrant)
    client.agents.settle_login(posted.login_id, LOGIN_POSTED)
    logins = client.logins()
    assert logins["agents"][agent]["in_window"] == 1 and logins["agents"][agent]["unreached"] == 1
    assert logins["budgets"][agent]["left"] == 11  # the client's default budget of 12


def test_the_address_has_a_budget_by_default_per_window_and_per_minute(
    client: Client, agents: list[str]
) -> None:
    # Given the default settings: the address's budget is on, scaled to the registered agents
    defaults = Settings().login_budget()
    assert defaults.per_address == AUTO_PER_ADDRESS and defaults.per_address_minute == 30
    assert defaults.address_budget(1) == 12 and defaults.address_budget(30) == 120
    assert client.logins()["address"]["budget"] == defaults.address_budget(len(agents))
    # When all agents together log in 3 times within a minute, against 3 a minute
    budget = LoginBudget(per_agent=5, per_address=AUTO_PER_ADDRESS, window_s=3600, per_address_minute=3)
    for agent in (agents[0], agents[1], agents[0]):
        assert isinstance(client.agents.reserve_login(agent, "w", budget), LoginGrant)
    # Then a fourth login of any agent waits about a minute, for the address's budget
    wait = client.agents.reserve_login(agents[2], "w", budget)
    assert isinstance(wait, LoginWait) and wait.scope == "address_minute" and 50 < wait.wait_s <= 60
    # and the auto window budget (4 a registered agent, at least one agent's) holds them all
    window = LoginBudget(per_agent=50, per_address=AUTO_PER_ADDRESS, window_s=3600)
    assert window.address_budget(1) == 50  # at least one agent's own budget
    spread = LoginBudget(per_agent=1, per_address=AUTO_PER_ADDRESS, window_s=3600)
    assert spread.address_budget(len(agents)) == 4 * len(agents)
    with client.db.connection() as conn:  # the address has made 4 × agents logins
        conn.execute("INSERT INTO logins (agent, worker) SELECT %s, 'w' FROM generate_series(1, %s)",
                     (agents[3], 4 * len(agents) - 3))
    wait = client.agents.reserve_login(agents[4], "w", spread)
    assert isinstance(wait, LoginWait) and wait.scope == "address"


def test_an_outage_costs_no_login_budget_tries_no_login_and_keeps_the_sessions(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given one agent logged in (a saved session) and one who has not logged in yet
    warm, cold = agents[:2]
    start_worker_processes(processes=2, threads=2, keepalive_s=0)
    (first,) = wait_all(client, [client.send("submit-order", warm, order_for(sim, warm, 0, lines=1))])
    assert first["status"] == "done", first["error"]
    # When the ERP answers 503 to everything for a while, and both agents have work
    sim.set_faults(outage_s=12)
    op_ids = [client.send("submit-order", warm, order_for(sim, warm, 1, lines=1)),
              client.send("submit-order", cold, order_for(sim, cold, 0, lines=1))]
    time.sleep(3)
    # Then the ERP's breaker opens at the first login page that does not answer, and the
    # cold agent's operation waits for it, queued, with no attempt used
    assert client.breakers()["erp"]["open"]
    waiting = client.status(op_ids[1])
    assert waiting["status"] == "queued" and "waiting for the ERP" in (waiting["error"] or "")
    # and once the ERP answers again both complete
    done = wait_all(client, op_ids, timeout_s=90)
    assert [d["status"] for d in done] == ["done", "done"], [d["error"] for d in done]
    # with the warm agent's session kept (no new login) and one login for the cold agent
    counters = sim.counters()
    assert counters["logins"] == {warm: 1, cold: 1}
    # and the journal counts exactly the login posts the ERP saw: the outage spent nothing
    logins = client.logins()
    assert counters["login_posts"] == {warm: 1, cold: 1}
    assert {n: v["in_window"] for n, v in logins["agents"].items() if v["in_window"]} == counters["login_posts"]
    assert done[1]["attempts"] == 1  # tried once the ERP was back, never retried into the outage
    assert logins["agents"].get(cold, {}).get("unreached", 0) <= 1


def test_the_address_budget_makes_every_agent_wait_until_an_operator_gives_it_back(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an address budget of one login a window, spent by a first agent
    first, second = agents[:2]
    start_worker_processes(processes=1, threads=2, login_budget_per_address=1, keepalive_s=0)
    (done,) = wait_all(client, [client.send("submit-order", first, order_for(sim, first, 0, lines=1))])
    assert done["status"] == "done", done["error"]
    # When another agent needs a login
    op_id = client.send("submit-order", second, order_for(sim, second, 0, lines=1))
    # Then its order waits, visibly, for the address's budget — nothing is tried
    waiting = _wait_until(client, op_id, lambda s: s["waiting"] is not None)
    assert "ARCHIBOT_LOGIN_BUDGET_PER_ADDRESS" in waiting["waiting"]["message"]
    assert "archibot logins --reset-address" in waiting["waiting"]["message"]
    assert sim.counters()["login_posts"] == {first: 1}
    # and when an operator gives the address its budget back, journaled, it runs at once
    assert client.reset_login_budget(None, "operator", "ERP checked by hand") == 1
    (ended,) = wait_all(client, [op_id], timeout_s=60)
    assert ended["status"] == "done", ended["error"]
    assert ended["waiting"] is None
    assert sim.counters()["logins"] == {first: 1, second: 1}
    (reset,) = client.logins()["resets"]
    assert reset["agent"] is None and reset["note"] == "ERP checked by hand"
    assert reset["operator"] == "operator"


@pytest.mark.usefixtures("test_env")
def test_a_spent_agent_budget_is_an_alarm_on_metrics_and_status_and_reset_gives_it_back(
    client: Client, agents: list[str], api: Any, capsys: Any
) -> None:
    # Given an agent that has made its whole budget of logins today, and an operation waiting
    agent, other = agents[:2]
    budget = client.settings.login_budget()
    for _ in range(budget.per_agent):
        assert isinstance(client.agents.reserve_login(agent, "w", budget), LoginGrant)
    op_id = client.send("sync-orders", agent, {})
    op = claim(client, op_id)
    waiting = {"for": "login_budget", "until": "2030-01-01T00:00:00+00:00",
               "message": "waiting for the login budget until 2030-01-01T00:00:00+00:00: test"}
    Claims(client.db).wait_outside(op, waiting["message"], 3_600_000, {"waiting": waiting})
    # Then /metrics says so, per agent
    metrics = api.get("/metrics", headers=AUTH).text
    assert f'archibot_login_budget_spent{{agent="{agent}"}} 1.0' in metrics
    assert f'archibot_login_budget_spent{{agent="{other}"}} 0.0' in metrics
    assert f'archibot_login_budget_left{{agent="{agent}"}} 0.0' in metrics
    assert 'archibot_login_budget_address_left{window="minute"}' in metrics
    # and so do the API, the status and the logins commands
    (state,) = [s for s in api.get("/v1/agents", headers=AUTH).json() if s["agent"] == agent]
    assert state["login_budget_left"] == 0 and state["login_budget_spent_until"]
    assert cli.main(["status"]) == 0
    assert f"login budget SPENT for {agent} ({budget.per_agent}/{budget.per_agent})" in capsys.readouterr().out
    # When an operator who knows the ERP is fine gives it back
    assert cli.main(["logins", "--reset", agent, "--note", "ERP is fine"]) == 0
    assert "1 waiting operations made ready" in capsys.readouterr().out
    # Then the alarm is off, the budget is whole again, the reset is journaled
    metrics = api.get("/metrics", headers=AUTH).text
    assert f'archibot_login_budget_spent{{agent="{agent}"}} 0.0' in metrics
    logins = client.logins()
    assert logins["budgets"][agent]["left"] == budget.per_agent and logins["spent"] == []
    assert logins["agents"][agent]["in_window"] == budget.per_agent  # the history stays
    assert [(r["agent"], r["note"]) for r in logins["resets"]] == [(agent, "ERP is fine")]
    # and the operation that waited is ready to run now, its waiting note gone
    row = client.journal.get(op_id)
    assert row is not None and row["status"] == "queued" and "waiting" not in (row["progress"] or {})
    assert client.status(op_id)["waiting"] is None
    # an unknown agent is refused, naming it
    assert cli.main(["logins", "--reset", "nobody"]) != 0


@pytest.mark.usefixtures("test_env")
def test_status_api_and_cli_show_logins_per_agent_and_what_waits_for_the_budget(
    client: Client, agents: list[str], api: Any, capsys: Any
) -> None:
    # Given an agent with two logins today and an operation waiting for the login budget
    agent = agents[0]
    budget = LoginBudget(per_agent=2, per_address=0, window_s=3600)
    for _ in range(2):
        assert isinstance(client.agents.reserve_login(agent, "w", budget), LoginGrant)
    op_id = client.send("sync-orders", agent, {})
    op = claim(client, op_id)
    waiting = {"for": "login_budget", "until": "2030-01-01T00:00:00+00:00",
               "message": "waiting for the login budget until 2030-01-01T00:00:00+00:00: test"}
    Claims(client.db).set_progress(op, {"waiting": waiting})
    Claims(client.db).hand_back(op, waiting["message"], 60_000)
    # Then the operation's status says what it waits for, and is not failed
    status = client.status(op_id)
    assert status["status"] == "queued" and status["waiting"] == waiting
    assert api.get(f"/v1/operations/{op_id}", headers=AUTH).json()["waiting"] == waiting
    # and /v1/agents counts the agent's logins against the budget and names the waiting op
    (state,) = [s for s in api.get("/v1/agents", headers=AUTH).json() if s["agent"] == agent]
    assert state["logins_today"] == 2 and state["logins_in_window"] == 2
    assert state["login_budget"] == 12
    assert state["waiting_for_login"]["op_id"] == op_id
    # and the CLI prints both
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"{agent} 2" in out and "waiting for the login budget until 2030" in out
    assert cli.main(["logins", "--json"]) == 0
    logins = json.loads(capsys.readouterr().out)
    assert logins["agents"][agent]["in_window"] == 2


def test_the_keepalive_sends_nothing_while_another_holder_has_the_agents_lease(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes,
    stack_settings: Settings,
) -> None:
    # Given a warm session kept alive every second, on an ERP that expires it after 3 idle s
    sim.set_faults(session_expiry_s=3)
    agent = agents[0]
    start_worker_processes(processes=1, threads=2, keepalive_s=1)
    (first,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))])
    assert first["status"] == "done", first["error"]
    idle_from = sim.counters()["requests"]
    time.sleep(3)
    assert sim.counters()["requests"] > idle_from  # the keep-alive is at work while idle

    # When another holder (an operation in another process, say) has the agent's lease
    async def hold_lease(hold_s: float) -> None:
        conn = aioredis.Redis.from_url(stack_settings.redis_url)
        lock = AgentLock(conn, ttl_ms=int(hold_s * 1000) + 30_000)
        deadline = time.monotonic() + 30
        # (the keep-alive holds the lease while it touches the session: take it once it is free)
        while (lease := await lock.acquire(agent, "another-holder")) is None:
            assert time.monotonic() < deadline, "the agent's lease never came free"
            await asyncio.sleep(0.05)
        before = sim.counters()["requests"]
        await asyncio.sleep(hold_s)
        assert sim.counters()["requests"] == before  # Then not one request of the keep-alive
        await lock.release(lease)
        await conn.aclose()

    asyncio.run(hold_lease(6))
    # and its session expired meanwhile: the next order logs in again (within the budget)
    (second,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 1, lines=1))])
    assert second["status"] == "done", second["error"]
    assert sim.counters()["logins"] == {agent: 2}
    assert sim.counters()["overlaps"] == 0


def test_the_keepalive_keeps_a_session_whose_browser_context_was_evicted(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given one browser context per worker, and an ERP that expires sessions after 3 idle s
    sim.set_faults(session_expiry_s=3)
    first, second = agents[:2]
    start_worker_processes(processes=1, threads=2, keepalive_s=1, contexts_per_browser=1)
    # When the first agent's context is evicted by the second agent's order
    for agent in (first, second):
        (done,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))])
        assert done["status"] == "done", done["error"]
    time.sleep(10)
    # Then the first agent's next order, in a new context, runs on the session kept alive
    (again,) = wait_all(client, [client.send("submit-order", first, order_for(sim, first, 1, lines=1))])
    assert again["status"] == "done", again["error"]
    counters = sim.counters()
    assert counters["logins"] == {first: 1, second: 1}
    assert counters["session_expiries"] == 0 and counters["overlaps"] == 0


def test_an_expired_session_adopts_the_one_another_process_logged_in_instead_of_logging_in(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes, aio: Any, page: Any
) -> None:
    # Given a worker whose context holds the agent's session
    agent = agents[0]
    start_worker_processes(processes=1, threads=2, keepalive_s=0)
    (done,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))])
    assert done["status"] == "done", done["error"]
    # When the ERP drops it and another process logs the agent in and shares the new session
    sim.expire(agent)
    password = next(a["password"] for a in sim.state(include="agents")["agents"] if a["username"] == agent)
    aio.run(login(page, sim.url, agent, password))
    client.agents.save_cookies(agent, aio.run(export_context_cookies(page)))
    # Then the worker's next order adopts that session: no login of its own
    (again,) = wait_all(client, [client.send("submit-order", agent, order_for(sim, agent, 1, lines=1))])
    assert again["status"] == "done", again["error"]
    assert sim.counters()["logins"] == {agent: 2}


async def export_context_cookies(page: Any) -> list[dict[str, Any]]:
    """The page's cookies as the pool exports them (CDP cookie params)."""
    return [{k: c[k] for k in ("name", "value", "domain", "path", "secure", "httpOnly") if k in c}
            for c in await page.cookies()]


def test_a_wait_for_the_login_budget_neither_spends_the_retry_budget_nor_loses_progress(
    client: Client, agents: list[str], sim: SimProcess
) -> None:
    # Given an order that has been failing transiently for 10 minutes and recorded progress
    op_id = client.send("submit-order", agents[0], order_for(sim, agents[0], 0, lines=1))
    op = claim(client, op_id)
    Claims(client.db).set_progress(op, {"step": "line 1/1 added"})
    with client.db.connection() as conn:
        conn.execute("UPDATE operations SET transient_since = clock_timestamp() - interval '10 min'"
                     " WHERE id = %s", (op_id,))
    # When the login budget makes it wait two hours
    waiting = {"waiting": {"for": "login_budget", "until": "later", "message": "spent"}}
    Claims(client.db).wait_outside(op, "login budget spent", 2 * 3600 * 1000, waiting)
    # Then the wait is not time spent failing: re-claimed when it ends, 10 minutes will have
    # been spent — not 2 h 10 min, past the retry budget
    spent_s = Claims(client.db).transient_for_s(op)
    assert -2 * 3600 + 590 < spent_s < -2 * 3600 + 610
    # and the ERP's return does not wake it early, and what the attempt recorded stays
    assert Recovery(client.db).wake_transient(0) == 0
    row = client.journal.get(op_id)
    assert row is not None and row["status"] == "queued" and row["attempts"] == 0
    assert row["progress"] == {"step": "line 1/1 added", **waiting}

