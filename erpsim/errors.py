"""Errors raised inside the Archibald simulator.

SimError
├── ConfigError        a bad option or fault value
├── StateFileError     the state file cannot be read or written
└── SimValidation      a business rule refused a write (shown as an Italian banner)
"""

from __future__ import annotations


class SimError(Exception):
    """Base class of every simulator error."""


class ConfigError(SimError):
    """A configuration or fault value is invalid."""


class StateFileError(SimError):
    """The persisted state file cannot be read or written."""


class SimValidation(SimError):
    """A write broke a business rule; the message is the Italian text the page shows."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
