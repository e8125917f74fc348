"""x1, x2 and x4 of the same region side by side, at the same on-screen size, zoom/pan locked.

Each pane draws its own scale's result of the same scene region; since the viewport is in
input pixels (see `app.views.viewport`), locking the panes is just giving them one Viewport.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app import theme
from app.develop.adjustments import Adjustments
from app.photos import Photo
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
from app.views.viewport import Placement, Rect, Viewport

SCALES = (1, 2, 4)
PANE_GAP = 2


def format_seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


class ScalePane(PhotoView):
    """One scale's result; shows the original dimmed, with a status line, until it exists."""

    def __init__(self, scale: int, reference_scale: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = scale
        self._reference_scale = reference_scale
        self._cache: tuple[object, QPixmap] | None = None
        self.last_region: Rect | None = None

    def native_zoom(self) -> float:
        # One shared "100 %" for all panes (that of the largest scale), so locking holds.
        return float(self._reference_scale)

    def label(self) -> str:
        photo = self._photo
        if photo is None or photo.size is None:
            return f"x{self.scale}"
        w, h = photo.size
        text = f"x{self.scale} · {w * self.scale} × {h * self.scale} px"
        result = photo.results.get(self.scale)
        if result is not None:
            text += f" · {format_seconds(result.seconds)}"
        return text

    def content_changed(self) -> None:
        self._cache = None
        self._samples.clear()

    def _pixmap(self, placement: Placement, dpr: float) -> tuple[QPixmap, bool] | None:
        photo = self._photo
        if photo is None or photo.rgb is None:
            return None
        result = photo.results.get(self.scale)
        key = (photo.id, id(photo.rgb), id(result), self._adjustments, placement, dpr)
        key += (self._clipping and result is not None,)
        spec = self.frame_spec(self.scale, placement, dpr)
        self.post_frame(spec if result is None else None)  # the job renders it before it reports
        if self._cache is None or self._cache[0] != key:
            if result is None or spec is None:
                w, h = device_size(placement, dpr)
                pixels = render_before(photo.rgb, placement.source, w, h, self._samples)
                pixmap = to_pixmap(pixels, dpr)
            else:
                pixmap = self.result_pixmap(result, spec, dpr)
            self._cache = (key, pixmap)
        self.last_region = placement.source
        return self._cache[1], result is not None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(theme.BACKGROUND))
        placement = self.placement()
        if placement is None or self._photo is None:
            photo = self._photo
            waiting = photo is not None and not photo.loaded and self.scale == SCALES[0]
            text = photo.placeholder() if waiting else f"x{self.scale}"
            draw_placeholder(painter, self.rect(), text)
            return
        drawn = self._pixmap(placement, self.devicePixelRatioF())
        if drawn is not None:
            pixmap, is_result = drawn
            painter.drawPixmap(target_rect(placement), pixmap)
            if not is_result:
                draw_veil(painter, target_rect(placement), self._status or "Waiting")
        draw_chip(painter, self.label(), 8, 8)


class ScalesView(QWidget):
    viewport_changed = Signal(object)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scalesView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.panes: dict[int, ScalePane] = {}
        for scale in SCALES:
            pane = ScalePane(scale, max(SCALES), self)
            pane.viewport_changed.connect(self._sync_from)
            self.panes[scale] = pane
        self.panes[SCALES[0]].zoom_changed.connect(self.zoom_changed)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Placed by hand, not by a layout: a layout splits 899 px as 300/300/299, and panes of
        # unequal width would show regions that differ by a sliver under the same viewport.
        super().resizeEvent(event)
        count = len(self.panes)
        width = max(1, (self.width() - PANE_GAP * (count - 1)) // count)
        for index, pane in enumerate(self.panes.values()):
            pane.setGeometry(index * (width + PANE_GAP), 0, width, self.height())

    def _sync_from(self, viewport: Viewport) -> None:
        source = self.sender()
        fitted = isinstance(source, ScalePane) and source.is_fitted
        for pane in self.panes.values():
            if pane is not source:
                pane.set_viewport(viewport, fitted=fitted)
        self.viewport_changed.emit(viewport)

    @property
    def viewport(self) -> Viewport:
        return self.panes[SCALES[0]].viewport

    def relative_zoom(self) -> float:
        return self.panes[SCALES[0]].relative_zoom()

    def set_photo(self, photo: Photo | None, *, keep_view: bool = False) -> None:
        for pane in self.panes.values():
            pane.set_photo(photo, keep_view=keep_view)

    def refresh(self) -> None:
        for pane in self.panes.values():
            photo = pane.photo
            if photo is not None and photo.size != pane.scene_size:
                pane.set_scene_size(photo.size)
            pane.update()

    def set_adjustments(self, adjustments: Adjustments) -> None:
        for pane in self.panes.values():
            pane.set_adjustments(adjustments)

    def set_clipping(self, on: bool) -> None:
        for pane in self.panes.values():
            pane.set_clipping(on)

    def set_status(self, scale: int, text: str) -> None:
        self.panes[scale].set_status(text)

    def fit(self) -> None:
        for pane in self.panes.values():
            pane.fit()

    def actual_pixels(self) -> None:
        self.panes[SCALES[-1]].actual_pixels()  # the others follow through _sync_from

    def zoom_by(self, factor: float) -> None:
        self.panes[SCALES[-1]].zoom_by(factor)
