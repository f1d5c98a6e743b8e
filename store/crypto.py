"""Encryption at rest of ERP passwords and session cookies (Fernet, keys from the secrets).

Keys come as a list, newest first: the newest encrypts, every one decrypts, so a new key
can be deployed first and ``archibot rotate-key`` re-encrypts what the older ones sealed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from store.errors import CredentialsUnreadable


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class SecretBox:
    """Encrypts with the newest of ``secret_keys`` and decrypts with any of them."""

    def __init__(self, secret_keys: str | Sequence[str]) -> None:
        keys = [secret_keys] if isinstance(secret_keys, str) else list(secret_keys)
        if not keys or not all(keys):
            raise ValueError("at least one non-empty secret key is needed")
        self._fernet = MultiFernet([_fernet(k) for k in keys])

    def seal(self, plaintext: str) -> bytes:
        """Encrypt ``plaintext`` with the newest key."""
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        """Decrypt what :meth:`seal` made; CredentialsUnreadable under none of the keys."""
        try:
            return self._fernet.decrypt(bytes(sealed)).decode("utf-8")
        except InvalidToken:
            raise CredentialsUnreadable(
                "a stored secret does not decrypt with any of ARCHIBOT_SECRET_KEYS: the key it "
                "was stored with is gone; store the agent's password again (archibot agents add)"
            ) from None

    def reseal(self, sealed: bytes) -> bytes:
        """Re-encrypt ``sealed`` with the newest key (CredentialsUnreadable if no key opens it)."""
        try:
            return self._fernet.rotate(bytes(sealed))
        except InvalidToken:
            raise CredentialsUnreadable("a stored secret does not decrypt with any key") from None
