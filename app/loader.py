"""Decoding photos on the I/O thread pool, one worker per file, each file once at a time."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Signal

from app.photos import Photo
from app.worker import Loaded, LoadWorker, TaskRunner


class PhotoLoader(QObject):
    loaded = Signal(object)  # Photo (pixels, rgb and thumbnail now set)
    failed = Signal(object, str)  # Photo, reason

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
        self._loading.pop(photo.id, None)
        photo.image = loaded.image
        photo.rgb = loaded.rgb
        photo.thumbnail = loaded.thumbnail
        photo.error = None
        self.loaded.emit(photo)

    def _on_failed(self, photo: Photo, reason: str) -> None:
        self._loading.pop(photo.id, None)
        photo.error = reason
        self.failed.emit(photo, reason)
