"""Order actors: submit, edit, delete, send to Verona. Thin: the runtime does the work."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors import worker
from actors.broker import settings
from actors.errors import AgentBusy
from actors.runtime import handle

_OPTIONS = {"queue_name": settings.queue, "throws": (AgentBusy,)}


def _token(op_id: str) -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else op_id


@dramatiq.actor(**_OPTIONS)  # type: ignore[misc]
async def submit_order(op_id: str) -> None:
    """Create an order in the ERP (``submit-order``)."""
    await handle(worker.current(), op_id, _token(op_id))
