"""Launching and stopping one headless Chromium for this process.

Chromium is started here rather than by ``pyppeteer.launch``: pyppeteer's
launcher polls ``/json/version`` with a blocking ``time.sleep``/``urlopen``
loop (it would stall every other operation on the worker's event loop for the
whole launch), waits for the process with a blocking ``Popen.wait`` on close,
picks its debugging port with a race, keeps profiles under
``~/.local/share/pyppeteer`` and downloads a browser of its own when no path is
given. Here Chromium picks a free port itself (``--remote-debugging-port=0``)
and writes it to ``DevToolsActivePort`` in a throw-away profile, which is
polled without blocking; pyppeteer then only *connects*. No signal handler or
atexit hook is installed: the worker owns signals and calls ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import tempfile
import time
from types import TracebackType
from typing import Self

import pyppeteer
from pyppeteer.browser import Browser

from pool import procstat
from pool.errors import ChromiumNotFound, LaunchFailed
from pool.language import DEFAULT_LANG, chromium_language_args

logger = logging.getLogger(__name__)

#: Debian's ``chromium``. Debian's ``chromium-headless-shell`` (/usr/bin/chromium-headless-shell)
#: works the same here and is much cheaper: ~46 ms CPU per simple navigation instead of
#: ~120, 5 contexts in ~295 MB PSS instead of ~475 (measured with Chromium 156).
DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"
DEFAULT_LAUNCH_TIMEOUT_S = 30.0
#: How long ``close()`` lets Chromium shut down on ``Browser.close`` before SIGKILL.
DEFAULT_CLOSE_TIMEOUT_S = 5.0
#: The window every page gets (no per-page viewport emulation: one CDP call less a page).
DEFAULT_WINDOW_SIZE = (1280, 800)
_PORT_POLL_INTERVAL_S = 0.02

CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    # As root Chromium refuses to start with its sandbox.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # No traffic of its own: updates, sync, safe browsing, translate, field trials.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-client-side-phishing-detection",
    "--disable-field-trial-config",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--hide-scrollbars",
    # Images are never fetched nor decoded, whatever their URL (DevExpress serves
    # icons from DXR.axd?r=..., which no URL pattern can tell from scripts).
    "--blink-settings=imagesEnabled=false",
    # The WebUI omnibox popups: the full Chromium's --headless preloads two
    # chrome:// renderers per window, i.e. per context. Off, opening 5 contexts
    # costs 1.5 CPU-s instead of 5 and 5 contexts take 475 MB PSS instead of 720.
    (
        "--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,"
        "Translate,OptimizationHints,MediaRouter,BackForwardCache,AcceptCHFrame,"
        "InterestFeedContentSuggestions"
    ),
    # Every context is an agent's foreground work: never throttle its timers
    # (DevExpress callbacks run on setTimeout) because the page looks hidden.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-hang-monitor",
    "--disable-ipc-flooding-protection",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    f"--window-size={DEFAULT_WINDOW_SIZE[0]},{DEFAULT_WINDOW_SIZE[1]}",
    "--remote-debugging-port=0",
)

_PR_SET_PDEATHSIG = 1
#: A wrapper script whose only command runs a binary with the script's arguments.
_PASS_THROUGH_RE = re.compile(r'^(?:exec\s+)?(/\S+)\s+"\$@"$')


def resolve_wrapper(path: str) -> str:
    """The binary a pass-through wrapper script runs, else ``path`` itself.

    Debian's ``/usr/bin/chromium-headless-shell`` is ``#!/bin/sh`` running the real
    binary as its child, without ``exec``: the parent-death signal would then reach
    only the shell, and a ``kill -9``-ed worker would leave the browser orphaned.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return path
    if not head.startswith(b"#!"):
        return path
    commands = [
        line.strip()
        for line in head.decode("utf-8", "replace").splitlines()[1:]
        if line.strip() and not line.strip().startswith("#")
    ]
    if len(commands) != 1:
        return path
    match = _PASS_THROUGH_RE.match(commands[0])
    if match is None or not os.access(match.group(1), os.X_OK):
        return path
    return match.group(1)


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the launching thread dies.

    A worker killed with ``kill -9`` then takes its Chromium with it instead of
    leaving an orphan that holds memory until the machine reboots.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Chromium:
    """One running Chromium process and the pyppeteer ``Browser`` connected to it.

    Made by :func:`launch_chromium`; ``close()`` (or ``async with``) stops the
    process, kills anything left in its process group and removes the profile.
    """

    def __init__(
        self, *, process: asyncio.subprocess.Process, browser: Browser, user_data_dir: str
    ) -> None:
        self.process = process
        self.browser = browser
        #: The browser process itself, below any shell wrapper that did not exec.
        self.browser_pid = _browser_pid(process.pid)
        self.user_data_dir = user_data_dir
        self._disconnected = False
        self._closed = False
        browser.on(Browser.Events.Disconnected, self._on_disconnected)

    def _on_disconnected(self) -> None:
        self._disconnected = True

    @property
    def pid(self) -> int:
        """The browser process id (SIGKILL it and Chromium is dead)."""
        return self.browser_pid

    @property
    def pgid(self) -> int:
        """The process group of the launched program: Chromium and all its helpers."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """False once the process exited or its DevTools connection closed."""
        return (
            not self._closed
            and not self._disconnected
            and self.process.returncode is None
            and bool(self.browser._connection._connected)
        )

    async def close(self, *, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Stop Chromium, leave no process of its group behind, delete its profile. Idempotent."""
        if self._closed:
            return
        self._closed = True
        connection = self.browser._connection
        if connection._connected and self.process.returncode is None:
            # Chromium may drop the socket before it answers: the answer does not matter.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.send("Browser.close"), timeout_s)
        with contextlib.suppress(Exception):
            await connection.dispose()
        try:
            await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            logger.warning("Chromium %d ignored Browser.close; killing it", self.pid)
        await _kill_group(self.pgid, timeout_s=timeout_s)
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        await asyncio.to_thread(shutil.rmtree, self.user_data_dir, True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


_SHELLS = frozenset({"sh", "dash", "bash"})


def _browser_pid(launched_pid: int) -> int:
    """Look through shell wrappers that run Chromium as a child instead of exec'ing it.

    Debian's /usr/bin/chromium execs; /usr/bin/chromium-headless-shell does not.
    """
    pid = launched_pid
    for _ in range(3):
        try:
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            return pid
        if exe not in _SHELLS:
            return pid
        children = procstat.children(pid)
        if len(children) != 1:
            return pid
        pid = children[0]
    return pid


async def _kill_group(pgid: int, *, timeout_s: float) -> None:
    """SIGKILL every process still in Chromium's process group and wait until they are gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while procstat.process_tree(pgid) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def _abandon(process: asyncio.subprocess.Process, user_data_dir: str) -> None:
    """Clean up after a launch that failed half-way."""
    await _kill_group(process.pid, timeout_s=DEFAULT_CLOSE_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):
        await process.wait()
    shutil.rmtree(user_data_dir, ignore_errors=True)


async def _read_devtools_endpoint(
    process: asyncio.subprocess.Process, user_data_dir: str, *, timeout_s: float
) -> str:
    """Wait for Chromium to write ``DevToolsActivePort`` and build the browser's WebSocket URL."""
    port_file = os.path.join(user_data_dir, "DevToolsActivePort")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise LaunchFailed(
                f"Chromium exited with code {process.returncode} before it was ready; "
                "run it by hand with --headless to see why"
            )
        with contextlib.suppress(FileNotFoundError):
            # A few bytes on a local disk: cheaper inline than a thread hop every poll.
            with open(port_file, encoding="ascii") as f:  # noqa: ASYNC230
                lines = f.read().splitlines()
            if len(lines) >= 2 and lines[0].isdigit():
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        await asyncio.sleep(_PORT_POLL_INTERVAL_S)
    raise LaunchFailed(f"Chromium did not open its DevTools port within {timeout_s:g} s")


async def launch_chromium(
    chromium_path: str = DEFAULT_CHROMIUM_PATH,
    *,
    launch_timeout_s: float = DEFAULT_LAUNCH_TIMEOUT_S,
    lang: str = DEFAULT_LANG,
    extra_args: tuple[str, ...] = (),
) -> Chromium:
    """Start headless Chromium in a fresh profile and connect pyppeteer to it.

    ``lang`` ("it-IT") is the browser's language: ``navigator.language``, hence the ERP's
    grid number/date formats (see :mod:`pool.language`).
    Never downloads a browser: a missing ``chromium_path`` is :class:`ChromiumNotFound`.
    """
    if not os.path.isfile(chromium_path) or not os.access(chromium_path, os.X_OK):
        raise ChromiumNotFound(chromium_path)
    user_data_dir = tempfile.mkdtemp(prefix="archibot-chromium-")
    try:
        process = await asyncio.create_subprocess_exec(
            resolve_wrapper(chromium_path),
            *CHROMIUM_ARGS,
            *chromium_language_args(lang),
            *extra_args,
            f"--user-data-dir={user_data_dir}",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            # Its own process group: the terminal's Ctrl+C goes to the worker
            # only, and close() can kill every helper at once.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except OSError as exc:
        shutil.rmtree(user_data_dir, ignore_errors=True)
        raise LaunchFailed(f"could not start Chromium at {chromium_path}: {exc}") from exc
    try:
        endpoint = await _read_devtools_endpoint(process, user_data_dir, timeout_s=launch_timeout_s)
        browser = await asyncio.wait_for(
            pyppeteer.connect(browserWSEndpoint=endpoint, defaultViewport=None),
            launch_timeout_s,
        )
    except (LaunchFailed, asyncio.CancelledError):
        await _abandon(process, user_data_dir)
        raise
    except Exception as exc:
        await _abandon(process, user_data_dir)
        raise LaunchFailed(f"could not connect to Chromium at {chromium_path}: {exc}") from exc
    return Chromium(process=process, browser=browser, user_data_dir=user_data_dir)
