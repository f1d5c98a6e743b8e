"""``/v1``: operations (send, read, list, cancel, follow) and agents (credentials, state)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from archibot.api import sse
from archibot.api.auth import require_token
from archibot.api.errors import Conflict, NotFound, Unavailable, Unprocessable
from archibot.api.models import (
    Agent,
    AgentCredentials,
    CancelResult,
    ErrorBody,
    Operation,
    OperationPage,
    OperationRequest,
)
from archibot.api.services import Services
from archibot.client import status_dict
from archibot.errors import (
    CannotCancel,
    IdempotencyConflict,
    InvalidOperation,
    ServiceUnavailable,
    UnknownOperation,
)
from archibot.keys import lock_key
from archibot.operations import OPERATION_TYPES, check_agent_name
from store.errors import DatabaseUnavailable
from store.states import STATUSES

DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 500

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or bad bearer token"},
    422: {"model": ErrorBody, "description": "bad input; `field` names it"},
}
router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], responses=_ERRORS)


def services(request: Request) -> Services:
    """The process's services (set up by the app's lifespan)."""
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


def _payload_field(field: str | None) -> str | None:
    """send's field names, as they sit in the request body."""
    if field is None:
        return None
    if field == "op_type":
        return "type"
    if field in ("agent", "idempotency_key"):
        return "Idempotency-Key" if field == "idempotency_key" else field
    return f"payload.{field}"


@router.post(
    "/operations",
    status_code=202,
    response_model=Operation,
    responses={
        200: {"model": Operation, "description": "the Idempotency-Key's operation, sent before"},
        409: {"model": ErrorBody, "description": "the Idempotency-Key was used for another request"},
    },
)
def create_operation(
    body: OperationRequest,
    response: Response,
    svc: Svc,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Send an operation: 202 and the new operation; 200 and the same operation when its
    Idempotency-Key comes back (within ARCHIBOT_IDEMPOTENCY_RETENTION_S, 24 h by default)."""
    try:
        operation, created = svc.client.submit(
            body.type, body.agent, body.payload, idempotency_key=idempotency_key
        )
    except InvalidOperation as exc:
        raise Unprocessable(str(exc), field=_payload_field(exc.field)) from exc
    except IdempotencyConflict as exc:
        raise Conflict(str(exc), field="Idempotency-Key") from exc
    except ServiceUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/operations/{operation['id']}"
    return operation


@router.get("/operations/{op_id}", response_model=Operation, responses={404: {"model": ErrorBody}})
def get_operation(op_id: str, svc: Svc) -> dict[str, Any]:
    """An operation: what ``archibot status OP_ID`` shows."""
    try:
        return svc.client.status(op_id)
    except UnknownOperation as exc:
        raise NotFound(str(exc)) from exc


@router.get(
    "/documents/{document_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the document's bytes"},
               404: {"model": ErrorBody}},
)
def get_document(document_id: str, svc: Svc) -> Response:
    """A document a reading operation fetched from the ERP (its ``result.document_id``), with its
    ``Content-Type`` and ``Content-Disposition: attachment; filename=…``."""
    try:
        found = svc.client.documents.content(document_id)
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    if found is None:
        raise NotFound(f"no document {document_id!r} (unknown, or past its retention)")
    doc, content = found
    return Response(
        content=content,
        media_type=doc.content_type,
        headers={"Content-Disposition": _attachment(doc.filename),
                 "X-Content-SHA256": doc.sha256, "Cache-Control": "private, max-age=86400"},
    )


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for a download: an ASCII name, and the exact one (RFC 6266)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/operations", response_model=OperationPage)
def list_operations(
    svc: Svc,
    agent: str | None = None,
    status: str | None = None,
    type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)] = DEFAULT_PAGE_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Operations newest first, filtered; follow ``next_cursor`` for older ones."""
    if status is not None and status not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}, not {status!r}", field="status")
    if type is not None and type not in OPERATION_TYPES:
        raise Unprocessable(f"type must be one of {', '.join(OPERATION_TYPES)}, not {type!r}", field="type")
    before: int | None = None
    if cursor is not None:
        if not cursor.isdigit():
            raise Unprocessable(f"cursor must be a next_cursor this API returned, not {cursor!r}", field="cursor")
        before = int(cursor)
    rows = svc.client.reports.find(
        agent=agent, status=status, op_type=type, limit=limit + 1, before_seq=before
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "operations": [status_dict(r) for r in rows],
        "next_cursor": str(rows[-1].seq) if more and rows else None,
    }


@router.post(
    "/operations/{op_id}/cancel",
    response_model=CancelResult,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody, "description": "ended, or a write under way"}},
)
def cancel_operation(op_id: str, svc: Svc) -> dict[str, Any]:
    """Cancel: a queued operation ends ``cancelled``; a running sync stops at its next page
    (``cancelling``); a running write cannot be taken back (409)."""
    try:
        outcome = svc.client.cancel(op_id)
    except UnknownOperation as exc:
        raise NotFound(str(exc)) from exc
    except CannotCancel as exc:
        raise Conflict(str(exc)) from exc
    return {"outcome": outcome, "operation": svc.client.status(op_id)}


@router.get(
    "/operations/{op_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "status events until terminal"}},
)
def operation_events(op_id: str, request: Request, svc: Svc) -> StreamingResponse:
    """Server-Sent Events: ``status`` with the whole operation at each change of status or
    progress, pushed by PostgreSQL LISTEN/NOTIFY; the stream ends after a terminal one."""
    if svc.client.journal.get(op_id) is None:
        raise NotFound(f"no operation {op_id!r} in the journal")
    return StreamingResponse(
        sse.operation_stream(request, svc.hub, op_id, svc.read_status),
        media_type="text/event-stream", headers=sse.HEADERS,
    )


@router.get("/events", response_class=StreamingResponse)
def all_events(request: Request, svc: Svc) -> StreamingResponse:
    """Server-Sent Events: ``change`` ``{id, agent, status}`` for every operation (the dashboard's feed)."""
    return StreamingResponse(sse.all_changes_stream(request, svc.hub), media_type="text/event-stream",
                             headers=sse.HEADERS)


@router.put("/agents/{agent}", response_model=Agent)
def put_agent(agent: str, body: AgentCredentials, svc: Svc) -> dict[str, Any]:
    """Store (or replace) an agent's ERP credentials; the password is encrypted at rest."""
    try:
        check_agent_name(agent)
    except InvalidOperation as exc:
        raise Unprocessable(str(exc), field="agent") from None
    try:
        svc.client.agents.add(agent, body.password, username=body.username)
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    return next(a for a in agent_states(svc) if a["agent"] == agent)


@router.get("/agents", response_model=list[Agent])
def list_agents(svc: Svc) -> list[dict[str, Any]]:
    """Every agent: busy or free, queue depth, the running operation, last login, logins today."""
    return agent_states(svc)


def agent_states(svc: Services) -> list[dict[str, Any]]:
    """Each agent's state, from the journal, the logins and the leases in Redis."""
    overview = svc.client.agents.overview()
    queues = svc.client.reports.agent_queues()
    logins = svc.client.logins()
    names = [str(a["agent"]) for a in overview]
    leases = svc.redis.mget([lock_key(n) for n in names]) if names else []
    states = []
    for row, lease in zip(overview, leases, strict=True):
        name = str(row["agent"])
        queue = queues.get(name)
        last_login = row["last_login"]
        states.append({
            "agent": name,
            "username": row["erp_username"],
            "state": "busy" if lease is not None else "free",
            "queue_depth": queue.depth if queue is not None else 0,
            "current": queue.current if queue is not None else None,
            "last_login": last_login.isoformat() if last_login is not None else None,
            "logins_today": int(row["logins_today"]),
            "logins_in_window": logins["agents"].get(name, {}).get("in_window", 0),
            "login_budget": logins["budget_per_day"],
            "login_budget_left": logins["budgets"].get(name, {}).get("left"),
            "login_budget_spent_until": logins["budgets"].get(name, {}).get("spent_until"),
            "waiting_for_login": queue.waiting if queue is not None else None,
        })
    return states
