"""The ERP's address (FACTS §13: it moved from a bare IP with a self-signed certificate to
https://archibald.komet.it/Archibald): every URL is built from ARCHIBOT_ERP_URL with its base
path, HTTPS is trusted through ARCHIBOT_ERP_CA_FILE and nothing else, and a redirect to
another host fails naming both hosts.

The simulator serves HTTPS here with certificates made for the test (a CA and a leaf for
127.0.0.1/localhost), and sends every page to another host with its fault ``redirect_host``.
"""

from __future__ import annotations

import datetime
import functools
import http.client
import ipaddress
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from actors.breaker import CERTIFICATE_UNTRUSTED_STATUS, ErpBreaker
from actors.outcomes import Outcome, outcome_for
from archibot.client import Client
from archibot.errors import ConfigError
from archibot.settings import Settings
from archibot_devtools.local import Workers
from erp import selectors as sel
from erp.certificates import SPKI_LIST_FLAG, chromium_trust_args, spki_sha256
from erp.detail import click_to_navigate, tool_link
from erp.documents import fetch_file
from erp.errors import ErpCertificateRejected, ErpLeftHost, ErpUnavailable
from erp.orders import find_own_order
from erp.session import login, touch_session
from erp.waits import goto, same_origin, wait_idle
from pool.browser import launch_chromium
from pool.pool import BrowserPool
from tests.fix_erpsim import SimProcess, start_erpsim

AGENT, PASSWORD = "agent01", "pw-agent01"
CHROMIUM = Settings.from_env().chromium


# -- certificates made for the test ---------------------------------------------------------

@dataclass(frozen=True)
class Pki:
    """A CA, a leaf it signed for 127.0.0.1/localhost, and a stranger's leaf (another CA's)."""

    ca: Path
    leaf: Path
    leaf_key: Path
    #: The stranger's leaf followed by *our* CA's certificate, which anyone can append.
    stranger_chain: Path
    stranger_key: Path
    stranger_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Archibot test CA", ca_key, "Archibot test CA", ca_key, ca=True)
    leaf = _certificate("localhost", leaf_key, "Archibot test CA", ca_key, ca=False)
    # A stranger's CA (same name, another key) and a leaf it signed for the same host.
    other_key, stranger_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    other_ca = _certificate("Archibot test CA", other_key, "Archibot test CA", other_key, ca=True)
    stranger = _certificate("localhost", stranger_key, "Archibot test CA", other_key, ca=False)
    files = {
        "ca.pem": _pem(ca), "leaf.pem": _pem(leaf), "leaf-key.pem": _key_pem(leaf_key),
        "stranger-chain.pem": _pem(stranger) + _pem(ca), "stranger-key.pem": _key_pem(stranger_key),
        "stranger-ca.pem": _pem(other_ca),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return Pki(d / "ca.pem", d / "leaf.pem", d / "leaf-key.pem", d / "stranger-chain.pem",
               d / "stranger-key.pem", d / "stranger-ca.pem")


@pytest.fixture(scope="module")
def https_erp(pki: Pki) -> Iterator[SimProcess]:
    """The simulator over HTTPS, its certificate the leaf our CA signed (the chain: leaf only)."""
    sim = start_erpsim(("--tls-cert", str(pki.leaf), "--tls-key", str(pki.leaf_key)), ca_file=str(pki.ca))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def erps(https_erp: SimProcess) -> Iterator[SimProcess]:
    https_erp.reset()
    yield https_erp
    https_erp.reset()


def _pool(**options: Any) -> BrowserPool:
    return BrowserPool(chromium_path=CHROMIUM, contexts_per_browser=1, **options)


# -- the simulator learns it ----------------------------------------------------------------

def test_erpsim_serves_https_with_the_certificate_it_is_given(erps: SimProcess, pki: Pki) -> None:
    assert erps.url.startswith("https://127.0.0.1:") and erps.url.endswith("/Archibald/")
    trusting = ssl.create_default_context(cafile=str(pki.ca))
    with urllib.request.urlopen(sel.login_url(erps.url), context=trusting) as page:
        assert page.status == 200 and b"dviUserName_Edit_I" in page.read()
    # A client that trusts only the system's store refuses it: it is no public certificate.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(erps.url + "Login.aspx", context=ssl.create_default_context())


def test_erpsim_sends_every_page_to_the_redirect_host(erp: SimProcess) -> None:
    erp.set_faults(redirect_host="localhost")
    port = int(erp.url.split(":")[2].split("/")[0])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/Archibald/Default.aspx?x=1")
    answer = connection.getresponse()
    assert answer.status == 302
    assert answer.getheader("Location") == f"http://localhost:{port}/Archibald/Default.aspx?x=1"
    # The admin API stays where it is, and counts what it did.
    assert erp.counters()["moved_redirects"] == 1
    assert erp.faults()["redirect_host"] == "localhost"


# -- Chromium's SPKI flag, as Debian's Chromium has it ----------------------------------------

def _open(aio: Any, url: str, extra_args: tuple[str, ...]) -> str:
    """"ok" when Chromium loads `url` with `extra_args`, else its net:: error."""

    async def run() -> str:
        chromium = await launch_chromium(CHROMIUM, extra_args=extra_args)
        try:
            context = await chromium.browser.createIncognitoBrowserContext()
            page = await context.newPage()
            try:
                await page.goto(url, {"timeout": 15_000})
            except Exception as exc:  # noqa: BLE001 - the error is the answer
                return str(exc).split(" at ")[0]
            return "ok"
        finally:
            await chromium.close()

    return str(aio.run(run()))


def _pin(path: Path) -> tuple[str, ...]:
    der = x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)
    return (f"{SPKI_LIST_FLAG}={spki_sha256(der)}",)


def test_chromium_trusts_a_pinned_leaf_and_a_ca_only_as_the_server_sends_it(
    aio: Any, erps: SimProcess, pki: Pki
) -> None:
    url = erps.url + "Login.aspx"
    # Nothing pinned: the test CA is in no trust store.
    assert _open(aio, url, ()) == "net::ERR_CERT_AUTHORITY_INVALID"
    # The leaf's key pinned: accepted (the handshake proves the server holds that key).
    assert _open(aio, url, _pin(pki.leaf)) == "ok"
    # The CA's key pinned: matched only against certificates the server *sends*, and the
    # server sends only its leaf — a CA file's root never makes Chromium trust anything...
    assert _open(aio, url, _pin(pki.ca)) == "net::ERR_CERT_AUTHORITY_INVALID"
    # ...and a stranger who appends our (public) CA certificate to a chain of their own is
    # accepted, every error ignored: why erp.certificates never pins a CA's key.
    stranger = start_erpsim(("--tls-cert", str(pki.stranger_chain), "--tls-key", str(pki.stranger_key)))
    try:
        assert _open(aio, stranger.url + "Login.aspx", _pin(pki.ca)) == "ok"
    finally:
        stranger.stop()


# -- the bot handles it ----------------------------------------------------------------------

def test_the_bot_logs_in_and_reads_over_https_trusting_the_ca_file(
    aio: Any, erps: SimProcess, pki: Pki
) -> None:
    # Given an ERP over HTTPS whose certificate our CA signed, and ARCHIBOT_ERP_CA_FILE naming it
    settings = Settings.from_env({"ARCHIBOT_ERP_URL": erps.url.rstrip("/"), "ARCHIBOT_ERP_CA_FILE": str(pki.ca)})
    erp_url = settings.erp_base()
    order_id = str(erps.orders(AGENT)[0]["id"])

    async def run() -> tuple[Any, bool, list[dict[str, Any]]]:
        # When the pool launches Chromium as a worker does, with the flags the CA file gives
        trust = functools.partial(chromium_trust_args, erp_url, settings.erp_ca_file)
        async with _pool(launch_args=trust) as pool, pool.context(AGENT) as session:
            await login(session.page, erp_url, AGENT, PASSWORD)
            found = await find_own_order(session.page, erp_url, order_id)
            cookies = await session.page.cookies()
        alive = await touch_session(erp_url, cookies, ssl_context=settings.erp_ssl_context())
        return found, alive, cookies

    found, alive, cookies = aio.run(run())
    # Then the agent is logged in and their order is read, in Chromium and over Python's HTTPS
    assert found is not None
    assert alive is True
    assert erps.counters()["logins"] == {AGENT: 1}
    assert {c["name"] for c in cookies} >= {"ASP.NET_SessionId", "Login"}


def test_without_the_ca_file_a_self_signed_erp_fails_with_a_certificate_error(
    aio: Any, erps: SimProcess, pki: Pki
) -> None:
    erp_url = erps.url

    async def log_in(**options: Any) -> None:
        async with _pool(**options) as pool, pool.context(AGENT) as session:
            await login(session.page, erp_url, AGENT, PASSWORD, timeout_ms=15_000)

    # Without a CA file Chromium's own trust decides: the login fails at once, clearly, and
    # for good (a misconfiguration, never retried as if the ERP were down)
    with pytest.raises(ErpCertificateRejected, match="ERR_CERT_AUTHORITY_INVALID") as info:
        aio.run(log_in())
    assert "ARCHIBOT_ERP_CA_FILE" in str(info.value) and erp_url in str(info.value)
    assert outcome_for(info.value) is Outcome.FAIL
    assert erps.counters()["login_posts"] == {}
    # A CA file that did not sign the ERP's certificate pins nothing: the same error
    with pytest.raises(ErpCertificateRejected, match=r"not trusted \(certificate signature failure\)"):
        aio.run(chromium_trust_args(erp_url, str(pki.stranger_ca)))
    with pytest.raises(ErpCertificateRejected):
        aio.run(log_in(launch_args=functools.partial(chromium_trust_args, erp_url, str(pki.stranger_ca))))
    # and the bot's own HTTPS requests do not trust it either
    with pytest.raises(ErpUnavailable, match="[Cc]ertificate"):
        aio.run(touch_session(erp_url, []))


def test_a_chromium_launched_before_the_certificate_could_be_checked_is_replaced(
    aio: Any, erps: SimProcess, pki: Pki
) -> None:
    # Given an ERP that did not answer when the worker's Chromium was launched
    asked: list[int] = []

    async def trust() -> tuple[str, ...]:
        asked.append(1)
        if len(asked) == 1:
            raise ErpUnavailable("check the ERP's certificate: 127.0.0.1 did not answer")
        return await chromium_trust_args(erps.url, str(pki.ca))

    async def run() -> dict[str, Any]:
        async with _pool(launch_args=trust) as pool:
            # Then it was launched without the pin, and is replaced at the next checkout,
            # which asks again: the agent logs in
            async with pool.context(AGENT) as session:
                await login(session.page, erps.url, AGENT, PASSWORD)
            return pool.stats()

    stats = aio.run(run())
    assert len(asked) == 2
    assert stats["launches"] == 2
    assert erps.counters()["logins"] == {AGENT: 1}


def test_workers_read_the_erp_over_https_with_the_ca_file_and_fail_for_good_without(
    client: Client, erps: SimProcess, pki: Pki, start_worker_processes: Callable[..., Workers]
) -> None:
    # Given an agent, and workers whose ERP is the simulator over HTTPS, with no CA file
    client.agents.add(AGENT, PASSWORD)
    workers = start_worker_processes(processes=1, threads=1, erp_url=erps.url)
    # When a read is sent, it fails at once, naming the certificate error and the setting
    failed = client.wait(client.send("sync-orders", AGENT, {}), 60)
    assert failed["status"] == "failed" and failed["attempts"] == 1, failed
    assert "ERR_CERT_AUTHORITY_INVALID" in failed["error"] and "ARCHIBOT_ERP_CA_FILE" in failed["error"]
    workers.stop()
    # Then with ARCHIBOT_ERP_CA_FILE naming the CA, the same read is done
    start_worker_processes(processes=1, threads=1, erp_url=erps.url, erp_ca_file=str(pki.ca))
    done = client.wait(client.send("sync-orders", AGENT, {}), 60)
    assert done["status"] == "done", done
    assert erps.counters()["logins"] == {AGENT: 1}


def test_the_breakers_probe_trusts_the_ca_file_and_takes_an_untrusted_erp_for_up(
    aio: Any, erps: SimProcess, pki: Pki
) -> None:
    trusting = ErpBreaker(None, erp_url=erps.url, threshold=1,  # type: ignore[arg-type]
                          ssl_context=ssl.create_default_context(cafile=str(pki.ca)))
    assert aio.run(trusting._ask_erp()) == 200
    # Untrusted, the ERP still answered: up (its operations fail saying why), never "down",
    # which would keep every operation waiting behind an open breaker for ever
    untrusting = ErpBreaker(None, erp_url=erps.url, threshold=1)  # type: ignore[arg-type]
    assert aio.run(untrusting._ask_erp()) == CERTIFICATE_UNTRUSTED_STATUS


def test_a_redirect_to_another_host_fails_naming_both_hosts(aio: Any, page: Any, erp: SimProcess) -> None:
    # Given an ERP whose every page now sends the browser on to another host
    port = erp.url.split(":")[2].split("/")[0]
    erp.set_faults(redirect_host="localhost")
    # When the bot opens a page, or logs in
    with pytest.raises(ErpLeftHost) as opened:
        aio.run(goto(page, urljoin(erp.url, sel.DEFAULT_PAGE), "open Default.aspx"))
    with pytest.raises(ErpLeftHost) as logged_in:
        aio.run(login(page, erp.url, AGENT, PASSWORD))
    # Then both fail for good naming both hosts, and no password was posted anywhere
    for error in (opened.value, logged_in.value):
        assert f"http://127.0.0.1:{port}" in str(error) and f"http://localhost:{port}" in str(error)
        assert "ARCHIBOT_ERP_URL" in str(error)
        assert outcome_for(error) is Outcome.FAIL
    assert erp.counters()["login_posts"] == {}
    assert PASSWORD not in str(logged_in.value)


def test_a_redirect_to_a_host_that_does_not_answer_fails_naming_both_hosts(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given an ERP sending its pages to a host this machine cannot reach (nothing on 127.0.0.2)
    port = erp.url.split(":")[2].split("/")[0]
    erp.set_faults(redirect_host="127.0.0.2")
    # Then the failed navigation is no ERP outage to retry, but the move, naming both hosts
    for attempt in (
        goto(page, urljoin(erp.url, sel.DEFAULT_PAGE), "open Default.aspx"),
        login(page, erp.url, AGENT, PASSWORD),
    ):
        with pytest.raises(ErpLeftHost, match=rf"http://127\.0\.0\.1:{port} sent the browser to http://127\.0\.0\.2:{port}"):
            aio.run(attempt)
    assert erp.counters()["login_posts"] == {}


def test_a_click_that_lands_on_another_host_fails_naming_both_hosts(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given a customer's detail view open in a live session
    customer = next(c for c in erp.state()["customers"] if c["agent"] == AGENT)
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    aio.run(goto(page, urljoin(erp.url, sel.customer_view_url(customer["id"])), "open the customer"))
    aio.run(wait_idle(page, "open the customer"))
    edit = aio.run(tool_link(page, sel.EDIT_TEXTS, "edit"))
    # When the ERP moves before "Modifica" is clicked
    erp.set_faults(redirect_host="localhost")
    # Then the click's page on the other host is ErpLeftHost naming both
    with pytest.raises(ErpLeftHost, match=r"http://127\.0\.0\.1:\d+ sent the browser to http://localhost:\d+"):
        aio.run(click_to_navigate(page, f'[id="{edit}"]', "edit the customer"))


def test_a_link_to_another_host_is_not_fetched(aio: Any) -> None:
    class OnTheErp:
        url = "https://archibald.komet.it/Archibald/CUSTINVOICEJOUR_ListView/"

    with pytest.raises(ErpLeftHost, match="https://archibald.komet.it.*https://files.example.com"):
        aio.run(fetch_file(OnTheErp(), "https://files.example.com/Archibald/FileData.axd?id=1", "fetch"))


# -- URL building -----------------------------------------------------------------------------

@pytest.mark.parametrize("configured", ["https://archibald.komet.it/Archibald", "https://archibald.komet.it/Archibald/"])
def test_every_url_keeps_the_base_path_of_the_erp_url(configured: str) -> None:
    base = Settings.from_env({"ARCHIBOT_ERP_URL": configured}).erp_base()
    assert base == "https://archibald.komet.it/Archibald/"
    paths = [sel.DEFAULT_PAGE, sel.ORDERS_LIST, sel.CUSTOMERS_LIST, sel.PRODUCTS_LIST, sel.NEW_ORDER,
             sel.NEW_CUSTOMER, sel.DDT_LIST, sel.INVOICES_LIST, sel.PRICES_LIST,
             sel.LINE_DISCOUNTS_LIST, sel.order_view_url("51847"), sel.customer_view_url("7")]
    for path in paths:
        assert urljoin(base, path).startswith(base), path
    assert sel.login_url(base) == (
        "https://archibald.komet.it/Archibald/Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
    )
    # Another base path is kept as well, down to the page Login.aspx returns to
    assert sel.login_url("https://erp.example.com/Erp/Live/") == (
        "https://erp.example.com/Erp/Live/Login.aspx?ReturnUrl=%2fErp%2fLive%2fDefault.aspx"
    )


def test_same_origin_is_scheme_host_and_port() -> None:
    assert same_origin("https://archibald.komet.it/Archibald/x", "https://ARCHIBALD.komet.it:443/y")
    assert not same_origin("https://archibald.komet.it/", "http://archibald.komet.it/")
    assert not same_origin("https://archibald.komet.it/", "https://archibald.komet.it:8443/")
    assert not same_origin("https://archibald.komet.it/", "https://192.0.2.10/")


def test_the_ca_file_is_checked_at_start(tmp_path: Path, pki: Pki) -> None:
    assert Settings.from_env({"ARCHIBOT_ERP_CA_FILE": str(pki.ca)}).erp_ssl_context() is not None
    assert Settings.from_env({}).erp_ssl_context() is None
    with pytest.raises(ConfigError, match="ARCHIBOT_ERP_CA_FILE: cannot read"):
        Settings.from_env({"ARCHIBOT_ERP_CA_FILE": str(tmp_path / "missing.pem")})
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        Settings.from_env({"ARCHIBOT_ERP_CA_FILE": str(garbage)})
    with pytest.raises(ConfigError, match="http:// or https://"):
        Settings.from_env({"ARCHIBOT_ERP_URL": "archibald.komet.it/Archibald"})
