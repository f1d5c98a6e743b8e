"""Archibot's settings: one frozen, typed object parsed once from the environment.

Only the worker boot and the CLI call :meth:`Settings.from_env`; everything
below them receives the values it needs as arguments.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from archibot.errors import ConfigError

if TYPE_CHECKING:
    from store.logins import LoginBudget

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_ERP_URL = "http://127.0.0.1:8085/Archibald/"
#: Debian's headless shell costs about a third of the full browser's CPU per navigation
#: (measured: 40–55 ms against 120–145 ms); the full browser is the fallback.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")
DEFAULT_CHROMIUM = next((p for p in CHROMIUM_CANDIDATES if os.path.exists(p)), CHROMIUM_CANDIDATES[-1])
DEFAULT_CONTEXTS_PER_BROWSER = 5
#: Only good for a local run: a deployment sets its own ARCHIBOT_SECRET_KEY.
DEFAULT_SECRET_KEY = "archibot-local-development-key-change-me"
#: The agent lock's lease; renewed every third of it while the operation runs.
DEFAULT_LOCK_TTL_MS = 15_000
#: A busy agent's message is requeued until it is this old, then the operation fails.
DEFAULT_MAX_REQUEUE_AGE_S = 3_600
#: How many times an operation is tried in all when it fails with an unexpected error (a bug
#: or an untranslated library error). Transient errors are bounded by time, not by this.
DEFAULT_MAX_ATTEMPTS = 4
#: How long an operation keeps retrying transient errors (ERP 5xx, timeouts, refused
#: connections, a crashed browser, our own infrastructure) before it fails.
DEFAULT_RETRY_BUDGET_S = 3_600
#: The cap of the backoff between two tries after transient errors.
DEFAULT_RETRY_MAX_MS = 120_000
#: An operation whose holder died under it this many times fails as poison.
DEFAULT_MAX_WORKER_DEATHS = 5
#: Consecutive transport errors (across agents and workers) that open the ERP's breaker.
DEFAULT_ERP_BREAKER_ERRORS = 5
#: How long a worker's boot retries PostgreSQL, Redis and Chromium before it exits non-zero.
DEFAULT_BOOT_TIMEOUT_S = 120
#: After a stop signal, how long running operations may go on before they are handed back
#: to the journal (a save already clicked always finishes). supervisord's stopwaitsecs is 60.
DEFAULT_SHUTDOWN_GRACE_S = 20
#: How often a worker process looks for orphaned operations (one sweeps at a time).
DEFAULT_SWEEP_INTERVAL_S = 10
#: Socket timeout of every Redis command (the broker's and the lock's).
DEFAULT_REDIS_TIMEOUT_S = 10
#: PostgreSQL statement timeout of every pooled connection.
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
#: Reload an order form past this many DOM nodes (FACTS §10: 23k at the start, >50k breaks).
DEFAULT_DOM_NODE_BUDGET = 40_000
#: Hosts of the bundled simulator: the development key is accepted only against them.
LOCAL_ERP_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The wall-clock limit of one operation attempt.
DEFAULT_OP_TIMEOUT_S = 300
#: What each order line adds to the limit of an operation that writes lines: a 40-line order
#: takes ~17 min on the live ERP, ~30 with its retries (FACTS §10), i.e. up to ~45 s a line.
#: (Each type's own limit, and whether it grows with lines, is in archibot/operations.py.)
DEFAULT_OP_TIMEOUT_PER_LINE_S = 45
#: How long after a dead holder's last word (its save click) a successor waits before
#: looking in the ERP for the save's effect: a slow ERP may still be committing it.
DEFAULT_COMMIT_SETTLE_S = 20
#: A worker's Chromium is replaced once this old (the original restarted every 90 min:
#: opening a page slowed from <200 ms to 30 s after ~30 min, FACTS §10), without
#: interrupting the operations running in it.
DEFAULT_BROWSER_MAX_AGE_S = 3_600
#: ...or as soon as opening a new context and page took longer than this.
DEFAULT_BROWSER_DEGRADED_NEW_PAGE_MS = 5_000
#: The browser's language: the ERP's labels follow its Accept-Language, its grid numbers and
#: dates its navigator.language ("51.847", "28/03/2026 06:24:57" in it-IT).
DEFAULT_ERP_LANG = "it-IT"
#: A BCP 47 tag as Chromium takes it ("it-IT", "en-US", "en"); pool.language checks the same.
_LANG_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
#: The Dramatiq queue every Archibot actor uses (one queue keeps idle polling cheap).
DEFAULT_QUEUE = "archibot"
#: How long an Idempotency-Key keeps returning the operation it made (24 h).
DEFAULT_IDEMPOTENCY_RETENTION_S = 86_400
#: The largest request body the HTTP API reads (1 MB); bigger ones get 413.
DEFAULT_MAX_REQUEST_BYTES = 1_000_000
#: A worker's heartbeat in Redis lives this long; /readyz wants one younger than that.
DEFAULT_HEARTBEAT_TTL_S = 15
#: ERP logins one agent may try per login window (the original bot keeps to 9-15 a day after
#: the ERP's operator blocked it at 48-150; FACTS §1). An operation that would need a login
#: past it waits, visibly, until the window lets one through. 0: no budget.
DEFAULT_LOGIN_BUDGET_PER_DAY = 12
#: ERP logins of all agents together per login window (the operator blocks the client's
#: address, not an account). "auto" (-1): 4 per registered agent, at least one agent's budget
#: (see store.logins.AUTO_ADDRESS_LOGINS_PER_AGENT for why). 0: no cap.
DEFAULT_LOGIN_BUDGET_PER_ADDRESS = -1
#: ERP logins of all agents together per minute: a storm or a bug never floods the ERP's
#: login (30 lets 30 agents' first logins of the day through in a minute). 0: no cap.
DEFAULT_LOGIN_BUDGET_PER_MINUTE = 30
#: The sliding window the login budgets count over.
DEFAULT_LOGIN_BUDGET_WINDOW_S = 86_400
#: A warm ERP session idle this long gets one cheap request, so the ERP's idle expiry
#: (20-30 min; FACTS §1) never costs a login. 0: no keep-alive.
DEFAULT_KEEPALIVE_S = 600
#: Sessions idle longer than this (no operation of the agent) are no longer kept alive.
DEFAULT_KEEPALIVE_MAX_IDLE_S = 43_200
#: A sync deletes nothing, and fails, when it read fewer rows than this percentage of what the
#: cache holds for it (the live bot once deleted 4,104 products when a remembered filter showed
#: 419 of 4,523; FACTS §13). A sync that reads 0 rows of a non-empty cache always fails.
DEFAULT_SYNC_MIN_READ_PCT = 70
#: ...but a read short by at most this many rows is trusted (an agent with 3 orders who deletes
#: one is not a partial read; 60 of 100 customers is).
DEFAULT_SYNC_GUARD_SLACK_ROWS = 5
#: A cached row is removed only when this many complete syncs in a row did not see it.
DEFAULT_SYNC_MISSES_TO_REMOVE = 2
#: A list whose newest MODIFIEDDATETIME is not newer than its last complete sync's is not
#: walked ("skipped: unchanged") — but at least once every this many hours it is walked anyway
#: (deletions move no MODIFIEDDATETIME; the live bot forces one after 2 h / 6 h).
DEFAULT_SYNC_FORCE_WALK_H = 6
#: A list whose last complete walk took fewer pages than this is walked without its sentinel:
#: on a one-page list the sentinel (the list's open, two SortBy callbacks, one row read) costs
#: as much as the walk itself — a simulated day of one-page lists made 23 % more ERP requests
#: with the sentinel than without (README "Freshness"); it pays on the long lists.
DEFAULT_SYNC_SKIP_MIN_PAGES = 2
#: Documents fetched from the ERP (PDFs) are kept this many days after they were last fetched.
DEFAULT_DOCUMENTS_RETENTION_DAYS = 30
#: Ended operations are pruned from the journal this many days after they ended
#: (store/retention.py; the sweeper and ``archibot prune`` run it).
DEFAULT_JOURNAL_RETENTION_DAYS = 30
#: The freshness scheduler keeps each agent's caches younger than these targets (minutes):
#: tighter for an agent who wrote something in the last ``freshness_active_window_min``.
DEFAULT_FRESHNESS_ORDERS_ACTIVE_MIN = 20
DEFAULT_FRESHNESS_ORDERS_IDLE_MIN = 60
DEFAULT_FRESHNESS_CUSTOMERS_ACTIVE_MIN = 30
DEFAULT_FRESHNESS_CUSTOMERS_IDLE_MIN = 120
DEFAULT_FRESHNESS_DDT_MIN = 60
DEFAULT_FRESHNESS_INVOICES_MIN = 60
#: The catalogue (products, prices and line discounts) is the same for everyone: one sync.
DEFAULT_FRESHNESS_PRODUCTS_MIN = 240
DEFAULT_FRESHNESS_PRICES_MIN = 240
DEFAULT_FRESHNESS_ACTIVE_WINDOW_MIN = 60
#: Background syncs queued or running at once, across every agent: writes never wait behind more.
DEFAULT_BACKGROUND_SYNCS_MAX = 3
#: How often the scheduler looks (its period: a second tick in the same one sends nothing).
DEFAULT_FRESHNESS_TICK_S = 60
#: Every freshness target and the active window are divided by this (the simulated day).
DEFAULT_FRESHNESS_SPEEDUP = 1
DEFAULT_LOG_FORMAT = "text"
DEFAULT_LOG_LEVEL = "INFO"
LOG_FORMATS = ("text", "json")
#: Heroku-style variables read when the ARCHIBOT_ one is unset.
PLATFORM_FALLBACKS = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}

_ENV_PREFIX = "ARCHIBOT_"


@dataclass(frozen=True)
class Settings:
    """Every setting Archibot reads from the environment (``ARCHIBOT_<NAME>``)."""

    redis_url: str = DEFAULT_REDIS_URL
    database_url: str = DEFAULT_DATABASE_URL
    erp_url: str = DEFAULT_ERP_URL
    #: A PEM file with the ERP's certificate or its CA's: what HTTPS to the ERP trusts (the
    #: browser and the bot's own requests). Empty: the system's trust store.
    erp_ca_file: str = ""
    erp_lang: str = DEFAULT_ERP_LANG
    chromium: str = DEFAULT_CHROMIUM
    contexts_per_browser: int = DEFAULT_CONTEXTS_PER_BROWSER
    secret_key: str = DEFAULT_SECRET_KEY
    #: Keys newest first, comma-separated; overrides ``secret_key`` (which may also be a list).
    secret_keys: str = ""
    #: A development machine: the development key is accepted whatever the ERP.
    dev: bool = False
    lock_ttl_ms: int = DEFAULT_LOCK_TTL_MS
    max_requeue_age_s: int = DEFAULT_MAX_REQUEUE_AGE_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    op_timeout_s: int = DEFAULT_OP_TIMEOUT_S
    queue: str = DEFAULT_QUEUE
    #: Off only to measure what the fast handoff buys (``archibot bench --no-handoff``).
    handoff: bool = True
    #: Per-type overrides of ``op_timeout_s``: ``"TYPE=SECONDS,TYPE=SECONDS"``.
    op_timeouts: str = ""
    #: Added to the limit of the types that write order lines, for each line of their payload.
    op_timeout_per_line_s: int = DEFAULT_OP_TIMEOUT_PER_LINE_S
    commit_settle_s: int = DEFAULT_COMMIT_SETTLE_S
    browser_max_age_s: int = DEFAULT_BROWSER_MAX_AGE_S
    browser_degraded_new_page_ms: int = DEFAULT_BROWSER_DEGRADED_NEW_PAGE_MS
    retry_budget_s: int = DEFAULT_RETRY_BUDGET_S
    retry_max_ms: int = DEFAULT_RETRY_MAX_MS
    max_worker_deaths: int = DEFAULT_MAX_WORKER_DEATHS
    erp_breaker_errors: int = DEFAULT_ERP_BREAKER_ERRORS
    boot_timeout_s: int = DEFAULT_BOOT_TIMEOUT_S
    shutdown_grace_s: int = DEFAULT_SHUTDOWN_GRACE_S
    sweep_interval_s: int = DEFAULT_SWEEP_INTERVAL_S
    redis_timeout_s: int = DEFAULT_REDIS_TIMEOUT_S
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    dom_node_budget: int = DEFAULT_DOM_NODE_BUDGET
    #: Fault injection for crash tests only: ``"OP_TYPE:POINT:FLAG_FILE"`` makes the worker
    #: SIGKILL itself once (while FLAG_FILE does not exist) at POINT of an OP_TYPE write —
    #: ``before_click`` (before the first irreversible click: an order's first line),
    #: ``after_line_1``, ``before_save_close``, ``after_click`` (the final save) or
    #: ``before_journal``. Empty in any real deployment.
    test_crash_at: str = ""
    #: Bearer tokens the HTTP API accepts besides those of ``archibot tokens add`` (comma-separated;
    #: for development).
    api_tokens: str = ""
    #: Where each operation's terminal status is POSTed, signed with ``webhook_secret``.
    webhook_url: str = ""
    webhook_secret: str = ""
    idempotency_retention_s: int = DEFAULT_IDEMPOTENCY_RETENTION_S
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    heartbeat_ttl_s: int = DEFAULT_HEARTBEAT_TTL_S
    login_budget_per_day: int = DEFAULT_LOGIN_BUDGET_PER_DAY
    login_budget_per_address: int = DEFAULT_LOGIN_BUDGET_PER_ADDRESS
    login_budget_per_minute: int = DEFAULT_LOGIN_BUDGET_PER_MINUTE
    login_budget_window_s: int = DEFAULT_LOGIN_BUDGET_WINDOW_S
    keepalive_s: int = DEFAULT_KEEPALIVE_S
    keepalive_max_idle_s: int = DEFAULT_KEEPALIVE_MAX_IDLE_S
    sync_min_read_pct: int = DEFAULT_SYNC_MIN_READ_PCT
    sync_guard_slack_rows: int = DEFAULT_SYNC_GUARD_SLACK_ROWS
    sync_misses_to_remove: int = DEFAULT_SYNC_MISSES_TO_REMOVE
    sync_force_walk_h: int = DEFAULT_SYNC_FORCE_WALK_H
    #: Off: no sentinel is read and every sync walks its lists (what skipping saves, measured).
    sync_skip_unchanged: bool = True
    sync_skip_min_pages: int = DEFAULT_SYNC_SKIP_MIN_PAGES
    #: Where documents' bytes are kept: a directory (one file per sha256), or PostgreSQL when
    #: empty. Either way the documents table lists them.
    documents_dir: str = ""
    documents_retention_days: int = DEFAULT_DOCUMENTS_RETENTION_DAYS
    journal_retention_days: int = DEFAULT_JOURNAL_RETENTION_DAYS
    # -- the freshness scheduler (actors/schedule.py) --
    freshness_orders_active_min: int = DEFAULT_FRESHNESS_ORDERS_ACTIVE_MIN
    freshness_orders_idle_min: int = DEFAULT_FRESHNESS_ORDERS_IDLE_MIN
    freshness_customers_active_min: int = DEFAULT_FRESHNESS_CUSTOMERS_ACTIVE_MIN
    freshness_customers_idle_min: int = DEFAULT_FRESHNESS_CUSTOMERS_IDLE_MIN
    freshness_ddt_min: int = DEFAULT_FRESHNESS_DDT_MIN
    freshness_invoices_min: int = DEFAULT_FRESHNESS_INVOICES_MIN
    freshness_products_min: int = DEFAULT_FRESHNESS_PRODUCTS_MIN
    freshness_prices_min: int = DEFAULT_FRESHNESS_PRICES_MIN
    freshness_active_window_min: int = DEFAULT_FRESHNESS_ACTIVE_WINDOW_MIN
    background_syncs_max: int = DEFAULT_BACKGROUND_SYNCS_MAX
    freshness_tick_s: int = DEFAULT_FRESHNESS_TICK_S
    freshness_speedup: int = DEFAULT_FRESHNESS_SPEEDUP
    #: ``text`` or ``json`` (one object a line).
    log_format: str = DEFAULT_LOG_FORMAT
    log_level: str = DEFAULT_LOG_LEVEL

    def api_token_list(self) -> list[str]:
        """The development tokens of ``ARCHIBOT_API_TOKENS``."""
        return [t.strip() for t in self.api_tokens.split(",") if t.strip()]

    def op_timeout_overrides(self) -> dict[str, int]:
        """``ARCHIBOT_OP_TIMEOUTS`` read: operation type → its time limit (s)."""
        overrides: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in self.op_timeouts.split(","))):
            name, _, value = item.partition("=")
            overrides[name.strip()] = int(value)
        return overrides

    def op_time_limit_s(self, op_type: str, payload: Mapping[str, object] | None = None) -> int:
        """The time limit of one attempt of this operation (its registry entry decides)."""
        from archibot.operations import operation_type

        return operation_type(op_type).time_limit_for(self, payload)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(_ENV_PREFIX + field.name.upper())
            if (raw is None or raw == "") and field.name in PLATFORM_FALLBACKS:
                raw = env.get(PLATFORM_FALLBACKS[field.name])
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, str(field.type), raw)
        settings = cls(**values)  # type: ignore[arg-type]
        try:
            settings.op_timeout_overrides()
        except ValueError:
            raise ConfigError(
                f"ARCHIBOT_OP_TIMEOUTS must look like 'TYPE=SECONDS,TYPE=SECONDS' (the types of "
                f"archibot/operations.py), "
                f"not {settings.op_timeouts!r}"
            ) from None
        if not _LANG_TAG_RE.match(settings.erp_lang):
            raise ConfigError(
                f"ARCHIBOT_ERP_LANG must be a language tag like 'it-IT' or 'en-US', "
                f"not {settings.erp_lang!r}"
            )
        if settings.log_format not in LOG_FORMATS:
            raise ConfigError(f"ARCHIBOT_LOG_FORMAT must be text or json, not {settings.log_format!r}")
        if settings.login_budget_per_address < DEFAULT_LOGIN_BUDGET_PER_ADDRESS:
            raise ConfigError("ARCHIBOT_LOGIN_BUDGET_PER_ADDRESS must be auto, 0 (no cap) or a "
                              f"number of logins, not {settings.login_budget_per_address}")
        if settings.erp_ca_file:
            _check_ca_file(settings.erp_ca_file)
        if urlsplit(settings.erp_url).scheme not in ("http", "https"):
            raise ConfigError(f"ARCHIBOT_ERP_URL must be an http:// or https:// URL, not {settings.erp_url!r}")
        if settings.contexts_per_browser < 1:
            raise ConfigError("ARCHIBOT_CONTEXTS_PER_BROWSER must be at least 1")
        if not settings.secret_key_list():
            raise ConfigError("ARCHIBOT_SECRET_KEY (or ARCHIBOT_SECRET_KEYS) must not be empty")
        return settings

    def secret_key_list(self) -> list[str]:
        """The encryption keys, newest first (``ARCHIBOT_SECRET_KEYS``, else ``..._SECRET_KEY``)."""
        raw = self.secret_keys or self.secret_key
        return [k.strip() for k in raw.split(",") if k.strip()]

    def erp_is_local(self) -> bool:
        """Whether the ERP is the bundled simulator on this machine."""
        return (urlsplit(self.erp_url).hostname or "") in LOCAL_ERP_HOSTS

    def check_secret_key(self) -> None:
        """Refuse the development key against a real ERP (ConfigError saying what to set).

        A worker or a server calls it at start; ``ARCHIBOT_DEV=1`` allows it anywhere.
        """
        if DEFAULT_SECRET_KEY in self.secret_key_list() and not (self.dev or self.erp_is_local()):
            raise ConfigError(
                f"refusing to start with the development secret key against the ERP at "
                f"{self.erp_url}: set ARCHIBOT_SECRET_KEY (or ARCHIBOT_SECRET_KEYS, newest "
                f"first) to a secret of your own, or ARCHIBOT_DEV=1 on a development machine"
            )

    def to_env(self) -> dict[str, str]:
        """These settings as ``ARCHIBOT_*`` variables, for child processes."""
        return {_ENV_PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}

    def login_budget(self) -> LoginBudget:
        """The login budgets these settings ask for (``ARCHIBOT_LOGIN_BUDGET_*``)."""
        from store.logins import LoginBudget

        return LoginBudget(
            per_agent=self.login_budget_per_day,
            per_address=self.login_budget_per_address,
            window_s=self.login_budget_window_s,
            per_address_minute=self.login_budget_per_minute,
        )

    def erp_ssl_context(self) -> ssl.SSLContext | None:
        """What the bot's own HTTP requests to the ERP trust: the CA file's certificates, or
        None for the system's."""
        return ssl.create_default_context(cafile=self.erp_ca_file) if self.erp_ca_file else None

    def erp_base(self) -> str:
        """The ERP's base URL, always ending with a slash."""
        return self.erp_url if self.erp_url.endswith("/") else self.erp_url + "/"


def _check_ca_file(path: str) -> None:
    """ConfigError unless ``path`` is a readable PEM file of certificates OpenSSL can load."""
    from cryptography import x509

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"ARCHIBOT_ERP_CA_FILE: cannot read {path!r} ({exc.strerror})") from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
        ssl.create_default_context(cafile=path)
    except (ValueError, ssl.SSLError):
        certificates = []
    if not certificates:
        raise ConfigError(
            f"ARCHIBOT_ERP_CA_FILE {path!r} holds no PEM certificate: give the ERP's certificate "
            "or the CA's that signed it, as '-----BEGIN CERTIFICATE-----' blocks"
        )


def _parse(name: str, type_name: str, raw: str) -> object:
    env_name = _ENV_PREFIX + name.upper()
    if type_name == "int":
        if name == "login_budget_per_address" and raw.strip().lower() == "auto":
            return DEFAULT_LOGIN_BUDGET_PER_ADDRESS
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{env_name} must be a whole number, not {raw!r}") from None
    if type_name == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{env_name} must be true or false, not {raw!r}")
    return raw
