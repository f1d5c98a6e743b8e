"""The deployment files work as written: the whole set under supervisord, and the Procfile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
