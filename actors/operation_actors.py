"""The operation actors, registered from the registry in one loop (no hand-written actor).

One actor per operation type, named by :attr:`OperationType.actor_name`; each hands its
message's operation id to the runtime (actors/handoff.py), closing over the worker process
it runs in. All share one queue (cheap idle polling); AgentBusy and WorkerStopping are
expected (RequeueBusy re-enqueues them), so Dramatiq logs them quietly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import dramatiq

from actors.errors import AgentBusy, WorkerStopping
from actors.executors import executor_for
from actors.handoff import run_message
from actors.services import WorkerProcess
from archibot.operations import OPERATION_TYPES, OperationType


def register(broker: dramatiq.Broker, process: WorkerProcess) -> dict[str, dramatiq.Actor[[str], None]]:
    """Declare every registered type's actor on ``broker``; actor name → actor.

    Each type's executor is resolved here, at the worker's boot: a registry entry that names
    no erp function stops the boot (ImportError, AttributeError) instead of failing every
    operation of that type later.
    """
    for kind in OPERATION_TYPES.values():
        executor_for(kind)
    return {kind.actor_name: _declare(broker, process, kind) for kind in OPERATION_TYPES.values()}


def _declare(broker: dramatiq.Broker, process: WorkerProcess,
             kind: OperationType) -> dramatiq.Actor[[str], None]:
    run = _runner(process)
    run.__name__ = run.__qualname__ = kind.actor_name
    run.__doc__ = f"{kind.summary} (``{kind.name}``)"
    declare = dramatiq.actor(actor_name=kind.actor_name, queue_name=process.settings.queue,
                             broker=broker, throws=(AgentBusy, WorkerStopping))
    return declare(run)


def _runner(process: WorkerProcess) -> Callable[[str], Awaitable[None]]:
    async def run(op_id: str) -> None:
        await run_message(process, op_id)

    return run
