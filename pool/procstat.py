"""Memory and CPU of a process tree, read from ``/proc`` (Linux only).

Used to measure what Chromium costs: the browser process, its zygotes, GPU and
network services and one renderer per context.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

#: Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat.
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def command_line(pid: int) -> str:
    """The command line of ``pid``, its arguments joined by spaces; "" if it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children(pid: int) -> list[int]:
    """The live direct children of ``pid``."""
    found = []
    for candidate in _all_pids():
        fields = _stat_fields(candidate)
        if fields is not None and fields[0] != "Z" and int(fields[1]) == pid:
            found.append(candidate)
    return found


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and every live descendant, plus live members of its process group.

    The process group catches helpers that Chromium double-forks away from
    itself (they keep its group even when re-parented to init). Zombies are
    left out: they hold no memory and burn no CPU.
    """
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is None or fields[0] == "Z":
            continue
        parents[pid] = int(fields[1])
        groups[pid] = int(fields[2])
    if root_pid not in parents:
        return [pid for pid, pgid in groups.items() if pgid == root_pid]
    tree = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    tree.update(pid for pid, pgid in groups.items() if pgid == root_pid)
    return sorted(tree)


def rss_bytes(pids: Iterable[int]) -> int:
    """Sum of VmRSS over ``pids`` (shared pages are counted once per process)."""
    total_kib = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kib += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total_kib * 1024


def pss_bytes(pids: Iterable[int]) -> int:
    """Sum of Pss over ``pids``: shared pages split between their sharers, so no double count."""
    total_kib = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total_kib += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total_kib * 1024


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of ``pids``, including their reaped children.

    A renderer that exited was folded into its parent's cutime/cstime when it
    was reaped, so counting those keeps the total from dropping as contexts close.
    """
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # After the command name: state=0 ... utime=11 stime=12 cutime=13 cstime=14.
        ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / CLOCK_TICKS_PER_S


def _chromium_type(pid: int) -> tuple[str, list[bytes]] | None:
    """Chromium's ``--type=`` of a process ("" for none) and its arguments; None if gone.
    Chromium rewrites its helpers' argv into one space-separated string."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().replace(b"\0", b" ").split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    kind = next((a[len(b"--type="):].decode() for a in args if a.startswith(b"--type=")), "")
    return kind, args


def process_kind(pid: int) -> str:
    """What a process of a worker's tree is: ``renderer``, ``gpu``, ``network``, ``browser``
    (Chromium's main process, its zygotes and other helpers), or ``worker`` (anything else:
    the Python worker); ``gone`` if it exited."""
    found = _chromium_type(pid)
    if found is None:
        return "gone"
    kind, args = found
    if not kind:
        return "browser" if args and b"chrom" in os.path.basename(args[0]) else "worker"
    if kind == "utility" and any(b"NetworkService" in a for a in args):
        return "network"
    return {"renderer": "renderer", "gpu-process": "gpu"}.get(kind, "browser")


def cpu_seconds_by_kind(pids: Iterable[int]) -> dict[str, float]:
    """:func:`cpu_seconds` split by :func:`process_kind`. A process's reaped children count
    under its own kind, except a zygote's: those were renderers (closed contexts' pages)."""
    totals: dict[str, float] = {}
    for pid in pids:
        fields = _stat_fields(pid)
        found = _chromium_type(pid)
        if fields is None or found is None:
            continue
        kind = process_kind(pid)
        own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S
        reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS_PER_S
        totals[kind] = totals.get(kind, 0.0) + own
        reaped_kind = "renderer" if found[0] == "zygote" else kind
        totals[reaped_kind] = totals.get(reaped_kind, 0.0) + reaped
    return totals
