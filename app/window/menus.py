"""The window's menus and toolbar actions, the dialogs they open, and error reporting."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMessageBox, QToolBar

from app.develop.develop_actions import DevelopActions
from app.dialogs.about_dialog import AboutDialog
from app.dialogs.preferences_dialog import PreferencesDialog
from app.icons import icon
from app.settings import Settings
from app.views.scales_view import SCALES

# Errors arriving within this long of the first, while jobs are running, share one dialog.
ERROR_GROUPING_SECONDS = 1.5


class MenusMixin:
    """Part of `MainWindow` (app/main_window.py); reads and sets the window's attributes."""

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
            self._error_deadline = time.monotonic() + ERROR_GROUPING_SECONDS
            QTimer.singleShot(50, self._flush_errors)

    def _flush_errors(self) -> None:
        # NOTE: jobs still running may fail the same way (the other scales of the photo); on a
        # busy machine they finish hundreds of ms apart, which a fixed delay split into two
        # dialogs. Wait for the queue to go idle, but never longer than the grouping limit.
        if self.jobs.is_busy() and not self._closing and time.monotonic() < self._error_deadline:
            QTimer.singleShot(50, self._flush_errors)
            return
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
