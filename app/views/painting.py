"""Small painting helpers shared by the views: label chips, veils with a message, pixmaps."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPixmap

from app import theme
from app.views.qimage import pixmap_from_rgb8
from app.views.viewport import Placement

CHIP_PADDING = 6


def draw_chip(painter: QPainter, text: str, x: int, y: int, *, align_right: bool = False) -> QRect:
    """A rounded dark label; (x, y) is its top-left corner, or top-right with align_right."""
    font = QFont(painter.font())
    font.setPointSizeF(max(8.0, font.pointSizeF()))
    painter.setFont(font)
    metrics = QFontMetrics(font)
    w = metrics.horizontalAdvance(text) + 2 * CHIP_PADDING
    h = metrics.height() + CHIP_PADDING
    left = x - w if align_right else x
    rect = QRect(left, y, w, h)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(QRectF(rect), 4, 4)
    painter.setPen(QColor(theme.TEXT))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()
    return rect


def draw_veil(painter: QPainter, rect: QRect, message: str) -> None:
    """Dim `rect` and write `message` in its middle (work in progress, or an error)."""
    painter.save()
    painter.fillRect(rect, QColor(0, 0, 0, 120))
    if message:
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, message)
    painter.restore()


def draw_placeholder(painter: QPainter, rect: QRect, message: str) -> None:
    painter.save()
    painter.setPen(QColor(theme.TEXT_DIM))
    font = QFont(painter.font())
    font.setPointSizeF(font.pointSizeF() * 1.3)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, message)
    painter.restore()


def device_size(placement: Placement, dpr: float) -> tuple[int, int]:
    """Render size in device pixels, so HiDPI screens get full-resolution previews."""
    _, _, w, h = placement.target
    return max(1, round(w * dpr)), max(1, round(h * dpr))


def to_pixmap(array: np.ndarray, dpr: float) -> QPixmap:
    return pixmap_from_rgb8(array, dpr)


def target_rect(placement: Placement) -> QRect:
    x, y, w, h = placement.target
    return QRect(x, y, w, h)
