"""The Dramatiq side. ``dramatiq actors`` and ``periodiq actors`` import this package.

Both commands load the package named on their command line with Dramatiq's
``dramatiq.cli.import_object`` and then take Dramatiq's global broker, so the package
builds it (:func:`actors.broker.build_broker`, from the environment) — but only for them.
Python imports this package before any of its modules, and importing a module must build
nothing (the tests import actors.lock, actors.requeue…; periodiq, which the actors import,
loads ``dramatiq.cli`` too), so the build runs only when that loader is what imports the
package.
"""

from __future__ import annotations

import sys
from types import FrameType


def _imported_by_the_command_line() -> bool:
    """Whether ``dramatiq.cli.import_object`` (``dramatiq actors``, ``periodiq actors``) is
    importing this package right now."""
    cli = sys.modules.get("dramatiq.cli")
    if cli is None:
        return False
    loader = cli.import_object.__code__
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code is loader:
            return True
        frame = frame.f_back
    return False


if _imported_by_the_command_line():
    from actors.broker import build_broker
    from archibot.settings import Settings

    broker, process = build_broker(Settings.from_env())
