"""The workers' side of the doorbell (archibot/doorbell.py): consumers that fetch when a
queue's bell rings instead of polling Redis.

One thread per worker process subscribes to every bell of the broker's namespace
(``PSUBSCRIBE``, one connection) and sets the ringing queue's event. A
:class:`BellConsumer` fetches, and when the queue is empty waits on that event — up to
:data:`DEFAULT_IDLE_POLL_MS`, after which it fetches anyway, because a message can arrive
without a ring: Dramatiq's maintenance moving a dead worker's messages back, a sender
whose PUBLISH failed, a subscriber reconnecting. That poll keeps the worker's Dramatiq
heartbeat (written by each fetch) well inside ``heartbeat_timeout``.

Two things must stay as prompt as with polling:

* a delay queue's message is held by its consumer thread until its ``eta``, and the thread
  moves it to the queue only between two of the consumer's fetches — so the wait never
  outlasts the earliest eta this consumer handed out and has not seen acked;
* a worker shutting down stops its consumers only after its worker threads are done, and a
  consumer notices the stop only when its wait ends — so from ``worker_shutdown`` on, the
  wait is Dramatiq's own ``worker_timeout`` again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, q_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from archibot.doorbell import BELL_PREFIX, IDLE_POLL_MS, RingingBroker

log = logging.getLogger("archibot.doorbell")

#: The longest an idle consumer waits for a ring before it fetches anyway.
DEFAULT_IDLE_POLL_MS = IDLE_POLL_MS
#: The subscriber's own read timeout, and its pause before reconnecting after an error.
_LISTEN_S = 1.0
#: A wait for a due eta still lasts this long, so a message that stays unacked cannot spin.
_MIN_WAIT_S = 0.01


class Doorbell:
    """The bells of one worker process: an event per queue, set by a subscriber thread."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._client = client
        self._prefix = f"{namespace}{BELL_PREFIX}"
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: The worker is shutting down: waits are short again (see the module docstring).
        self.stopping = False

    def event(self, queue_name: str) -> threading.Event:
        """The event ``queue_name``'s bell sets (the subscriber starts with the first one)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="doorbell", daemon=True)
                self._thread.start()
            return self._events.setdefault(queue_name, threading.Event())

    def stop_waiting(self) -> None:
        """The worker shuts down: end every wait now, and keep later ones short."""
        self.stopping = True
        with self._lock:
            for event in self._events.values():
                event.set()

    def _listen(self) -> None:
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.psubscribe(f"{self._prefix}*")
                while True:
                    message = pubsub.get_message(timeout=_LISTEN_S)
                    if message is not None:
                        self._rang(message["channel"])
            except (redis.RedisError, OSError) as e:
                log.warning("doorbell_unavailable error=%s", type(e).__name__)
                time.sleep(_LISTEN_S)
            finally:
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass

    def _rang(self, channel: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        event = self._events.get(name.removeprefix(self._prefix))
        if event is not None:
            event.set()


class BellConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, waiting on its queue's bell when the queue is empty."""

    def __init__(self, broker: WorkerBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._doorbell = broker.doorbell
        self._bell = broker.doorbell.event(queue_name)
        self._is_delay_queue = q_name(queue_name) != queue_name
        #: The etas of the delayed messages handed out and not yet acked (delay queue only).
        self._etas: dict[str, int] = {}
        #: The last fetch got fewer messages than it asked for: the queue was empty then.
        self._drained = False

    def ack(self, message: Any) -> None:
        self._etas.pop(message.message_id, None)
        super().ack(message)  # type: ignore[no-untyped-call]

    def nack(self, message: Any) -> None:
        self._etas.pop(message.message_id, None)
        super().nack(message)  # type: ignore[no-untyped-call]

    def requeue(self, messages: Any) -> None:
        messages = list(messages)
        super().requeue(messages)  # type: ignore[no-untyped-call]
        if messages:  # a worker's shutdown hands them back: the other workers need not wait
            self.broker.ring(self.queue_name)

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    if self._is_delay_queue and message.options.get("eta"):
                        self._etas[message.message_id] = int(message.options["eta"])
                    return MessageProxy(message)
                if self.outstanding_message_count >= self.prefetch:
                    # Nothing to fetch for: Dramatiq's own pause (no Redis command).
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    time.sleep(self._wait_s(backoff_ms))
                    return None
                if self._drained and not self._bell.is_set():
                    # The last fetch emptied the queue and nothing rang since: nothing to fetch.
                    self._drained = False
                    self._bell.wait(self._wait_s(self._idle_ms()))
                    return None
                # Cleared before the fetch: a ring after it is for a message it did not see.
                self._bell.clear()
                asked = self.prefetch - self.outstanding_message_count
                self.message_cache = self.broker.do_fetch(self.queue_name, asked)
                self._drained = 0 < len(self.message_cache) < asked
                if not self.message_cache:
                    self._bell.wait(self._wait_s(self._idle_ms()))
                    return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]

    def _idle_ms(self) -> float:
        """How long an idle consumer waits for a ring (jittered, so workers do not poll together)."""
        idle_ms = self.timeout if self._doorbell.stopping else DEFAULT_IDLE_POLL_MS
        return random.uniform(idle_ms / 2, idle_ms)

    def _wait_s(self, wait_ms: float) -> float:
        """``wait_ms``, cut short by the earliest eta this consumer still holds."""
        if self._etas:
            wait_ms = min(wait_ms, min(self._etas.values()) - current_millis())
        return max(_MIN_WAIT_S, wait_ms / 1000)


class WorkerBroker(RingingBroker):
    """The worker processes' broker: rings on enqueue, and consumes with :class:`BellConsumer`."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self.doorbell = Doorbell(self.client, self.namespace)

    @property
    def consumer_class(self) -> type[BellConsumer]:
        return BellConsumer

    def emit_before(self, signal: str, *args: Any, **kwargs: Any) -> None:
        if signal == "worker_shutdown":
            self.doorbell.stop_waiting()
        super().emit_before(signal, *args, **kwargs)
