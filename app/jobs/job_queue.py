"""The queue of network runs: one at a time, each (photo, scale) once, results cached on the photo.

Lives in the GUI thread; the runs themselves are `EnhanceWorker`s on a one-thread pool (one
engine, one device: running two jobs at once would only fight over it). Each job remembers who
asked for it ("view" or "export"), so a failure reaches a dialog only when the user is looking
at it, and switching photos cancels only what nobody else still needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.jobs.worker import EngineProvider, EnhanceWorker, TaskRunner
from app.photos import Photo
from app.views.frames import FrameBoard

VIEW = "view"
EXPORT = "export"


@dataclass(eq=False)
class EnhanceJob:
    photo: Photo
    scale: int
    purposes: set[str] = field(default_factory=set)
    worker: EnhanceWorker | None = None
    done: int = 0
    total: int = 0
    started_at: float | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def eta_s(self) -> float | None:
        """Seconds left, from the pace so far; None until one tile has finished."""
        if self.started_at is None or not self.total or not self.done:
            return None
        elapsed = time.perf_counter() - self.started_at
        return elapsed / self.done * (self.total - self.done)


class JobQueue(QObject):
    job_started = Signal(object)  # EnhanceJob
    job_progress = Signal(object)  # EnhanceJob (done/total updated)
    result_ready = Signal(object, int)  # Photo, scale
    job_failed = Signal(object, str)  # EnhanceJob, message
    job_cancelled = Signal(object)  # EnhanceJob
    busy_changed = Signal(bool)

    def __init__(self, provider: EngineProvider, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.provider = provider
        self.runner = TaskRunner(1, self)
        # Views post the frames they wait for; each job prepares them before it reports.
        self.frames = FrameBoard()
        self._pending: list[EnhanceJob] = []
        self._current: EnhanceJob | None = None
        self._closed = False

    # --- asking -------------------------------------------------------------------------

    def request(
        self, photo: Photo, scale: int, purpose: str = VIEW, *, front: bool = False
    ) -> bool:
        """Queue a run unless its result is cached; True when a run is queued or in progress."""
        if scale in photo.results:
            return False
        job = self.find(photo, scale)
        if job is not None:
            job.purposes.add(purpose)
            if front and job in self._pending:
                self._pending.remove(job)
                self._pending.insert(0, job)
            return True
        if not photo.loaded:
            raise ValueError(f"{photo.name} is not decoded yet")
        job = EnhanceJob(photo, scale, {purpose})
        if front:
            self._pending.insert(0, job)
        else:
            self._pending.append(job)
        self._pump()
        return True

    def find(self, photo: Photo, scale: int) -> EnhanceJob | None:
        for job in self.jobs():
            if job.photo is photo and job.scale == scale:
                return job
        return None

    def jobs(self) -> list[EnhanceJob]:
        current = [self._current] if self._current is not None else []
        return current + list(self._pending)

    @property
    def current(self) -> EnhanceJob | None:
        return self._current

    def is_busy(self) -> bool:
        return self._current is not None or bool(self._pending)

    # --- cancelling ---------------------------------------------------------------------

    def withdraw(self, purpose: str, keep: Photo | None = None) -> None:
        """`purpose` no longer needs any job (except for photo `keep`); cancel orphaned ones."""
        for job in self.jobs():
            if keep is not None and job.photo is keep:
                continue
            job.purposes.discard(purpose)
            if not job.purposes:
                self._cancel_job(job)

    def cancel(self, photo: Photo | None = None, purpose: str | None = None) -> None:
        """Cancel jobs (for one photo, and/or one purpose) whatever else needs them."""
        for job in self.jobs():
            if photo is not None and job.photo is not photo:
                continue
            if purpose is not None and purpose not in job.purposes:
                continue
            self._cancel_job(job)

    def cancel_all(self) -> None:
        self.cancel()

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel everything and wait for the running tile to end; True when it did in time."""
        self._closed = True
        self._pending.clear()
        if self._current is not None and self._current.worker is not None:
            self._current.worker.cancel()
        return self.runner.wait(timeout_ms)

    def _cancel_job(self, job: EnhanceJob) -> None:
        if job in self._pending:
            self._pending.remove(job)
            self.job_cancelled.emit(job)
            self._emit_busy()
        elif job is self._current and job.worker is not None:
            job.worker.cancel()  # the worker reports `cancelled` after its current tile

    # --- running ------------------------------------------------------------------------

    def _pump(self) -> None:
        if self._closed or self._current is not None or not self._pending:
            self._emit_busy()
            return
        job = self._pending.pop(0)
        if job.scale in job.photo.results or not job.photo.loaded:
            # Done meanwhile by another route, or its pixels were evicted: nothing to run.
            self._pump()
            return
        worker = EnhanceWorker(
            self.provider,
            job.photo.image.pixels,
            job.scale,
            job.photo.rgb,
            partial(self.frames.specs_for, job.photo.id, job.scale),
        )
        job.worker = worker
        self._current = job
        worker.signals.started.connect(partial(self._on_started, job))
        worker.signals.progress.connect(partial(self._on_progress, job))
        worker.signals.finished.connect(partial(self._on_finished, job))
        worker.signals.failed.connect(partial(self._on_failed, job))
        worker.signals.cancelled.connect(partial(self._on_cancelled, job))
        self.runner.start(worker)
        self._emit_busy()

    def _emit_busy(self) -> None:
        self.busy_changed.emit(self.is_busy())

    def _on_started(self, job: EnhanceJob) -> None:
        job.started_at = time.perf_counter()
        self.job_started.emit(job)

    def _on_progress(self, job: EnhanceJob, done: int, total: int) -> None:
        job.done, job.total = done, total
        self.job_progress.emit(job)

    def _on_finished(self, job: EnhanceJob, _pixels: np.ndarray) -> None:
        self._current = None
        worker = job.worker
        enhanced = worker.enhanced if worker is not None else None
        job.worker = None
        if enhanced is not None and job.photo.loaded:
            job.photo.add_result(enhanced)
            self.frames.deliver(worker.prepared)
            self.result_ready.emit(job.photo, job.scale)
        self._pump()

    def _on_failed(self, job: EnhanceJob, message: str) -> None:
        self._current = None
        job.worker = None
        self.job_failed.emit(job, message)
        self._pump()

    def _on_cancelled(self, job: EnhanceJob) -> None:
        self._current = None
        job.worker = None
        self.job_cancelled.emit(job)
        self._pump()
