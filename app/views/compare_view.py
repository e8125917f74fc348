"""Before/after in one view, split by a draggable line; Space flips to the full original.

Both sides are rendered for the same `Placement`, so they always show the same region: the
split only chooses where each is clipped, and dragging it repaints without re-rendering.
Renders are cached per side and redone only when their inputs change (photo, scale, result,
sliders, region, size), and only at display resolution.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRect, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from app import theme
from app.views.painting import (
    device_size,
    draw_chip,
    draw_placeholder,
    draw_veil,
    target_rect,
    to_pixmap,
)
from app.views.photo_view import PhotoView
from app.views.render import render_before
from app.views.viewport import Placement, Rect

SPLIT_GRAB_PX = 10  # how close to the line a press grabs it instead of panning
MODES = ("split", "before", "after")
EMPTY_MESSAGE = "Drop night photos or folders here\nor press Ctrl+O to open"


class CompareView(PhotoView):
    split_changed = Signal(float)
    mode_changed = Signal(str)
    rendered = Signal(float)  # milliseconds the last "after" render took (for the bench)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self._scale = 2
        self._split = 0.5
        self._mode = "split"
        self._mode_before_flip = "split"
        self._dragging_split = False
        self._before: tuple[object, QPixmap] | None = None
        self._after: tuple[object, QPixmap] | None = None
        # What each side last showed, in scene pixels: tests check the two always agree.
        self.last_regions: dict[str, Rect] = {}

    # --- inputs -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """The photo's pixels or results changed (decoded, enhanced, evicted)."""
        if self._photo is not None and self._photo.size != self.scene_size:
            self.set_scene_size(self._photo.size)
        self.update()

    @property
    def scale(self) -> int:
        return self._scale

    def set_scale(self, scale: int) -> None:
        if scale != self._scale:
            self._scale = scale
            self.update()
            self.zoom_changed.emit(self.relative_zoom())

    def native_zoom(self) -> float:
        return float(self._scale)

    # --- split and mode -----------------------------------------------------------------------

    @property
    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if fraction != self._split:
            self._split = fraction
            self.update()
            self.split_changed.emit(fraction)

    def split_x(self) -> int:
        return round(self._split * self.width())

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        if mode != self._mode:
            self._mode = mode
            self.update()
            self.mode_changed.emit(mode)

    def toggle_before(self) -> None:
        """Space: flip to the full original and back to whatever was shown."""
        if self._mode == "before":
            self.set_mode(self._mode_before_flip)
        else:
            self._mode_before_flip = self._mode
            self.set_mode("before")

    # --- rendering ----------------------------------------------------------------------------

    def _before_pixmap(self, placement: Placement, dpr: float) -> QPixmap | None:
        photo = self._photo
        if photo is None or photo.rgb is None:
            return None
        key = (photo.id, id(photo.rgb), placement, dpr)
        if self._before is None or self._before[0] != key:
            w, h = device_size(placement, dpr)
            pixels = render_before(photo.rgb, placement.source, w, h, self._samples)
            self._before = (key, to_pixmap(pixels, dpr))
        self.last_regions["before"] = placement.source
        return self._before[1]

    def _after_pixmap(self, placement: Placement, dpr: float) -> QPixmap | None:
        photo = self._photo
        if photo is None or photo.rgb is None:
            return None
        result = photo.results.get(self._scale)
        spec = self.frame_spec(self._scale, placement, dpr)
        if result is None or spec is None:
            self.post_frame(spec)  # the job renders this frame before it reports
            return None
        self.post_frame(None)
        key = (photo.id, id(result), self._adjustments, placement, dpr, self._clipping)
        if self._after is None or self._after[0] != key:
            start = time.perf_counter()
            self._after = (key, self.result_pixmap(result, spec, dpr))
            self.rendered.emit((time.perf_counter() - start) * 1000.0)
        self.last_regions["after"] = placement.source
        return self._after[1]

    def content_changed(self) -> None:
        # Keys already include everything a render depends on; dropping the pixmaps here only
        # frees memory when the widget is resized or the photo changes.
        self._before = None
        self._after = None
        self._samples.clear()

    # --- painting -----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(theme.BACKGROUND))
        placement = self.placement()
        if self._photo is None or placement is None:
            draw_placeholder(painter, self.rect(), EMPTY_MESSAGE)
            return
        if not self._photo.loaded:
            draw_placeholder(painter, self.rect(), self._photo.placeholder())
            return
        dpr = self.devicePixelRatioF()
        target = target_rect(placement)
        before = self._before_pixmap(placement, dpr)
        after = self._after_pixmap(placement, dpr) if self._mode != "before" else None
        after_label = f"After · x{self._scale}"

        if self._mode == "before":
            self._draw(painter, target, before, self.rect())
            draw_chip(painter, "Before", 10, 10)
        elif self._mode == "after":
            self._draw_after_side(painter, target, before, after, self.rect())
            draw_chip(painter, after_label, self.width() - 10, 10, align_right=True)
        else:
            sx = self.split_x()
            left = QRect(0, 0, sx, self.height())
            right = QRect(sx, 0, self.width() - sx, self.height())
            self._draw(painter, target, before, left)
            self._draw_after_side(painter, target, before, after, right)
            self._draw_split_line(painter, sx)
            if sx > 80:
                draw_chip(painter, "Before", 10, 10)
            if self.width() - sx > 120:
                draw_chip(painter, after_label, self.width() - 10, 10, align_right=True)

    def _draw(self, painter: QPainter, target: QRect, pixmap: QPixmap | None, clip: QRect) -> None:
        if pixmap is None or clip.isEmpty():
            return
        painter.save()
        painter.setClipRect(clip)
        painter.drawPixmap(target, pixmap)
        painter.restore()

    def _draw_after_side(
        self,
        painter: QPainter,
        target: QRect,
        before: QPixmap | None,
        after: QPixmap | None,
        clip: QRect,
    ) -> None:
        if after is not None:
            self._draw(painter, target, after, clip)
            return
        # No result yet: the original, dimmed, with what is happening written over it.
        self._draw(painter, target, before, clip)
        if not clip.isEmpty():
            draw_veil(painter, clip.intersected(target), self._status or "Not enhanced yet")

    def _draw_split_line(self, painter: QPainter, x: int) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 210), 2))
        painter.drawLine(x, 0, x, self.height())
        cy = self.height() // 2
        painter.setBrush(QColor(20, 20, 22, 220))
        painter.drawEllipse(QPointF(x, cy), 14, 14)
        painter.setPen(QPen(QColor(theme.TEXT), 2))
        for direction in (-1, 1):  # a small arrow each way says "drag me sideways"
            tip = x + direction * 8
            painter.drawLine(tip, cy, tip - direction * 4, cy - 4)
            painter.drawLine(tip, cy, tip - direction * 4, cy + 4)
        painter.restore()

    # --- mouse: the split line first, panning otherwise ----------------------------------------

    def _near_split(self, pos: QPointF) -> bool:
        return self._mode == "split" and abs(pos.x() - self.split_x()) <= SPLIT_GRAB_PX

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._near_split(event.position()):
            self._dragging_split = True
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging_split:
            self.set_split(event.position().x() / max(1, self.width()))
            event.accept()
            return
        if self._pan_from is None:
            near = self._near_split(event.position())
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.OpenHandCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging_split and event.button() == Qt.MouseButton.LeftButton:
            self._dragging_split = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._near_split(event.position()):
            self.set_split(0.5)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
