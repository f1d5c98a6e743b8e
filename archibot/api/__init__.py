"""The HTTP API: the main app's door in any language, with a dashboard, health and metrics.

FastAPI on Starlette, served by uvicorn: the Python ecosystem's convention for a JSON
API. Its request models are the same pydantic models the rest of Archibot uses, it
publishes OpenAPI (``/openapi.json``, a docs page at ``/docs``) from them, and it runs
blocking store calls (psycopg, redis) on a thread pool next to async streams (SSE).

It sits above ``store`` and beside ``archibot.client`` — operations go through
:class:`archibot.client.Client` (one ``send``, one validation, one idempotency rule) —
and never imports ``actors``: it reads the Redis keys the workers write
(:mod:`archibot.keys`) and the journal.

    app        the application factory and its lifespan (services, listeners)
    routes     /v1 operations and agents
    health     /healthz, /readyz, /metrics
    auth       bearer tokens and the dashboard's cookie
    notify     one LISTEN archibot_ops connection fanned out to subscribers
    sse        the Server-Sent Events stream of an operation
    webhooks   the signed, retried, journaled delivery of terminal statuses
    metrics    the Prometheus collector (from PostgreSQL and Redis at scrape time)
    dashboard  the server-rendered page at /
    models     request and response models
"""
