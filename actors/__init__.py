"""The Dramatiq side: ``dramatiq actors`` and ``periodiq actors`` import this package."""

from actors.broker import broker
from actors import maintenance, orders

__all__ = ["broker", "maintenance", "orders"]
