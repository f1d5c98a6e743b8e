"""Pytest plugin: a real erpsim process over HTTP, and a real Chromium driven by pyppeteer.

Fixtures:
    erpsim   (session)  the simulator process, started with --port 0 --test-mode --profile fast
    erp      (function) the same simulator, reset (seed, agents, faults, counters) before the test
    aio      (session)  one event loop for all pyppeteer work: `aio.run(coro)`
    browser  (session)  a headless system Chromium on that loop
    page     (function) a fresh page in its own incognito context (no shared cookies)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

CHROMIUM_PATH = os.environ.get("ARCHIBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SIM_START_TIMEOUT_S = 15.0
REPO_ROOT = Path(__file__).resolve().parent.parent


class SimProcess:
    """A running `python -m erpsim` and a small sync client for its /__sim/ API."""

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "erpsim",
                "--port",
                "0",
                "--test-mode",
                "--profile",
                "fast",
                *extra_args,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"erpsim did not start: {line!r} {err}")
        self.url = line.rsplit(" ", 1)[1].strip()
        self.root = self.url.split("/Archibald/")[0]

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.root + path, data=data, method=method, headers=headers or {}
        )
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self, **kw: Any) -> Any:
        return self.call("POST", "/__sim/reset", kw)

    def state(self, include: str = "agents,customers,orders") -> Any:
        return self.call("GET", f"/__sim/state?include={include}")

    def orders(self, agent: str | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.state("orders")["orders"]
        return [o for o in rows if agent is None or o["agent"] == agent]

    def counters(self) -> Any:
        return self.call("GET", "/__sim/counters")

    def faults(self) -> Any:
        return self.call("GET", "/__sim/faults")

    def set_faults(self, **kw: Any) -> Any:
        return self.call("PUT", "/__sim/faults", kw)

    def expire(self, agent: str) -> Any:
        return self.call("POST", "/__sim/expire", {"agent": agent})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class LoopRunner:
    """One event loop for the whole session, since pyppeteer objects belong to one loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.close()


@pytest.fixture(scope="session")
def erpsim() -> Iterator[SimProcess]:
    sim = SimProcess()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def erp(erpsim: SimProcess) -> Iterator[SimProcess]:
    erpsim.reset()
    yield erpsim
    erpsim.reset()


@pytest.fixture(scope="session")
def aio() -> Iterator[LoopRunner]:
    runner = LoopRunner()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="session")
def browser(aio: LoopRunner) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM_PATH):
        pytest.fail("Chromium not found: run `apt-get install -y chromium` (or ./dev test)")
    from pyppeteer import launch

    chromium = aio.run(
        launch(
            executablePath=CHROMIUM_PATH,
            headless=True,
            args=CHROMIUM_ARGS,
            handleSIGINT=False,
            handleSIGTERM=False,
            handleSIGHUP=False,
            autoClose=False,
        )
    )
    try:
        yield chromium
    finally:
        aio.run(chromium.close())


@pytest.fixture
def page(aio: LoopRunner, browser: Any) -> Iterator[Any]:
    async def open_page() -> tuple[Any, Any]:
        context = await browser.createIncognitoBrowserContext()
        return context, await context.newPage()

    context, new_page = aio.run(open_page())
    try:
        yield new_page
    finally:
        aio.run(context.close())
