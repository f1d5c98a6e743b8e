"""Encryption at rest of ERP passwords and session cookies (Fernet, key from the secret)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from store.errors import CredentialsUnreadable


class SecretBox:
    """Encrypts and decrypts small secrets with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(secret_key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> bytes:
        """Encrypt ``plaintext``."""
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        """Decrypt what :meth:`seal` made; CredentialsUnreadable under another key."""
        try:
            return self._fernet.decrypt(bytes(sealed)).decode("utf-8")
        except InvalidToken:
            raise CredentialsUnreadable(
                "a stored secret does not decrypt: ARCHIBOT_SECRET_KEY changed since it "
                "was stored; store the agent's password again (archibot agents add)"
            ) from None
