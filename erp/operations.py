"""Each write operation's do + check-before-retry, on top of the page objects.

The caller (the actors layer) passes `hooks`: `before_commit()` right before the
irreversible click (re-checks its lock; raising aborts without saving), `committed()`
once the ERP holds the effect, and `progress(info)` between steps.
"""

from __future__ import annotations

from typing import Any, Protocol

from erp.errors import ErpRejected
from erp.orders import NewOrder, OrderLine, find_order_by_marker
from erp.orders import submit_order as submit_new_order


class Hooks(Protocol):
    """What an operation calls back into while it runs."""

    async def before_commit(self) -> None: ...

    async def committed(self) -> None: ...

    async def progress(self, info: dict[str, Any]) -> None: ...


def marker_for(op_id: str) -> str:
    """The marker written into the ERP record: "AB-" + the op id without dashes (≤ 40 chars)."""
    return "AB-" + op_id.replace("-", "")


def order_from_payload(payload: dict[str, Any]) -> NewOrder:
    """The `submit-order` payload as a NewOrder; ErpRejected names a malformed field."""
    try:
        lines = tuple(
            OrderLine(
                article=str(line["article"]),
                quantity=float(line["quantity"]),
                discount=None if line.get("discount") is None else float(line["discount"]),
                variant=line.get("variant"),
            )
            for line in payload["lines"]
        )
        return NewOrder(
            customer=str(payload["customer"]),
            lines=lines,
            notes=payload.get("notes"),
            delivery_date=payload.get("delivery_date"),
            discount=None if payload.get("discount") is None else float(payload["discount"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ErpRejected(f"malformed submit-order payload: {exc!r}", field="payload") from exc


async def submit_order(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Create the order once: when `reconcile`, first look for the marker of an earlier attempt."""
    marker = marker_for(op_id)
    order = order_from_payload(payload)
    if reconcile:
        found = await find_order_by_marker(page, erp_url, marker)
        if found is not None:
            await hooks.committed()
            return {"order_id": found, "reconciled": True}

    async def on_progress(step: str) -> None:
        await hooks.progress({"step": step})

    order_id = await submit_new_order(
        page,
        erp_url,
        order,
        marker=marker,
        before_commit=hooks.before_commit,
        on_progress=on_progress,
    )
    await hooks.committed()
    return {"order_id": order_id}
