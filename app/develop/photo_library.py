"""The photo library: each photo's develop settings, kept across restarts; stdlib sqlite3, no Qt.

Rows are keyed by the SHA-256 of the photo's file bytes, not by its path, so a photo that was
moved or renamed keeps its settings, and two copies of one file share them. The file lives in
the user's data folder (Qt's AppDataLocation); `ULTRAIS_LIBRARY` or an explicit path redirects
it, which is how tests keep their hands off a real user's library.

Opening never fails: a file that is not a readable library of ours is renamed aside with a
timestamp and a fresh one started, and `recovered_from` says where the old one went so the
window can tell the user once. A library written by a newer version is not touched: this
session then keeps its settings in memory only (`read_only_reason`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ENV_VAR = "ULTRAIS_LIBRARY"
FILE_NAME = "library.sqlite"
_HASH_CHUNK = 1 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS develop (
    hash TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    last_path TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
"""


def default_path() -> Path:
    """$ULTRAIS_LIBRARY, else library.sqlite in Qt's per-user AppDataLocation."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    # NOTE: imported here so the rest of the module (and its tests) need no Qt.
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".local" / "share" / "UltraIS") / FILE_NAME


def hash_file(path: Path) -> str:
    """Hex SHA-256 of the file's bytes, read in 1 MB chunks; meant for a worker thread."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class PhotoLibrary:
    """Develop settings (a JSON object) per content hash."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.recovered_from: Path | None = None  # where a corrupt file was moved to
        self.read_only_reason: str | None = None  # set when only memory is used
        self._conn = self._open()

    # --- opening ----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect(self.path)
        except sqlite3.OperationalError as exc:
            # NOTE: locked, read-only or missing permissions: the file may be fine, so it is
            # left alone (OperationalError is a DatabaseError; it must be caught first).
            return self._in_memory(str(exc))
        except sqlite3.DatabaseError as exc:
            log.warning("photo library %s is unreadable (%s); starting a new one", self.path, exc)
        except (OSError, _NewerLibrary) as exc:
            return self._in_memory(str(exc))
        try:
            self.recovered_from = self._move_aside()
            return self._connect(self.path)
        except (OSError, sqlite3.DatabaseError) as exc:
            return self._in_memory(str(exc))

    def _in_memory(self, reason: str) -> sqlite3.Connection:
        self.read_only_reason = reason
        log.warning("photo library %s: %s; settings kept in memory only", self.path, reason)
        return self._connect(Path(":memory:"))

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        # NOTE: the window uses the library from the GUI thread only; writes are small and
        # batched by the caller, so no worker thread (and no cross-thread connection) is needed.
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                conn.executescript(_SCHEMA)
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                if row is None:
                    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise _NewerLibrary(
                        f"it was written by a newer UltraIS (schema {row[0]} > {SCHEMA_VERSION})"
                    )
            # Fails on a damaged file whose header still looked fine.
            conn.execute("SELECT count(*) FROM develop").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):  # journal files of the bad database go with it
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    # --- rows -------------------------------------------------------------------------------

    def get(self, digest: str) -> dict[str, object] | None:
        query = "SELECT settings FROM develop WHERE hash = ?"
        try:
            row = self._conn.execute(query, (digest,)).fetchone()
        except sqlite3.Error as exc:  # damage found after opening: the photo gets defaults
            log.warning("photo library %s: cannot read %s: %s", self.path, digest[:12], exc)
            return None
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def put_many(self, rows: dict[str, tuple[dict[str, object], str]]) -> None:
        """hash -> (settings, path it was last seen at), written in one transaction."""
        if not rows:
            return
        now = time.time()
        with self._conn:
            self._conn.executemany(
                "INSERT INTO develop (hash, settings, last_path, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(hash) DO UPDATE SET settings = excluded.settings, "
                "last_path = excluded.last_path, updated = excluded.updated",
                [
                    (digest, json.dumps(settings, sort_keys=True), path, now)
                    for digest, (settings, path) in rows.items()
                ],
            )

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM develop").fetchone()[0])

    def schema_version(self) -> int:
        return int(self._conn.execute("SELECT version FROM schema_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class _NewerLibrary(Exception):
    pass
