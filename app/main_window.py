"""The main window: wires the photo store, the job queue, the views, the controls and export.

State lives in small objects (PhotoStore, JobQueue, ExportQueue, Settings); this class only
connects them and turns their events into what the user sees. The engine is reached only
through `app.jobs.worker`, on a worker thread.
"""

from __future__ import annotations

import base64
import logging
import sys
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import settings as settings_io
from app.develop.controls import ControlsPanel
from app.develop.develop_settings import DevelopStore
from app.develop.photo_library import PhotoLibrary
from app.export.export_panel import ExportPanel
from app.export.export_queue import ExportQueue
from app.icons import app_icon
from app.jobs.job_queue import JobQueue
from app.jobs.loader import PhotoLoader
from app.jobs.worker import (
    EngineFactory,
    EngineOptions,
    EngineProvider,
    TaskRunner,
    default_engine_factory,
)
from app.photos import Photo, PhotoStore
from app.settings import Settings
from app.views.compare_view import CompareView
from app.views.drop_overlay import DropOverlay
from app.views.scales_view import ScalesView
from app.window.exporting import ExportMixin
from app.window.job_status import JobStatus
from app.window.menus import MenusMixin
from app.window.photo_list import SAMPLE_PHOTO, PhotoListMixin
from app.window.photo_strip import PhotoStrip
from app.window.results import JobsMixin

log = logging.getLogger(__name__)

__all__ = ["CLOSE_TIMEOUT_MS", "SAMPLE_PHOTO", "MainWindow", "run_app"]

CLOSE_TIMEOUT_MS = 5000


class MainWindow(MenusMixin, PhotoListMixin, JobsMixin, ExportMixin, QMainWindow):
    """The composition root: builds the state objects and widgets and connects them; what the
    window does with them lives in the mixins of `app.window`."""

    def __init__(
        self,
        *,
        settings_path: Path | None = None,
        engine_factory: EngineFactory | None = None,
        open_sample: bool = True,
        library_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.settings_path = settings_path or settings_io.default_path()
        self.settings: Settings = settings_io.load(self.settings_path)
        self.setWindowTitle("UltraIS")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1400, 900)

        self.store = PhotoStore(self.settings.cache_budget_mb << 20)
        self.provider = EngineProvider(
            engine_factory or default_engine_factory, self._engine_options()
        )
        self.jobs = JobQueue(self.provider, self)
        self.io_runner = TaskRunner(2, self)
        self.loader = PhotoLoader(self.io_runner, self)
        self.export_queue = ExportQueue(self.jobs, self.loader, self.io_runner, self)
        self.export_queue.confirm_replace = self._confirm_replace
        # Each photo's own scale and sliders, with undo, kept by content hash across restarts.
        self.library = PhotoLibrary(library_path)
        self.develop = DevelopStore(self.library, self.io_runner, lambda: self.settings.scale, self)
        self._current: Photo | None = None
        self._notes: dict[tuple[int, int], str] = {}  # (photo id, scale) -> failed/cancelled note
        self._errors: list[tuple[str, str]] = []  # (title, text) waiting for the dialog
        self._error_flush_pending = False
        self._error_deadline = 0.0
        self._showing_error = False
        self._single_exports: set[int] = set()  # ids of items whose failure gets a dialog
        self._closing = False

        self._build_views()
        self._build_docks()
        self._build_actions()
        self._build_status_bar()
        self._connect()
        self._restore_window_state()
        self._apply_view_mode(self.settings.view_mode)
        self._show_scale(self.settings.scale, request=False)

        if open_sample and self.settings.first_run and SAMPLE_PHOTO.exists():
            # Something to look at on the very first start, before the user has any photo in.
            QTimer.singleShot(0, lambda: self.open_paths([SAMPLE_PHOTO], remember=False))
        self.settings.first_run = False

    # --- construction -----------------------------------------------------------------------

    def _engine_options(self) -> EngineOptions:
        s = self.settings
        return EngineOptions(device=s.device, precision=s.precision, tile=s.tile)

    def _build_views(self) -> None:
        self.compare_view = CompareView(self)
        self.scales_view = ScalesView(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.compare_view)
        self.stack.addWidget(self.scales_view)
        self.photo_strip = PhotoStrip(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.photo_strip)
        self.setCentralWidget(central)
        self.drop_overlay = DropOverlay(self)

    def _build_docks(self) -> None:
        self.controls = ControlsPanel(self)
        scroll = QScrollArea(self)
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Sized to the panel, so the dock never clips the reset buttons behind a sideways scroll.
        # NOTE: the larger of the panel's minimum width and its layout's minimum: the dock was
        # sized to the layout's (217 px) while the panel insisted on 250, cutting off 19 px.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_min = self.controls.minimumSizeHint().expandedTo(self.controls.minimumSize())
        scroll.setMinimumWidth(panel_min.width() + scroll.verticalScrollBar().sizeHint().width())
        self.controls_dock = QDockWidget("Controls", self)
        self.controls_dock.setObjectName("controlsDock")
        self.controls_dock.setWidget(scroll)
        self.controls_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.controls_dock)

        self.export_panel = ExportPanel(self.export_queue, self)
        self.export_dock = QDockWidget("Export queue", self)
        self.export_dock.setObjectName("exportDock")
        self.export_dock.setWidget(self.export_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.export_dock)
        self.export_dock.hide()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_status = JobStatus(self)
        self.zoom_label = QLabel(self)
        self.zoom_label.setObjectName("dimLabel")
        self.zoom_label.setMinimumWidth(70)
        self.device_label = QLabel(self)
        self.device_label.setObjectName("dimLabel")
        bar.addPermanentWidget(self.job_status)
        bar.addPermanentWidget(self.zoom_label)
        bar.addPermanentWidget(self.device_label)
        self._show_device()

    def _connect(self) -> None:
        # The views tell each job which frames to prepare, so a result arrives ready to draw.
        self.compare_view.frame_board = self.jobs.frames
        for pane in self.scales_view.panes.values():
            pane.frame_board = self.jobs.frames
        self.photo_strip.photo_selected.connect(self.show_photo)
        self.controls.scale_changed.connect(self._set_scale)
        self.controls.export_requested.connect(self.export_current)
        self.controls.export_all_requested.connect(self.export_all)
        self.compare_view.zoom_changed.connect(self._show_zoom)
        self.scales_view.zoom_changed.connect(self._show_zoom)
        self.job_status.cancel_requested.connect(self.cancel_jobs)

        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.jobs.job_started.connect(self._on_job_event)
        self.jobs.job_progress.connect(self._on_job_event)
        self.jobs.result_ready.connect(self._on_result)
        self.jobs.job_failed.connect(self._on_job_failed)
        self.jobs.job_cancelled.connect(self._on_job_cancelled)
        self.jobs.busy_changed.connect(self._on_busy)
        self.export_queue.item_finished.connect(self._on_export_finished)
        self.export_queue.batch_problem.connect(partial(self.report_error, "Export all"))
        self.export_queue.item_changed.connect(self._on_export_changed)

    # --- window state and closing -----------------------------------------------------------

    def _restore_window_state(self) -> None:
        s = self.settings
        try:
            if s.window_geometry:
                self.restoreGeometry(QByteArray(base64.b64decode(s.window_geometry)))
            if s.window_state:
                self.restoreState(QByteArray(base64.b64decode(s.window_state)))
        except (ValueError, TypeError):
            log.warning("window state in settings unreadable; using defaults")

    def _save_settings(self) -> None:
        try:
            settings_io.save(self.settings, self.settings_path)
        except OSError as exc:
            log.warning("could not save settings to %s: %s", self.settings_path, exc)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.export_queue.is_busy() and not self._closing:
            answer = QMessageBox.question(
                self,
                "Exports running",
                "Exports are still running. Quit and cancel them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self._closing = True
        self.settings.window_geometry = base64.b64encode(bytes(self.saveGeometry())).decode()
        self.settings.window_state = base64.b64encode(bytes(self.saveState())).decode()
        self._save_settings()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = CLOSE_TIMEOUT_MS) -> bool:
        """Cancel every worker and wait for them; True when all ended within the time-out."""
        self._closing = True
        self.develop.close()
        self.export_queue.cancel()
        self.io_runner.cancel_all()
        finished = self.jobs.shutdown(timeout_ms)
        finished = self.io_runner.wait(timeout_ms) and finished
        # After the writer: a cancelled photo's manifest row goes back to pending, then the
        # batch lets go of its folder.
        finished = self.export_queue.shutdown(timeout_ms) and finished
        if not finished:
            log.warning("a worker is still running after %d ms; it ends after its tile", timeout_ms)
        return finished


def run_app(argv: list[str]) -> int:
    """Entry point for `python main.py [photos...]`; returns the exit code (app/launch.py)."""
    from app.launch import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(run_app(sys.argv))
