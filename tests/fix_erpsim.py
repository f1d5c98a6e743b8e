"""Pytest plugin: a real erpsim process over HTTP, and a real Chromium driven by pyppeteer.

Fixtures:
    erpsim   (session)  the simulator process, started with --port 0 --test-mode --profile fast
    erp      (function) the same simulator, reset (seed, agents, faults, counters) before the test
    aio      (session)  one event loop for all pyppeteer work: `aio.run(coro)`
    browser  (session)  a headless system Chromium on that loop, in the bot's default culture
    page     (function) a fresh page in its own incognito context (no shared cookies), sending
                        the bot's default Accept-Language (it-IT) as the pool's pages do
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from archibot.settings import Settings
from archibot_devtools import local
from pool.browser import launch_chromium
from pool.language import DEFAULT_LANG, accept_language

T = TypeVar("T")


REPO_ROOT = Path(__file__).resolve().parent.parent


class SimProcess(local.SimProcess):
    """A running `python -m erpsim` (archibot_devtools.local's), reading agents, customers and orders."""

    def state(self, include: str | None = "agents,customers,orders") -> Any:
        return super().state(include)


def start_erpsim(
    extra_args: tuple[str, ...] = (), *, test_mode: bool = True, ca_file: str | None = None
) -> SimProcess:
    """Start a simulator (fast profile) with extra command-line arguments (``ca_file``: what
    its certificate verifies against, when they make it serve HTTPS)."""
    started = local.start_sim(
        profile="fast", test_mode=test_mode, extra_args=list(extra_args), ca_file=ca_file
    )
    return SimProcess(started.proc, started.url, ca_file=ca_file)


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
    sim = start_erpsim()
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
    chromium_path = Settings.from_env().chromium
    if not os.path.exists(chromium_path):
        pytest.fail(
            f"Chromium not found at {chromium_path}: run `apt-get install -y chromium` (or ./dev test)"
        )
    chromium = aio.run(launch_chromium(chromium_path, lang=DEFAULT_LANG))
    try:
        yield chromium.browser
    finally:
        aio.run(chromium.close())


@pytest.fixture
def page(aio: LoopRunner, browser: Any) -> Iterator[Any]:
    async def open_page() -> tuple[Any, Any]:
        context = await browser.createIncognitoBrowserContext()
        new_page = await context.newPage()
        await new_page.setExtraHTTPHeaders({"Accept-Language": accept_language(DEFAULT_LANG)})
        return context, new_page

    context, new_page = aio.run(open_page())
    try:
        yield new_page
    finally:
        aio.run(context.close())


#: A catalogue of 600 articles: ~750 prices and ~110 line discounts, so whole walks take
#: seconds (the default 3,000 makes 17 pages of 200, as many as the live ~4,960 prices).
SMALL_CATALOGUE_ARGS = ("--products", "600", "--agents", "2")


@pytest.fixture(scope="module")
def small_erpsim() -> Iterator[SimProcess]:
    """A simulator with a small catalogue (SMALL_CATALOGUE_ARGS), started once per module.

    A module whose tests walk whole price lists uses it as its `erpsim` (so `erp` resets it
    around each test)::

        @pytest.fixture(scope="module")
        def erpsim(small_erpsim: SimProcess) -> SimProcess:
            return small_erpsim
    """
    sim = start_erpsim(SMALL_CATALOGUE_ARGS)
    try:
        yield sim
    finally:
        sim.stop()
