"""Export all: a queue that decodes, enhances (through the shared JobQueue) and writes each photo.

One item at a time, so a batch never holds more than one full-resolution result beyond the
cache. Each item goes waiting -> running (decode, enhance, write, with a percentage) -> done
or failed with the reason; failed and cancelled items can be retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.adjustments import Adjustments
from app.export_options import ExportOptions, is_original
from app.jobs import EXPORT, EnhanceJob, JobQueue
from app.loader import PhotoLoader
from app.photos import Photo
from app.worker import ExportWorker, TaskRunner

WAITING = "waiting"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"

# Share of an item's progress bar given to the network; writing takes the rest.
_ENHANCE_SHARE = 0.85


@dataclass(eq=False)
class ExportItem:
    photo: Photo
    options: ExportOptions
    adjustments: Adjustments
    target: Path
    overwrite: bool = False
    state: str = WAITING
    fraction: float = 0.0
    message: str = ""
    step: str = ""

    @property
    def scale(self) -> int:
        return self.options.scale


class ExportQueue(QObject):
    item_added = Signal(object)  # ExportItem
    item_changed = Signal(object)  # ExportItem
    item_finished = Signal(object)  # ExportItem, done or failed
    queue_idle = Signal()

    def __init__(
        self,
        jobs: JobQueue,
        loader: PhotoLoader,
        writer: TaskRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.loader = loader
        self.writer = writer
        self.items: list[ExportItem] = []
        self._active: ExportItem | None = None
        self._write_worker: ExportWorker | None = None
        jobs.result_ready.connect(self._on_result)
        jobs.job_failed.connect(self._on_job_failed)
        jobs.job_cancelled.connect(self._on_job_cancelled)
        jobs.job_progress.connect(self._on_job_progress)
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_load_failed)

    # --- public -------------------------------------------------------------------------------

    def add(self, item: ExportItem) -> ExportItem:
        self.items.append(item)
        self.item_added.emit(item)
        self._pump()
        return item

    @property
    def active(self) -> ExportItem | None:
        return self._active

    def is_busy(self) -> bool:
        return self._active is not None or any(i.state == WAITING for i in self.items)

    def cancel(self) -> None:
        """Stop the batch: waiting items are cancelled, the running one stops at its next tile."""
        for item in self.items:
            if item.state == WAITING:
                self._finish(item, CANCELLED, "Cancelled", pump=False)
        active = self._active
        if active is not None:
            if self._write_worker is not None:
                self._write_worker.cancel()
            else:
                self.jobs.withdraw(EXPORT)
                if active is self._active:  # withdrawing may already have reported it
                    self._finish(active, CANCELLED, "Cancelled")

    def retry_failed(self) -> int:
        count = 0
        for item in self.items:
            if item.state in (FAILED, CANCELLED):
                item.state, item.fraction, item.message, item.step = WAITING, 0.0, "", ""
                self.item_changed.emit(item)
                count += 1
        self._pump()
        return count

    def clear_finished(self) -> None:
        self.items = [i for i in self.items if i.state in (WAITING, RUNNING)]

    def output_folder(self) -> Path | None:
        """Where the most recent item writes, for "Open output folder"."""
        done = [i for i in self.items if i.state == DONE] or self.items
        return done[-1].target.parent if done else None

    # --- running ------------------------------------------------------------------------------

    def _pump(self) -> None:
        if self._active is not None:
            return
        item = next((i for i in self.items if i.state == WAITING), None)
        if item is None:
            self.queue_idle.emit()
            return
        self._active = item
        item.state = RUNNING
        if is_original(item.target, item.photo.path):
            self._finish(item, FAILED, "Refused: the target is the original photo")
            return
        self._advance(item)

    def _advance(self, item: ExportItem) -> None:
        """Next step for the active item: decode, then enhance, then write."""
        photo = item.photo
        if not photo.loaded:
            self._set_step(item, "opening", 0.0)
            self.loader.load(photo)
            return
        if item.scale not in photo.results:
            self._set_step(item, f"enhancing x{item.scale}", 0.0)
            self.jobs.request(photo, item.scale, EXPORT)
            return
        self._set_step(item, "writing", _ENHANCE_SHARE)
        fmt = item.options.export_format
        worker = ExportWorker(
            photo.image,
            photo.results[item.scale],
            item.adjustments,
            item.target,
            bit_depth=fmt.bit_depth,
            quality=item.options.quality,
            overwrite=item.overwrite,
        )
        self._write_worker = worker
        worker.signals.progress.connect(partial(self._on_write_progress, item))
        worker.signals.finished.connect(partial(self._on_written, item))
        worker.signals.failed.connect(partial(self._on_write_failed, item))
        worker.signals.cancelled.connect(partial(self._on_write_cancelled, item))
        self.writer.start(worker)

    def _set_step(self, item: ExportItem, step: str, fraction: float) -> None:
        item.step = step
        item.fraction = fraction
        self.item_changed.emit(item)

    def _finish(self, item: ExportItem, state: str, message: str, *, pump: bool = True) -> None:
        item.state = state
        item.message = message
        item.step = ""
        if state == DONE:
            item.fraction = 1.0
        if item is self._active:
            self._active = None
            self._write_worker = None
        self.item_changed.emit(item)
        self.item_finished.emit(item)
        if pump:
            self._pump()

    # --- events from the loader, the job queue and the writer ---------------------------------

    def _is_active_photo(self, photo: Photo) -> bool:
        return self._active is not None and self._active.photo is photo

    def _on_loaded(self, photo: Photo) -> None:
        if self._is_active_photo(photo) and self._write_worker is None:
            self._advance(self._active)

    def _on_load_failed(self, photo: Photo, reason: str) -> None:
        if self._is_active_photo(photo):
            self._finish(self._active, FAILED, reason)

    def _on_result(self, photo: Photo, scale: int) -> None:
        item = self._active
        is_ours = item is not None and item.photo is photo and item.scale == scale
        if is_ours and self._write_worker is None:
            self._advance(item)

    def _on_job_progress(self, job: EnhanceJob) -> None:
        item = self._active
        if item is not None and job.photo is item.photo and job.scale == item.scale:
            item.fraction = _ENHANCE_SHARE * job.fraction
            self.item_changed.emit(item)

    def _on_job_failed(self, job: EnhanceJob, message: str) -> None:
        item = self._active
        if item is not None and job.photo is item.photo and job.scale == item.scale:
            self._finish(item, FAILED, message)

    def _on_job_cancelled(self, job: EnhanceJob) -> None:
        item = self._active
        if item is not None and job.photo is item.photo and job.scale == item.scale:
            self._finish(item, CANCELLED, "Cancelled")

    def _on_write_progress(self, item: ExportItem, done: int, total: int) -> None:
        if total:
            item.fraction = _ENHANCE_SHARE + (1 - _ENHANCE_SHARE) * done / total
            self.item_changed.emit(item)

    def _on_written(self, item: ExportItem, path: Path) -> None:
        item.target = Path(path)
        self._finish(item, DONE, str(path))

    def _on_write_failed(self, item: ExportItem, message: str) -> None:
        self._finish(item, FAILED, message)

    def _on_write_cancelled(self, item: ExportItem) -> None:
        self._finish(item, CANCELLED, "Cancelled")
