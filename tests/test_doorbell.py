"""The doorbell: idle consumers wait for a ring instead of polling Redis (actors/doorbell.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import pytest
import redis

from actors import doorbell
from actors.doorbell import BellConsumer, WorkerBroker
from archibot.doorbell import RingingBroker
from archibot.settings import Settings

#: Far longer than any bound below: only a ring can end a wait in time.
_NEVER_MS = 120_000
#: How long a test waits for what a ring should cause at once (a generous bound, not a timing).
_BOUND_S = 15.0


@pytest.fixture()
def brokers(settings: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(doorbell, "DEFAULT_IDLE_POLL_MS", _NEVER_MS)
    namespace = f"bell-test-{time.monotonic_ns()}"
    worker = WorkerBroker(client=redis.Redis.from_url(settings.redis_url), namespace=namespace, middleware=[])
    sender = RingingBroker(client=redis.Redis.from_url(settings.redis_url), namespace=namespace, middleware=[])
    yield worker, sender
    for key in redis_client.scan_iter(f"{namespace}*"):
        redis_client.delete(key)


def _message(queue: str = "q") -> dramatiq.Message[Any]:
    return dramatiq.Message(queue_name=queue, actor_name="a", args=(), kwargs={}, options={})


def _next_in_thread(consumer: BellConsumer) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []

    def run() -> None:
        deadline = time.monotonic() + _BOUND_S
        while time.monotonic() < deadline:
            message = next(consumer)
            if message is not None:
                got.append(message)
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def _counting_fetches(broker: WorkerBroker) -> list[int]:
    fetches = [0]
    fetch = broker.do_fetch

    def counted(*args: Any) -> Any:
        fetches[0] += 1
        return fetch(*args)

    broker.__dict__["do_fetch"] = counted
    return fetches


def test_an_idle_consumer_fetches_once_then_waits_for_the_ring(brokers: Any) -> None:
    worker, sender = brokers
    worker.declare_queue("q")
    consumer = worker.consume("q", prefetch=2, timeout=1000)
    fetches = _counting_fetches(worker)
    thread, got = _next_in_thread(consumer)
    time.sleep(1.5)  # Dramatiq's consumer would have polled ~8 times by now (5, 10, 20… ms)
    assert fetches[0] == 1 and not got
    sender.enqueue(_message())
    thread.join(_BOUND_S)
    assert len(got) == 1, "the ring did not end the consumer's wait"
    assert fetches[0] == 2


def test_a_delayed_message_is_handed_on_by_its_eta_without_a_ring(brokers: Any) -> None:
    worker, sender = brokers
    worker.declare_queue("q")
    consumer = worker.consume("q.DQ", prefetch=2, timeout=1000)
    sender.enqueue(_message(), delay=300)
    held = next(consumer)
    assert held is not None and held.options["eta"]
    # Held, unacked: the next wait ends at its eta, not after the idle poll.
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started < _BOUND_S
    consumer.ack(held)
    assert consumer._wait_s(_NEVER_MS) == _NEVER_MS / 1000


def test_worker_shutdown_ends_the_waits(brokers: Any) -> None:
    worker, _ = brokers
    worker.declare_queue("q")
    consumer = worker.consume("q", prefetch=2, timeout=1000)
    fetches = _counting_fetches(worker)
    returned = threading.Event()
    thread = threading.Thread(target=lambda: (next(consumer), returned.set()), daemon=True)
    thread.start()
    while fetches[0] == 0:
        time.sleep(0.01)
    worker.emit_before("worker_shutdown", None)
    assert returned.wait(_BOUND_S), "a consumer kept waiting after worker_shutdown"
    thread.join(_BOUND_S)


def test_only_messages_due_before_the_next_poll_ring(brokers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, sender = brokers
    rung: list[str] = []
    monkeypatch.setattr(sender, "ring", rung.append)
    sender.enqueue(_message())
    sender.enqueue(_message(), delay=1_000)
    sender.enqueue(_message(), delay=60_000)  # the delay queue's next poll fetches it in time
    assert rung == ["q", "q.DQ"]
