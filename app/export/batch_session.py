"""One export-all batch while it runs: its manifest steps, in order, off the GUI thread.

The GUI plays the batch command's driver: it holds DST's driver lock from the first
reconcile until the last photo is recorded (so a command started meanwhile says the folder is
busy instead of racing us), and it updates the manifest at the same points the driver does.
All of that runs on one private worker thread, in the order asked: sqlite3 connections and
the lock stay on that thread, the window never waits for the disk, and a photo's `running`
always lands before its `done`.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.export import batch_plan
from app.export.batch_plan import BatchSetupError, BatchSpec, Reconciled
from app.jobs.worker import CallWorker, TaskRunner
from ultrais_core.batch.manifest import ManifestError
from ultrais_core.batch.planner import PlanError
from ultrais_core.batch.runner import BatchError
from ultrais_core.batch.work import Result

log = logging.getLogger(__name__)

_EXPECTED = (ManifestError, PlanError, BatchError, BatchSetupError, OSError, sqlite3.Error)


class BatchSession(QObject):
    reconciled = Signal(object, bool)  # Reconciled, whether that pass may overwrite
    reconcile_failed = Signal(str)  # the batch could not start (folder busy, no weights...)
    problem = Signal(str)  # a later manifest update failed; the export goes on

    def __init__(self, spec: BatchSpec, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.runner = TaskRunner(1, self)
        self._lock: contextlib.ExitStack | None = None  # used on the runner's thread only
        self.released = True

    # --- asked from the GUI thread -------------------------------------------------------

    def reconcile(
        self, paths: list[Path], *, overwrite: bool = False, retry_failed: bool = False
    ) -> None:
        """Take the folder (if not held yet) and ask the manifest what to do with `paths`."""
        self.released = False

        def job() -> Reconciled:
            if self._lock is None:
                self._lock = batch_plan.open_batch(self.spec)
            return batch_plan.reconcile_photos(
                self.spec, paths, overwrite=overwrite, retry_failed=retry_failed
            )

        self._call(
            job,
            partial(self._emit_reconciled, overwrite),
            self.reconcile_failed.emit,
        )

    def mark_running(self, rel: str) -> None:
        self._call(partial(batch_plan.mark_running, self.spec, rel))

    def record(self, result: Result) -> None:
        self._call(partial(batch_plan.record_result, self.spec, result))

    def reset_running(self) -> None:
        self._call(partial(batch_plan.reset_running, self.spec))

    def release(self) -> None:
        """Let go of the folder once the steps asked so far are done."""
        if self.released:
            return
        self.released = True
        self._call(self._close_lock)

    def wait(self, timeout_ms: int) -> bool:
        return self.runner.wait(timeout_ms)

    # --- plumbing ------------------------------------------------------------------------

    def _close_lock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.close()

    def _emit_reconciled(self, overwrite: bool, result: Reconciled) -> None:
        self.reconciled.emit(result, overwrite)

    def _call(
        self,
        function: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        worker = CallWorker(function, _EXPECTED)
        if on_done is not None:
            worker.signals.finished.connect(on_done)
        worker.signals.failed.connect(on_failed or self._on_problem)
        self.runner.start(worker)

    def _on_problem(self, message: str) -> None:
        log.warning("batch manifest in %s: %s", self.spec.dst, message)
        self.problem.emit(f"The batch manifest in {self.spec.dst} could not be updated: {message}")
