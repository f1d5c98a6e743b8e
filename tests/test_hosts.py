"""Several worker hosts: two network namespaces sharing Redis, PostgreSQL and the simulator.

Each "host" is a network namespace with a veth pair into the root namespace (the "third
host", where the simulator, Redis and PostgreSQL run). Redis and PostgreSQL listen on
127.0.0.1 only, so each host reaches them through its own TCP forwarders on its veth
address: closing a host's Redis forwarder cuts that host from Redis alone, while taking its
veth down cuts it from everything. The simulator's write log (`GET /__sim/writes`) tells,
by client address, which host clicked each save.

Needs root and `ip` (iproute2): CI runs as root. It fails, never skips, without them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archibot.client import Client
from archibot.settings import Settings
from archibot_devtools.local import SimProcess, Workers, start_sim, start_workers
from tests.fix_stack import TEST_COMMIT_SETTLE_S, TEST_LOCK_TTL_MS, erp_orders, marker, wait_all
from tests.test_submit_order import order_for

#: Namespaces (and their veth ends) are named ab-h<n>-<pid>, so leftovers of a crashed run
#: (its pid gone) can be found and removed without touching a run still going.
NS_PREFIX = "ab-h"
#: Host n gets 10.231.<2 * (pid % SUBNETS) + n>.0/30 (.1 root side, .2 in the namespace):
#: two runs at once (two worktrees) do not bind the same addresses.
SUBNETS = 120
SIM_AGENTS = 6
OPS_PER_AGENT = 2
#: Short, so a cut host's agents are free for the other host quickly.
SWEEP_INTERVAL_S = 2
#: Each host: one worker process (two cores are shared by the whole suite).
THREADS_PER_HOST = 3
#: How long the test waits for the burst to reach the point where it cuts a host.
MID_BURST_TIMEOUT_S = 90
#: How long an operation may take in all once a host is cut (lease + sweep + retries).
FINISH_TIMEOUT_S = 180
#: A cut host cannot hand its operations back: stop its workers without the usual grace.
TEARDOWN_STOP_TIMEOUT_S = 3


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _ours_or_dead(name: str) -> bool:
    """Whether `name` (ab-h<n>-<pid>) is this run's or a finished run's."""
    pid = name.rpartition("-")[2]
    return name.startswith(NS_PREFIX) and pid.isdigit() and (
        int(pid) == os.getpid() or not os.path.exists(f"/proc/{pid}")
    )


def _remove_leftovers() -> None:
    """Delete this run's namespaces and veth ends and those of crashed runs."""
    for line in _ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if _ours_or_dead(name):
            _ip("netns", "delete", name, check=False)
    for line in _ip("-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if _ours_or_dead(name):
            _ip("link", "delete", name, check=False)


class Forwarder:
    """Listen on `listen` and relay every connection to 127.0.0.1:`port`; `cut` closes the
    listener and every open connection, as a lost path would."""

    def __init__(self, loop: asyncio.AbstractEventLoop, listen: str, port: int) -> None:
        self.loop = loop
        self.listen = listen
        self.port = port
        self.writers: set[asyncio.StreamWriter] = set()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, listen, port), loop
        ).result(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
            self.writers.discard(writer)

    def cut(self) -> None:
        async def close() -> None:
            self.server.close()
            for writer in list(self.writers):
                writer.transport.abort()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)


@dataclasses.dataclass
class Host:
    """One worker host: its namespace, its veth's root end and address, its forwarders."""

    ns: str
    veth: str
    address: str
    peer: str
    forwarders: dict[str, Forwarder]


@dataclasses.dataclass
class Network:
    hosts: list[Host]
    sim: SimProcess
    loop: asyncio.AbstractEventLoop


def _require_root() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("tests/test_hosts.py builds network namespaces: run it as root with iproute2 "
                    "installed (`sudo ./dev test tests/test_hosts.py`), as CI does")


@pytest.fixture(scope="module")
def network(settings: Settings) -> Iterator[Network]:
    """Two namespaces with their veth pairs, the forwarders, and a simulator on all addresses."""
    _require_root()
    _remove_leftovers()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    redis_port = urllib.parse.urlsplit(settings.redis_url).port or 6379
    pg_port = urllib.parse.urlsplit(settings.database_url).port or 5432
    hosts: list[Host] = []
    sim = None
    try:
        for n in (1, 2):
            ns = veth = f"{NS_PREFIX}{n}-{os.getpid()}"
            subnet = f"10.231.{2 * (os.getpid() % SUBNETS) + n}"
            _ip("netns", "add", ns)
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("addr", "add", f"{subnet}.1/30", "dev", veth)
            _ip("link", "set", veth, "up")
            _ip("-n", ns, "addr", "add", f"{subnet}.2/30", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            forwarders = {"redis": Forwarder(loop, f"{subnet}.1", redis_port),
                          "postgres": Forwarder(loop, f"{subnet}.1", pg_port)}
            hosts.append(Host(ns, veth, f"{subnet}.1", f"{subnet}.2", forwarders))
        sim = start_sim(host="0.0.0.0", profile="fast", agents=SIM_AGENTS, seed=1)
        yield Network(hosts, sim, loop)
    finally:
        if sim is not None:
            sim.stop()
        for host in hosts:
            for forwarder in host.forwarders.values():
                forwarder.cut()
        loop.call_soon_threadsafe(loop.stop)
        _remove_leftovers()


def _host_env(settings: Settings, host: Host, sim: SimProcess) -> dict[str, str]:
    """The settings of a worker on `host`: every service through the host's own address."""

    def through(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        netloc = f"{parts.username}@" if parts.username else ""
        netloc += f"{host.address}:{parts.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    hosted = dataclasses.replace(
        settings,
        redis_url=through(settings.redis_url),
        database_url=through(settings.database_url),
        erp_url=through(sim.url),
        lock_ttl_ms=TEST_LOCK_TTL_MS,
        commit_settle_s=TEST_COMMIT_SETTLE_S,
        sweep_interval_s=SWEEP_INTERVAL_S,
    )
    return hosted.to_env()


@pytest.fixture()
def hosts(network: Network, settings: Settings, client: Client, tmp_path: Path) -> Iterator[list[Workers]]:
    """A fresh simulator and one worker process in each namespace; the agents stored."""
    network.sim.reset(seed=1, agents=SIM_AGENTS)
    network.sim.set_faults(error_rate=0, lost_response_rate=0, slow_rate=0, session_expiry_s=1500,
                           second_login_kicks=False)
    for agent in network.sim.state(include="agents")["agents"]:
        client.agents.add(agent["username"], agent["password"])
    started = []
    try:
        for host in network.hosts:
            started.append(start_workers(
                _host_env(settings, host, network.sim), processes=1, threads=THREADS_PER_HOST,
                log_path=str(tmp_path / f"{host.ns}.log"), prefix=["ip", "netns", "exec", host.ns],
            ))
        yield started
    finally:
        for workers in started:
            workers.stop(TEARDOWN_STOP_TIMEOUT_S)
        for host in network.hosts:
            _ip("link", "set", host.veth, "up")
            for name, forwarder in host.forwarders.items():
                if forwarder.server.is_serving():
                    continue
                host.forwarders[name] = Forwarder(network.loop, forwarder.listen, forwarder.port)


def _burst(client: Client, sim: SimProcess) -> dict[str, str]:
    """OPS_PER_AGENT submit-orders for every agent: op id -> agent."""
    agents = [a["username"] for a in sim.state(include="agents")["agents"]]
    return {client.send("submit-order", agent, order_for(sim, agent, i)): agent
            for i in range(OPS_PER_AGENT) for agent in agents}


def _wait_for_writes(sim: SimProcess, peer: str, count: int) -> None:
    """Until `peer` committed `count` writes: the burst is under way on that host."""
    deadline = time.monotonic() + MID_BURST_TIMEOUT_S
    while sum(w["peer"] == peer for w in sim.writes()) < count:
        assert time.monotonic() < deadline, f"{peer} committed fewer than {count} writes"
        time.sleep(0.1)


def _exactly_once(sim: SimProcess, ops: dict[str, str]) -> None:
    references = [o.get("reference", "") for o in erp_orders(sim)]
    for op_id in ops:
        assert references.count(marker(op_id)) == 1, f"{op_id}: {references.count(marker(op_id))} ERP orders"


def _saves(sim: SimProcess) -> list[dict[str, Any]]:
    return [w for w in sim.writes() if w["kind"] == "order_save"]


def test_work_spreads_and_a_cut_host_loses_nothing_and_doubles_nothing(
    network: Network, hosts: list[Workers], client: Client
) -> None:
    cut, other = network.hosts
    ops = _burst(client, network.sim)
    _wait_for_writes(network.sim, cut.peer, 1)
    _wait_for_writes(network.sim, other.peer, 1)
    cut_at = time.time()
    _ip("link", "set", cut.veth, "down")

    statuses = wait_all(client, list(ops), FINISH_TIMEOUT_S)
    done_at = time.time()

    assert [s["status"] for s in statuses] == ["done"] * len(ops)
    _exactly_once(network.sim, ops)
    saves = _saves(network.sim)
    by_peer = {h.peer: sum(w["peer"] == h.peer for w in saves) for h in network.hosts}
    assert all(by_peer.values()), f"both hosts should have saved orders: {by_peer}"
    after_cut = [w for w in saves if w["at"] > cut_at]
    assert after_cut and all(w["peer"] == other.peer for w in after_cut), after_cut
    print(f"\nFIGURES saves_by_host={by_peer} cut_to_all_done_s={done_at - cut_at:.1f} "
          f"last_save_after_cut_s={max(w['at'] for w in after_cut) - cut_at:.1f} "
          f"lease_s={TEST_LOCK_TTL_MS / 1000:g} sweep_s={SWEEP_INTERVAL_S}")


def test_a_host_cut_from_redis_stops_clicking_before_its_lease_can_pass(
    network: Network, hosts: list[Workers], client: Client
) -> None:
    fenced, other = network.hosts
    ops = _burst(client, network.sim)
    _wait_for_writes(network.sim, fenced.peer, 1)
    cut_at = time.time()
    fenced.forwarders["redis"].cut()

    statuses = wait_all(client, list(ops), FINISH_TIMEOUT_S)

    assert [s["status"] for s in statuses] == ["done"] * len(ops)
    _exactly_once(network.sim, ops)
    writes = network.sim.writes()
    # The fenced host confirmed its leases at the latest when Redis went: no other host can
    # hold them before cut_at + TTL, and the fenced host must not click after that.
    lease_passes_at = cut_at + TEST_LOCK_TTL_MS / 1000
    late = [w for w in writes if w["peer"] == fenced.peer and w["at"] > lease_passes_at]
    assert late == [], f"the host cut from Redis wrote after its lease could pass: {late}"
    for agent in {w["agent"] for w in writes if w["peer"] == other.peer and w["at"] > cut_at}:
        taken_at = min(w["at"] for w in writes if w["agent"] == agent and w["peer"] == other.peer
                       and w["at"] > cut_at)
        after = [w for w in writes if w["agent"] == agent and w["peer"] == fenced.peer and w["at"] > taken_at]
        assert after == [], f"{agent}: the fenced host wrote after the other host took over: {after}"
    fenced_after_cut = sum(w["peer"] == fenced.peer and w["at"] > cut_at for w in writes)
    print(f"\nFIGURES fenced_writes_after_cut={fenced_after_cut} writes_after_lease_could_pass={len(late)} "
          f"by_host={ {h.peer: sum(w['peer'] == h.peer for w in writes) for h in network.hosts} }")
