"""Documents fetched from the ERP (delivery notes', invoices' and order lines' PDFs), stored once.

A document's id is derived from its content (``doc_`` + the first 32 hex digits of its
sha256): the same PDF fetched twice, by two agents or two attempts, is one row and one copy
of its bytes. The bytes live in PostgreSQL (``bytea``) or, when a directory is named
(``ARCHIBOT_DOCUMENTS_DIR``), in one file per sha256 under it — written to a temporary name
and renamed, so a reader never sees half a file. Each operation that fetched a document is
linked to it (listed on the operation). :meth:`Documents.purge` forgets the documents not
fetched for the retention period.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.db import Database
from store.errors import StoreError

#: The id's length in hex digits (128 bits of the sha256: no collision in any real archive).
_ID_HEX = 32


@dataclass(frozen=True)
class Document:
    """One stored document's metadata."""

    id: str
    sha256: str
    filename: str
    content_type: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"document_id": self.id, "sha256": self.sha256, "filename": self.filename,
                "content_type": self.content_type, "bytes": self.size}


def document_id(sha256: str) -> str:
    """The id a content of this sha256 is stored under."""
    return "doc_" + sha256[:_ID_HEX]


class Documents:
    """The documents table, and the bytes in it or in ``directory``."""

    def __init__(self, db: Database, directory: str = "") -> None:
        self._db = db
        self._dir = Path(directory) if directory else None

    def store(self, content: bytes, filename: str, content_type: str, op_id: str | None = None) -> Document:
        """Keep ``content`` (once) and link it to the operation that fetched it."""
        if not content:
            raise StoreError(f"document {filename!r} is empty: nothing to store")
        digest = hashlib.sha256(content).hexdigest()
        doc = Document(document_id(digest), digest, _safe_name(filename), content_type, len(content))
        if self._dir is not None:
            self._write_file(digest, content)
        with self._db.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO documents (id, sha256, filename, content_type, size, content)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET last_used_at = now(),"
                " content = COALESCE(documents.content, EXCLUDED.content)",
                (doc.id, digest, doc.filename, content_type, len(content),
                 None if self._dir is not None else content),
            )
            if op_id is not None:
                conn.execute(
                    "INSERT INTO operation_documents (op_id, document_id) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (op_id, doc.id),
                )
        return doc

    def get(self, doc_id: str) -> Document | None:
        """A document's metadata, or None."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT id, sha256, filename, content_type, size FROM documents WHERE id = %s",
                (doc_id,),
            ).fetchone()
        return None if row is None else Document(**row)

    def content(self, doc_id: str) -> tuple[Document, bytes] | None:
        """A document and its bytes, or None when unknown (or its file is gone)."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT id, sha256, filename, content_type, size, content FROM documents WHERE id = %s",
                (doc_id,),
            ).fetchone()
        if row is None:
            return None
        content = row.pop("content")
        doc = Document(**row)
        if content is None:
            if self._dir is None:
                return None
            try:
                content = self._path(doc.sha256).read_bytes()
            except FileNotFoundError:
                return None
        return doc, bytes(content)

    def of_operation(self, op_id: str) -> list[Document]:
        """The documents an operation fetched, in the order it fetched them."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT d.id, d.sha256, d.filename, d.content_type, d.size FROM operation_documents o"
                " JOIN documents d ON d.id = o.document_id WHERE o.op_id = %s ORDER BY d.created_at",
                (op_id,),
            ).fetchall()
        return [Document(**r) for r in rows]

    def purge(self, retention_days: int) -> int:
        """Forget documents not fetched for ``retention_days``; returns how many."""
        with self._db.connection() as conn:
            gone = conn.execute(
                "DELETE FROM documents WHERE last_used_at < now() - make_interval(days => %s)"
                " RETURNING sha256",
                (retention_days,),
            ).fetchall()
        if self._dir is not None:
            for row in gone:
                self._path(row["sha256"]).unlink(missing_ok=True)
        return len(gone)

    def _path(self, digest: str) -> Path:
        assert self._dir is not None
        return self._dir / digest[:2] / f"{digest}.bin"

    def _write_file(self, digest: str, content: bytes) -> None:
        path = self._path(digest)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _safe_name(filename: str) -> str:
    """The file name without any path or control character (it goes into a header)."""
    name = os.path.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\r\n')
    return name[:200] or "document.pdf"
