"""Customer actors: create and update. Thin: the runtime does the work."""

from __future__ import annotations

import dramatiq

from actors.broker import ACTOR_OPTIONS
from actors.runtime import run_message


@dramatiq.actor(**ACTOR_OPTIONS)  # type: ignore[misc]
async def create_customer(op_id: str) -> None:
    """Create a customer (``create-customer``)."""
    await run_message(op_id)


@dramatiq.actor(**ACTOR_OPTIONS)  # type: ignore[misc]
async def update_customer(op_id: str) -> None:
    """Change a customer's fields (``update-customer``)."""
    await run_message(op_id)
