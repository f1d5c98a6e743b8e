"""The Dramatiq side: ``dramatiq actors`` and ``periodiq actors`` import this package."""

from actors.broker import broker
from actors import customers, maintenance, orders, syncs

__all__ = ["broker", "customers", "maintenance", "orders", "syncs"]
