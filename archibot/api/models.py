"""The API's request and response bodies (pydantic; they make the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from archibot.operations import ORDER_CREATING_TYPE


class OperationRequest(BaseModel):
    """``POST /v1/operations``: what to do, for whom. The payload is validated per type."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description=f"the operation type, e.g. {ORDER_CREATING_TYPE}",
                      examples=[ORDER_CREATING_TYPE])
    agent: str = Field(description="the agent whose ERP account runs it")
    payload: dict[str, Any] = Field(default_factory=dict, description="the type's payload")


class DocumentInfo(BaseModel):
    """A document fetched from the ERP, stored once by its content."""

    document_id: str
    sha256: str
    filename: str
    content_type: str
    bytes: int


class Operation(BaseModel):
    """An operation as the journal holds it."""

    id: str
    type: str
    op_type: str
    agent: str
    status: str = Field(description="queued, running, done, failed or cancelled")
    phase: str | None
    payload: dict[str, Any]
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    requeues: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    waiting: dict[str, Any] | None = Field(
        None, description="what a queued operation waits for, e.g. {for: login_budget, until, "
                          "message: 'waiting for the login budget until …'}")
    documents: list[DocumentInfo] | None = Field(
        None, description="the documents a reading operation fetched (GET /v1/documents/{id}); "
                          "only on GET /v1/operations/{id}")


class OperationPage(BaseModel):
    """A page of operations, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    operations: list[Operation]
    next_cursor: str | None


class CancelResult(BaseModel):
    """What cancelling did: ``cancelled`` now, or ``cancelling`` (a sync stops at its next page)."""

    outcome: str
    operation: Operation


class AgentCredentials(BaseModel):
    """``PUT /v1/agents/{agent}``: the agent's ERP account."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(default=None, description="the ERP account name (default: the agent)")
    password: str = Field(min_length=1, max_length=200)


class CurrentOperation(BaseModel):
    """The operation an agent is running."""

    id: str
    type: str
    progress: dict[str, Any] | None


class Agent(BaseModel):
    """An agent's state — never a password or a cookie."""

    agent: str
    username: str
    state: str = Field(description="busy (a worker holds its lease) or free")
    queue_depth: int = Field(description="operations queued or running")
    current: CurrentOperation | None
    last_login: str | None
    logins_today: int
    logins_in_window: int = Field(
        0, description="ERP logins in the login budget's window (ARCHIBOT_LOGIN_BUDGET_WINDOW_S)")
    login_budget: int = Field(
        0, description="ERP logins allowed per agent per window (ARCHIBOT_LOGIN_BUDGET_PER_DAY; 0: none)")
    login_budget_left: int | None = Field(
        None, description="ERP logins left in the agent's budget now (since the window's start or "
                          "the newest reset; null: no budget)")
    login_budget_spent_until: str | None = Field(
        None, description="set while the agent's budget is spent: when it lets a login through "
                          "again (archibot logins --reset AGENT gives it back)")
    waiting_for_login: dict[str, Any] | None = Field(
        None, description="the agent's oldest operation waiting for the login budget: "
                          "op_id, until, message")


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str
    detail: str
    field: str | None = None
