"""The deployment files work as written: the whole set under supervisord, the Procfile, and the
client wheel (`pip install archibot`), which holds neither the simulator nor the development tools."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from archibot.client import Client
from archibot.settings import Settings
from tests.fix_api import AUTH, TEST_TOKEN, free_port
from tests.fix_erpsim import REPO_ROOT
from tests.fix_stack import SimProcess
from tests.test_submit_order import order_for

BIN = str(Path(sys.executable).parent)
START_TIMEOUT_S = 90.0
#: What the client wheel holds at its top level: the client and, for its extras, the worker side.
WHEEL_PACKAGES = {"actors", "archibot", "erp", "pool", "store"}
#: Top-level modules the client's import graph must not reach: Chromium automation, the worker
#: and API extras, the simulator and the development tools.
NOT_FOR_THE_CLIENT = ("pyppeteer", "pool", "erp", "actors", "periodiq", "fastapi", "aiohttp", "erpsim",
                      "archibot_devtools")
#: What a fresh clone would not hold: the venv, caches, build output, supervisord's socket.
_NOT_IN_A_CLONE = shutil.ignore_patterns(".git", ".venv", ".run", "build", "*.egg-info", "__pycache__",
                                         ".pytest_cache", "supervisor.sock", "supervisord.pid")


def supervisorctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([f"{BIN}/supervisorctl", "-c", str(REPO_ROOT / "supervisord.conf"), *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_the_whole_set_runs_under_supervisord_and_stops_cleanly(
    stack_settings: Settings, client: Client, sim: SimProcess, agents: list[str], tmp_path: Path
) -> None:
    # Given the production supervisord.conf, configured the Heroku way (DATABASE_URL, REDIS_URL, PORT)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIBOT_")}
    env.update({k: v for k, v in stack_settings.to_env().items()
                if k not in ("ARCHIBOT_DATABASE_URL", "ARCHIBOT_REDIS_URL")})
    env.update(DATABASE_URL=stack_settings.database_url, REDIS_URL=stack_settings.redis_url, PORT=str(port),
               ARCHIBOT_API_TOKENS=TEST_TOKEN, PATH=f"{BIN}:{env.get('PATH', '')}")
    log = open(tmp_path / "supervisord.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([f"{BIN}/supervisord", "-c", str(REPO_ROOT / "supervisord.conf")],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        # When it has started every program
        deadline = time.monotonic() + START_TIMEOUT_S
        status = ""
        while time.monotonic() < deadline:
            status = supervisorctl("status", env=env).stdout
            ready = _get(url + "/readyz")
            if status.count("RUNNING") == 3 and ready is not None and ready.status_code == 200:
                break
            assert proc.poll() is None, (tmp_path / "supervisord.log").read_text()[-3000:]
            time.sleep(0.5)
        else:
            pytest.fail(f"not ready in {START_TIMEOUT_S:g} s: {status}\n"
                        + (tmp_path / "supervisord.log").read_text()[-3000:])
        for program in ("api", "worker", "scheduler"):
            assert f"{program} " in status and "erpsim" not in status
        # Then an operation sent through the API is done in the ERP
        r = httpx.post(url + "/v1/operations", headers={**AUTH, "Idempotency-Key": "deploy-1"},
                       json={"type": "submit-order", "agent": agents[0], "payload": order_for(sim, agents[0])})
        assert r.status_code == 202, r.text
        final = client.wait(r.json()["id"], 120)
        assert final["status"] == "done", final
        assert any(str(o["id"]) == final["result"]["order_id"] for o in sim.orders(agents[0]))
        pids = _group_members(proc.pid)
        assert len(pids) >= 5  # supervisord, api, the dramatiq CLI and its workers, periodiq, Chromium
        # And `supervisorctl shutdown` stops everything, Chromium included
        assert supervisorctl("shutdown", env=env).returncode == 0
        proc.wait(90)
        assert _wait_gone(pids, 15) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def test_the_procfile_has_the_platform_programs() -> None:
    lines = dict(line.split(": ", 1) for line in (REPO_ROOT / "Procfile").read_text().splitlines() if line)
    assert lines["release"] == "archibot migrate"
    assert lines["web"].startswith("archibot api") and "erpsim" not in lines
    # Dramatiq's graceful stop must fit in the platform's (supervisord stopwaitsecs=60).
    assert lines["worker"].endswith("dramatiq actors --processes 2 --threads 5 --worker-shutdown-timeout 45000")
    assert lines["scheduler"] == "periodiq actors"


def test_the_client_wheel_holds_no_simulator_no_dev_tools_and_imports_no_chromium(tmp_path: Path) -> None:
    # Given the `archibot` wheel built from a copy of the checkout, offline (the venv's setuptools)
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT, src, ignore=_NOT_IN_A_CLONE)
    built = _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src))
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("archibot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # Then it holds the client and the worker side only: no erpsim, no demo, bench or launcher
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == WHEEL_PACKAGES
    assert not [n for n in names if n.startswith(("erpsim/", "archibot_devtools/"))
                or n in ("archibot/bench.py", "archibot/demo.py", "archibot/local.py")]
    assert {"archibot/client.py", "store/migrations/0001_init.sql", "actors/acquire.lua"} <= set(names)
    # And, installed alone (its dependencies from the venv, no .pth, no checkout on the path),
    # the client imports nothing of Chromium, the simulator or the development tools
    site = tmp_path / "site"
    installed = _pip("install", "--no-deps", "--no-compile", "--target", str(site), str(wheel))
    assert installed.returncode == 0, installed.stderr
    path = [str(site), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = ("import json, sys; sys.path[:0] = sys.argv[1:]; "
            "import archibot, archibot.client, archibot.operations, archibot.payloads; "
            "print(json.dumps({'from': archibot.__file__, 'modules': sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {NOT_FOR_THE_CLIENT!r})}}))")
    out = _isolated(code, path, tmp_path)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["from"].startswith(str(site)), found
    assert found["modules"] == [], found
    # And its CLI says what `archibot sim`, `demo` and `bench` need instead of a traceback
    for command, distribution in (("sim", "archibot-erpsim"), ("demo", "archibot-devtools"),
                                  ("bench", "archibot-devtools")):
        out = _isolated(f"import sys; sys.path[:0] = sys.argv[1:]; from archibot.cli import main; "
                        f"sys.exit(main([{command!r}]))", path, tmp_path)
        assert out.returncode == 1 and f"needs the {distribution} distribution" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def _isolated(code: str, path: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a Python that sees only ``path`` (``-I -S``: no environment, no user site, no
    site-packages and so no editable installs' finders, no current directory)."""
    return subprocess.run([sys.executable, "-I", "-S", "-c", code, *path], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_heroku_style_urls_are_read_when_archibot_ones_are_unset() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgres://u@db/x", "REDIS_URL": "redis://r:6379/2"})
    assert (settings.database_url, settings.redis_url) == ("postgres://u@db/x", "redis://r:6379/2")
    mine = Settings.from_env({"DATABASE_URL": "postgres://u@db/x", "ARCHIBOT_DATABASE_URL": "postgresql://a@b/c"})
    assert mine.database_url == "postgresql://a@b/c"


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def _group_members(root: int) -> list[int]:
    """supervisord and every process below it."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        alive = [p for p in pids if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text(errors="replace").lower()
    except OSError:
        return False
