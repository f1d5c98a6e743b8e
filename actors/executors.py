"""What each operation type runs: an erp operation (writes) or a sync, behind one signature.

Writes that reference an order accept the ERP order id or the op id of the
``submit-order`` that created it; the reference is resolved here, when the
operation runs (per-agent FIFO guarantees the submit ran first).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from actors.errors import DependencyFailed
from actors.sync_runner import SYNC_VIEWS, run_sync
from archibot.operations import OPERATION_TYPES, operation_type
from erp import operations as erp_ops
from erp.errors import ErpRejected

if TYPE_CHECKING:
    from actors.runtime import Job

Executor = Callable[["Job"], Awaitable[dict[str, Any]]]
ErpOperation = Callable[..., Awaitable[dict[str, Any]]]

_WRITES: dict[str, ErpOperation] = {
    "submit-order": erp_ops.submit_order,
    "edit-order": erp_ops.edit_order,
    "delete-order": erp_ops.delete_order,
    "send-to-verona": erp_ops.send_to_verona,
    "create-customer": erp_ops.create_customer,
    "update-customer": erp_ops.update_customer,
}


async def _check_dependencies(job: Job, ref: str) -> None:
    """Fail at once if an earlier write of the agent on the same order failed.

    The main app sent this write on top of that one ("submit, then send to Verona"); after
    the earlier failed it would act on a state the main app did not intend.
    """
    ctx, op = job.ctx, job.op
    refs = [ref]
    if _is_op_id(ref):
        done = await ctx.db_call(ctx.journal.result_of, ref)
        if done and done.get("order_id"):
            refs.append(str(done["order_id"]))
    else:
        submit = await ctx.db_call(ctx.journal.submit_of_order, op.agent, ref)
        if submit:
            refs.append(submit)
    failed = await ctx.db_call(ctx.journal.failed_write_on_order, op.id, op.agent, refs)
    if failed is not None:
        raise DependencyFailed(
            f"not attempted: the earlier {failed['op_type']} {failed['id']} on order {ref} "
            f"failed ({failed['error']}); send this {op.op_type} again if it is still wanted"
        )


def _is_op_id(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


async def _resolve_order(job: Job, payload: dict[str, Any]) -> dict[str, Any]:
    ref = str(payload.get("order", ""))
    await _check_dependencies(job, ref)
    if not _is_op_id(ref):
        return payload  # an ERP order id
    row = await job.ctx.db_call(job.ctx.journal.get, ref)
    if row is None or row["status"] != "done" or not (row["result"] or {}).get("order_id"):
        state = "unknown" if row is None else row["status"]
        raise ErpRejected(
            f"the order is the submit-order {ref}, which is {state}, not done: there is no ERP order",
            field="order",
        )
    return {**payload, "order": str(row["result"]["order_id"])}


def _write(erp_operation: ErpOperation) -> Executor:
    async def run(job: Job) -> dict[str, Any]:
        # The journaled payload, read through its type's model (the one declaration of it).
        payload = operation_type(job.op.op_type).parse(job.op.payload).model_dump(exclude_none=True)
        if "order" in payload:
            payload = await _resolve_order(job, payload)
        return await erp_operation(
            job.page, job.ctx.settings.erp_base(), payload,
            op_id=job.op.id, reconcile=job.reconcile, hooks=job,
        )

    return run


EXECUTORS: dict[str, Executor] = {
    **{op_type: _write(fn) for op_type, fn in _WRITES.items()},
    **{op_type: run_sync for op_type in SYNC_VIEWS},
}
_missing = set(OPERATION_TYPES) ^ set(EXECUTORS)
if _missing:  # the registry and the workers must agree: fail at worker boot, not per message
    raise RuntimeError(f"operation types without an executor (or unknown): {sorted(_missing)}")
