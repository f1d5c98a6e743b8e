"""API bearer tokens: minted once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from store.db import Database

#: Random bytes in a minted token (256 bits, URL-safe text).
DEFAULT_TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """The SHA-256 (hex) a token is stored and looked up as."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The ``api_tokens`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str) -> str:
        """Mint a token named ``name`` (replacing one of that name); the token is returned once."""
        token = "abt_" + secrets.token_urlsafe(DEFAULT_TOKEN_BYTES)
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO api_tokens (name, token_hash) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash,"
                " created_at = now(), last_used_at = NULL",
                (name, token_hash(token)),
            )
        return token

    def remove(self, name: str) -> bool:
        """Revoke the token named ``name``; whether there was one."""
        with self._db.connection() as conn:
            cur = conn.execute("DELETE FROM api_tokens WHERE name = %s", (name,))
        return cur.rowcount == 1

    def names(self) -> list[str]:
        """The names of the stored tokens."""
        with self._db.connection() as conn:
            return [str(r["name"]) for r in conn.execute("SELECT name FROM api_tokens ORDER BY name")]

    def verify(self, token: str) -> str | None:
        """The name of the token, or None if no stored token matches."""
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = %s RETURNING name",
                (token_hash(token),),
            ).fetchone()
        return str(row["name"]) if row else None
