"""Errors of the Archibald automation layer; callers catch these, never pyppeteer's.

ErpError
├── ErpUnavailable     transient: a 500 page, a timeout, a failed navigation (retry is OK)
│   ├── ErpMismatch    the ERP holds something else than was written (names the field)
│   ├── GridStuck      the lines grid stayed editing or the page froze: reload and resume
│   └── LoginUnreached the login page did not answer (5xx, refused, timeout): nothing was
│                      posted, the ERP saw no login
├── SessionExpired     the ERP sent us to Login.aspx (log in again, then retry the step)
├── LoginRejected      the ERP refused the credentials (permanent)
├── LoginThrottled     the ERP refused the login post with 403: this address logs in too often
├── ErpMisconfigured   the ERP is not where, or not what, ARCHIBOT_ERP_URL says (permanent)
│   ├── ErpCertificateRejected  Chromium did not trust the ERP's HTTPS certificate
│   └── ErpLeftHost    a navigation ended on another host than the configured ERP's
└── ErpRejected        the ERP refused the data: unknown article, validation error (permanent)
    └── NotOwnRecord   the payload names a record that is not in the agent's own list (another
                       agent's, which the ERP would open by its id, or none): nothing done
"""

from __future__ import annotations


class ErpError(Exception):
    """Base class of every error raised by the erp package."""


class ErpUnavailable(ErpError):
    """The ERP did not answer usefully (500 page, timeout, navigation failure); retry is OK."""


class ErpMismatch(ErpUnavailable):
    """A write read back differs from the request: `field`, what was wanted, what the ERP holds.

    Transient: a retry reconciles the order to the request (the edit path is a diff); it is
    never reported as done.
    """

    def __init__(self, step: str, field: str, wanted: object, found: object) -> None:
        super().__init__(f"{step}: the ERP holds {field}={found!r}, wanted {wanted!r}")
        self.field = field
        self.wanted = wanted
        self.found = found


class GridStuck(ErpUnavailable):
    """The lines grid stayed in edit mode after its callback, or the page stopped answering."""


class LoginUnreached(ErpUnavailable):
    """The login never got as far as posting the credentials: Login.aspx answered 5xx, the
    connection was refused or timed out, or the page showed no login form. The ERP saw no
    login, so it costs nothing from the login budget; the ERP is down, not the account."""


class SessionExpired(ErpError):
    """A step landed on Login.aspx: the server session is gone; log in again and retry."""


class LoginRejected(ErpError):
    """The ERP refused the agent's credentials; retrying will not help."""


class LoginThrottled(ErpError):
    """The ERP's operator blocks this client's address for logging in too often (HTTP 403).

    Not the credentials' fault and not an outage: wait (``retry_after_s`` when the server
    said) before any other login; sessions already open keep working.
    """

    def __init__(self, message: str, retry_after_s: float | None = None, *, posted: bool = True) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        #: False when the login page itself was refused: no credentials were posted.
        self.posted = posted


class ErpMisconfigured(ErpError):
    """The ERP is not where, or not what, the settings say; only an operator can fix it.

    Permanent: no retry helps until ARCHIBOT_ERP_URL or ARCHIBOT_ERP_CA_FILE is put right.
    """


class ErpCertificateRejected(ErpMisconfigured):
    """Chromium refused the ERP's HTTPS certificate (`reason`: its net::ERR_CERT_* code)."""

    def __init__(self, step: str, url: str, reason: str) -> None:
        super().__init__(
            f"{step}: the ERP's HTTPS certificate at {url} is not trusted ({reason}): give the "
            "certificate of the ERP or of the CA that signed it in ARCHIBOT_ERP_CA_FILE (PEM)"
        )
        self.url = url
        self.reason = reason


class ErpLeftHost(ErpMisconfigured):
    """A navigation ended on another scheme, host or port than the configured ERP's.

    The bot never follows the ERP to another host (its cookies and the agents' passwords
    belong to the configured one): a redirect there means ARCHIBOT_ERP_URL is out of date.
    """

    def __init__(self, step: str, expected: str, found: str) -> None:
        super().__init__(
            f"{step}: the ERP at {expected} sent the browser to {found}, another host; "
            f"Archibot only follows the ERP at {expected} — if the ERP moved to {found}, set "
            "ARCHIBOT_ERP_URL to its new address"
        )
        self.expected = expected
        self.found = found


class ErpRejected(ErpError):
    """The ERP refused the data (business rule); permanent. `field` names the culprit if known."""

    def __init__(self, erp_message: str, field: str | None = None) -> None:
        where = f" (field {field})" if field else ""
        super().__init__(f"ERP rejected the operation{where}: {erp_message}")
        self.field = field
        self.erp_message = erp_message


class NotOwnRecord(ErpRejected):
    """The payload names a record the agent's own list view does not hold.

    The live ERP opens any agent's order or customer by its id (FACTS §13), so reaching a
    record by URL proves nothing: a record is the agent's own only when their own list shows
    it. Permanent; raised before anything is touched. `kind` is "order", "customer", "ddt" or
    "invoice"; the runtime names the agent in the operation's error.
    """

    def __init__(self, kind: str, record: str, field: str | None = None) -> None:
        self.kind = kind
        self.record = record
        super().__init__(self.saying(), field=field or kind)

    def saying(self, agent: str | None = None) -> str:
        """The refusal, naming the agent when known (the runtime knows it, the erp layer not)."""
        whose = f"agent {agent!r}'s" if agent else "the agent's"
        return (
            f"{self.kind} {self.record} is not {whose}: their own list of {self.kind}s does not"
            " hold it, and Archibot acts only on the agent's own records (the ERP opens any"
            " agent's by its id). Nothing was done"
        )
