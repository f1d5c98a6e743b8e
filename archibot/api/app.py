"""The application factory: ``create_app(settings)``, and ``serve`` for ``archibot api``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archibot.api import dashboard, health, routes
from archibot.api.errors import ApiError
from archibot.api.services import Services
from archibot.operations import OPERATION_TYPES
from archibot.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def create_app(settings: Settings) -> FastAPI:
    """The API, its dashboard and its health endpoints, on ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services(settings)
        app.state.services = services
        app.state.metrics_registry = health.metrics_registry(services)
        await services.start()
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Archibot",
        version="1",
        summary="Browser automation against the Archibald ERP, for many sales agents.",
        description=(
            f"Send operations ({', '.join(OPERATION_TYPES)}) for an agent, follow them "
            "(GET, Server-Sent Events, webhooks), cancel queued ones. Every /v1 and /metrics "
            "request needs `Authorization: Bearer TOKEN`."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.include_router(routes.router)
    app.include_router(health.router)
    app.include_router(dashboard.router)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(_error_body(exc.code, exc.detail, exc.field), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or None
        detail = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return JSONResponse(_error_body("invalid", detail, field), 422)

    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus each operation type's payload model (from the registry)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                         description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    by_type: dict[str, dict[str, str]] = {}
    for name, kind in OPERATION_TYPES.items():
        model_schema = kind.model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[kind.model.__name__] = model_schema
        by_type[name] = {"$ref": f"#/components/schemas/{kind.model.__name__}"}
    request = components["OperationRequest"]["properties"]
    request["type"]["enum"] = list(OPERATION_TYPES)
    request["payload"] = {
        "description": "the payload of `type`: see x-archibot-payloads for which schema applies",
        "oneOf": list({ref["$ref"]: ref for ref in by_type.values()}.values()),
    }
    schema["x-archibot-payloads"] = by_type
    app.openapi_schema = schema
    return schema


def _error_body(code: str, detail: str, field: str | None) -> dict[str, Any]:
    return {"error": code, "detail": detail, "field": field}


class BodyLimit:
    """413 for a request body above ``max_bytes`` — by Content-Length, or counted as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        seen = 0
        answered = False

        async def guarded_send(message: Message) -> None:
            if not answered:  # after our 413, whatever the app still says is dropped
                await send(message)

        async def counted() -> Message:
            nonlocal seen, answered
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not answered:
                    await self._too_large(send)
                    answered = True
                    return {"type": "http.disconnect"}  # the app stops reading
            return message

        await self.app(scope, counted, guarded_send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse(
            _error_body("too_large", f"the request body is larger than {self.max_bytes} bytes", None), 413
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def serve(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Run the API under uvicorn until SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_config=None,
                proxy_headers=True, timeout_graceful_shutdown=10)
