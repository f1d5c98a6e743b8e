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
from typing import TYPE_CHECKING, Any

from actors.errors import SyncCancelled, SyncPreempted
from archibot.operations import OPERATION_TYPES
from erp.lists import iter_list

if TYPE_CHECKING:
    from actors.runtime import Job

#: Rows per grid page: big enough for few callbacks, small enough for Chromium's CPU.
DEFAULT_SYNC_PAGE_SIZE = 100

#: The ERP list each sync type copies (from the registry of operation types).
SYNC_VIEWS = {name: t.sync_view for name, t in OPERATION_TYPES.items() if t.sync_view is not None}


async def run_sync(job: Job) -> dict[str, Any]:
    """Run (or resume) the sync; returns counts."""
    ctx, op = job.ctx, job.op
    view = SYNC_VIEWS[op.op_type]
    resume = op.progress or {}
    run_id = str(resume.get("run_id") or uuid.uuid4())
    run_started_at = str(resume.get("run_started_at") or dt.datetime.now(dt.UTC).isoformat())
    start_page = int(resume.get("next_page", 0))
    rows_written = int(resume.get("rows", 0))
    pages_total = int(resume.get("pages_total", 0))
    next_page = start_page
    pages = iter_list(job.page, ctx.settings.erp_base(), view,  # type: ignore[arg-type]
                      page_size=DEFAULT_SYNC_PAGE_SIZE, start_page=start_page)
    # aclosing: a preempted sync puts the agent's list state back before the write runs.
    async with contextlib.aclosing(pages):
        async for list_page in pages:
            rows_written += await ctx.db_call(ctx.cache.upsert, view, op.agent, run_id, list_page.rows)
            pages_total = list_page.page_count
            next_page = list_page.page_index + 1
            progress = {"run_id": run_id, "run_started_at": run_started_at, "pages_done": next_page, "pages_total": pages_total,
                        "next_page": next_page, "rows": rows_written}
            await job.progress(progress)
            # A holder paused past its lease (SIGSTOP) does not page on under a lost lease.
            await ctx.lock.check(job.lease)
            if next_page < pages_total and await ctx.db_call(ctx.journal.cancel_requested, op.id):
                raise SyncCancelled(progress)
            if next_page < pages_total and (
                ctx.stopping or await ctx.db_call(ctx.journal.has_waiting_write, op.agent)
            ):
                raise SyncPreempted(progress)
    removed = await ctx.db_call(ctx.cache.finish_run, view, op.agent, run_id, run_started_at)
    return {"rows": rows_written, "pages": pages_total, "removed": removed, "resumed_at_page": start_page}
