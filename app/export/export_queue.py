"""The export queue: decodes, enhances (through the shared JobQueue) and writes each photo.

One item at a time, so a batch never holds more than one full-resolution result beyond the
cache. Each item goes waiting -> running (decode, enhance, write, with a percentage) -> done
or failed with the reason; failed and cancelled items can be retried.

Export all adds its items as one batch (`BatchSession`): they start as "checking" while the
batch manifest in the output folder is read, then become waiting, skipped (done before with
the same settings) or failed; each one that runs is recorded in the manifest, so the command
line can resume the batch and the other way round (see `app.export.batch_plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.develop.adjustments import Adjustments
from app.export.batch_plan import WORKER_NAME, Reconciled
from app.export.batch_session import BatchSession
from app.export.export_options import ExportOptions, is_original
from app.jobs.file_workers import Exported, ExportWorker, SourceChanged
from app.jobs.job_queue import EXPORT, EnhanceJob, JobQueue
from app.jobs.loader import PhotoLoader
from app.jobs.worker import TaskRunner
from app.photos import Photo
from ultrais_core.batch.work import Result

CHECKING = "checking"  # a batch item while the manifest is read
WAITING = "waiting"
RUNNING = "running"
DONE = "done"
SKIPPED = "skipped"  # a batch item the manifest says is done already
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED = (DONE, SKIPPED, FAILED, CANCELLED)

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
    session: BatchSession | None = None  # set for export-all items
    rel: str = ""  # the batch manifest's key for this photo
    started: bool = False  # `running` was recorded in the manifest
    exported: Exported | None = None

    @property
    def scale(self) -> int:
        return self.options.scale


class ExportQueue(QObject):
    item_added = Signal(object)  # ExportItem
    item_changed = Signal(object)  # ExportItem
    item_finished = Signal(object)  # ExportItem, done or failed
    queue_idle = Signal()
    batch_started = Signal(object)  # BatchSession
    batch_problem = Signal(str)  # a batch could not start, or its manifest not be updated

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
        self.sessions: list[BatchSession] = []
        # Asked (in the GUI thread) whether files a batch did not write may be replaced.
        self.confirm_replace: Callable[[list[Path], Path], bool] = lambda _paths, _dst: False
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

    def add_batch(
        self,
        session: BatchSession,
        photos: list[Photo],
        options: ExportOptions,
        adjustments: Adjustments,
    ) -> list[ExportItem]:
        """One item per photo, checked against the batch manifest before any runs; each
        with its own scale and sliders where the batch has them (`BatchSpec.photo_settings`)."""
        items = []
        for photo in photos:
            own = session.spec.photo_settings.get(photo.path.resolve())
            photo_options = options if own is None else replace(options, scale=own[0])
            photo_adjustments = adjustments if own is None else own[1]
            items.append(
                ExportItem(
                    photo, photo_options, photo_adjustments, Path(), state=CHECKING, session=session
                )
            )
        self.sessions.append(session)
        session.reconciled.connect(partial(self._on_reconciled, session))
        session.reconcile_failed.connect(partial(self._on_reconcile_failed, session))
        session.problem.connect(self.batch_problem)
        for item in items:
            item.step = "checking the batch manifest"
            self.items.append(item)
            self.item_added.emit(item)
        self.batch_started.emit(session)
        session.reconcile([item.photo.path for item in items])
        return items

    def batch_running(self) -> bool:
        return any(not s.released for s in self.sessions)

    @property
    def active(self) -> ExportItem | None:
        return self._active

    def is_busy(self) -> bool:
        return self._active is not None or any(i.state in (WAITING, CHECKING) for i in self.items)

    def cancel(self) -> None:
        """Stop the batch: waiting items are cancelled, the running one stops at its next tile."""
        for item in self.items:
            if item.state in (WAITING, CHECKING):
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
        """Failed and cancelled items again; a batch's are checked with the manifest first
        (and retried even if they failed twice, which the command needs --retry-failed for)."""
        count = 0
        again: dict[BatchSession, list[ExportItem]] = {}
        for item in self.items:
            if item.state in (FAILED, CANCELLED):
                item.fraction, item.message, item.started = 0.0, "", False
                if item.session is not None:
                    item.state, item.step = CHECKING, "checking the batch manifest"
                    again.setdefault(item.session, []).append(item)
                else:
                    item.state, item.step = WAITING, ""
                self.item_changed.emit(item)
                count += 1
        for session, items in again.items():
            session.reconcile([i.photo.path for i in items], retry_failed=True)
        self._pump()
        return count

    def clear_finished(self) -> None:
        self.items = [i for i in self.items if i.state not in FINISHED]
        in_use = {i.session for i in self.items}
        self.sessions = [s for s in self.sessions if s in in_use or not s.released]

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel, and wait until every batch has recorded that and let go of its folder."""
        self.cancel()
        for session in self.sessions:
            session.release()
        return all(session.wait(timeout_ms) for session in self.sessions)

    def output_folder(self) -> Path | None:
        """Where the most recent item writes, for "Open output folder"."""
        done = [i for i in self.items if i.state in (DONE, SKIPPED)] or self.items
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
        if item.session is not None:
            item.session.mark_running(item.rel)
            item.started = True
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
        session = item.session
        if session is not None:
            bit_depth = session.spec.bit_depth(photo.image.bit_depth)
        else:
            bit_depth = item.options.export_format.bit_depth
        worker = ExportWorker(
            photo.image,
            photo.results[item.scale],
            item.adjustments,
            item.target,
            bit_depth=bit_depth,
            quality=item.options.quality,
            overwrite=item.overwrite,
            for_manifest=session is not None,
            loaded_stat=photo.source_stat,
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
        if item.session is not None:
            self._record(item)
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
            self._finish(self._active, FAILED, photo.error or reason)

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

    def _on_written(self, item: ExportItem, exported: Exported) -> None:
        item.target = exported.path
        item.exported = exported
        self._finish(item, DONE, str(exported.path))

    def _on_write_failed(self, item: ExportItem, message: str) -> None:
        worker = self._write_worker
        if worker is not None and isinstance(worker.error, SourceChanged):
            self._reload(item.photo)
        self._finish(item, FAILED, message)

    def _reload(self, photo: Photo) -> None:
        """The file changed since it was decoded: drop what was made from it, decode again."""
        photo.results.clear()
        photo.image = None
        photo.rgb = None
        self.loader.load(photo)

    # --- the batch manifest ---------------------------------------------------------------------

    def _record(self, item: ExportItem) -> None:
        """Tell the manifest how a started item ended; let go of the folder when all have."""
        session = item.session
        if session is None:
            return
        if item.started:
            item.started = False
            if item.state == CANCELLED:
                session.reset_running()  # back to pending, as the command does on Ctrl-C
            else:
                session.record(self._result(item))
        self._release_if_idle(session)

    def _result(self, item: ExportItem) -> Result:
        photo = item.photo
        exported = item.exported if item.state == DONE else None
        enhanced = photo.results.get(item.scale)
        timings = {
            "read_s": photo.read_s,
            "enhance_s": enhanced.seconds if enhanced is not None else 0.0,
            "write_s": item.exported.seconds if item.exported is not None else 0.0,
        }
        if exported is not None:
            return Result(
                rel=item.rel,
                ok=True,
                worker=WORKER_NAME,
                size=exported.size,
                mtime_ns=exported.mtime_ns,
                hash=exported.hash,
                **timings,
            )
        return Result(rel=item.rel, ok=False, worker=WORKER_NAME, reason=item.message, **timings)

    def _release_if_idle(self, session: BatchSession) -> None:
        mine = [i for i in self.items if i.session is session]
        if all(i.state in FINISHED for i in mine):
            session.release()

    def _on_reconciled(self, session: BatchSession, result: Reconciled, overwrite: bool) -> None:
        checking = {
            i.photo.path: i for i in self.items if i.session is session and i.state == CHECKING
        }
        asked = [p for p in result.conflicts if p in checking]
        replace = bool(asked) and not overwrite and self.confirm_replace(asked, session.spec.dst)
        known = set(result.rels) | set(result.failed)
        for path, item in checking.items():
            if path not in known:
                continue  # another pass, still on its way, answers for this one
            item.rel = result.rels.get(path, "")
            item.target = result.targets.get(path, item.target)
            item.step = ""
            if path in result.tasks:
                task = result.tasks[path]
                item.target, item.overwrite = Path(task.target), task.overwrite
                item.state = WAITING
                self.item_changed.emit(item)
            elif replace and path in result.conflicts:
                item.step = "checking the batch manifest"
                self.item_changed.emit(item)
            elif path in result.failed:
                reason = result.failed[path]
                if path in result.conflicts:
                    reason += "; not replaced"
                self._finish(item, FAILED, reason, pump=False)
            elif path in result.skipped:
                self._finish(item, SKIPPED, "done before with these settings", pump=False)
        if replace:
            session.reconcile(asked, overwrite=True)
        self._release_if_idle(session)
        self._pump()

    def _on_reconcile_failed(self, session: BatchSession, message: str) -> None:
        for item in self.items:
            if item.session is session and item.state == CHECKING:
                self._finish(item, FAILED, message, pump=False)
        self.batch_problem.emit(f"Export all into {session.spec.dst} could not start: {message}")
        self._pump()

    def _on_write_cancelled(self, item: ExportItem) -> None:
        self._finish(item, CANCELLED, "Cancelled")
