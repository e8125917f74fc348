"""Per-photo develop settings (scale and sliders), their undo history, and their persistence.

Each open photo has its own `DevelopSettings`. Every change goes through `DevelopStore.edit`,
which pushes one command on a `QUndoStack`: Undo/Redo walk through them whichever photo they
touched. Consecutive changes that share a merge key (one slider drag, or wheel notches on one
slider close together) merge into one step.

Settings are saved in the `PhotoLibrary` under the photo's content hash, which is computed on
the I/O pool when the photo is added; when it arrives, settings stored earlier replace the
defaults, unless the user changed the photo meanwhile (then those changes are saved instead).
Writes are batched: a drag writes once, shortly after it ends, and `flush` writes the rest.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.develop.adjustments import SLIDER_BY_NAME, Adjustments
from app.develop.photo_library import PhotoLibrary, hash_file
from app.jobs.worker import CallWorker, TaskRunner
from app.photos import Photo

log = logging.getLogger(__name__)

SCALES = (1, 2, 4)
SAVE_DELAY_MS = 500
UNDO_LIMIT = 1000  # steps kept; a step is a few small frozen dataclasses
_MERGEABLE = 1  # QUndoCommand.id() of commands that may merge


@dataclass(frozen=True)
class DevelopSettings:
    """What the user chose for one photo: the enhancement scale and the slider values."""

    scale: int = 2
    adjustments: Adjustments = field(default_factory=Adjustments)

    def as_dict(self) -> dict[str, object]:
        return {"scale": self.scale, "adjustments": self.adjustments.as_dict()}

    @classmethod
    def from_dict(cls, raw: dict[str, object], default_scale: int = 2) -> DevelopSettings:
        """Tolerant of missing and bad values (a library written by another version)."""
        scale = raw.get("scale")
        adjustments = raw.get("adjustments")
        return cls(
            scale=scale if scale in SCALES and not isinstance(scale, bool) else default_scale,
            adjustments=Adjustments.from_dict(adjustments)
            if isinstance(adjustments, dict)
            else Adjustments(),
        )


class SettingsCommand(QUndoCommand):
    """Photo ids -> settings before and after; redo applies `after`, undo `before`."""

    def __init__(
        self,
        store: DevelopStore,
        before: dict[int, DevelopSettings],
        after: dict[int, DevelopSettings],
        text: str,
        merge_key: object = None,
    ) -> None:
        super().__init__(text)
        self.store = store
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self) -> int:
        return _MERGEABLE if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SettingsCommand) or other.merge_key != self.merge_key:
            return False
        if set(other.after) != set(self.after):
            return False
        self.after = dict(other.after)
        # NOTE: a drag that ends where it started leaves no step behind.
        self.setObsolete(self.after == self.before)
        return True

    def redo(self) -> None:
        self.store._apply(self.after)

    def undo(self) -> None:
        self.store._apply(self.before)


class DevelopStore(QObject):
    """Each open photo's settings, the undo stack over them, and their library rows."""

    changed = Signal(object)  # list of photo ids whose settings changed

    def __init__(
        self,
        library: PhotoLibrary,
        hasher: TaskRunner | None,
        default_scale: Callable[[], int],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self._hasher = hasher
        self._default_scale = default_scale
        self._settings: dict[int, DevelopSettings] = {}
        self._paths: dict[int, Path] = {}
        self._hashes: dict[int, str] = {}
        self._edited: set[int] = set()  # changed by the user before its hash was known
        self._dirty: set[int] = set()  # to be written to the library
        self.clipboard: DevelopSettings | None = None
        self._closed = False
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.flush)

    # --- photos -----------------------------------------------------------------------------

    def add(self, photo: Photo) -> None:
        """A photo was opened: defaults now, its stored settings once its hash is known."""
        if photo.id in self._settings:
            return
        self._settings[photo.id] = DevelopSettings(scale=self._default_scale())
        self._paths[photo.id] = photo.path
        if self._hasher is None:
            return
        worker = CallWorker(partial(hash_file, photo.path), (OSError,))
        worker.signals.finished.connect(partial(self.set_hash, photo.id))
        worker.signals.failed.connect(partial(self._on_hash_failed, photo))
        self._hasher.start(worker)

    def set_hash(self, photo_id: int, digest: str) -> None:
        """The photo's content hash is known: load what the library holds for it."""
        if photo_id not in self._settings or self._closed:
            return
        self._hashes[photo_id] = digest
        if photo_id in self._edited:
            self._mark_dirty([photo_id])  # the user's changes win over older stored ones
            return
        stored = self.library.get(digest)
        if stored is None:
            return
        settings = DevelopSettings.from_dict(stored, self._default_scale())
        if settings != self._settings[photo_id]:
            self._settings[photo_id] = settings
            self.changed.emit([photo_id])

    def _on_hash_failed(self, photo: Photo, message: str) -> None:
        # NOTE: the loader reports an unreadable file; without a hash the settings simply
        # last for this session.
        log.info("no content hash for %s: %s", photo.path, message)

    def hash_of(self, photo_id: int) -> str | None:
        return self._hashes.get(photo_id)

    def get(self, photo: Photo | int) -> DevelopSettings:
        photo_id = photo if isinstance(photo, int) else photo.id
        return self._settings.get(photo_id) or DevelopSettings(scale=self._default_scale())

    # --- edits (each one undoable) ----------------------------------------------------------

    def edit(
        self,
        after: dict[int, DevelopSettings],
        text: str,
        merge_key: object = None,
    ) -> bool:
        """Give these photos these settings as one undo step; False when nothing changes."""
        after = {i: s for i, s in after.items() if i in self._settings}
        before = {i: self._settings[i] for i in after}
        if before == after:
            return False
        self.undo_stack.push(SettingsCommand(self, before, after, text, merge_key))
        return True

    def set_slider(self, photo_id: int, name: str, value: float, gesture: object) -> bool:
        current = self.get(photo_id)
        new = replace(current, adjustments=current.adjustments.with_value(name, value))
        label = SLIDER_BY_NAME[name].label
        return self.edit({photo_id: new}, label, merge_key=("slider", photo_id, name, gesture))

    def set_adjustments(self, photo_id: int, adjustments: Adjustments, text: str) -> bool:
        return self.edit({photo_id: replace(self.get(photo_id), adjustments=adjustments)}, text)

    def set_scale(self, photo_id: int, scale: int) -> bool:
        return self.edit({photo_id: replace(self.get(photo_id), scale=scale)}, f"Scale x{scale}")

    def copy(self, photo_id: int) -> DevelopSettings:
        self.clipboard = self.get(photo_id)
        return self.clipboard

    def paste(self, photo_ids: Iterable[int]) -> bool:
        if self.clipboard is None:
            return False
        return self.edit({i: self.clipboard for i in photo_ids}, "Paste settings")

    def sync(self, source_id: int, photo_ids: Iterable[int]) -> bool:
        settings = self.get(source_id)
        return self.edit({i: settings for i in photo_ids if i != source_id}, "Sync settings")

    def _apply(self, values: dict[int, DevelopSettings]) -> None:
        ids = [i for i in values if i in self._settings]
        for photo_id in ids:
            self._settings[photo_id] = values[photo_id]
            if photo_id not in self._hashes:
                self._edited.add(photo_id)
        self._mark_dirty(ids)
        if ids:
            self.changed.emit(ids)

    # --- persistence ------------------------------------------------------------------------

    def _mark_dirty(self, ids: Iterable[int]) -> None:
        self._dirty.update(ids)
        self._save_timer.start()

    def flush(self) -> None:
        """Write changed settings of photos whose hash is known (the rest wait for theirs)."""
        self._save_timer.stop()
        if self._closed:
            return
        ready = [i for i in self._dirty if i in self._hashes and i in self._settings]
        rows = {self._hashes[i]: (self._settings[i].as_dict(), str(self._paths[i])) for i in ready}
        try:
            self.library.put_many(rows)
        except (sqlite3.Error, OSError) as exc:  # a full disk must not take the window down
            log.warning("could not save develop settings to %s: %s", self.library.path, exc)
            return
        self._dirty.difference_update(ready)

    def close(self) -> None:
        """Save everything, hashing here what the pool has not hashed yet; then let go."""
        if self._closed:
            return
        for photo_id in list(self._dirty - set(self._hashes)):
            try:
                self._hashes[photo_id] = hash_file(self._paths[photo_id])
            except OSError:
                continue
        self.flush()
        self._closed = True
        self.library.close()
