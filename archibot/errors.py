"""Errors of the client API and the CLI.

ArchibotError
 ├── ConfigError        a setting in the environment is malformed
 ├── InvalidOperation   ``send`` refused an operation (bad type, payload, agent)
 ├── IdempotencyConflict an Idempotency-Key came back with a different request
 ├── CannotCancel       the operation has ended, or is a write that cannot be taken back
 ├── UnknownOperation   no journal row has that operation id
 ├── UnknownDocument    no stored document has that id (or it is past its retention)
 ├── WaitTimeout        ``wait`` gave up before the operation ended
 └── ServiceUnavailable Redis or PostgreSQL did not answer
"""

from __future__ import annotations


class ArchibotError(Exception):
    """Base class of every error the client API and the CLI raise."""


class ConfigError(ArchibotError):
    """A setting in the environment is malformed."""


class InvalidOperation(ArchibotError):
    """``send`` refused an operation before anything was queued."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IdempotencyConflict(ArchibotError):
    """An Idempotency-Key already names an operation made from a different request."""


class CannotCancel(ArchibotError):
    """The operation has ended, or is a write that is running and cannot be taken back."""


class UnknownOperation(ArchibotError):
    """No journal row has that operation id."""


class UnknownDocument(ArchibotError):
    """No stored document has that id (or it is past ARCHIBOT_DOCUMENTS_RETENTION_DAYS)."""


class WaitTimeout(ArchibotError):
    """``wait`` gave up before the operation reached ``done`` or ``failed``."""


class ServiceUnavailable(ArchibotError):
    """Redis or PostgreSQL did not answer; the message says how to start it."""
