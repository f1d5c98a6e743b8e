"""Driving Chromium over ``--remote-debugging-pipe`` instead of a TCP port.

A DevTools TCP port on 127.0.0.1 can be driven by any local process of any user: whoever
connects owns every agent's ERP session in that browser. With the pipe, Chromium reads
commands from its fd 3 and writes answers to its fd 4 (NUL-separated JSON), and only the
process holding the other ends — the worker — can talk to it.

pyppeteer 2.0's ``Connection`` speaks WebSocket only (``websockets.connect(url)`` in its
constructor); :class:`PipeConnection` is that class with the socket replaced by the pipe —
the rest of pyppeteer (targets, sessions, pages) is unchanged on top of it.
"""

from __future__ import annotations

import asyncio
import os
from types import TracebackType
from typing import Any, Self

from pyee import EventEmitter
from pyppeteer.browser import Browser
from pyppeteer.connection import Connection

#: The child's end of each pipe, as Chromium expects them.
CHROMIUM_READ_FD = 3
CHROMIUM_WRITE_FD = 4
_MESSAGE_END = b"\0"
#: Answers can be large (a page's whole DOM, a screenshot): no line limit.
_READ_LIMIT_BYTES = 256 * 1024 * 1024


class _PipeSocket:
    """The two pipe ends, with the part of a websocket that ``Connection`` uses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.WriteTransport) -> None:
        self._reader = reader
        self._writer = writer

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def recv(self) -> str:
        try:
            message = await self._reader.readuntil(_MESSAGE_END)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            # What Connection's receive loop takes for "the browser went away".
            raise ConnectionResetError("Chromium closed its DevTools pipe") from exc
        return message[:-1].decode("utf-8")

    async def send(self, message: str) -> None:
        if self._writer.is_closing():
            raise ConnectionResetError("the DevTools pipe to Chromium is closed")
        self._writer.write(message.encode("utf-8") + _MESSAGE_END)

    async def close(self) -> None:
        self._writer.close()


class PipeConnection(Connection):  # type: ignore[misc]
    """pyppeteer's ``Connection`` over Chromium's DevTools pipe."""

    def __init__(self, socket: _PipeSocket, loop: asyncio.AbstractEventLoop) -> None:
        # Connection.__init__ opens a websocket; everything else it sets is copied here.
        EventEmitter.__init__(self)
        self._url = "pipe:"
        self._lastId = 0
        self._callbacks: dict[int, asyncio.Future[Any]] = {}
        self._delay = 0.0
        self._loop = loop
        self._sessions: dict[str, Any] = {}
        self._connected = False
        self._ws = socket
        self._recv_fut = self._loop.create_task(self._recv_loop())
        self._closeCallback = None


async def connect(read_fd: int, write_fd: int) -> Browser:
    """A pyppeteer ``Browser`` over our ends of Chromium's pipes (both are then owned here)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_READ_LIMIT_BYTES)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    writer, _ = await loop.connect_write_pipe(
        asyncio.Protocol, os.fdopen(write_fd, "wb", buffering=0)
    )
    connection = PipeConnection(_PipeSocket(reader, writer), loop)
    contexts = (await connection.send("Target.getBrowserContexts")).get("browserContextIds", [])
    return await Browser.create(
        connection,
        contexts,
        False,
        None,
        None,
        lambda: connection.send("Browser.close"),
    )
