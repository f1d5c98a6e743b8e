"""Launching and stopping one headless Chromium for this process.

Chromium is started here rather than by ``pyppeteer.launch``: pyppeteer's
launcher polls ``/json/version`` with a blocking ``time.sleep``/``urlopen``
loop (it would stall every other operation on the worker's event loop for the
whole launch), waits for the process with a blocking ``Popen.wait`` on close,
picks its debugging port with a race, keeps profiles under
``~/.local/share/pyppeteer`` and downloads a browser of its own when no path is
given. Here Chromium is driven over ``--remote-debugging-pipe`` (:mod:`pool.devtools_pipe`):
no DevTools port that another local user could connect to. Run by root, Chromium runs
as an unprivileged user (``nobody``) in a throw-away profile it owns, with its sandbox
wherever the machine allows user namespaces (checked once; otherwise ``--no-sandbox``,
said in the log). No signal handler or atexit hook is installed: the worker owns
signals and calls ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import functools
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from pyppeteer.browser import Browser

import pool.devtools_pipe as devtools_pipe
import pool.procstat as procstat
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

CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
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
    # DevTools on fds 3/4, reachable by this process only (pool.devtools_pipe).
    "--remote-debugging-pipe",
)
#: Whom Chromium runs as when the worker is root: never root, which would need --no-sandbox.
DEFAULT_CHROMIUM_USER = "nobody"
#: The flag Chromium needs when the machine has no user namespaces for its sandbox.
NO_SANDBOX = "--no-sandbox"

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


@dataclass(frozen=True)
class Identity:
    """Whom Chromium runs as, and whether its sandbox can work there."""

    uid: int | None
    gid: int | None
    user: str
    sandbox: bool


@functools.cache
def chromium_identity(user: str = DEFAULT_CHROMIUM_USER) -> Identity:
    """Root runs Chromium as ``user``; anyone else as themselves. Sandbox if userns work."""
    uid = gid = None
    name = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(user)
            uid, gid, name = entry.pw_uid, entry.pw_gid, user
        except KeyError:
            logger.warning("no user %r to run Chromium as: it runs as root, without sandbox", user)
            return Identity(None, None, "root", False)
    sandbox = _user_namespaces_work(uid, gid)
    if not sandbox:
        logger.warning("no user namespaces here: Chromium runs as %s without its sandbox", name)
    return Identity(uid, gid, name, sandbox)


def _user_namespaces_work(uid: int | None, gid: int | None) -> bool:
    """Whether ``uid`` can create a user namespace (what Chromium's sandbox needs)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        done = subprocess.run(
            [unshare, "--user", "true"], user=uid, group=gid,
            extra_groups=[] if uid is not None else None,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _pipe_ends_for_child(read_end: int, write_end: int) -> Callable[[], None]:
    """In the child before exec: Chromium's DevTools pipe on fds 3 and 4, then die-with-parent."""

    def setup() -> None:
        os.dup2(read_end, devtools_pipe.CHROMIUM_READ_FD)
        os.dup2(write_end, devtools_pipe.CHROMIUM_WRITE_FD)
        _die_with_parent()

    return setup


def _high_fd(fd: int) -> int:
    """``fd`` moved to 10 or above (close-on-exec), so that dup2 onto 3 and 4 clobbers nothing."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


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
        #: When it was launched (its age decides when the pool recycles it).
        self.started_monotonic = time.monotonic()
        #: Why the pool found it degraded (a slow newPage), or None.
        self.degraded: str | None = None
        #: Which of its pool's launches this is (sessions opened in it carry the number).
        self.launch_number = 0
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
    who = chromium_identity()
    user_data_dir = tempfile.mkdtemp(prefix="archibot-chromium-")
    env = None
    if who.uid is not None:
        os.chown(user_data_dir, who.uid, who.gid if who.gid is not None else -1)
        # Its caches and certificate store go in the throw-away profile it owns.
        env = {**os.environ, "HOME": user_data_dir}
    to_chromium_r, to_chromium_w = os.pipe()
    from_chromium_r, from_chromium_w = os.pipe()
    child_read, child_write = _high_fd(to_chromium_r), _high_fd(from_chromium_w)
    try:
        process = await asyncio.create_subprocess_exec(
            resolve_wrapper(chromium_path),
            *CHROMIUM_ARGS,
            *(() if who.sandbox else (NO_SANDBOX,)),
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
            pass_fds=(devtools_pipe.CHROMIUM_READ_FD, devtools_pipe.CHROMIUM_WRITE_FD),
            preexec_fn=_pipe_ends_for_child(child_read, child_write),
            user=who.uid,
            group=who.gid,
            extra_groups=[] if who.uid is not None else None,
            env=env,
        )
    except OSError as exc:
        for fd in (child_read, child_write, to_chromium_w, from_chromium_r):
            os.close(fd)
        shutil.rmtree(user_data_dir, ignore_errors=True)
        raise LaunchFailed(f"could not start Chromium at {chromium_path}: {exc}") from exc
    os.close(child_read)
    os.close(child_write)
    try:
        browser = await asyncio.wait_for(
            devtools_pipe.connect(from_chromium_r, to_chromium_w), launch_timeout_s
        )
    except asyncio.CancelledError:
        await _abandon(process, user_data_dir)
        raise
    except Exception as exc:
        await _abandon(process, user_data_dir)
        if process.returncode is not None:
            raise LaunchFailed(
                f"Chromium exited with code {process.returncode} before it was ready; "
                "run it by hand with --headless to see why"
            ) from exc
        raise LaunchFailed(f"could not connect to Chromium at {chromium_path}: {exc}") from exc
    return Chromium(process=process, browser=browser, user_data_dir=user_data_dir)
