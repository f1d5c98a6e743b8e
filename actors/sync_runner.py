"""Syncs: walk every page of a type's ERP lists into the PostgreSQL cache, preemptible by writes.

Before walking, the sync asks each list for its newest MODIFIEDDATETIME (the ``sentinel``,
erp.lists.newest_modified); when no list has changed since the last complete walk — and that
walk is younger than ``ARCHIBOT_SYNC_FORCE_WALK_H`` — it walks nothing and ends
``skipped: "unchanged"``. Customers have no such column: they are always walked.

Page by page — never the whole list in memory — each page upserted with the run's id,
progress journaled (list, pages done / total). Between pages the sync asks the journal
whether it was cancelled (then it stops with SyncCancelled, for good) and whether a write of
the same agent is waiting; if so it stops with SyncPreempted carrying where to resume, and
the runtime puts it back in the queue behind the write; a stopping worker does the same.
Every page re-checks the agent's lease: a sync whose holder lost it stops (LockLost) instead
of paging on. When a list's last page is stored, the rows the run did not see are missed once
more, and removed when missed twice in a row — unless the run read too little of what the
cache holds (store.cache.PartialRead: nothing removed, the sync fails saying what it saw).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from actors.errors import SyncCancelled, SyncPreempted
from actors.job import Job
from archibot.operations import operation_type
from erp.errors import ErpRejected
from store.cache import ENTITIES, EVERYONE, PartialRead, SyncState

log = logging.getLogger("archibot.sync")

#: Rows per grid page: big enough for few callbacks, small enough for Chromium's CPU.
DEFAULT_SYNC_PAGE_SIZE = 100

Sentinel = Callable[[Any, str, str], Awaitable[str | None]]


def state_agent(view: str, agent: str) -> str:
    """Whose sync_state a list's sync writes: the agent's, or everyone's for a shared list."""
    return agent if ENTITIES[view].per_agent else EVERYONE


async def run_sync(job: Job, *, walker: Callable[..., Any], sentinel: Sentinel | None = None) -> dict[str, Any]:
    """Run (or resume) the sync with ``walker`` (its type's executor, erp.lists.iter_list)
    over its type's lists; returns counts."""
    svc, op = job.svc, job.op
    views = operation_type(op.op_type).sync_views
    assert views, f"{op.op_type} is a sync without sync_views"
    owner = state_agent(views[0], op.agent)
    resume = dict(op.progress or {})
    if "run_id" not in resume:
        # A fresh start (not a resumed preempted run): has anything changed? (sync_state
        # read once for both questions)
        state = await svc.db_call(svc.cache.sync_state, owner, op.op_type)
        marks = await _sentinels(job, state, views, sentinel)
        if await _unchanged(job, state, marks):
            await svc.db_call(svc.cache.record_skip, owner, op.op_type)
            log.info("sync_skipped op_id=%s type=%s reason=unchanged", op.id, op.op_type)
            return {"rows": 0, "pages": 0, "removed": 0, "skipped": "unchanged"}
        resume = {
            "run_id": str(uuid.uuid4()),
            "run_started_at": dt.datetime.now(dt.UTC).isoformat(),
            "sentinel": marks,
            "view_index": 0,
            "held_before": {v: await svc.db_call(svc.cache.held, v, op.agent) for v in views},
            "views": {},
        }
    start_view = int(resume.get("view_index", 0))
    resumed_at = int(resume.get("next_page", 0))
    for index in range(start_view, len(views)):
        if index > start_view:  # between two lists: the agent's writes and a cancel come first
            await _yield_between(job, {**resume, "view_index": index, "next_page": 0})
        resume["view_index"] = index
        await _walk(job, views[index], walker, resume)
        resume["next_page"] = 0
    per_view: dict[str, dict[str, int]] = resume["views"]
    longest = max((v["pages"] for v in per_view.values()), default=0)
    await svc.db_call(svc.cache.record_walk, owner, op.op_type, resume.get("sentinel") or {}, longest)
    result: dict[str, Any] = {
        "rows": sum(v["rows"] for v in per_view.values()),
        "pages": sum(v["pages"] for v in per_view.values()),
        "removed": sum(v["removed"] for v in per_view.values()),
        "resumed_at_page": resumed_at,
    }
    if len(views) > 1:
        result["views"] = per_view
    return result


async def _sentinels(
    job: Job, state: SyncState | None, views: tuple[str, ...], sentinel: Sentinel | None
) -> dict[str, str | None]:
    """Each list's sentinel, or None for all when there is none to read, skipping is off, or
    the last walk's longest list fit on fewer than ARCHIBOT_SYNC_SKIP_MIN_PAGES pages (reading
    the sentinel would cost about what walking it does)."""
    settings = job.svc.settings
    if sentinel is None or not settings.sync_skip_unchanged:
        return {view: None for view in views}
    if state is not None and state.last_walk_pages is not None \
            and state.last_walk_pages < settings.sync_skip_min_pages:
        return {view: None for view in views}
    erp_url = settings.erp_base()
    return {view: await sentinel(job.page, erp_url, view) for view in views}


async def _unchanged(job: Job, state: SyncState | None, marks: dict[str, str | None]) -> bool:
    """Whether every list's newest change is no newer than at the last complete walk, which
    is younger than the forced-walk age, and no cached row awaits its second miss."""
    if any(mark is None for mark in marks.values()):
        return False  # a list without MODIFIEDDATETIME (customers): always walked
    svc = job.svc
    if state is None or state.last_full_walk is None:
        return False
    age_h = (dt.datetime.now(dt.UTC) - state.last_full_walk).total_seconds() / 3600
    if age_h >= svc.settings.sync_force_walk_h:
        return False
    last = state.sentinel
    if not all(view in last and _not_newer(str(mark), last[view]) for view, mark in marks.items()):
        return False
    # A row missed once waits for the next complete walk to be confirmed gone: walk.
    for view in marks:
        if await svc.db_call(svc.cache.missed_once, view, job.op.agent):
            return False
    return True


def _not_newer(mark: str, last: str | None) -> bool:
    """Whether a list's sentinel (``newest MODIFIEDDATETIME`` or ``newest|row count``) says
    nothing changed since ``last``: no newer change, and (when counted) as many rows — a
    deletion moves no MODIFIEDDATETIME, but it changes the count."""
    if last is None:
        return False
    newest, _, count = mark.partition("|")
    last_newest, _, last_count = last.partition("|")
    return newest <= last_newest and count == last_count


async def _yield_between(job: Job, progress: dict[str, Any]) -> None:
    """Stop here for good if cancelled, or hand over to the agent's waiting write (or a
    stopping worker), to resume from ``progress``."""
    svc = job.svc
    if await svc.db_call(svc.claims.cancel_requested, job.op.id):
        raise SyncCancelled(progress)
    if job.state.stopping or await svc.db_call(svc.claims.has_waiting_write, job.op.agent):
        raise SyncPreempted(progress)


async def _walk(job: Job, view: str, walker: Callable[..., Any], resume: dict[str, Any]) -> None:
    """Walk one list from ``resume["next_page"]``, journaling progress after every page."""
    svc, op = job.svc, job.op
    run_id = str(resume["run_id"])
    counts = resume["views"].setdefault(view, {"rows": 0, "pages": 0, "removed": 0})
    next_page = int(resume.get("next_page", 0))
    pages = walker(job.page, svc.settings.erp_base(), view,
                   page_size=DEFAULT_SYNC_PAGE_SIZE, start_page=next_page)
    # aclosing: a preempted sync puts the agent's list state back before the write runs.
    async with contextlib.aclosing(pages):
        async for list_page in pages:
            counts["rows"] += await svc.db_call(svc.cache.upsert, view, op.agent, run_id, list_page.rows)
            counts["pages"] = list_page.page_count
            next_page = list_page.page_index + 1
            resume["next_page"] = next_page
            progress = {**resume, "view": view, "pages_done": next_page,
                        "pages_total": list_page.page_count, "rows": counts["rows"]}
            await job.progress(progress)
            # A holder paused past its lease (SIGSTOP) does not page on under a lost lease.
            await svc.lock.check(job.lease)
            if next_page < list_page.page_count:
                await _yield_between(job, progress)
    settings = svc.settings
    try:
        counts["removed"] = await svc.db_call(
            lambda: svc.cache.finish_run(
                view, op.agent, run_id, str(resume["run_started_at"]), seen=counts["rows"],
                held_before=int(resume["held_before"].get(view, 0)),
                min_read_pct=settings.sync_min_read_pct, slack_rows=settings.sync_guard_slack_rows,
                misses_to_remove=settings.sync_misses_to_remove,
            )
        )
    except PartialRead as exc:
        # Not retried: the next scheduled sync looks again; the cache keeps what it had.
        raise ErpRejected(f"sync of {view}: {exc}", field="sync") from exc
