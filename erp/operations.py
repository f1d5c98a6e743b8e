"""Each write operation's do + check-before-retry, on top of the page objects.

The caller (the actors layer) passes `hooks`: `before_commit()` right before every
irreversible click (re-checks its lock; raising aborts without saving) — for orders that is
each line's UpdateEdit too, since a line commits in the ERP at once (FACTS §2.11) —
`committed()` once the ERP holds the effect, `progress(info)` between steps, and optionally
`after_click()` right after the final save's click was dispatched, `checkpoint(name)` at
named points of an order write (``after_line_1``, ``before_save_close``; test hooks) and
`dom_node_budget` (reload the order form past that many DOM nodes).

Each operation is safe to retry: with `reconcile` it first looks in the ERP for the
effect of an earlier attempt (edit-order and update-customer always compare first).
A batch delete-order / send-to-verona (`orders`) classifies every order in the list first,
so any attempt ticks only what is still to do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from erp import customer_reads, customers, orders
from erp import selectors as sel
from erp.errors import ErpRejected
from erp.order_form import DEFAULT_DOM_NODE_BUDGET
from erp.orders import BatchRun, ListedOrder, NewOrder, OrderLine, find_order_by_marker
from erp.orders import submit_order as submit_new_order

CUSTOMER_FIELDS = (
    "name", "vat_number", "street", "zip", "city", "email", "phone", "fiscal_code",
    "sdi", "mobile", "delivery_mode", "payment_terms", "price_group",
)


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
    lines = lines_from_payload(payload)
    try:
        return NewOrder(
            customer=str(payload["customer"]),
            lines=lines,
            notes=payload.get("notes"),
            delivery_date=payload.get("delivery_date"),
            discount=None if payload.get("discount") is None else float(payload["discount"]),
            delivery_address=payload.get("delivery_address") or None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ErpRejected(f"malformed submit-order payload: {exc!r}", field="payload") from exc


async def submit_order(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Create the order once: when `reconcile`, first look for the marker of an earlier attempt."""
    marker = marker_for(op_id)
    order = order_from_payload(payload)

    async def on_progress(step: str) -> None:
        await hooks.progress({"step": step})

    if reconcile:
        found = await find_order_by_marker(page, erp_url, marker)
        if found is not None:
            # An earlier attempt's order, maybe partial (it exists from its first line):
            # completed to the request through the edit path, then read back.
            if order.delivery_address is not None:
                address = await customer_reads.check_orderable(
                    page, erp_url, order.customer, order.delivery_address, refuse_blocked=False
                )
                order = dataclasses.replace(order, delivery_address=address)
            await orders.complete_order(
                page,
                erp_url,
                found,
                order,
                marker,
                before_commit=hooks.before_commit,
                after_click=_after_click(hooks),
                checkpoint=_checkpoint(hooks),
                on_progress=on_progress,
            )
            await hooks.committed()
            return {"order_id": found, "reconciled": True}

    # A customer blocked completely takes no order, an address it lacks none either: both
    # refused before anything is entered.
    address = await customer_reads.check_orderable(
        page, erp_url, order.customer, order.delivery_address
    )
    if address is not None:
        order = dataclasses.replace(order, delivery_address=address)
    await on_progress(f"customer {order.customer} takes orders")
    order_id = await submit_new_order(
        page,
        erp_url,
        order,
        marker=marker,
        before_commit=hooks.before_commit,
        on_progress=on_progress,
        after_click=_after_click(hooks),
        checkpoint=_checkpoint(hooks),
        dom_node_budget=_dom_node_budget(hooks),
    )
    await hooks.committed()
    return {"order_id": order_id}


def _after_click(hooks: Any) -> Any:
    return getattr(hooks, "after_click", None)


def _checkpoint(hooks: Any) -> Any:
    return getattr(hooks, "checkpoint", None)


def _dom_node_budget(hooks: Any) -> int:
    return int(getattr(hooks, "dom_node_budget", None) or DEFAULT_DOM_NODE_BUDGET)


def _order_id(payload: dict[str, Any]) -> str:
    order = payload.get("order")
    if not isinstance(order, (str, int)) or not str(order).replace(".", "").strip().isdigit():
        raise ErpRejected(f"payload field 'order' must be an ERP order id, got {order!r}", "order")
    return str(order).replace(".", "").strip()


def lines_from_payload(payload: dict[str, Any]) -> tuple[OrderLine, ...]:
    """The payload's `lines` as OrderLines; ErpRejected names a malformed field."""
    try:
        return tuple(
            OrderLine(
                article=str(line["article"]),
                quantity=float(line["quantity"]),
                discount=None if line.get("discount") is None else float(line["discount"]),
                variant=line.get("variant"),
            )
            for line in payload["lines"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ErpRejected(f"malformed lines: {exc!r}", field="lines") from exc


async def edit_order(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Make the order's lines (and notes) as in the payload; always a diff, so retries are safe."""
    order_id = _order_id(payload)

    async def on_progress(step: str) -> None:
        await hooks.progress({"step": step})

    changed = await orders.apply_order_edit(
        page,
        erp_url,
        order_id,
        lines_from_payload(payload),
        notes=payload.get("notes"),
        before_commit=hooks.before_commit,
        after_click=_after_click(hooks),
        checkpoint=_checkpoint(hooks),
        on_progress=on_progress,
        dom_node_budget=_dom_node_budget(hooks),
    )
    await hooks.committed()
    return {"order_id": order_id} if changed else {"order_id": order_id, "unchanged": True}


async def delete_order(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Delete the order; with `reconcile`, an order already gone counts as done. A payload
    with `orders` is a batch: one list action for all of them (`_batch`)."""
    if "orders" in payload:
        return await _batch(page, erp_url, payload, BATCH_DELETE, reconcile=reconcile, hooks=hooks)
    order_id = _order_id(payload)
    if reconcile and await orders.read_order(page, erp_url, order_id) is None:
        await hooks.committed()
        return {"order_id": order_id, "already_gone": True}
    await orders.delete_order(
        page,
        erp_url,
        order_id,
        before_commit=hooks.before_commit,
        after_click=_after_click(hooks),
    )
    await hooks.committed()
    return {"order_id": order_id}


async def send_to_verona(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Send the order to Verona; with `reconcile`, an order already sent is done (its SALESID).
    A payload with `orders` is a batch: one list action for all of them (`_batch`)."""
    if "orders" in payload:
        return await _batch(page, erp_url, payload, BATCH_SEND, reconcile=reconcile, hooks=hooks)
    order_id = _order_id(payload)
    if reconcile:
        snapshot = await orders.read_order(page, erp_url, order_id)
        if snapshot is not None and snapshot.sent:
            await hooks.committed()
            return {"order_id": order_id, "sales_id": snapshot.sales_id, "reconciled": True}
    sales_id = await orders.send_to_verona(
        page,
        erp_url,
        order_id,
        before_commit=hooks.before_commit,
        after_click=_after_click(hooks),
    )
    await hooks.committed()
    return {"order_id": order_id, "sales_id": sales_id}


@dataclass(frozen=True)
class BatchAction:
    """What differs between a batch delete and a batch send."""

    name: str
    tool: tuple[str, ...]
    #: The result's list of orders now in the wanted state ("deleted", "sent").
    done: str
    #: Outcomes of an order this batch acted on, and of one already in the wanted state.
    acted: str
    already: str


BATCH_DELETE = BatchAction("delete", sel.DELETE_TOOL, "deleted", "deleted", "already_gone")
BATCH_SEND = BatchAction("send to Verona", sel.SEND_TOOL, "sent", "sent", "already_sent")


def batch_order_ids(payload: dict[str, Any]) -> list[str]:
    """The batch's `orders` as ERP ids without separators, in order, each once; ErpRejected
    names a malformed entry (the runtime has already resolved submit-order op ids)."""
    orders = payload.get("orders")
    if not isinstance(orders, list) or not orders:
        raise ErpRejected(f"payload field 'orders' must be a non-empty list, got {orders!r}", "orders")
    ids: list[str] = []
    for n, order in enumerate(orders):
        text = str(order).replace(".", "").replace(",", "").strip()
        if not isinstance(order, (str, int)) or not text.isdigit():
            raise ErpRejected(f"orders[{n}] must be an ERP order id, got {order!r}", f"orders[{n}]")
        if text not in ids:
            ids.append(text)
    return ids


def _shown(row: ListedOrder) -> dict[str, Any]:
    shown: dict[str, Any] = {"transfer_status": row.transfer_status}
    if row.sales_id:
        shown["sales_id"] = row.sales_id
    return shown


def plan_batch(
    action: BatchAction, ids: list[str], listed: dict[str, ListedOrder], *, reconcile: bool
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """(the orders to tick, the outcome of each other order), from the list before acting.

    Not in the agent's list: ``not_found`` — for a delete under `reconcile`, ``already_gone``
    instead, since an earlier attempt may have deleted it (the list cannot tell the two
    apart). Already sent: ``already_sent`` for a send; for a delete ``failed`` (the ERP
    deletes no sent order). Neither ticked: the ERP refuses a whole action that holds one
    order it will not act on, and nothing is ever sent or deleted twice.
    """
    tick: list[str] = []
    known: dict[str, dict[str, Any]] = {}
    for order_id in ids:
        row = listed.get(order_id)
        if row is None:
            gone = action is BATCH_DELETE and reconcile
            known[order_id] = {"outcome": "already_gone" if gone else "not_found"}
        elif row.sent and action is BATCH_SEND:
            known[order_id] = {"outcome": "already_sent", **_shown(row)}
        elif row.sent:
            reason = "already sent to Verona: the ERP deletes no sent order"
            known[order_id] = {"outcome": "failed", "reason": reason, **_shown(row)}
        else:
            tick.append(order_id)
    return tick, known


def judge_batch(
    action: BatchAction, run: BatchRun
) -> dict[str, dict[str, Any]]:
    """Each ticked order's own outcome, from the list read after the action: a send happened
    when its transfer status left "Modifica", a delete when the list no longer shows it.
    Otherwise ``failed``, with what the list shows and the ERP's message."""
    message = " ".join(run.messages)
    outcomes: dict[str, dict[str, Any]] = {}
    for order_id in run.ticked:
        row = run.after.get(order_id)
        if action is BATCH_DELETE and row is None:
            outcomes[order_id] = {"outcome": "deleted"}
        elif action is BATCH_SEND and row is not None and row.sent:
            outcomes[order_id] = {"outcome": "sent", **_shown(row)}
        else:
            failed: dict[str, Any] = {"outcome": "failed"}
            failed.update(_shown(row) if row is not None else {"reason": "no longer listed"})
            if message:
                failed["erp_message"] = message
            outcomes[order_id] = failed
    return outcomes


async def _batch(
    page: Any,
    erp_url: str,
    payload: dict[str, Any],
    action: BatchAction,
    *,
    reconcile: bool,
    hooks: Hooks,
) -> dict[str, Any]:
    """Many orders in one list action: find them in one pass over the list, tick those still
    to do together, one confirm, then check each one's own outcome in the list.

    The operation is done once the action ran and the list was read again, whatever each
    order's outcome: the result says per order what the ERP shows (``orders[id].outcome``);
    a failed order is reported, never retried by the operation — a retry could not know
    whether the main app still wants it. Server failures are transient: the retry
    (`reconcile`) classifies the list afresh, so only what is still to do is ticked.
    `sent`/`deleted` list the orders now in the wanted state (by this action, an earlier
    attempt, or before it).
    """
    ids = batch_order_ids(payload)
    known: dict[str, dict[str, Any]] = {}

    def choose(listed: dict[str, ListedOrder]) -> list[str]:
        tick, others = plan_batch(action, ids, listed, reconcile=reconcile)
        known.update(others)
        return tick

    async def on_progress(step: str) -> None:
        await hooks.progress({"step": step})

    run = await orders.act_on_orders(
        page,
        erp_url,
        ids,
        action.tool,
        f"{action.name} {len(ids)} orders",
        choose,
        before_commit=hooks.before_commit,
        after_click=_after_click(hooks),
        on_progress=on_progress,
    )
    known.update(judge_batch(action, run))
    await hooks.committed()
    outcomes = {order_id: known[order_id] for order_id in ids}

    def having(*names: str) -> list[str]:
        return [i for i in ids if outcomes[i]["outcome"] in names]

    return {
        action.done: having(action.acted, action.already),
        "not_found": having("not_found"),
        "failed": having("failed"),
        "orders": outcomes,
    }


def customer_from_payload(payload: dict[str, Any]) -> customers.NewCustomer:
    """The `create-customer` payload as a NewCustomer; ErpRejected names a missing field."""
    for name in ("name", "vat_number", "street", "zip", "city"):
        if not str(payload.get(name) or "").strip():
            raise ErpRejected(f"payload field {name!r} is required", field=name)
    values = {
        name: None if payload.get(name) is None else str(payload[name]).strip()
        for name in CUSTOMER_FIELDS
    }
    return customers.NewCustomer(**values)  # type: ignore[arg-type]


async def create_customer(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Create the customer; with `reconcile`, a customer with this VAT and name is ours."""
    new = customer_from_payload(payload)
    if reconcile:
        found = await customers.find_customer_by_vat(page, erp_url, new.vat_number)
        if found is not None:
            if found.name.strip().casefold() != new.name.casefold():
                raise ErpRejected(
                    f"Il numero IVA è già utilizzato dal cliente con ID: {found.account}",
                    field="vat_number",
                )
            await hooks.committed()
            return {"customer_id": found.id, "account": found.account, "reconciled": True}
    created = await customers.create_customer(
        page, erp_url, new, before_commit=hooks.before_commit, after_click=_after_click(hooks)
    )
    await hooks.committed()
    return {"customer_id": created.id, "account": created.account}


async def update_customer(
    page: Any, erp_url: str, payload: dict[str, Any], *, op_id: str, reconcile: bool, hooks: Hooks
) -> dict[str, Any]:
    """Write only the fields that differ; nothing to change means no save (retries are safe)."""
    customer = str(payload.get("customer") or "").strip()
    fields = payload.get("fields")
    if not customer:
        raise ErpRejected("payload field 'customer' is required", field="customer")
    if not isinstance(fields, dict) or not fields:
        raise ErpRejected("payload field 'fields' must be a non-empty object", field="fields")
    snapshot, changed = await customers.update_customer_changes(
        page,
        erp_url,
        customer,
        {str(k): str(v) for k, v in fields.items()},
        before_commit=hooks.before_commit,
        after_click=_after_click(hooks),
    )
    await hooks.committed()
    result: dict[str, Any] = {"customer_id": snapshot.id, "account": snapshot.account}
    if not changed:
        result["unchanged"] = True
    return result
