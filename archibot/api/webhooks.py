"""Webhooks: each terminal status POSTed to ``ARCHIBOT_WEBHOOK_URL``, signed, retried, journaled.

The journal's trigger writes a ``webhook_deliveries`` row in the same transaction as
the terminal status (an outbox: nothing is missed, even while no API runs). A deliverer
thread in each API process sends what is due: woken by the LISTEN hub when an
operation ends, and sweeping every ``DEFAULT_SWEEP_S`` for retries and for rows written
while no API was up. It chose the API process over the worker because the API already
listens to the journal and the workers' threads belong to Chromium; with several API
processes, each row is taken ``FOR UPDATE SKIP LOCKED`` and held while it is POSTed,
so one process sends it (exactly once unless a process dies mid-POST: at least once).

The body is the operation as ``GET /v1/operations/{id}`` returns it, plus ``event``;
the ``Archibot-Signature`` header is the hex HMAC-SHA256 of the exact body bytes under
``ARCHIBOT_WEBHOOK_SECRET``. A non-2xx answer or a network error is retried with the
shared backoff (``archibot.backoff``), at most ``DEFAULT_MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any

from archibot.backoff import compute_backoff_ms
from archibot.client import status_dict
from store.db import Database
from store.outbox import WebhookOutbox
from store.states import TERMINAL

log = logging.getLogger("archibot.api.webhooks")

SIGNATURE_HEADER = "Archibot-Signature"
DEFAULT_SWEEP_S = 5.0
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_BACKOFF_BASE_MS = 1_000
DEFAULT_BACKOFF_MAX_MS = 300_000
#: Terminal statuses older than this when first seen are not sent (e.g. a URL set later).
DEFAULT_MAX_AGE_S = 86_400
DEFAULT_BATCH = 20


def sign(secret: str, body: bytes) -> str:
    """The signature of ``body``: hex HMAC-SHA256 keyed with the webhook secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Deliverer:
    """Sends due webhook deliveries from a background thread."""

    def __init__(self, db: Database, url: str, secret: str, *, sweep_s: float = DEFAULT_SWEEP_S) -> None:
        self._outbox = WebhookOutbox(db)
        self._url = url
        self._secret = secret
        self._sweep_s = sweep_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="archibot-webhooks", daemon=True)

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop it (after the POST in flight, if any)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(DEFAULT_TIMEOUT_S + 5)

    def wake(self, event: dict[str, Any] | None = None) -> None:
        """Look for due deliveries now (called on the event loop: never blocks)."""
        if event is None or event.get("status") in (*TERMINAL, "resync"):
            self._wake.set()

    def _loop(self) -> None:
        pause_s = 0.0
        while not self._stop.is_set():
            self._wake.wait(pause_s)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.deliver_due() == DEFAULT_BATCH:
                    pass
                pause_s = min(self._sweep_s, self._next_due_s())
            except Exception:
                log.warning("webhook_sweep_failed", exc_info=True)
                pause_s = self._sweep_s

    def _next_due_s(self) -> float:
        """Seconds until the next retry is due (a retry sooner than the sweep is not late)."""
        due = self._outbox.next_due_s(max_attempts=DEFAULT_MAX_ATTEMPTS, max_age_s=DEFAULT_MAX_AGE_S)
        return self._sweep_s if due is None else max(0.05, due)

    def deliver_due(self) -> int:
        """Send every due delivery (up to a batch); how many were tried."""
        with self._outbox.taking_due(max_attempts=DEFAULT_MAX_ATTEMPTS, max_age_s=DEFAULT_MAX_AGE_S,
                                     batch=DEFAULT_BATCH) as due:
            for row in due.rows:
                status, error = self._post(row)
                attempts = int(row["delivery_attempts"]) + 1
                delivered = status is not None and 200 <= status < 300
                delay_ms = compute_backoff_ms(
                    attempts - 1, base_ms=DEFAULT_BACKOFF_BASE_MS, max_ms=DEFAULT_BACKOFF_MAX_MS
                )
                due.record(row["op_id"], attempts=attempts, status=status, error=error,
                           delivered=delivered, retry_in_s=delay_ms / 1000)
                log.info("webhook op_id=%s status=%s attempt=%d delivered=%s",
                         row["op_id"], status, attempts, delivered)
        return len(due.rows)

    def _post(self, row: dict[str, Any]) -> tuple[int | None, str | None]:
        body = json.dumps(
            {"event": f"operation.{row['status']}", "operation": status_dict(row)},
            separators=(",", ":"),
        ).encode()
        request = urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, body),
                     "User-Agent": "archibot-webhooks"},
        )
        try:
            with urllib.request.urlopen(request, timeout=DEFAULT_TIMEOUT_S) as response:
                return int(response.status), None
        except urllib.error.HTTPError as exc:
            return int(exc.code), f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return None, str(exc)[:500]


def forget_webhook_deliveries(db: Database) -> int:
    """Delete delivery rows older than DEFAULT_MAX_AGE_S (delivered or not sendable any more)."""
    return WebhookOutbox(db).forget(DEFAULT_MAX_AGE_S)
