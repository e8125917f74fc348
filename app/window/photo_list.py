"""Opening photos (dialog, command line, drag and drop), the photo strip, and which photo and
scale are on screen."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from app import paths
from app.jobs.job_queue import VIEW
from app.photos import Photo
from app.views.compare_view import CompareView
from app.views.scales_view import SCALES, ScalesView

SAMPLE_PHOTO = Path(__file__).resolve().parents[2] / "resources" / "sample" / "night_street.jpg"


class PhotoListMixin:
    """Part of `MainWindow` (app/main_window.py); reads and sets the window's attributes."""

    # --- opening photos ---------------------------------------------------------------------

    def open_dialog(self) -> None:
        start = self.settings.last_open_folder or str(Path.home())
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open night photos", start, paths.file_dialog_filter()
        )
        if files:
            self.open_paths([Path(f) for f in files])

    def open_sample(self) -> None:
        if SAMPLE_PHOTO.exists():
            self.open_paths([SAMPLE_PHOTO], remember=False)

    def open_paths(self, given: list[Path], *, remember: bool = True) -> list[Photo]:
        """Add files and folders; shows the first new photo. Returns the photos added.

        Every file is decoded on its own worker: one that cannot be read is marked failed in
        the strip (its reason in the tooltip and the view) and reported in one dialog with the
        others of the same drop, while the rest load as usual.
        """
        found = paths.expand(given)
        added: list[Photo] = []
        for path in found.images:
            existing = self.store.find(path)
            photo = self.store.add(path)
            if photo is None:
                if existing is not None and not added:
                    self.photo_strip.select(existing.id)
                continue
            added.append(photo)
            self.photo_strip.add_photo(photo.id, photo.name)
            self.loader.load(photo)
            self.develop.add(photo)
        if remember:
            for path in given:
                if path.exists():
                    self.settings.add_recent(path.resolve())
            if given:
                first = given[0]
                self.settings.last_open_folder = str(first if first.is_dir() else first.parent)
            self._save_settings()
        if added:
            self.photo_strip.select(added[0].id)
        notes = []
        if found.missing:
            names = ", ".join(p.name or str(p) for p in found.missing[:5])
            more = f" and {len(found.missing) - 5} more" if len(found.missing) > 5 else ""
            notes.append(f"Not found: {names}{more}")
        if found.left_out:
            notes.append(
                f"Opened the first {len(found.images)} photos; {found.left_out} more were left "
                "out (open their folders one at a time)"
            )
        if not found.images and given and not found.missing:
            notes.append("No photos found there")
        if notes:
            self.statusBar().showMessage(". ".join(notes) + ".", 10000)
        return added

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        local = self._local_paths(event.mimeData().urls())
        if local:
            event.acceptProposedAction()
            self.drop_overlay.show_for(local)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        local = self._local_paths(event.mimeData().urls())
        if local:
            event.acceptProposedAction()
            # Opened after the drop returns: the drag source (a file manager) waits for us.
            QTimer.singleShot(0, partial(self.open_paths, local))

    @staticmethod
    def _local_paths(urls: list[QUrl]) -> list[Path]:
        return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]

    def _on_loaded(self, photo: Photo) -> None:
        if photo.thumbnail is not None:
            self.photo_strip.set_thumbnail(photo.id, photo.thumbnail)
        if photo is self._current:
            self.compare_view.refresh()
            self.scales_view.refresh()
            self._request_for_view()
        self._evict()

    def _on_load_failed(self, photo: Photo, reason: str) -> None:
        self.photo_strip.set_failed(photo.id, photo.error or reason)
        if photo is self._current:
            self.compare_view.refresh()
            self.scales_view.refresh()
        if self.export_queue.active is not None and self.export_queue.active.photo is photo:
            return  # the export queue reports it in its row
        self.report_error("Could not open photo", reason)

    # --- showing a photo --------------------------------------------------------------------

    @property
    def current_photo(self) -> Photo | None:
        return self._current

    def show_photo(self, photo_id: int) -> None:
        photo = self.store.get(photo_id)
        if photo is None or photo is self._current:
            return
        self._current = photo
        self.store.touch(photo)
        self.photo_strip.select(photo.id)
        # What the view asked for other photos is no longer wanted (exports keep theirs).
        self.jobs.withdraw(VIEW, keep=photo)
        self.compare_view.set_photo(photo)
        self.scales_view.set_photo(photo)
        self.develop_actions.show_photo_settings()
        self.setWindowTitle(f"{photo.name} — UltraIS")
        if photo.loaded:
            self._request_for_view()
        elif photo.error is None:  # a file that failed says why in the view; no retry loop
            self.loader.load(photo)
        self._update_view_status()
        self._evict()

    def _request_for_view(self) -> None:
        photo = self._current
        if photo is None or not photo.loaded:
            return
        scale = self.settings.scale
        if self.settings.view_mode == "scales":
            for other in SCALES:
                if other != scale:
                    self.jobs.request(photo, other, VIEW)
        self.jobs.request(photo, scale, VIEW, front=True)
        self._update_view_status()

    def enhance_current(self) -> None:
        """Run again what the view needs (after a cancel or a failure)."""
        if self._current is not None:
            for scale in SCALES:
                self._notes.pop((self._current.id, scale), None)
            self._request_for_view()

    def _set_scale(self, scale: int, *, request: bool = True) -> None:
        """The user chose a scale: the photo on screen's (an undo step), and new photos'."""
        photo = self._current
        if photo is not None and self.develop.set_scale(photo.id, scale):
            return  # the store's `changed` shows it
        self._show_scale(scale, request=request)

    def _show_scale(self, scale: int, *, request: bool = True) -> None:
        self.settings.scale = scale
        self.controls.set_scale(scale)
        for value, action in self.scale_actions.items():
            action.setChecked(value == scale)
        self.compare_view.set_scale(scale)
        if request:
            self._request_for_view()
        self._update_view_status()
        self.develop_actions.view_mode_changed()

    def _apply_view_mode(self, mode: str) -> None:
        previous = self.settings.view_mode
        self.settings.view_mode = mode
        self.compare_action.setChecked(mode == "compare")
        self.scales_action.setChecked(mode == "scales")
        source = self.scales_view.panes[SCALES[0]] if previous == "scales" else self.compare_view
        target = self.scales_view if mode == "scales" else self.compare_view
        self.stack.setCurrentWidget(target)
        if previous != mode:
            # Carry the zoom and centre across, so switching views keeps the place.
            if source.is_fitted:
                target.fit()
            elif mode == "scales":
                for pane in self.scales_view.panes.values():
                    pane.set_viewport(source.viewport)
            else:
                self.compare_view.set_viewport(source.viewport)
        self.flip_action.setEnabled(mode == "compare")
        self.develop_actions.view_mode_changed()
        self._show_zoom()
        self._request_for_view()

    def _active_view(self) -> CompareView | ScalesView:
        return self.scales_view if self.settings.view_mode == "scales" else self.compare_view

    def fit(self) -> None:
        self._active_view().fit()

    def actual_pixels(self) -> None:
        self._active_view().actual_pixels()

    def zoom_by(self, factor: float) -> None:
        self._active_view().zoom_by(factor)

    def _show_zoom(self, *_args: object) -> None:
        view = self._active_view()
        self.zoom_label.setText(f"{view.relative_zoom() * 100:.0f} %")

    def _evict(self) -> None:
        keep = {self._current.id} if self._current is not None else set()
        active = self.export_queue.active
        if active is not None:
            keep.add(active.photo.id)
        for job in self.jobs.jobs():
            keep.add(job.photo.id)
        self.store.evict(keep)
