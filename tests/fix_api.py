"""Fixtures for the HTTP API: an in-process app (FastAPI's TestClient) and real `archibot api`
processes on free ports, all on the test database and Redis db."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from archibot.api.app import create_app
from archibot.settings import Settings
from store.db import Database

TEST_TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
DEFAULT_API_START_TIMEOUT_S = 30.0


@pytest.fixture(scope="session")
def api_settings(settings: Settings, database: Database) -> Settings:
    """The test settings with a development token (and a migrated database)."""
    return dataclasses.replace(settings, api_tokens=TEST_TOKEN)


@pytest.fixture(scope="session")
def api_app(api_settings: Settings) -> Iterator[TestClient]:
    """The API in this process (its lifespan started: LISTEN, services)."""
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


@pytest.fixture()
def api(api_app: TestClient, db: Database, redis_client: object) -> TestClient:
    """The in-process API on a clean journal and a clean Redis."""
    return api_app


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiProcess:
    """A running `archibot api` child process."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: str) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_api(settings: Settings, log_path: str, **env: str) -> ApiProcess:
    """Start `archibot api` on a free port and wait until /healthz answers."""
    port = free_port()
    full_env = {**os.environ, **settings.to_env(), **env}
    log = open(log_path, "ab")  # noqa: SIM115 - the child writes it
    proc = subprocess.Popen(
        [sys.executable, "-m", "archibot.cli", "api", "--port", str(port)],
        env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + DEFAULT_API_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return ApiProcess(proc, url, log_path)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    with open(log_path, encoding="utf-8", errors="replace") as f:
        tail = f.read()[-3000:]
    pytest.fail(f"archibot api did not answer /healthz within {DEFAULT_API_START_TIMEOUT_S:g} s:\n{tail}")


@pytest.fixture(scope="session")
def api_servers(api_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ApiProcess]]:
    """Two real `archibot api` processes on the test database (session-wide)."""
    folder = tmp_path_factory.mktemp("api")
    servers = [start_api(api_settings, str(folder / f"api{i}.log")) for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture()
def start_api_process(api_settings: Settings, tmp_path: object) -> Iterator[Callable[..., ApiProcess]]:
    """Start an `archibot api` with extra settings; stopped at the end of the test."""
    started: list[ApiProcess] = []

    def start(settings: Settings | None = None, **env: str) -> ApiProcess:
        server = start_api(settings or api_settings, f"{tmp_path}/api-{len(started)}.log", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
