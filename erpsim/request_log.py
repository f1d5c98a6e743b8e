"""When the simulator was busy answering each agent's requests (``GET /__sim/request-times``).

A bench measures how much of an operation's run time is the ERP's: the intervals here,
intersected with the operation's run window, are that part (archibot_devtools.erp_time).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

#: The most requests remembered, all agents together; the oldest are forgotten first.
DEFAULT_MAX_REQUESTS = 200_000


@dataclass(frozen=True)
class RequestTime:
    """One answered request of an agent: [start_s, end_s) in wall time (``time.time()``)."""

    agent: str
    start_s: float
    end_s: float
    kind: str

    def to_json(self) -> dict[str, Any]:
        return {"start_s": self.start_s, "end_s": self.end_s, "kind": self.kind}


class RequestLog:
    """A bounded ring of answered requests, read per agent."""

    def __init__(self, max_requests: int = DEFAULT_MAX_REQUESTS) -> None:
        self._times: deque[RequestTime] = deque(maxlen=max_requests)

    def record(self, agent: str, start_s: float, end_s: float, kind: str) -> None:
        self._times.append(RequestTime(agent, start_s, end_s, kind))

    def read(self, agent: str | None = None, since_s: float | None = None) -> list[RequestTime]:
        """The requests of ``agent`` (all agents for None) that ended at or after ``since_s``, oldest first."""
        return [
            t for t in self._times
            if (agent is None or t.agent == agent) and (since_s is None or t.end_s >= since_s)
        ]

    def clear(self) -> None:
        self._times.clear()
