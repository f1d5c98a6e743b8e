"""The busy-agent requeue middleware: an operation waiting behind its agent's live work."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import dramatiq

from actors.errors import AgentBusy
from actors.requeue import RequeueBusy
from actors.services import WorkerProcess
from archibot.client import Client
from archibot_devtools.local import SimProcess
from store.claims import Claims
from tests.test_api import claim, test_env  # noqa: F401 (a fixture)
from tests.test_submit_order import order_for


def test_an_operation_behind_long_work_of_its_agent_keeps_waiting_past_the_requeue_age(
    client: Client, agents: list[str], sim: SimProcess
) -> None:
    class Broker:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def get_actor(self, name: str) -> Any:
            return type("Actor", (), {"options": {}})()

        def enqueue(self, message: Any, delay: int | None = None) -> None:
            self.sent.append(message)

    def old_wakeup(op_id: str) -> dramatiq.Message[Any]:
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name="q", actor_name="submit_order", args=(op_id,), kwargs={}, options={})
        return message._replace(message_timestamp=int((time.time() - 120) * 1000))

    busy_agent, stuck_agent = agents[0], agents[1]
    # The middleware reads the journal through its worker process's services (claims only here).
    process = WorkerProcess(client.settings, services=SimpleNamespace(claims=Claims(client.db)))  # type: ignore[arg-type]
    middleware, broker = RequeueBusy(process, max_requeue_age_s=60), Broker()
    # Given an agent whose lease holder is working through long operations (one started now)
    claim(client, client.send("submit-order", busy_agent, order_for(sim, busy_agent, 0, lines=1)))
    waiting = client.send("submit-order", busy_agent, order_for(sim, busy_agent, 1, lines=1))
    # and an agent that started nothing for longer than the requeue age
    stuck = client.send("submit-order", stuck_agent, order_for(sim, stuck_agent, 2, lines=1))
    # When both operations' wake-ups are older than the requeue age
    middleware._requeue_busy(broker, old_wakeup(waiting), AgentBusy(busy_agent, "x"), waiting)
    middleware._requeue_busy(broker, old_wakeup(stuck), AgentBusy(stuck_agent, "y"), stuck)
    # Then the one behind live work waits on; only the stuck agent's fails, saying why
    assert [m.args[0] for m in broker.sent] == [waiting]
    assert client.status(waiting)["status"] == "queued"
    failed = client.status(stuck)
    assert failed["status"] == "failed" and "stayed busy" in failed["error"]
