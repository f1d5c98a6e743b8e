"""Crash-test fault injection: ``ARCHIBOT_TEST_CRASH_AT=TYPE:POINT:FLAG_FILE`` SIGKILLs the
worker once, at a named point of an operation of that type (tests/test_kill_points.py)."""

from __future__ import annotations

import logging
import os
import signal

from archibot.settings import Settings
from store.rows import Operation

log = logging.getLogger("archibot.runtime")


def maybe_crash(settings: Settings, op: Operation, point: str) -> None:
    """SIGKILL this worker at ``point`` of ``op`` if the setting asks for it (once: the flag
    file remembers)."""
    spec = settings.test_crash_at
    if not spec:
        return
    op_type, crash_point, flag_file = spec.split(":", 2)
    if op_type != op.op_type or crash_point != point or os.path.exists(flag_file):
        return
    with open(flag_file, "w", encoding="utf-8") as flag:
        flag.write(op.id)
    log.warning("test_crash op_id=%s point=%s", op.id, point)
    os.kill(os.getpid(), signal.SIGKILL)
