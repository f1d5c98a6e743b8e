"""The browser pool against a real Chromium and a tiny local HTTP server.

Sync tests that each run their own event loop (``asyncio.run``): the pool,
pyppeteer and aiohttp all live on that one loop, as in a worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from pool import (
    DEFAULT_CHROMIUM_PATH,
    BrowserCrashed,
    BrowserPool,
    ChromiumNotFound,
    ContextsExhausted,
    PoolClosed,
    export_cookies,
    import_cookies,
    procstat,
)

# pyppeteer 2.0 passes the deprecated loop argument to websockets 10.
pytestmark = pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning")

CHROMIUM_PATH = os.environ.get("ARCHIBOT_CHROMIUM", DEFAULT_CHROMIUM_PATH)

PAGE_HTML = """<!doctype html>
<html><head><link rel="stylesheet" href="/style.css"></head>
<body><h1 id="title">hello</h1>
<img src="/img/pixel.png"><img src="/DXR.axd?r=1_23">
</body></html>"""
STYLE_CSS = """@font-face { font-family: F; src: url(/fonts/f.woff2) format("woff2"); }
body { font-family: F; background: url(/img/bg.jpg); }"""


@pytest.fixture(autouse=True)
def _require_chromium() -> None:
    if not os.path.isfile(CHROMIUM_PATH):
        pytest.fail(
            f"Chromium not found at {CHROMIUM_PATH}: run `apt-get install -y chromium` (or ./dev test)"
        )


@dataclass
class Site:
    """The test server: its base URL and how often each path was requested."""

    url: str
    hits: Counter[str] = field(default_factory=Counter)


@asynccontextmanager
async def serve() -> AsyncIterator[Site]:
    """Serve the test pages on 127.0.0.1 on a free port, on the running loop."""
    site = Site(url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        site.hits[request.path] += 1
        if request.path == "/login":
            response = web.Response(text=PAGE_HTML, content_type="text/html")
            response.set_cookie("agent", request.query["agent"])
            response.set_cookie("ASP.NET_SessionId", f"s-{request.query['agent']}", httponly=True)
            return response
        if request.path == "/whoami":
            return web.Response(text=request.cookies.get("agent", "nobody"))
        if request.path == "/style.css":
            return web.Response(text=STYLE_CSS, content_type="text/css")
        if request.path == "/page":
            return web.Response(text=PAGE_HTML, content_type="text/html")
        return web.Response(body=b"\x89PNG", content_type="image/png")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    site.url = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        await runner.cleanup()


def run(main: Callable[[BrowserPool, Site], Awaitable[None]], **pool_options: object) -> None:
    """Run ``main(pool, site)`` on a fresh loop with a started pool, then close both."""

    async def runner() -> None:
        async with serve() as site:
            pool = BrowserPool(chromium_path=CHROMIUM_PATH, **pool_options)  # type: ignore[arg-type]
            await pool.start()
            try:
                await main(pool, site)
            finally:
                await pool.close()

    asyncio.run(runner())


async def body_text(session_page: object) -> str:
    return str(await session_page.evaluate("document.body.innerText"))  # type: ignore[attr-defined]


# -- isolation -----------------------------------------------------------------


def test_agents_never_see_each_others_cookies_or_storage() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        # Given agent a logged in (the server set its cookies) and stored something
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/login?agent=a")
            await a.page.evaluate("localStorage.setItem('who', 'a')")
            assert {c["name"] for c in await a.page.cookies()} == {"agent", "ASP.NET_SessionId"}
        # When agent b opens the same site
        async with pool.context("b") as b:
            # Then b has none of a's cookies, storage or pages
            assert await b.page.cookies(f"{site.url}/") == []
            await b.page.goto(f"{site.url}/whoami")
            assert await body_text(b.page) == "nobody"
            assert await b.page.evaluate("localStorage.getItem('who')") is None
            assert [p.url for p in await b.context.pages()] == [f"{site.url}/whoami"]
            await b.page.goto(f"{site.url}/login?agent=b")
        # And a's session is still a's, on the same warm page
        async with pool.context("a") as a_again:
            assert a_again is a
            await a.page.goto(f"{site.url}/whoami")
            assert await body_text(a.page) == "a"

    run(main)


def test_same_agent_waits_for_its_own_context() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        order: list[str] = []

        async def operation(name: str) -> object:
            async with pool.context("a") as session:
                order.append(f"{name} in")
                await asyncio.sleep(0.2)
                order.append(f"{name} out")
                return session

        first, second = await asyncio.gather(operation("first"), operation("second"))
        assert order == ["first in", "first out", "second in", "second out"]
        assert first is second
        assert pool.stats()["contexts_open"] == 1

    run(main)


# -- LRU -----------------------------------------------------------------------


def test_least_recently_used_idle_context_is_evicted() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        for agent in ("a", "b", "c"):
            async with pool.context(agent) as session:
                await session.page.goto(f"{site.url}/login?agent={agent}")
                session.logged_in = True
        assert pool.stats()["evictions"] == 1
        assert pool.stats()["contexts_open"] == 2
        # a was evicted: it comes back as a new, logged-out context...
        async with pool.context("a") as a:
            assert not a.logged_in
            assert await a.page.cookies(f"{site.url}/") == []
        # ...and that evicted b, the least recently used; c is still warm.
        async with pool.context("c") as c:
            assert c.logged_in
        assert pool.stats()["evictions"] == 2

    run(main, contexts_per_browser=2)


def test_context_in_use_is_never_evicted() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        entered_c = asyncio.Event()
        release_b = asyncio.Event()

        async def hold_b() -> None:
            async with pool.context("b") as b:
                await b.page.goto(f"{site.url}/login?agent=b")
                await release_b.wait()

        async def want_c() -> None:
            async with pool.context("c") as c:
                entered_c.set()
                await c.page.goto(f"{site.url}/whoami")
                assert await body_text(c.page) == "nobody"

        # Given a is held for the whole test, and a was used before b
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/login?agent=a")
            holder = asyncio.create_task(hold_b())
            await asyncio.sleep(0.3)
            # When c asks for a context while a and b are both in use
            wanting = asyncio.create_task(want_c())
            await asyncio.sleep(0.5)
            # Then c waits: nothing is evicted
            assert not entered_c.is_set()
            assert pool.stats()["contexts_in_use"] == 2
            # When b is released, c evicts b (not a, which is still in use)
            release_b.set()
            await asyncio.wait_for(asyncio.gather(holder, wanting), 10)
            assert pool.stats()["evictions"] == 1
            await a.page.goto(f"{site.url}/whoami")
            assert await body_text(a.page) == "a"
        async with pool.context("a") as a_again:
            assert a_again is a

    run(main, contexts_per_browser=2)


def test_all_contexts_in_use_past_the_wait_is_contexts_exhausted() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        async with pool.context("a"):
            started = time.monotonic()
            with pytest.raises(ContextsExhausted, match="agent b"):
                async with pool.context("b"):
                    pass
            assert 0.2 <= time.monotonic() - started < 2
        async with pool.context("b"):
            pass

    run(main, contexts_per_browser=1, context_wait_timeout_s=0.3)


def test_forget_closes_the_agents_context() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/login?agent=a")
            await pool.forget("a")  # in use: closed when released
            assert pool.stats()["contexts_open"] == 1
        assert pool.stats()["contexts_open"] == 0
        async with pool.context("a") as fresh:
            assert fresh is not a
            assert await fresh.page.cookies(f"{site.url}/") == []
        await pool.forget("a")
        assert pool.stats()["contexts_open"] == 0
        await pool.forget("nobody")

    run(main)


# -- crashes and shutdown --------------------------------------------------------


def test_killed_chromium_is_relaunched_and_the_running_body_gets_browser_crashed() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        first_pid = pool.stats()["chromium_pid"]
        first_pids = pool.pids
        # Given an operation in the middle of its work
        with pytest.raises(BrowserCrashed, match="agent a") as crashed:
            async with pool.context("a") as a:
                await a.page.goto(f"{site.url}/login?agent=a")
                a.logged_in = True
                # When Chromium is killed under it
                os.kill(first_pid, signal.SIGKILL)
                await asyncio.sleep(0.2)
                await a.page.goto(f"{site.url}/page")
        # Then the body's pyppeteer error is the cause
        assert crashed.value.__cause__ is not None
        # And the next context() relaunches Chromium and works, logged out
        async with pool.context("a") as again:
            assert again is not a and not again.logged_in
            await again.page.goto(f"{site.url}/whoami")
            assert await body_text(again.page) == "nobody"
        stats = pool.stats()
        assert stats["launches"] == 2
        assert stats["chromium_pid"] not in (None, first_pid)
        # And nothing of the dead Chromium is left running
        assert [p for p in first_pids if procstat.process_tree(p)] == []

    run(main)


def test_chromium_dead_between_operations_is_relaunched_silently() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/login?agent=a")
        os.kill(pool.stats()["chromium_pid"], signal.SIGKILL)
        await asyncio.sleep(0.3)
        async with pool.context("b") as b:
            await b.page.goto(f"{site.url}/whoami")
            assert await body_text(b.page) == "nobody"
        assert pool.stats()["launches"] == 2
        assert pool.stats()["contexts_open"] == 1

    run(main)


def test_close_leaves_no_chromium_process() -> None:
    async def main() -> None:
        async with serve() as site:
            pool = BrowserPool(chromium_path=CHROMIUM_PATH)
            await pool.start()
            for agent in ("a", "b", "c"):
                async with pool.context(agent) as session:
                    await session.page.goto(f"{site.url}/page")
            pid = pool.stats()["chromium_pid"]
            pids = pool.pids
            assert pid in pids and len(pids) > 3  # browser, zygotes, utility, renderers
            await pool.close()
            await pool.close()  # idempotent
            assert [p for p in pids if procstat.process_tree(p)] == []
            assert pool.pids == []
            with pytest.raises(PoolClosed):
                async with pool.context("a"):
                    pass

    asyncio.run(main())


def test_cpu_is_told_apart_by_kind_of_process() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        for agent in ("a", "b"):
            async with pool.context(agent) as session:
                await session.page.goto(f"{site.url}/page")
        kinds = {pid: procstat.process_kind(pid) for pid in pool.pids}
        # One renderer per context, the browser itself, its network service; this is the worker
        assert kinds[pool.stats()["chromium_pid"]] == "browser"
        assert list(kinds.values()).count("renderer") >= 2, kinds
        assert "network" in kinds.values(), kinds
        assert procstat.process_kind(os.getpid()) == "worker"
        by_kind = procstat.cpu_seconds_by_kind([os.getpid(), *pool.pids])
        assert by_kind["renderer"] > 0 and by_kind["browser"] > 0, by_kind
        assert sum(by_kind.values()) == pytest.approx(procstat.cpu_seconds([os.getpid(), *pool.pids]), abs=0.05)
        # A closed context's renderer is reaped by its zygote: its CPU stays the renderers'
        await pool.forget("a")
        await pool.forget("b")
        await asyncio.sleep(0.5)
        after = procstat.cpu_seconds_by_kind([os.getpid(), *pool.pids])
        assert after["renderer"] >= by_kind["renderer"] - 0.01, (by_kind, after)

    run(main)


def test_missing_chromium_is_a_clear_error() -> None:
    async def main() -> None:
        pool = BrowserPool(chromium_path="/nonexistent/chromium")
        with pytest.raises(ChromiumNotFound, match="apt-get install -y chromium"):
            await pool.start()
        await pool.close()

    asyncio.run(main())


# -- resources and sessions --------------------------------------------------------


def test_images_fonts_are_blocked_but_css_is_loaded() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/page")
            assert await a.page.evaluate("document.getElementById('title').offsetHeight") > 0
        assert site.hits["/page"] == 1
        assert site.hits["/style.css"] == 1
        for blocked in ("/img/pixel.png", "/DXR.axd", "/img/bg.jpg", "/fonts/f.woff2"):
            assert site.hits[blocked] == 0, blocked

    run(main)


def test_cookies_round_trip_into_a_fresh_context() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        # Given agent a's ERP session in one context (as on another worker process)
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/login?agent=a")
            await a.page.goto("about:blank")
            cookies = await export_cookies(a)
        assert {c["name"] for c in cookies} == {"agent", "ASP.NET_SessionId"}
        assert all("expires" not in c for c in cookies)  # session cookies stay session cookies
        # When the context is gone and a fresh one imports the cookies
        await pool.forget("a")
        async with pool.context("a") as fresh:
            assert await fresh.page.cookies(f"{site.url}/") == []
            await import_cookies(fresh, cookies)
            # Then the server sees the same session, httpOnly cookie included
            await fresh.page.goto(f"{site.url}/whoami")
            assert await body_text(fresh.page) == "a"
            names = {c["name"]: c for c in await fresh.page.cookies()}
            assert names["ASP.NET_SessionId"]["httpOnly"] is True
        async with pool.context("b") as b:
            assert await export_cookies(b) == []

    run(main)


_OWNER_SCRIPT = """
import asyncio, sys
from pool import BrowserPool
async def main():
    pool = BrowserPool(chromium_path=sys.argv[1])
    await pool.start()
    print(" ".join(str(p) for p in pool.pids), flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


@pytest.mark.parametrize("chromium_path", ["/usr/bin/chromium", "/usr/bin/chromium-headless-shell"])
def test_a_worker_killed_with_sigkill_takes_its_chromium_with_it(chromium_path: str) -> None:
    import subprocess
    import sys

    if not os.path.exists(chromium_path):
        pytest.fail(f"{chromium_path} not found: run `apt-get install -y chromium chromium-headless-shell` (or ./dev test)")
    # Given a process that owns a launched Chromium (even behind Debian's wrapper script)
    owner = subprocess.Popen([sys.executable, "-c", _OWNER_SCRIPT, chromium_path],
                             stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert owner.stdout is not None
    pids = [int(p) for p in owner.stdout.readline().split()]
    assert pids, "the owner printed no Chromium pids"
    # When the owner is killed with SIGKILL
    owner.kill()
    owner.wait(10)
    # Then none of its Chromium processes survive it
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if _running(p)]
    assert not alive, f"Chromium processes outlived their killed owner: {alive}"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _listening_inodes() -> set[str]:
    """Socket inodes of every TCP socket in LISTEN state on this machine."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A":
                    inodes.add(cols[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def test_chromium_runs_unprivileged_sandboxed_and_without_a_devtools_port() -> None:
    from pool.browser import chromium_identity, launch_chromium

    async def inspect() -> tuple[int, str, set[str], str]:
        chromium = await launch_chromium(CHROMIUM_PATH)
        try:
            page = await chromium.browser.newPage()
            await page.goto("data:text/html,<p id=x>driven over the pipe</p>")
            text = await page.evaluate("document.getElementById('x').textContent")
            status = Path(f"/proc/{chromium.pid}/status").read_text()
            uid = int(status.split("Uid:")[1].split()[1])  # the effective uid
            cmdline = Path(f"/proc/{chromium.pid}/cmdline").read_text().replace("\0", " ")
            sockets: set[str] = set()
            for pid in procstat.process_tree(chromium.pgid):
                sockets |= _socket_inodes(pid)
            return uid, cmdline, sockets & _listening_inodes(), text
        finally:
            await chromium.close()

    uid, cmdline, listening, text = asyncio.run(inspect())
    assert text == "driven over the pipe"
    # Never root: a worker running as root starts Chromium as an unprivileged user
    if os.geteuid() == 0:
        assert uid != 0, cmdline
    # with its sandbox wherever the machine allows user namespaces
    assert ("--no-sandbox" in cmdline) == (not chromium_identity().sandbox)
    # and DevTools only over the worker's pipe: no port any local process could drive
    assert "--remote-debugging-pipe" in cmdline and "--remote-debugging-port" not in cmdline
    assert listening == set()


# -- recycling -------------------------------------------------------------------


def test_an_old_chromium_is_replaced_without_interrupting_the_operation_running_in_it() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        # Given an operation running in a Chromium that is already past its age
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/login?agent=a")
            old_pid = pool.stats()["chromium_pid"]
            old_pids = pool.pids
            # When another agent's operation starts meanwhile
            async with pool.context("b") as b:
                await b.page.goto(f"{site.url}/whoami")
                # Then it runs in a fresh Chromium
                assert pool.stats()["chromium_pid"] not in (None, old_pid)
                assert pool.stats()["browsers_running"] == 2
            # And the first operation goes on, undisturbed, in the old one
            await a.page.goto(f"{site.url}/whoami")
            assert await body_text(a.page) == "a"
            assert procstat.process_tree(old_pid)
        # And once it ended, the old Chromium is gone and its end is no crash
        assert [p for p in old_pids if procstat.process_tree(p)] == []
        stats = pool.stats()
        assert stats["recycles"] >= 1 and stats["browsers_running"] == 1
        # And the agent's next operation gets a new context in the new Chromium
        async with pool.context("a") as again:
            assert again is not a and not again.logged_in
            await again.page.goto(f"{site.url}/whoami")
            assert await body_text(again.page) == "nobody"

    run(main, max_browser_age_s=0)


def test_a_chromium_whose_new_pages_got_slow_is_replaced_at_the_next_checkout() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/page")
        first = pool.stats()
        # When opening a page took longer than the threshold (any time at all, here)
        async with pool.context("b") as b:
            await b.page.goto(f"{site.url}/whoami")
            # Then the next checkout ran in a fresh Chromium
            assert pool.stats()["chromium_pid"] not in (None, first["chromium_pid"])
        assert pool.stats()["recycles"] == 1
        assert pool.stats()["launches"] == first["launches"] + 1

    run(main, degraded_new_page_ms=0)


def test_a_young_healthy_chromium_is_kept() -> None:
    async def main(pool: BrowserPool, site: Site) -> None:
        for agent in ("a", "b", "a"):
            async with pool.context(agent) as s:
                await s.page.goto(f"{site.url}/page")
        assert pool.stats()["recycles"] == 0 and pool.stats()["launches"] == 1

    run(main)


def test_a_context_being_opened_when_its_chromium_is_retired_runs_to_its_end_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pool.pool as pool_module

    real_prepare = pool_module.prepare_page
    stall = {"on": False}
    stalled, release = asyncio.Event(), asyncio.Event()

    async def prepare(page: object, **kw: object) -> None:
        if stall["on"]:
            stall["on"] = False
            stalled.set()
            await release.wait()
        await real_prepare(page, **kw)

    monkeypatch.setattr(pool_module, "prepare_page", prepare)

    async def main(pool: BrowserPool, site: Site) -> None:
        async def b_runs() -> str:
            async with pool.context("b") as b:
                await b_may_go.wait()
                await b.page.goto(f"{site.url}/login?agent=b")
                await b.page.goto(f"{site.url}/whoami")
                return await body_text(b.page)

        b_may_go = asyncio.Event()
        # Given an operation running in a Chromium, and another agent's context being opened in it
        async with pool.context("a") as a:
            await a.page.goto(f"{site.url}/page")
            old_pid = pool.stats()["chromium_pid"]
            stall["on"] = True
            b_task = asyncio.ensure_future(b_runs())
            await asyncio.wait_for(stalled.wait(), 30)
            # When that Chromium is retired meanwhile (a third agent's checkout finds it degraded)
            pool._chromium.degraded = "test"  # type: ignore[union-attr]
            async with pool.context("c") as c:
                await c.page.goto(f"{site.url}/page")
                assert pool.stats()["chromium_pid"] != old_pid
            release.set()
            await asyncio.sleep(0.5)
        # Then the first operation's end does not close the Chromium the opened context lives in
        b_may_go.set()
        assert await asyncio.wait_for(b_task, 30) == "b"
        assert procstat.process_tree(old_pid) == [] and pool.stats()["browsers_running"] == 1

    run(main)
