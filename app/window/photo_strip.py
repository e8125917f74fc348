"""The thumbnail strip of opened photos; clicking one shows it.

Several can be selected (Ctrl+click, Shift+click) to paste or sync develop settings onto;
the one clicked last is the one shown.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from app import theme
from app.icons import icon
from app.photos import THUMBNAIL_EDGE
from app.views.qimage import pixmap_from_rgb8

ID_ROLE = Qt.ItemDataRole.UserRole + 1


class PhotoStrip(QListWidget):
    photo_selected = Signal(int)  # photo id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("photoStrip")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setIconSize(QSize(THUMBNAIL_EDGE, THUMBNAIL_EDGE * 2 // 3))
        self.setSpacing(4)
        self.setUniformItemSizes(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setFixedHeight(THUMBNAIL_EDGE * 2 // 3 + 48)
        # Drops go to the main window, which accepts them anywhere.
        self.setAcceptDrops(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.currentItemChanged.connect(self._on_current)

    def add_photo(self, photo_id: int, name: str) -> None:
        item = QListWidgetItem(icon("timer-sand"), name)
        item.setData(ID_ROLE, photo_id)
        item.setToolTip(name)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.addItem(item)

    def _item(self, photo_id: int) -> QListWidgetItem | None:
        for row in range(self.count()):
            item = self.item(row)
            if item.data(ID_ROLE) == photo_id:
                return item
        return None

    def set_thumbnail(self, photo_id: int, thumbnail: np.ndarray) -> None:
        item = self._item(photo_id)
        if item is not None:
            item.setIcon(QIcon(pixmap_from_rgb8(thumbnail)))

    def set_failed(self, photo_id: int, reason: str) -> None:
        item = self._item(photo_id)
        if item is not None:
            item.setIcon(icon("alert-circle-outline", color=theme.ERROR))
            item.setForeground(QColor(theme.ERROR))
            item.setToolTip(f"{item.text()}: could not open it: {reason}")

    def remove_photo(self, photo_id: int) -> None:
        item = self._item(photo_id)
        if item is not None:
            self.takeItem(self.row(item))

    def select(self, photo_id: int) -> None:
        item = self._item(photo_id)
        if item is not None and item is not self.currentItem():
            self.setCurrentItem(item)

    def current_id(self) -> int | None:
        item = self.currentItem()
        return None if item is None else int(item.data(ID_ROLE))

    def selected_ids(self) -> list[int]:
        """Selected photos in strip order."""
        rows = sorted(self.row(item) for item in self.selectedItems())
        return [int(self.item(row).data(ID_ROLE)) for row in rows]

    def ids(self) -> list[int]:
        return [int(self.item(row).data(ID_ROLE)) for row in range(self.count())]

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.photo_selected.emit(int(current.data(ID_ROLE)))
