"""The ERP's circuit breaker, shared by every worker in Redis.

Consecutive transport errors (a 5xx page, a timeout, a refused connection), counted
across agents and workers, open the breaker: workers stop claiming operations for the
ERP, and one of them at a time probes it over plain HTTP with a growing, capped
backoff. When the ERP answers again the breaker closes, and the operations that were
waiting out a backoff are made ready and woken. A success anywhere resets the count —
when the process knows of one: its last reading of the state (at most a second old in a
process that is claiming work) or an error it counted since. A streak another process
began within that second may so outlive a success; it opens nothing by itself, since a
streak is confirmed by a probe first. It saves a DEL on every operation's success.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from urllib.parse import urljoin

import aiohttp
import redis.asyncio as aioredis

from archibot.backoff import compute_backoff_ms
from archibot.keys import ERP_ERRORS_KEY, ERP_OPEN_KEY, ERP_PROBE_KEY

log = logging.getLogger("archibot.breaker")

#: A streak of errors older than this is forgotten (errors hours apart are not an outage).
DEFAULT_ERROR_WINDOW_MS = 300_000
#: Probes are spaced base·2^n ms apart, capped.
DEFAULT_PROBE_BASE_MS = 2_000
DEFAULT_PROBE_MAX_MS = 5_000
DEFAULT_PROBE_TIMEOUT_S = 10.0
#: How long one reading of the open/closed state is reused (see ErpBreaker.is_open).
DEFAULT_STATE_REUSE_S = 1.0
#: The page a probe asks for: it needs no session.
PROBE_PATH = "Login.aspx"
#: What a probe reports when the ERP completed a TLS handshake with a certificate it does not
#: trust (nginx's 495): the ERP is up, and the operations fail saying what is wrong with it,
#: rather than waiting for ever behind an open breaker.
CERTIFICATE_UNTRUSTED_STATUS = 495


class ErpBreaker:
    """Open/closed state of the ERP, in Redis. Coroutines of the worker's event loop."""

    def __init__(
        self, client: aioredis.Redis, *, erp_url: str, threshold: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._client = client
        self.erp_url = erp_url
        #: What the probe's HTTPS trusts (ARCHIBOT_ERP_CA_FILE); None: the system's.
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self.threshold = threshold
        self._errors_key = ERP_ERRORS_KEY
        self._open_key = ERP_OPEN_KEY
        self._probe_key = ERP_PROBE_KEY
        self._open = False
        self._open_read_at = float("-inf")
        #: Whether a streak may be counted: what the last reading saw, or an error since.
        self._streak_seen = True

    async def is_open(self) -> bool:
        """Whether workers should leave the ERP alone for now.

        The answer is reused for ``DEFAULT_STATE_REUSE_S``: a worker asks before every claim,
        and another process's opening (or closing) reaching it a second late costs at most
        one claim that meets the outage as the running operations do. What this process
        itself opens or closes it knows at once.
        """
        now = time.monotonic()
        if now - self._open_read_at >= DEFAULT_STATE_REUSE_S:
            is_open, streak = await self._client.mget(self._open_key, self._errors_key)
            self._open, self._streak_seen = is_open is not None, streak is not None
            self._open_read_at = now
        return self._open

    def _knows(self, is_open: bool) -> None:
        self._open, self._open_read_at = is_open, time.monotonic()

    async def transport_error(self, agent: str, error: str, *, confirm_now: bool = False) -> bool:
        """Count one transport error; True when the breaker is open after it.

        A streak long enough is confirmed by a probe first: an ERP whose login page answers
        is up (its 500s are the pages' own trouble, retried one by one), so the streak is
        reset instead of stopping every worker. ``confirm_now`` probes at once, whatever
        the streak: a login page that did not answer means the ERP is down, and every
        agent that needs a login should wait for it to return rather than try again.
        """
        self._streak_seen = True
        pipe = self._client.pipeline(transaction=True)
        pipe.incr(self._errors_key)
        pipe.pexpire(self._errors_key, DEFAULT_ERROR_WINDOW_MS)
        streak = int((await pipe.execute())[0])
        if await self._client.exists(self._open_key):
            self._knows(True)
            return True
        if streak < self.threshold and not confirm_now:
            return False
        status = await self._ask_erp()
        if status is not None and status < 500:
            await self._client.delete(self._errors_key)
            self._streak_seen = False
            log.info("erp_breaker_kept_closed errors=%d probe_status=%d", streak, status)
            return False
        opened = bool(await self._client.set(
            self._open_key, json.dumps({"since": time.time(), "probes": 0}), nx=True
        ))
        self._knows(True)
        if opened:
            log.warning("erp_breaker_open errors=%d last_agent=%s last_error=%r "
                        "(workers stop claiming work until the ERP answers)", streak, agent, error)
        return True

    async def success(self) -> None:
        """An operation got through to the ERP: the streak, if this process knows of one, is over."""
        if self._streak_seen:
            await self._client.delete(self._errors_key)
            self._streak_seen = False

    async def probe(self) -> bool:
        """If the breaker is open and it is this worker's turn, ask the ERP; True if it closed.

        Turns are spaced by the backoff helper (one probe at a time across workers).
        """
        raw = await self._client.get(self._open_key)
        self._knows(raw is not None)
        if raw is None:
            return False
        info = json.loads(raw)
        probes = int(info.get("probes", 0))
        spacing_ms = compute_backoff_ms(probes, base_ms=DEFAULT_PROBE_BASE_MS,
                                        max_ms=DEFAULT_PROBE_MAX_MS)
        if not await self._client.set(self._probe_key, "1", nx=True, px=spacing_ms):
            return False
        status = await self._ask_erp()
        if status is not None and status < 500:
            await self._client.delete(self._open_key, self._errors_key)
            self._knows(False)
            self._streak_seen = False
            log.warning("erp_breaker_closed down_s=%.0f probes=%d status=%d",
                        time.time() - float(info.get("since", time.time())), probes + 1, status)
            return True
        info["probes"] = probes + 1
        await self._client.set(self._open_key, json.dumps(info), xx=True)
        log.info("erp_probe_failed probes=%d status=%s next_in_ms=%d", probes + 1, status,
                 compute_backoff_ms(probes + 1, base_ms=DEFAULT_PROBE_BASE_MS,
                                    max_ms=DEFAULT_PROBE_MAX_MS, jitter=0))
        return False

    async def _ask_erp(self) -> int | None:
        """The HTTP status of the ERP's login page, or None if it did not answer."""
        timeout = aiohttp.ClientTimeout(total=DEFAULT_PROBE_TIMEOUT_S)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
                urljoin(self.erp_url, PROBE_PATH), allow_redirects=False, ssl=self._ssl
            ) as response:
                return response.status
        except aiohttp.ClientConnectorCertificateError as exc:
            log.warning("erp_probe_certificate_untrusted error=%s (set ARCHIBOT_ERP_CA_FILE)", exc)
            return CERTIFICATE_UNTRUSTED_STATUS
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None
