"""Logging for every Archibot process: ``ARCHIBOT_LOG_LEVEL`` and ``ARCHIBOT_LOG_FORMAT``.

``text`` is one readable line per record; ``json`` is one JSON object per line
(stdlib logging with a small formatter: no extra dependency, and Dramatiq's and
periodiq's own loggers, which are stdlib loggers, come out the same way). A record
logged while an operation runs carries its ``op_id``, ``agent``, ``type``, ``attempt``
and ``fence`` from a context variable the runtime sets (:func:`operation_context`).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

from archibot.settings import Settings

#: The operation the current task is running (set by the runtime around each operation).
current_operation: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "archibot_operation", default=None
)
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: Loggers that talk too much below WARNING.
_QUIET = ("pyppeteer", "websockets", "urllib3")


@contextlib.contextmanager
def operation_context(**fields: Any) -> Iterator[None]:
    """Tag every log record inside the block with the operation's fields."""
    token = current_operation.set(fields)
    try:
        yield
    finally:
        current_operation.reset(token)


class OperationFilter(logging.Filter):
    """Copies the current operation's fields onto each record (``record.operation``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.operation = current_operation.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the operation's fields."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        operation = getattr(record, "operation", None)
        if operation:
            body.update(operation)
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


class TextFormatter(logging.Formatter):
    """The readable line, with ``[op_id agent type attempt fence]`` during an operation."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        operation = getattr(record, "operation", None)
        if operation:
            tags = " ".join(f"{k}={v}" for k, v in operation.items())
            line = f"{line} [{tags}]"
        return line


def configure_logging(settings: Settings) -> None:
    """Install the one handler on the root logger (Dramatiq's and periodiq's included)."""
    handler = logging.StreamHandler()
    handler.addFilter(OperationFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("dramatiq", "periodiq", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(settings.log_level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
