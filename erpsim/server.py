"""Running the simulator: bind, announce the URL on stdout, serve until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import sys

from aiohttp import web

from erpsim.app import make_app
from erpsim.config import SimConfig

READY_LINE = "erpsim listening on {scheme}://{host}:{port}/Archibald/"


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context for HTTPS from a PEM certificate chain and its key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def serve(host: str, port: int, config: SimConfig, tls: ssl.SSLContext | None = None) -> None:
    """Serve forever (HTTPS with ``tls``); prints READY_LINE (with the real port when port
    is 0) once bound."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not available off the main thread or on Windows; Ctrl-C still ends asyncio.run there.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(make_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, ssl_context=tls)
    await site.start()
    bound_port = port
    # aiohttp exposes the bound sockets (needed for port 0) only through the asyncio server.
    sockets = getattr(site._server, "sockets", None)
    if sockets:
        bound_port = sockets[0].getsockname()[1]
    sys.stdout.write(READY_LINE.format(scheme="https" if tls else "http", host=host, port=bound_port) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run(host: str, port: int, config: SimConfig, tls: ssl.SSLContext | None = None) -> None:
    """Blocking entry point used by `python -m erpsim` and `archibot sim`."""
    try:
        asyncio.run(serve(host, port, config, tls))
    except KeyboardInterrupt:
        pass
