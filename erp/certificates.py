"""Trusting the ERP's HTTPS certificate as the operator's CA file vouches for it.

Chromium on Linux has no "CA file" flag. What it has is
``--ignore-certificate-errors-spki-list`` (with ``--user-data-dir``, which the pool always
passes): a chain in which *any certificate the server sends* has one of the listed SPKI
SHA-256 hashes is accepted with every error ignored — expiry and host name included
(``services/network/ignore_errors_cert_verifier.cc``). Listing a CA's key would therefore
be a hole: a CA certificate is public, anyone can append it to a chain of their own; and a
root the server does not send never matches. So Python verifies the ERP's chain against
the CA file, host name included (:func:`ssl.create_default_context`), and only the key of
the leaf that passed is listed: the TLS handshake proves the server holds that key.
tests/test_erp_address.py shows both halves with Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from erp.errors import ErpCertificateRejected, ErpUnavailable

#: How long the handshake that reads the ERP's certificate may take.
DEFAULT_HANDSHAKE_TIMEOUT_S = 10.0
SPKI_LIST_FLAG = "--ignore-certificate-errors-spki-list"
_STEP = "check the ERP's certificate against ARCHIBOT_ERP_CA_FILE"


def ssl_context(ca_file: str) -> ssl.SSLContext:
    """A client context trusting exactly the certificates of ``ca_file`` (PEM), host names checked."""
    return ssl.create_default_context(cafile=ca_file)


def spki_sha256(der_certificate: bytes) -> str:
    """Base64 SHA-256 of a DER certificate's SubjectPublicKeyInfo (RFC 7469), Chromium's pin form."""
    spki = x509.load_der_x509_certificate(der_certificate).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


async def verified_leaf(
    erp_url: str, ca_file: str, *, timeout_s: float = DEFAULT_HANDSHAKE_TIMEOUT_S
) -> bytes:
    """The DER certificate the ERP presents, once verified against ``ca_file`` and its host name.

    ErpCertificateRejected when it does not verify; ErpUnavailable when the ERP does not answer.
    """
    parts = urlsplit(erp_url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ssl_context(ca_file), server_hostname=host),
            timeout_s,
        )
    except ssl.SSLCertVerificationError as exc:
        raise ErpCertificateRejected(_STEP, erp_url, exc.verify_message or str(exc)) from exc
    except (OSError, TimeoutError) as exc:
        raise ErpUnavailable(f"{_STEP}: {host}:{port} did not answer ({exc!r})") from exc
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        raise ErpCertificateRejected(_STEP, erp_url, "the server sent no certificate")
    return bytes(der)


async def chromium_trust_args(erp_url: str, ca_file: str) -> tuple[str, ...]:
    """The Chromium flags that make it trust the ERP's certificate: none without a CA file
    (Chromium's own trust store decides) or over plain HTTP; else the verified leaf's pin."""
    if not ca_file or urlsplit(erp_url).scheme != "https":
        return ()
    return (f"{SPKI_LIST_FLAG}={spki_sha256(await verified_leaf(erp_url, ca_file))}",)
