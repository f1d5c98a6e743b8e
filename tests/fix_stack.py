"""Fixtures for end-to-end tests: the simulator over HTTP and real worker processes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from archibot.client import Client
from archibot.settings import Settings
from archibot_devtools.local import SimProcess, Workers, start_sim, start_workers
from erp.operations import marker_for
from store.db import Database

SIM_AGENTS = 10
#: A short lease, so a killed worker's agent is free again quickly in tests.
TEST_LOCK_TTL_MS = 4_000
#: The simulator commits a save within milliseconds: a dead holder's save settles at once.
TEST_COMMIT_SETTLE_S = 1


@pytest.fixture(scope="session")
def sim_process() -> Iterator[SimProcess]:
    """One simulator for the session (fast profile, test mode)."""
    sim = start_sim(profile="fast", agents=SIM_AGENTS, seed=1)
    yield sim
    sim.stop()


@pytest.fixture()
def sim(sim_process: SimProcess) -> SimProcess:
    """The simulator, reset to its seeded state with no faults."""
    sim_process.reset(seed=1, agents=SIM_AGENTS)
    sim_process.set_faults(error_rate=0, lost_response_rate=0, slow_rate=0, session_expiry_s=1500,
                           second_login_kicks=False)
    return sim_process


@pytest.fixture()
def stack_settings(settings: Settings, sim: SimProcess) -> Settings:
    """Settings for workers and clients that drive the simulator."""
    return dataclasses.replace(settings, erp_url=sim.url, lock_ttl_ms=TEST_LOCK_TTL_MS,
                               commit_settle_s=TEST_COMMIT_SETTLE_S)


@pytest.fixture()
def client(settings: Settings, db: Database, redis_client: redis.Redis) -> Iterator[Client]:
    """A client on a clean journal and a clean Redis."""
    c = Client(settings)
    yield c
    c.close()


@pytest.fixture()
def agents(client: Client, sim: SimProcess) -> list[str]:
    """Every simulator agent, with their real passwords stored."""
    names = []
    for agent in sim.state(include="agents")["agents"]:
        client.agents.add(agent["username"], agent["password"])
        names.append(agent["username"])
    return names


@pytest.fixture()
def start_worker_processes(
    stack_settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., Workers]]:
    """Start ``dramatiq actors`` (stopped at the end); logs go to tmp_path/workers.log."""
    started: list[Workers] = []

    def start(processes: int = 2, threads: int = 5, **overrides: Any) -> Workers:
        settings = dataclasses.replace(stack_settings, **overrides)
        workers = start_workers(settings.to_env(), processes=processes, threads=threads,
                                log_path=str(tmp_path / "workers.log"))
        started.append(workers)
        return workers

    yield start
    for workers in started:
        workers.stop()


def wait_all(client: Client, op_ids: list[str], timeout_s: float = 120) -> list[dict[str, Any]]:
    """Wait for every operation to end; their final statuses in order."""
    deadline = time.monotonic() + timeout_s
    return [client.wait(op_id, max(1.0, deadline - time.monotonic())) for op_id in op_ids]


def erp_orders(sim: SimProcess) -> list[dict[str, Any]]:
    """The orders the simulator holds."""
    orders: list[dict[str, Any]] = sim.state(include="orders")["orders"]
    return orders


def marker(op_id: str) -> str:
    """The marker an operation writes into its ERP record."""
    return marker_for(op_id)
