"""The main window: wires the photo store, the job queue, the views, the controls and export.

State lives in small objects (PhotoStore, JobQueue, ExportQueue, Settings); this class only
connects them and turns their events into what the user sees. The engine is reached only
through `app.worker`, on a worker thread.
"""

from __future__ import annotations

import base64
import logging
import sys
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app import paths
from app import settings as settings_io
from app.about_dialog import AboutDialog
from app.adjustments import Adjustments
from app.batch_dialog import BatchExportDialog
from app.batch_plan import BatchSetupError
from app.batch_session import BatchSession
from app.compare_view import CompareView
from app.controls import ControlsPanel
from app.develop_actions import DevelopActions
from app.develop_settings import DevelopStore
from app.drop_overlay import DropOverlay
from app.export_dialog import ExportDialog
from app.export_options import BATCH_TO_EXPORT_FORMAT, ExportOptions, is_original, output_path
from app.export_panel import ExportPanel
from app.export_queue import DONE, FAILED, RUNNING, ExportItem, ExportQueue
from app.icons import app_icon, icon
from app.job_status import JobStatus, format_eta
from app.jobs import VIEW, EnhanceJob, JobQueue
from app.loader import PhotoLoader
from app.photo_library import PhotoLibrary
from app.photo_strip import PhotoStrip
from app.photos import Photo, PhotoStore
from app.preferences_dialog import PreferencesDialog
from app.scales_view import SCALES, ScalesView
from app.settings import Settings
from app.worker import (
    EngineFactory,
    EngineOptions,
    EngineProvider,
    TaskRunner,
    default_engine_factory,
)

log = logging.getLogger(__name__)

SAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "resources" / "sample" / "night_street.jpg"
CLOSE_TIMEOUT_MS = 5000


class MainWindow(QMainWindow):
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

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        icon_name: str | None = None,
        *,
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            # Shortcuts work wherever focus is inside the window (views, docks, strip).
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{text.rstrip('…')} ({action.shortcut().toString()})")
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a(
            "&Open…", self.open_dialog, QKeySequence.StandardKey.Open, "folder-open"
        )
        self.export_action = a("&Export…", self.export_current, "Ctrl+E", "export")
        self.export_all_action = a(
            "Export &all…", self.export_all, "Ctrl+Shift+E", "image-multiple-outline"
        )
        self.quit_action = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.prefs_action = a("&Preferences…", self.show_preferences, "Ctrl+,", "cog-outline")
        self.enhance_action = a("&Enhance", self.enhance_current, "Ctrl+R", "creation")
        self.cancel_action = a("&Cancel", self.cancel_jobs, "Esc", "close-circle-outline")
        self.flip_action = a(
            "&Before / after", self.compare_view.toggle_before, "Space", "flip-horizontal"
        )
        self.fit_action = a("&Fit", self.fit, "F", "fit-to-screen-outline")
        self.actual_action = a("&100 %", self.actual_pixels, "Ctrl+0", "numeric-1-box-outline")
        self.zoom_in_action = a(
            "Zoom &in", partial(self.zoom_by, 1.25), "Ctrl+=", "magnify-plus-outline"
        )
        self.zoom_out_action = a(
            "Zoom &out", partial(self.zoom_by, 0.8), "Ctrl+-", "magnify-minus-outline"
        )
        self.about_action = a("&About UltraIS", self.show_about, None, "information-outline")
        self.sample_action = a("Open &sample photo", self.open_sample, None, "weather-night")

        self.develop_actions = DevelopActions(self, self.develop)

        self.view_group = QActionGroup(self)
        self.compare_action = a(
            "&Compare",
            partial(self._apply_view_mode, "compare"),
            "C",
            "compare-horizontal",
            checkable=True,
        )
        self.scales_action = a(
            "&Scales side by side",
            partial(self._apply_view_mode, "scales"),
            "S",
            "view-grid-outline",
            checkable=True,
        )
        self.view_group.addAction(self.compare_action)
        self.view_group.addAction(self.scales_action)

        self.scale_actions: dict[int, QAction] = {}
        for scale in SCALES:
            self.scale_actions[scale] = a(
                f"Scale x{scale}", partial(self._set_scale, scale), str(scale)
            )

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu(icon("history"), "Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.sample_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_all_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = menu.addMenu("&Edit")
        for action in self.develop_actions.edit_menu_actions():
            if action is None:
                edit_menu.addSeparator()
            else:
                edit_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.enhance_action)
        edit_menu.addAction(self.cancel_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.prefs_action)

        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.compare_action)
        view_menu.addAction(self.scales_action)
        view_menu.addSeparator()
        view_menu.addAction(self.flip_action)
        view_menu.addAction(self.fit_action)
        view_menu.addAction(self.actual_action)
        view_menu.addAction(self.zoom_in_action)
        view_menu.addAction(self.zoom_out_action)
        view_menu.addAction(self.develop_actions.clipping_action)
        view_menu.addSeparator()
        for action in self.scale_actions.values():
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.controls_dock.toggleViewAction())
        self.export_dock.toggleViewAction().setText("Export queue")
        view_menu.addAction(self.export_dock.toggleViewAction())

        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.open_action, self.export_action, self.export_all_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (self.compare_action, self.scales_action, self.flip_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (
            self.fit_action,
            self.actual_action,
            self.zoom_out_action,
            self.zoom_in_action,
        ):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.enhance_action)
        toolbar.addAction(self.prefs_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

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

    # --- the network's progress -------------------------------------------------------------

    def _on_job_event(self, job: EnhanceJob) -> None:
        what = "Exporting" if VIEW not in job.purposes else "Enhancing"
        self.job_status.show_job(
            f"{what} {job.photo.name} at x{job.scale}", job.fraction, job.eta_s()
        )
        if job.photo is self._current:
            self._update_view_status()

    def _on_busy(self, busy: bool) -> None:
        if not busy and not self.export_queue.is_busy():
            self.job_status.clear()

    def _on_result(self, photo: Photo, scale: int) -> None:
        self._notes.pop((photo.id, scale), None)
        if photo is self._current:
            self.compare_view.refresh()
            self.scales_view.refresh()
            self._update_view_status()
        self._show_device()
        self._evict()

    def _on_job_failed(self, job: EnhanceJob, message: str) -> None:
        self._notes[(job.photo.id, job.scale)] = f"Failed: {message}"
        self._update_view_status()
        self._show_device()
        if VIEW in job.purposes:
            self.report_error(
                "Could not enhance the photo", f"{job.photo.name} at x{job.scale}: {message}"
            )

    def _on_job_cancelled(self, job: EnhanceJob) -> None:
        self._notes[(job.photo.id, job.scale)] = "Cancelled · Ctrl+R enhances again"
        self._update_view_status()

    def _status_for(self, photo: Photo, scale: int) -> str:
        if scale in photo.results:
            return ""
        job = self.jobs.find(photo, scale)
        if job is not None:
            if job is self.jobs.current and job.total:
                return (
                    f"Enhancing at x{scale}… {job.fraction * 100:.0f} % · {format_eta(job.eta_s())}"
                )
            if job is self.jobs.current:
                return f"Enhancing at x{scale}…"
            return f"Waiting for x{scale}…"
        return self._notes.get((photo.id, scale), "Not enhanced yet · Ctrl+R")

    def _update_view_status(self) -> None:
        photo = self._current
        if photo is None:
            return
        self.compare_view.set_status(self._status_for(photo, self.settings.scale))
        for scale in SCALES:
            self.scales_view.set_status(scale, self._status_for(photo, scale))

    def cancel_jobs(self) -> None:
        self.jobs.cancel(purpose=VIEW)
        if self.export_queue.is_busy():
            self.export_queue.cancel()

    def _show_device(self) -> None:
        name = self.provider.device_name
        self.device_label.setText(f"Device: {name}" if name else "Device: starts with first photo")

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
        """Every open photo as one resumable batch into a folder (see `app.batch_plan`)."""
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

    # --- dialogs ----------------------------------------------------------------------------

    def report_error(self, title: str, text: str) -> None:
        """Show an error in a dialog; errors arriving close together share one dialog.

        Files of one drop, or the three scales of the scales view, tend to fail together (a
        missing weights file, a folder of broken files): one dialog listing them all is
        better than a stack of modal boxes.
        """
        if self._closing:
            return
        if (title, text) not in self._errors:
            self._errors.append((title, text))
        if not self._error_flush_pending and not self._showing_error:
            self._error_flush_pending = True
            QTimer.singleShot(50, self._flush_errors)

    def _flush_errors(self) -> None:
        self._error_flush_pending = False
        if not self._errors or self._closing:
            self._errors.clear()
            return
        errors, self._errors = self._errors, []
        titles = {title for title, _ in errors}
        title = errors[0][0] if len(titles) == 1 else "Some things went wrong"
        self._showing_error = True
        try:
            self.show_error(title, "\n\n".join(text for _, text in errors))
        finally:
            self._showing_error = False
        if self._errors:  # more arrived while the dialog was open
            self._error_flush_pending = True
            QTimer.singleShot(0, self._flush_errors)

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec() != PreferencesDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: Settings) -> None:
        new.recent_files = list(self.settings.recent_files)
        self.settings = new
        self.provider.set_options(self._engine_options())
        self.store.budget_bytes = new.cache_budget_mb << 20
        self._save_settings()
        self._show_device()

    def show_about(self) -> None:
        AboutDialog(self.provider.device_name, self).exec()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.recent_files if Path(p).exists()]
        for text in recent:
            action = self.recent_menu.addAction(Path(text).name or text)
            action.setToolTip(text)
            action.triggered.connect(partial(self.open_paths, [Path(text)]))
        if not recent:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear recent files", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_files = []
        self._save_settings()

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
