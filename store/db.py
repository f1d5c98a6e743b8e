"""The PostgreSQL connection pool and the schema migrations."""

from __future__ import annotations

import contextlib
import importlib.resources
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from store.errors import DatabaseUnavailable

DEFAULT_POOL_MIN_SIZE = 1
DEFAULT_POOL_MAX_SIZE = 8
DEFAULT_CONNECT_TIMEOUT_S = 5.0
#: Every statement on a pooled connection is cancelled after this long.
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
#: How long a caller waits for a pooled connection before DatabaseUnavailable.
DEFAULT_GETCONN_TIMEOUT_S = 10.0
#: TCP keepalives: a PostgreSQL that vanished is noticed within about 20 s on an idle socket.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 2}
#: Any fixed number: it keeps two processes from migrating at once.
_MIGRATION_LOCK_ID = 0x4152_4348


class Database:
    """A psycopg 3 connection pool with dict rows; ``with db.connection() as conn``."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = DEFAULT_POOL_MIN_SIZE,
        max_size: int = DEFAULT_POOL_MAX_SIZE,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    ) -> None:
        self.url = url
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_ms = statement_timeout_ms
        self._min_size = min_size
        self._max_size = max_size
        self._pool = self._new_pool()
        self._opened = False
        # Worker threads open the pool lazily and at once: psycopg_pool's open() is not
        # safe to call concurrently (its wait() asserts).
        self._open_lock = threading.Lock()

    def _new_pool(self) -> ConnectionPool[Any]:
        return ConnectionPool(
            self.url,
            min_size=self._min_size,
            max_size=self._max_size,
            kwargs={
                "row_factory": dict_row,
                "autocommit": True,
                "connect_timeout": max(1, int(self._connect_timeout_s)),
                "options": f"-c statement_timeout={int(self._statement_timeout_ms)}",
                **_KEEPALIVES,
            },
            # A connection is checked before it is lent: one broken by a PostgreSQL restart
            # is replaced instead of failing the caller's first statement.
            check=ConnectionPool.check_connection,
            timeout=DEFAULT_GETCONN_TIMEOUT_S,
            open=False,
            name="archibot",
        )

    def open(self) -> None:
        """Open the pool, failing with a message that says how to start PostgreSQL."""
        if self._opened:
            return
        with self._open_lock:
            if self._opened:
                return
            try:
                self._pool.open(wait=True, timeout=self._connect_timeout_s)
            except Exception as exc:  # psycopg_pool raises PoolTimeout with no detail
                with contextlib.suppress(Exception):
                    self._pool.close()
                self._pool = self._new_pool()
                raise DatabaseUnavailable(
                    f"PostgreSQL did not answer at {_redact(self.url)}: start it "
                    "(pg_ctlcluster 15 main start) or set ARCHIBOT_DATABASE_URL"
                ) from exc
            self._opened = True

    def close(self) -> None:
        """Close every pooled connection (a later call opens a new pool)."""
        with self._open_lock:
            self._pool.close()
            self._pool = self._new_pool()
            self._opened = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """Lend a pooled connection (autocommit; use ``conn.transaction()`` for more)."""
        self.open()
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise DatabaseUnavailable(f"PostgreSQL at {_redact(self.url)} failed: {exc}") from exc

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        applied: list[str] = []
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_ID,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in conn.execute("SELECT name FROM schema_migrations")}
            for name, sql in _migration_files():
                if name in done:
                    continue
                conn.execute(sql.encode())
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                applied.append(name)
        return applied


def _migration_files() -> list[tuple[str, str]]:
    folder = importlib.resources.files("store") / "migrations"
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
