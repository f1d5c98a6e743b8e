"""Syncs: walk every page of an ERP list into the PostgreSQL cache, preemptible by writes.

Page by page — never the whole list in memory — each page upserted with the
run's id, progress journaled (pages done / total). Between pages the sync asks
the journal whether it was cancelled (then it stops with SyncCancelled, for good)
and whether a write of the same agent is waiting; if so it stops with
SyncPreempted carrying where to resume, and the runtime puts it back in the
queue behind the write; a stopping worker does the same. Every page re-checks the agent's
lease: a sync whose holder lost it stops (LockLost) instead of paging on. When the last page is stored, the rows the run did not
see are deleted: they disappeared from the ERP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from actors.errors import SyncCancelled, SyncPreempted
from actors.job import Job
from archibot.operations import operation_type

#: Rows per grid page: big enough for few callbacks, small enough for Chromium's CPU.
DEFAULT_SYNC_PAGE_SIZE = 100


async def run_sync(job: Job, *, walker: Callable[..., Any]) -> dict[str, Any]:
    """Run (or resume) the sync with ``walker`` (its type's executor, erp.lists.iter_list);
    returns counts."""
    svc, state, op = job.svc, job.state, job.op
    view = operation_type(op.op_type).sync_view
    assert view is not None, f"{op.op_type} is a sync without a sync_view"
    resume = op.progress or {}
    run_id = str(resume.get("run_id") or uuid.uuid4())
    run_started_at = str(resume.get("run_started_at") or dt.datetime.now(dt.UTC).isoformat())
    start_page = int(resume.get("next_page", 0))
    rows_written = int(resume.get("rows", 0))
    pages_total = int(resume.get("pages_total", 0))
    next_page = start_page
    pages = walker(job.page, svc.settings.erp_base(), view,
                      page_size=DEFAULT_SYNC_PAGE_SIZE, start_page=start_page)
    # aclosing: a preempted sync puts the agent's list state back before the write runs.
    async with contextlib.aclosing(pages):
        async for list_page in pages:
            rows_written += await svc.db_call(svc.cache.upsert, view, op.agent, run_id, list_page.rows)
            pages_total = list_page.page_count
            next_page = list_page.page_index + 1
            progress = {"run_id": run_id, "run_started_at": run_started_at, "pages_done": next_page, "pages_total": pages_total,
                        "next_page": next_page, "rows": rows_written}
            await job.progress(progress)
            # A holder paused past its lease (SIGSTOP) does not page on under a lost lease.
            await svc.lock.check(job.lease)
            if next_page < pages_total and await svc.db_call(svc.claims.cancel_requested, op.id):
                raise SyncCancelled(progress)
            if next_page < pages_total and (
                state.stopping or await svc.db_call(svc.claims.has_waiting_write, op.agent)
            ):
                raise SyncPreempted(progress)
    removed = await svc.db_call(svc.cache.finish_run, view, op.agent, run_id, run_started_at)
    return {"rows": rows_written, "pages": pages_total, "removed": removed, "resumed_at_page": start_page}
