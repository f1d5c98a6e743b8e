"""A broker whose every enqueue rings a doorbell, so idle workers need not poll Redis.

Dramatiq's Redis consumer learns of a new message only by fetching (a Lua script that
also writes the worker's heartbeat): an idle consumer fetches every second or so, and
right after each message it fetches at 5, 10, 20… ms. With two queues per worker process
(the queue and its delay queue) that polling was the largest part of Redis's commands per
operation, and it grows with processes × time, not with work. Every enqueue through this
broker (but a delayed one) also PUBLISHes on the queue's channel (one command; a message delayed past the consumers' next poll needs none); the workers' consumers
(actors/doorbell.py) wait on that bell and fetch when it rings, polling only every few
seconds in case a ring was missed. The client and the scheduler send through it too.
"""

from __future__ import annotations

from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message

#: The longest an idle consumer waits for a ring before it fetches anyway (jittered down to
#: half of it): well under the broker's heartbeat timeout (15 s, actors/broker.py), since
#: each fetch writes the worker's Dramatiq heartbeat.
IDLE_POLL_MS = 5_000
#: The channels' prefix, after the broker's namespace: ``dramatiq:bell:archibot``.
BELL_PREFIX = ":bell:"


def bell_channel(namespace: str, queue_name: str) -> str:
    """The channel a message on ``queue_name`` (a delay queue included) rings."""
    return f"{namespace}{BELL_PREFIX}{queue_name}"


class RingingBroker(RedisBroker):
    """Dramatiq's Redis broker, ringing the queue's bell after each enqueue."""

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Enqueue, and ring — unless the message is delayed by more than an idle consumer's
        poll: then the delay queue's next poll fetches it before its eta anyway."""
        sent = super().enqueue(message, delay=delay)
        if delay is None or delay < IDLE_POLL_MS:
            self.ring(sent.queue_name)
        return sent

    def ring(self, queue_name: str) -> None:
        """Tell idle consumers of ``queue_name`` that it holds a message. A ring that cannot
        be sent is not an error: the message is queued, and their next poll finds it."""
        try:
            self.client.publish(bell_channel(self.namespace, queue_name), b"")
        except redis.RedisError:
            pass
