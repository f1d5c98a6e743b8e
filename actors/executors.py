"""What each operation type runs, behind one signature: its registry entry's erp function,
resolved here (the registry names it as text so that the client never imports the erp layer).

A write's executor is called with ``(page, erp_url, payload, op_id=, reconcile=, hooks=)``,
a read's with ``(page, erp_url, payload, hooks=)``; a sync's is the list walker that
actors/sync_runner.py pages through. Types that reference orders (``order``, or a batch's
``orders``) accept ERP order ids or op ids of the ``submit-order`` that created them; each
reference is resolved here, when the operation runs (per-agent FIFO guarantees the submit
ran first).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from actors.errors import DependencyFailed
from actors.job import Job
from actors.sync_runner import run_sync
from archibot.operations import ORDER_CREATING_TYPE, Kind, OperationType, operation_type
from erp.errors import ErpRejected
from store.rows import is_uuid
from store.states import Status

Executor = Callable[[Job], Awaitable[dict[str, Any]]]
ErpOperation = Callable[..., Awaitable[dict[str, Any]]]


@functools.cache
def executor_for(kind: OperationType) -> Executor:
    """How the worker runs ``kind``: its erp function, wrapped for its kind of operation."""
    module, _, name = kind.executor.partition(":")
    function = getattr(importlib.import_module(module), name)
    if kind.kind is Kind.SYNC:
        # The list module's sentinel (newest MODIFIEDDATETIME) lets an unchanged list be skipped.
        sentinel = getattr(importlib.import_module(module), "newest_modified", None)
        return functools.partial(run_sync, walker=function, sentinel=sentinel)
    if kind.kind is Kind.READ:
        return _read(function)
    return _write(function)


async def _check_dependencies(job: Job, ref: str) -> None:
    """Fail at once if an earlier write of the agent on the same order failed.

    The main app sent this write on top of that one ("submit, then send to Verona"); after
    the earlier failed it would act on a state the main app did not intend.
    """
    svc, op = job.svc, job.op
    refs = [ref]
    if is_uuid(ref):
        done = await svc.db_call(svc.claims.result_of, ref)
        if done and done.get("order_id"):
            refs.append(str(done["order_id"]))
    else:
        submit = await svc.db_call(svc.claims.creator_of_order, op.agent, ref, ORDER_CREATING_TYPE)
        if submit:
            refs.append(submit)
    failed = await svc.db_call(svc.claims.failed_write_on_order, op.id, op.agent, refs)
    if failed is not None:
        raise DependencyFailed(
            f"not attempted: the earlier {failed['op_type']} {failed['id']} on order {ref} "
            f"failed ({failed['error']}); send this {op.op_type} again if it is still wanted"
        )


async def _erp_order_id(job: Job, ref: str, field: str) -> str:
    """The ERP order id ``ref`` names: itself, or the result of the submit-order it is."""
    if kind_of(job).is_write:
        await _check_dependencies(job, ref)
    if not is_uuid(ref):
        return ref  # an ERP order id
    row = await job.svc.db_call(job.svc.claims.get, ref)
    if row is None or row.status != Status.DONE or not (row.result or {}).get("order_id"):
        state = "unknown" if row is None else row.status
        raise ErpRejected(
            f"the order is the {ORDER_CREATING_TYPE} {ref}, which is {state}, not done: there is "
            "no ERP order",
            field=field,
        )
    return str(row.result["order_id"])


async def _resolve_orders(job: Job, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with every order reference (``order``, each of ``orders``) an ERP id."""
    if "order" in payload:
        return {**payload, "order": await _erp_order_id(job, str(payload["order"]), "order")}
    if "orders" in payload:
        ids = [await _erp_order_id(job, str(ref), f"orders[{i}]")
               for i, ref in enumerate(payload["orders"])]
        return {**payload, "orders": ids}
    return payload


def _payload(job: Job) -> dict[str, Any]:
    """The journaled payload, read through its type's model (the one declaration of it)."""
    return kind_of(job).parse(job.op.payload).model_dump(exclude_none=True)


def _write(erp_operation: ErpOperation) -> Executor:
    async def run(job: Job) -> dict[str, Any]:
        asked = _payload(job)
        payload = await _resolve_orders(job, asked)
        result = await erp_operation(
            job.page, job.svc.settings.erp_base(), payload,
            op_id=job.op.id, reconcile=job.reconcile, hooks=job,
        )
        refs = {ref: erp_id for ref, erp_id in zip(asked.get("orders", []), payload.get("orders", []))
                if ref != erp_id}
        return {**result, "refs": refs} if refs else result

    return run


def _read(erp_read: ErpOperation) -> Executor:
    """A read changes nothing in the ERP: no reconcile, no commit hooks; it may store documents
    and records through the job (its hooks)."""
    async def run(job: Job) -> dict[str, Any]:
        payload = await _resolve_orders(job, _payload(job))
        return await erp_read(job.page, job.svc.settings.erp_base(), payload, hooks=job)

    return run


def kind_of(job: Job) -> OperationType:
    """The registry entry of the job's operation."""
    return operation_type(job.op.op_type)
