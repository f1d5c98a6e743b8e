"""Errors of the PostgreSQL store.

StoreError
 ├── DatabaseUnavailable  PostgreSQL did not answer
 ├── UnknownAgent         no credentials are stored for that agent
 ├── CredentialsUnreadable the stored secret does not decrypt with this key
 ├── StaleFence           a journal write came from a lock holder that was superseded
 └── IdempotencyKeyReused an Idempotency-Key came back with a different request
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the store's errors."""


class DatabaseUnavailable(StoreError):
    """PostgreSQL did not answer at the configured URL."""


class UnknownAgent(StoreError):
    """No credentials are stored for that agent."""


class CredentialsUnreadable(StoreError):
    """A stored secret does not decrypt with the configured ARCHIBOT_SECRET_KEY."""


class StaleFence(StoreError):
    """A journal write carried an older fence than the row's: its writer lost the lock."""


class IdempotencyKeyReused(StoreError):
    """An Idempotency-Key already names an operation made from a different request."""
