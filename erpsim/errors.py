"""Errors raised inside the Archibald simulator.

SimError
├── ConfigError        a bad option or fault value
├── StateFileError     the state file cannot be read or written
├── SimValidation      a business rule refused a write (shown as an Italian banner)
└── InjectedFault      a fault drawn for a write; the middleware answers with the 500 page
    ├── ServerErrorFault   the write failed before committing anything
    └── LostResponseFault  the write COMMITTED, but the browser only gets the 500 page
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


class InjectedFault(SimError):
    """A fault injected into a write; the answer is the ASP.NET 500 page."""


class ServerErrorFault(InjectedFault):
    """The write failed before it committed anything."""


class LostResponseFault(InjectedFault):
    """The write committed on the server, but its response is lost (the duplicate maker)."""
