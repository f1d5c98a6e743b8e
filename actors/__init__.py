"""The Dramatiq side: ``dramatiq actors`` and ``periodiq actors`` import this package."""

from actors import customers, maintenance, orders, syncs
from actors.broker import broker

__all__ = ["broker", "customers", "maintenance", "orders", "syncs"]
