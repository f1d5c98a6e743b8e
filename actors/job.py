"""One attempt of one operation: what an executor sees (:class:`Job`, the erp layer's hooks)
and what the runtime knows of it while deciding how it ends (:class:`Attempt`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from actors.errors import NotCommitted
from actors.faults import maybe_crash
from actors.lock import Lease
from actors.services import Services, WorkerState
from store.rows import Operation
from store.states import Phase


@dataclass
class Attempt:
    """A claimed operation being run here: its services, its lease, what its claim found."""

    svc: Services
    state: WorkerState
    op: Operation
    lease: Lease
    #: Claims whose worker died under the operation, this one's included.
    deaths: int = 0
    #: How long the operation has been failing transiently (its retry budget's clock).
    spent_s: float = 0.0
    #: Keep the in-flight mark (the lease passed on: the new holder must see a death).
    keep_mark: bool = False


@dataclass
class Job:
    """One attempt of one operation, as an executor sees it (implements erp Hooks)."""

    svc: Services
    state: WorkerState
    op: Operation
    lease: Lease
    page: Any
    reconcile: bool
    reached_commit: bool = field(default=False)
    #: Only look for the effect of earlier attempts: reaching the save means there is none.
    verify_only: bool = field(default=False)

    async def before_commit(self) -> None:
        """Re-check the lease and journal ``about_to_commit`` before the irreversible click."""
        if self.verify_only:
            raise NotCommitted(f"operation {self.op.id}: no trace of an earlier save in the ERP")
        await self.svc.lock.check(self.lease)
        if self.state.stopping and self.op.id in self.state.handing_back:
            raise asyncio.CancelledError()
        self.state.committing.add(self.op.id)
        self.reached_commit = True
        await self.svc.db_call(self.svc.claims.set_phase, self.op, Phase.ABOUT_TO_COMMIT)
        # The journal's write has no time limit (a slow PostgreSQL, busy database threads): the
        # click goes out only while the lease is still confirmed recently — else Redis is asked
        # again, and a lease lost meanwhile raises LockLost here, before anything is clicked.
        await self.svc.lock.check(self.lease)
        maybe_crash(self.svc.settings, self.op, "before_click")

    async def after_click(self) -> None:
        """The irreversible click was dispatched; its response is not in yet."""
        maybe_crash(self.svc.settings, self.op, "after_click")

    async def checkpoint(self, point: str) -> None:
        """A named point of an order write (``after_line_1``, ``before_save_close``)."""
        maybe_crash(self.svc.settings, self.op, point)

    @property
    def dom_node_budget(self) -> int:
        """Reload an order form past this many DOM nodes (``ARCHIBOT_DOM_NODE_BUDGET``)."""
        return self.svc.settings.dom_node_budget

    async def committed(self) -> None:
        """Journal that the ERP holds the effect."""
        maybe_crash(self.svc.settings, self.op, "before_journal")
        await self.svc.db_call(self.svc.claims.set_phase, self.op, Phase.ERP_COMMITTED)

    async def progress(self, info: dict[str, Any]) -> None:
        """Journal progress."""
        await self.svc.db_call(self.svc.claims.set_progress, self.op, info)

    async def store_document(self, content: bytes, filename: str, content_type: str) -> str:
        """Keep a document the ERP made (once, by its content), linked to this operation;
        returns its id (``GET /v1/documents/{id}``)."""
        await self.svc.lock.check(self.lease)
        doc = await self.svc.db_call(self.svc.documents.store, content, filename, content_type, self.op.id)
        return str(doc.id)

    async def cache_record(self, entity: str, key: str, data: dict[str, Any]) -> None:
        """Keep one record read from the ERP in the cache (``customer_records``)."""
        await self.svc.lock.check(self.lease)
        await self.svc.db_call(self.svc.cache.put_record, entity, self.op.agent, key, data)
