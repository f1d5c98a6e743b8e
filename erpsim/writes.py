"""The one code path every write goes through, so write faults apply to all of them alike.

Order saves (new and edit), deletes, sends to Verona, customer creates and updates all call
`commit_write`, which also logs each committed write (`GET /__sim/writes`). `error_rate` fails a write before it commits; `lost_response_rate` lets it
commit and then loses the answer. The middleware turns both into the 500 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from erpsim.errors import LostResponseFault, ServerErrorFault
from erpsim.sim import Sim

T = TypeVar("T")


def commit_write(
    sim: Sim, kind: str, commit: Callable[[], T], *, agent: str, peer: str | None, record: Callable[[T], str]
) -> T:
    """Run `commit` (which may raise SimValidation) under the write faults; count it by `kind`
    and log it with `agent`, `peer` (the client address) and `record(result)` (what it wrote)."""
    if sim.engine.server_error():
        sim.counters.server_errors += 1
        raise ServerErrorFault(f"injected server error on {kind}")
    result = commit()
    sim.counters.writes[kind] += 1
    sim.log_write(agent, kind, record(result), peer or "")
    if sim.engine.lost_response():
        sim.counters.lost_responses += 1
        raise LostResponseFault(f"injected lost response after {kind}")
    return result
