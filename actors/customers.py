"""Customer actors: create and update. Thin: the runtime does the work."""

from __future__ import annotations

from actors.broker import operation_actor
from actors.runtime import run_message


@operation_actor
async def create_customer(op_id: str) -> None:
    """Create a customer (``create-customer``)."""
    await run_message(op_id)


@operation_actor
async def update_customer(op_id: str) -> None:
    """Change a customer's fields (``update-customer``)."""
    await run_message(op_id)
