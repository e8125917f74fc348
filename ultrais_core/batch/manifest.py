"""The job manifest: one SQLite file in DST with one row per photo.

The driver of a batch (CLI or GUI) is its only writer; anyone may read it while it runs (WAL
mode). Every state change is its own committed transaction, so a process killed at any moment
leaves the manifest as it was after the last finished photo; rows it left `running` are set
back to `pending` by the next run (`reset_running`).

States: pending -> running -> done | failed. `attempts` counts starts, `failures` counts
failed attempts since the input or the settings last changed (a failure is retried once).
`owns_output` is 1 once a run of this batch has started writing `output`: a file found there is
then this batch's own (or a killed run's) and may be replaced, while a file that was there
before the batch is never overwritten without --overwrite.

No torch, no Qt: the GUI's export queue can use this module as it is.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = ".ultrais-batch.sqlite"
LOCK_NAME = ".ultrais-batch.lock"
WORKERS_LOCK_NAME = ".ultrais-batch.workers.lock"
SCHEMA_VERSION = 1

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATES = (PENDING, RUNNING, DONE, FAILED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS photos (
    rel TEXT PRIMARY KEY,           -- source path relative to SRC, '/' separators
    source TEXT NOT NULL,           -- absolute source path at the last plan
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    reason TEXT,                    -- why it failed (one line), NULL otherwise
    size INTEGER NOT NULL,          -- input size in bytes
    mtime_ns INTEGER NOT NULL,      -- input modification time
    hash TEXT,                      -- BLAKE2b-128 of the input as processed
    settings TEXT NOT NULL,         -- canonical JSON: scale, format, quality, precision, weights
    output TEXT,                    -- result path relative to DST
    owns_output INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    tile INTEGER,                   -- tile side of the last attempt (input pixels)
    worker TEXT,                    -- who ran the last attempt
    started_at REAL,                -- unix time
    finished_at REAL,
    read_s REAL,                    -- hash + decode
    enhance_s REAL,
    write_s REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_state ON photos (state);
"""


class ManifestError(RuntimeError):
    """The manifest cannot be opened or is from a newer version; one line for the user."""


@dataclass(frozen=True)
class Row:
    rel: str
    source: str
    state: str
    reason: str | None
    size: int
    mtime_ns: int
    hash: str | None
    settings: str
    output: str | None
    owns_output: bool
    attempts: int
    failures: int
    tile: int | None
    worker: str | None
    started_at: float | None
    finished_at: float | None
    read_s: float | None
    enhance_s: float | None
    write_s: float | None
    updated_at: float


_COLUMNS = ", ".join(Row.__dataclass_fields__)


class Manifest:
    """A batch's manifest in DST. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL: a commit survives the process being killed; only a power cut can
            # lose the last few, which then are redone.
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                found = self._db.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                ).fetchone()
                if found is None:
                    self._db.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                elif int(found[0]) > SCHEMA_VERSION:
                    raise ManifestError(
                        f"{self.path}: written by a newer UltraIS (manifest version {found[0]})"
                    )
        except sqlite3.DatabaseError as error:
            raise ManifestError(f"{self.path}: cannot use the batch manifest ({error})") from None

    @classmethod
    def open(cls, dst: Path) -> Manifest:
        """The manifest of output folder `dst`, created (with the folder) if needed."""
        dst = Path(dst)
        dst.mkdir(parents=True, exist_ok=True)
        return cls(dst / MANIFEST_NAME)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group changes into one commit (many rows at plan time)."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- meta -----------------------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def meta(self, key: str) -> str | None:
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    # --- reading --------------------------------------------------------------------------------

    def row(self, rel: str) -> Row | None:
        found = self._db.execute(f"SELECT {_COLUMNS} FROM photos WHERE rel = ?", (rel,)).fetchone()
        return None if found is None else _row(found)

    def rows(self) -> dict[str, Row]:
        return {
            r[0]: _row(r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM photos ORDER BY rel")
        }

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, count in self._db.execute("SELECT state, COUNT(*) FROM photos GROUP BY state"):
            counts[state] = int(count)
        return counts

    # --- writing --------------------------------------------------------------------------------

    def reset_running(self) -> int:
        """Rows a killed run left `running` go back to `pending`; returns how many."""
        cursor = self._db.execute(
            "UPDATE photos SET state = 'pending', updated_at = ? WHERE state = 'running'",
            (time.time(),),
        )
        return cursor.rowcount

    def plan_photo(
        self,
        rel: str,
        *,
        source: str,
        size: int,
        mtime_ns: int,
        settings: str,
        output: str | None,
        fresh: bool,
        tile: int | None = None,
    ) -> None:
        """Make `rel` pending. fresh: its input, settings or output changed (or it is new), so
        its hash, failure count and ownership of the output start again."""
        now = time.time()
        if fresh:
            self._db.execute(
                "INSERT INTO photos (rel, source, state, size, mtime_ns, settings, output, "
                "updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?) "
                "ON CONFLICT (rel) DO UPDATE SET source = excluded.source, state = 'pending', "
                "reason = NULL, size = excluded.size, mtime_ns = excluded.mtime_ns, hash = NULL, "
                "settings = excluded.settings, owns_output = (output IS excluded.output AND "
                "owns_output), output = excluded.output, failures = 0, tile = NULL, "
                "updated_at = excluded.updated_at",
                (rel, source, size, mtime_ns, settings, output, now),
            )
        else:
            self._db.execute(
                "UPDATE photos SET source = ?, state = 'pending', tile = ?, updated_at = ? "
                "WHERE rel = ?",
                (source, tile, now, rel),
            )

    def update_input(self, rel: str, *, source: str, size: int, mtime_ns: int) -> None:
        """The input was touched but its content is unchanged: remember its new stat."""
        self._db.execute(
            "UPDATE photos SET source = ?, size = ?, mtime_ns = ?, updated_at = ? WHERE rel = ?",
            (source, size, mtime_ns, time.time(), rel),
        )

    def fail_now(self, rel: str, reason: str, *, count: bool = True) -> None:
        """Mark failed without running (for example an output file the batch did not write)."""
        self._db.execute(
            "UPDATE photos SET state = 'failed', reason = ?, failures = failures + ?, "
            "updated_at = ? WHERE rel = ?",
            (reason, 1 if count else 0, time.time(), rel),
        )

    def mark_running(self, rel: str, *, worker: str, tile: int | None = None) -> None:
        now = time.time()
        self._db.execute(
            "UPDATE photos SET state = 'running', reason = NULL, attempts = attempts + 1, "
            "owns_output = 1, worker = ?, tile = COALESCE(?, tile), started_at = ?, "
            "finished_at = NULL, read_s = NULL, enhance_s = NULL, write_s = NULL, "
            "updated_at = ? WHERE rel = ?",
            (worker, tile, now, now, rel),
        )

    def mark_done(
        self,
        rel: str,
        *,
        size: int,
        mtime_ns: int,
        hash: str,
        tile: int | None,
        worker: str,
        read_s: float,
        enhance_s: float,
        write_s: float,
    ) -> None:
        now = time.time()
        self._db.execute(
            "UPDATE photos SET state = 'done', reason = NULL, size = ?, mtime_ns = ?, hash = ?, "
            "tile = ?, worker = ?, finished_at = ?, read_s = ?, enhance_s = ?, write_s = ?, "
            "updated_at = ? WHERE rel = ?",
            (size, mtime_ns, hash, tile, worker, now, read_s, enhance_s, write_s, now, rel),
        )

    def mark_failed(
        self,
        rel: str,
        reason: str,
        *,
        size: int | None = None,
        mtime_ns: int | None = None,
        hash: str | None = None,
        tile: int | None = None,
        worker: str | None = None,
        read_s: float | None = None,
        enhance_s: float | None = None,
        write_s: float | None = None,
    ) -> None:
        now = time.time()
        self._db.execute(
            "UPDATE photos SET state = 'failed', reason = ?, failures = failures + 1, "
            "size = COALESCE(?, size), mtime_ns = COALESCE(?, mtime_ns), hash = COALESCE(?, hash), "
            "tile = COALESCE(?, tile), worker = COALESCE(?, worker), finished_at = ?, "
            "read_s = ?, enhance_s = ?, write_s = ?, updated_at = ? WHERE rel = ?",
            (
                reason,
                size,
                mtime_ns,
                hash,
                tile,
                worker,
                now,
                read_s,
                enhance_s,
                write_s,
                now,
                rel,
            ),
        )


def _row(values: tuple) -> Row:
    row = Row(*values)
    return Row(**{**row.__dict__, "owns_output": bool(row.owns_output)})


# --- locks ---------------------------------------------------------------------------------------


class LockBusy(ManifestError):
    """Another batch holds the folder."""


@contextlib.contextmanager
def driver_lock(dst: Path) -> Iterator[None]:
    """One driver per DST at a time (POSIX flock; released by the OS if the process dies).

    On systems without fcntl (Windows) there is no lock: do not run two batches into one folder.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(Path(dst) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(
                f"{dst}: another batch is running into this folder; wait for it or stop it"
            ) from None
        yield
    finally:
        os.close(fd)


def wait_for_old_workers(dst: Path, timeout: float = 60.0) -> bool:
    """Wait until no worker of a killed run still holds DST (they exit when their driver dies).

    Workers hold a shared lock on WORKERS_LOCK_NAME while they run; taking it exclusively proves
    they are gone, so the temp-file clean-up cannot race a write still in progress. True when
    free, False after `timeout` seconds.
    """
    try:
        import fcntl
    except ImportError:
        return True
    fd = os.open(Path(dst) / WORKERS_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    finally:
        os.close(fd)


def hold_worker_lock(dst: Path) -> int | None:
    """Called in a worker process: a shared lock held until the process ends (the fd stays
    open). Returns the fd, or None where there is no fcntl."""
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(Path(dst) / WORKERS_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd
