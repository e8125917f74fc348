"""The window's develop-settings actions: undo/redo, copy/paste/sync, clipping, histogram.

Kept out of `app.main_window` (which only creates this object and puts its actions in the
menus): this wires the per-photo `DevelopStore` to the controls panel, the views, the photo
strip's selection and the histogram.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from app.develop.adjustments import Adjustments
from app.develop.develop_settings import DevelopSettings, DevelopStore
from app.icons import icon
from app.views.photo_view import PhotoView
from app.views.scales_view import SCALES

if TYPE_CHECKING:
    from app.main_window import MainWindow


class DevelopActions(QObject):
    def __init__(self, window: MainWindow, store: DevelopStore) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        stack = store.undo_stack
        a = window._action
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.redo_action = stack.createRedoAction(self, "&Redo")
        for action, keys, icon_name in (
            (self.undo_action, QKeySequence.StandardKey.Undo, "undo"),
            (self.redo_action, "Ctrl+Shift+Z", "redo"),
        ):
            action.setIcon(icon(icon_name))
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)
        # Connected after the stack's own slots: the step is done when these run.
        self.undo_action.triggered.connect(lambda: self._note_step("Undone", 0))
        self.redo_action.triggered.connect(lambda: self._note_step("Redone", -1))
        self.copy_action = a("&Copy settings", self.copy, "Ctrl+Shift+C", "content-copy")
        self.paste_action = a("&Paste settings", self.paste, "Ctrl+Shift+V", "content-paste")
        self.sync_action = a("S&ync settings to selected", self.sync, "Ctrl+Shift+S", "sync")
        self.select_all_action = a("Select &all photos", self.select_all, "Ctrl+A")
        self.clipping_action = a(
            "Show &clipping", self.set_clipping, "J", "contrast-box", checkable=True
        )
        self.clipping_action.setToolTip(
            "Show clipping (J): red where a channel of the result is at 255, blue where all "
            "are at 0"
        )
        self.paste_action.setEnabled(False)

        controls = window.controls
        controls.slider_edited.connect(self._on_slider)
        controls.adjustments_edited.connect(self._on_adjustments_edited)
        store.changed.connect(self._on_changed)
        window.compare_view.result_rendered.connect(self._on_rendered)
        for pane in window.scales_view.panes.values():
            pane.result_rendered.connect(self._on_rendered)
        if store.library.recovered_from is not None or store.library.read_only_reason:
            QTimer.singleShot(0, self._tell_about_library)

    def edit_menu_actions(self) -> list[QAction | None]:
        """For the Edit menu, in order; None is a separator."""
        return [
            self.undo_action,
            self.redo_action,
            None,
            self.copy_action,
            self.paste_action,
            self.sync_action,
            self.select_all_action,
        ]

    # --- edits --------------------------------------------------------------------------------

    def _on_slider(self, name: str, value: float, gesture: int) -> None:
        photo = self.window.current_photo
        if photo is None:
            self._show_adjustments(self.window.controls.adjustments)
            return
        self.store.set_slider(photo.id, name, value, gesture)

    def _on_adjustments_edited(self, adjustments: Adjustments, text: str) -> None:
        photo = self.window.current_photo
        if photo is None:
            self._show_adjustments(adjustments)
            return
        self.store.set_adjustments(photo.id, adjustments, text)

    def copy(self) -> None:
        photo = self.window.current_photo
        if photo is None:
            return
        settings = self.store.copy(photo.id)
        self.paste_action.setEnabled(True)
        self.window.statusBar().showMessage(
            f"Copied the settings of {photo.name} ({describe(settings)}).", 5000
        )

    def paste(self) -> None:
        targets = self.selected_ids()
        if self.store.paste(targets):
            self.window.statusBar().showMessage(
                f"Pasted settings onto {_photos(len(targets))}.", 5000
            )

    def sync(self) -> None:
        photo = self.window.current_photo
        if photo is None:
            return
        others = [i for i in self.selected_ids() if i != photo.id]
        if not others:
            self.window.statusBar().showMessage(
                "Select the photos to sync with in the strip (Ctrl+click, Shift+click).", 6000
            )
            return
        self.store.sync(photo.id, others)
        self.window.statusBar().showMessage(
            f"Synced the settings of {photo.name} to {_photos(len(others))}.", 5000
        )

    def select_all(self) -> None:
        self.window.photo_strip.selectAll()

    def selected_ids(self) -> list[int]:
        """The strip's selection; the photo on screen when nothing is selected."""
        ids = self.window.photo_strip.selected_ids()
        current = self.window.current_photo
        if not ids and current is not None:
            ids = [current.id]
        return ids

    def _note_step(self, what: str, offset: int) -> None:
        stack = self.store.undo_stack
        index = stack.index() + offset
        if 0 <= index < stack.count():
            self.window.statusBar().showMessage(f"{what}: {stack.text(index)}", 4000)

    # --- showing ------------------------------------------------------------------------------

    def show_photo_settings(self, *, new_photo: bool = True) -> None:
        """Show the own scale and sliders of the photo on screen (another one, or changed)."""
        photo = self.window.current_photo
        if photo is None:
            return
        settings = self.store.get(photo)
        self.window.controls.show_adjustments(settings.adjustments)
        self._show_adjustments(settings.adjustments)
        if settings.scale != self.window.settings.scale:
            self.window._show_scale(settings.scale)
        if new_photo:  # its first render fills the histogram again
            self.window.controls.histogram.set_histogram(None)

    def _on_changed(self, ids: list[int]) -> None:
        photo = self.window.current_photo
        if photo is not None and photo.id in ids:
            self.show_photo_settings(new_photo=False)

    def _show_adjustments(self, adjustments: Adjustments) -> None:
        self.window.compare_view.set_adjustments(adjustments)
        self.window.scales_view.set_adjustments(adjustments)

    def set_clipping(self, on: bool) -> None:
        self.window.compare_view.set_clipping(on)
        self.window.scales_view.set_clipping(on)

    def active_result_view(self) -> PhotoView:
        """The view whose rendered result the histogram follows."""
        window = self.window
        if window.settings.view_mode == "scales":
            scale = window.settings.scale
            return window.scales_view.panes[scale if scale in SCALES else SCALES[0]]
        return window.compare_view

    def view_mode_changed(self) -> None:
        self.window.controls.histogram.set_histogram(self.active_result_view().result_histogram())

    def _on_rendered(self, pixels: np.ndarray) -> None:
        view = self.active_result_view()
        if self.sender() is view:
            # The view's own count: made by the worker for a frame the job prepared, and here
            # (from `pixels`, its last_result) otherwise.
            self.window.controls.histogram.set_histogram(view.result_histogram())

    def _tell_about_library(self) -> None:
        library = self.store.library
        if library.recovered_from is not None:
            text = (
                f"The photo library {library.path} could not be read, so a new one was "
                f"started; per-photo settings saved before are not restored.\n\nThe old file "
                f"was kept as {library.recovered_from}."
            )
        else:
            text = (
                f"The photo library {library.path} cannot be used ({library.read_only_reason}). "
                "Per-photo settings last until UltraIS closes."
            )
        QMessageBox.warning(self.window, "Photo library", text)


def describe(settings: DevelopSettings) -> str:
    changed = [
        f"{name} {value:+.2f}"
        for name, value in settings.adjustments.as_dict().items()
        if value != getattr(Adjustments(), name)
    ]
    return ", ".join([f"x{settings.scale}", *changed])


def _photos(count: int) -> str:
    return "1 photo" if count == 1 else f"{count} photos"
