"""Order actors: submit, edit, delete, send to Verona. Thin: the runtime does the work."""

from __future__ import annotations

from actors.broker import operation_actor
from actors.runtime import run_message


@operation_actor
async def submit_order(op_id: str) -> None:
    """Create an order in the ERP (``submit-order``)."""
    await run_message(op_id)


@operation_actor
async def edit_order(op_id: str) -> None:
    """Make an order's lines what the payload says (``edit-order``)."""
    await run_message(op_id)


@operation_actor
async def delete_order(op_id: str) -> None:
    """Delete an order not yet sent (``delete-order``)."""
    await run_message(op_id)


@operation_actor
async def send_to_verona(op_id: str) -> None:
    """Send an order to Verona — irreversible (``send-to-verona``)."""
    await run_message(op_id)
