"""Export and Export all as the window runs them: options, confirmations, outcomes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from app.develop.adjustments import Adjustments
from app.dialogs.batch_dialog import BatchExportDialog
from app.dialogs.export_dialog import ExportDialog
from app.export.batch_plan import BatchSetupError
from app.export.batch_session import BatchSession
from app.export.export_options import (
    BATCH_TO_EXPORT_FORMAT,
    ExportOptions,
    is_original,
    output_path,
)
from app.export.export_queue import DONE, FAILED, RUNNING, ExportItem
from app.photos import Photo


class ExportMixin:
    """Part of `MainWindow` (app/main_window.py); reads and sets the window's attributes."""

    # --- export -----------------------------------------------------------------------------

    def export_current(self) -> None:
        photo = self._current
        if photo is None:
            self.statusBar().showMessage("Open a photo first.", 5000)
            return
        options = self._ask_export_options([photo])
        if options is None:
            return
        target = output_path(photo.path, options)
        if is_original(target, photo.path):
            self.show_error(
                "Export refused", "That name is the original photo's; it is never overwritten."
            )
            return
        overwrite = False
        if target.exists():
            if not self._confirm_overwrite([target]):
                return
            overwrite = True
        adjustments = self.develop.get(photo).adjustments  # the photo's own sliders
        item = self.export_queue.add(ExportItem(photo, options, adjustments, target, overwrite))
        self._single_exports.add(id(item))
        self.statusBar().showMessage(f"Exporting {photo.name}…", 4000)

    def export_all(self) -> None:
        """Every open photo as one resumable batch into a folder (see `app.export.batch_plan`)."""
        photos = [p for p in self.store.photos() if p.error is None]
        if not photos:
            self.statusBar().showMessage("Open some photos first.", 5000)
            return
        if self.export_queue.batch_running():
            self.statusBar().showMessage(
                "Export all is still running; wait for it or cancel it first.", 8000
            )
            return
        s = self.settings
        dialog = BatchExportDialog(
            sources=[p.path for p in photos],
            fmt=s.batch_format,
            quality=s.jpeg_quality,
            scale=s.scale,
            folder=s.batch_folder or s.output_folder,
            adjustments=Adjustments(),
            photo_settings={
                p.path: (own.scale, own.adjustments) for p in photos if (own := self.develop.get(p))
            },
            precision=s.precision,
            weights=Path(w) if (w := self.provider.options.weights) else None,
            parent=self,
        )
        if dialog.exec() != BatchExportDialog.DialogCode.Accepted:
            return
        try:
            spec = dialog.spec()
        except BatchSetupError as exc:
            self.show_error("Export all", str(exc))
            return
        s.batch_format, s.batch_folder, s.jpeg_quality = spec.fmt, str(spec.dst), spec.quality
        self._save_settings()
        options = ExportOptions(
            format=BATCH_TO_EXPORT_FORMAT[spec.fmt],
            quality=spec.quality,
            folder=str(spec.dst),
            scale=spec.scale,
        )
        session = BatchSession(spec, self)
        self.export_queue.add_batch(session, photos, options, spec.adjustments)
        self.export_dock.show()

    def _confirm_replace(self, paths: list[Path], folder: Path) -> bool:
        answer = QMessageBox.question(
            self,
            "Files already exist",
            f"{len(paths)} of the files to write already exist in {folder} and were not "
            f"written by this batch (for example the one for {paths[0].name}).\n\n"
            "Replace them? No skips those photos.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _ask_export_options(self, photos: list[Photo]) -> ExportOptions | None:
        dialog = ExportDialog(self.settings.export_options(), [p.path for p in photos], self)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return None
        options = dialog.options()
        # The last choices become the defaults next time.
        self.settings.output_format = options.format
        self.settings.jpeg_quality = options.quality
        self.settings.output_folder = options.folder
        self.settings.name_pattern = options.pattern
        self._save_settings()
        return options

    def _confirm_overwrite(self, targets: list[Path]) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace file?",
            f"{targets[0].name} already exists in {targets[0].parent}.\n\nReplace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_export_changed(self, item: ExportItem) -> None:
        if self.jobs.current is None and item.state == RUNNING:
            self.job_status.show_job(f"Writing {item.target.name}", item.fraction, None)

    def _on_export_finished(self, item: ExportItem) -> None:
        single = id(item) in self._single_exports
        self._single_exports.discard(id(item))
        if item.state == DONE:
            self.statusBar().showMessage(f"Exported {item.target}", 8000)
        elif item.state == FAILED and single:
            self.report_error("Export failed", f"{item.photo.name}: {item.message}")
        if not self.jobs.is_busy() and not self.export_queue.is_busy():
            self.job_status.clear()
        self._evict()
