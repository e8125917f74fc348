"""The highlight over the window while files are dragged over it: "let go here to open these"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app import theme

MARGIN = 10


def describe_drop(paths: list[Path]) -> str:
    """What letting go would open, in a few words."""
    if len(paths) == 1:
        name = paths[0].name or str(paths[0])
        return f"Drop to open the folder {name}" if paths[0].is_dir() else f"Drop to open {name}"
    if len(paths) > 50:  # no stat() per file while the drag is on
        return f"Drop to open {len(paths)} items"
    folders = sum(1 for p in paths if p.is_dir())
    counts = ((len(paths) - folders, "file"), (folders, "folder"))
    parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in counts if n]
    return "Drop to open " + " and ".join(parts)


class DropOverlay(QWidget):
    """Covers its parent; transparent to the mouse, so drag and drop events still reach the
    window underneath (QWidget.childAt skips such widgets)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAcceptDrops(False)
        self.message = ""
        self.hide()

    def show_for(self, paths: list[Path]) -> None:
        self.message = describe_drop(paths)
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 130))
        accent = QColor(theme.ACCENT)
        frame = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        fill = QColor(accent)
        fill.setAlpha(28)
        painter.setBrush(fill)
        pen = QPen(accent, 3, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(frame, 14, 14)
        font = QFont(painter.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        # The message on a dark chip, so it reads over a bright photo as well as a dark one.
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        bounds = painter.boundingRect(frame.adjusted(40, 0, -40, 0), flags, self.message)
        chip = bounds.adjusted(-24, -14, 24, 14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 190))
        painter.drawRoundedRect(chip, 10, 10)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(chip, flags, self.message)
