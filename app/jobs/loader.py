"""Decoding photos on the I/O thread pool, one worker per file, each file once at a time."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.jobs.file_workers import Loaded, LoadWorker
from app.jobs.worker import TaskRunner
from app.photos import Photo


class PhotoLoader(QObject):
    loaded = Signal(object)  # Photo (pixels, rgb and thumbnail now set)
    failed = Signal(object, str)  # Photo, "name: reason" (one line)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._loading: dict[int, LoadWorker] = {}

    def is_loading(self, photo: Photo) -> bool:
        return photo.id in self._loading

    def pending(self) -> int:
        return len(self._loading)

    def load(self, photo: Photo) -> None:
        if photo.loaded or photo.id in self._loading:
            return
        worker = LoadWorker(photo.path)
        self._loading[photo.id] = worker
        worker.signals.finished.connect(partial(self._on_loaded, photo))
        worker.signals.failed.connect(partial(self._on_failed, photo))
        worker.signals.cancelled.connect(partial(self._on_failed, photo, "cancelled"))
        self.runner.start(worker)

    def _on_loaded(self, photo: Photo, loaded: Loaded) -> None:
        worker = self._loading.pop(photo.id, None)
        photo.read_s = worker.elapsed_s if worker is not None else 0.0
        photo.source_stat = loaded.stat
        photo.image = loaded.image
        photo.rgb = loaded.rgb
        photo.thumbnail = loaded.thumbnail
        photo.error = None
        self.loaded.emit(photo)

    def _on_failed(self, photo: Photo, reason: str) -> None:
        """`failed` carries "name: reason", one line; `photo.error` the reason alone."""
        self._loading.pop(photo.id, None)
        photo.error = short_reason(reason, photo.path)
        self.failed.emit(photo, f"{photo.name}: {photo.error}")


def short_reason(reason: str, path: Path) -> str:
    """The reader's message without its "Cannot read '<path>': " prefix, for places that show
    the file's name already; any other message is returned as it is, on one line."""
    prefix = f"Cannot read '{path}': "
    text = reason[len(prefix) :] if reason.startswith(prefix) else reason
    return " ".join(text.split()) or "unknown error"
