"""The export queue panel: one row per photo with its state, and the queue's buttons.

For an Export all batch it also shows the output folder and the command line that resumes it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.export.batch_session import BatchSession
from app.export.export_queue import (
    CANCELLED,
    CHECKING,
    DONE,
    FAILED,
    RUNNING,
    SKIPPED,
    WAITING,
    ExportItem,
    ExportQueue,
)
from app.icons import icon

_STATE_ICONS = {
    CHECKING: "database-search-outline",
    WAITING: "timer-sand",
    RUNNING: "progress-clock",
    DONE: "check-circle-outline",
    SKIPPED: "check-circle-outline",
    FAILED: "alert-circle-outline",
    CANCELLED: "close-circle-outline",
}
_STATE_COLOURS = {
    DONE: theme.OK,
    SKIPPED: theme.OK,
    FAILED: theme.ERROR,
    CANCELLED: theme.TEXT_DIM,
    CHECKING: theme.TEXT_DIM,
}


def describe(item: ExportItem) -> str:
    if item.state == RUNNING:
        step = f"{item.step} · " if item.step else ""
        return f"Running · {step}{item.fraction * 100:.0f} %"
    if item.state == FAILED:
        return f"Failed: {item.message}"
    if item.state == SKIPPED:
        return f"Skipped: {item.message}"
    if item.state == CHECKING:
        return "Checking the batch manifest…"
    return item.state.capitalize()


class ExportPanel(QWidget):
    def __init__(self, queue: ExportQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportPanel")
        self.queue = queue
        self._rows: dict[int, QTreeWidgetItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Photo", "Status", "Output"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(1, 320)
        header.setStretchLastSection(True)
        layout.addWidget(self.tree, 1)

        self.batch_label = QLabel(self)
        self.batch_label.setObjectName("dimLabel")
        self.batch_label.setWordWrap(True)
        self.batch_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.batch_label.hide()
        layout.addWidget(self.batch_label)

        buttons = QHBoxLayout()
        self.summary = QLabel(self)
        self.summary.setObjectName("dimLabel")
        self.cancel_button = QPushButton(icon("stop-circle-outline"), "Cancel", self)
        self.retry_button = QPushButton(icon("refresh"), "Retry failed", self)
        self.clear_button = QPushButton(icon("playlist-remove"), "Clear finished", self)
        self.open_button = QPushButton(icon("folder-open"), "Open output folder", self)
        buttons.addWidget(self.summary, 1)
        for button in (self.cancel_button, self.retry_button, self.clear_button, self.open_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        layout.addLayout(buttons)

        self.cancel_button.clicked.connect(queue.cancel)
        self.retry_button.clicked.connect(queue.retry_failed)
        self.clear_button.clicked.connect(self._clear_finished)
        self.open_button.clicked.connect(self.open_output_folder)
        queue.item_added.connect(self._add_row)
        queue.item_changed.connect(self._update_row)
        queue.batch_started.connect(self._show_batch)
        self._update_buttons()

    def _show_batch(self, session: BatchSession) -> None:
        spec = session.spec
        text = f"Export all into {spec.dst}, with a batch manifest there. "
        if spec.is_the_commands():
            text += f"Resume it from a terminal with:  {spec.command()}"
        else:
            text += (
                "Each photo's own scale and sliders applied: the batch command would redo "
                "these photos, not resume them."
            )
        self.batch_label.setText(text)
        self.batch_label.show()

    def row_texts(self) -> list[tuple[str, str]]:
        """(photo, status) per row, as shown; for tests and accessibility."""
        rows = []
        for index in range(self.tree.topLevelItemCount()):
            row = self.tree.topLevelItem(index)
            rows.append((row.text(0), row.text(1)))
        return rows

    def open_output_folder(self) -> bool:
        folder = self.queue.output_folder()
        if folder is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _add_row(self, item: ExportItem) -> None:
        row = QTreeWidgetItem([item.photo.name, "", str(item.target)])
        row.setToolTip(2, str(item.target))
        self.tree.addTopLevelItem(row)
        self._rows[id(item)] = row
        self._update_row(item)

    def _update_row(self, item: ExportItem) -> None:
        row = self._rows.get(id(item))
        if row is None:
            return
        row.setText(1, describe(item))
        row.setToolTip(1, describe(item))
        row.setText(2, str(item.target))
        row.setIcon(1, icon(_STATE_ICONS[item.state]))
        colour = _STATE_COLOURS.get(item.state)
        row.setForeground(1, QColor(colour) if colour else self.palette().text().color())
        self._update_buttons()

    def _clear_finished(self) -> None:
        self.queue.clear_finished()
        keep = {id(i) for i in self.queue.items}
        for key, row in list(self._rows.items()):
            if key not in keep:
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(row))
                del self._rows[key]
        self._update_buttons()

    def _update_buttons(self) -> None:
        items = self.queue.items
        counts = {state: sum(1 for i in items if i.state == state) for state in _STATE_ICONS}
        self.cancel_button.setEnabled(counts[WAITING] + counts[RUNNING] + counts[CHECKING] > 0)
        self.retry_button.setEnabled(counts[FAILED] + counts[CANCELLED] > 0)
        finished = counts[DONE] + counts[SKIPPED] + counts[FAILED] + counts[CANCELLED]
        self.clear_button.setEnabled(finished > 0)
        self.open_button.setEnabled(counts[DONE] + counts[SKIPPED] > 0)
        parts = [f"{counts[DONE] + counts[SKIPPED]} of {len(items)} done"]
        if counts[SKIPPED]:
            parts.append(f"{counts[SKIPPED]} of them before")
        if counts[FAILED]:
            parts.append(f"{counts[FAILED]} failed")
        self.summary.setText(", ".join(parts) if items else "No exports yet")
