"""Base widget for image views: wheel zoom about the cursor, drag to pan, Fit and 100 %.

Subclasses paint; this class owns the viewport (in scene pixels, see `app.views.viewport`) and turns
it into a `Placement` at whole device pixels. Until the user zooms or pans, the view stays
fitted as the widget is resized.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.views import viewport as vpm
from app.views.viewport import Placement, Viewport

WHEEL_STEP = 1.25  # zoom factor per wheel notch (120 eighths of a degree)


class ZoomPanWidget(QWidget):
    viewport_changed = Signal(object)  # Viewport, after a user zoom or pan
    zoom_changed = Signal(float)  # zoom relative to 100 % (1.0 = one screen px per output px)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self._scene: tuple[int, int] | None = None
        self._viewport = Viewport(0.0, 0.0, 1.0)
        self._fitted = True
        self._pan_from: QPointF | None = None

    # --- what subclasses provide ------------------------------------------------------------

    def native_zoom(self) -> float:
        """Zoom (screen px per scene px) that shows output pixels 1:1 ("100 %")."""
        return 1.0

    def content_changed(self) -> None:
        """Cached renders are stale; subclasses drop them. Called before every repaint request."""

    # --- scene and viewport -----------------------------------------------------------------

    def set_scene_size(self, size: tuple[int, int] | None, *, keep_view: bool = False) -> None:
        """The input photo's (width, height); a new photo is shown fitted unless keep_view."""
        if size == self._scene and keep_view:
            return
        self._scene = size
        if not keep_view or size is None:
            self._fitted = True
        if self._fitted:
            self._apply_fit()
        self.content_changed()
        self.update()

    @property
    def scene_size(self) -> tuple[int, int] | None:
        return self._scene

    @property
    def viewport(self) -> Viewport:
        return self._viewport

    @property
    def is_fitted(self) -> bool:
        return self._fitted

    def relative_zoom(self) -> float:
        return self._viewport.zoom / self.native_zoom()

    def set_viewport(self, viewport: Viewport, *, fitted: bool = False) -> None:
        """Set from outside (a linked pane); does not emit viewport_changed."""
        self._viewport = viewport
        self._fitted = fitted
        self.update()
        self.zoom_changed.emit(self.relative_zoom())

    def fit(self) -> None:
        self._fitted = True
        self._apply_fit()
        self._changed_by_user()

    def actual_pixels(self) -> None:
        """100 %: one screen pixel per output pixel, about the centre."""
        self.set_zoom(self.native_zoom())

    def set_zoom(self, zoom: float) -> None:
        self._fitted = False
        self._viewport = self._clamped(vpm.with_zoom(self._viewport, zoom))
        self._changed_by_user()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        if self._scene is None:
            return
        point = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        self._fitted = False
        vp = vpm.zoom_about(
            self._viewport, factor, point.x(), point.y(), self.width(), self.height()
        )
        self._viewport = self._clamped(vp)
        self._changed_by_user()

    def pan(self, dx: float, dy: float) -> None:
        if self._scene is None:
            return
        self._fitted = False
        self._viewport = self._clamped(vpm.pan_by(self._viewport, dx, dy))
        self._changed_by_user()

    def placement(self) -> Placement | None:
        if self._scene is None:
            return None
        return vpm.placement(self._viewport, *self._scene, self.width(), self.height())

    def scene_at(self, pos: QPointF) -> tuple[float, float]:
        return vpm.view_to_scene(self._viewport, self.width(), self.height(), pos.x(), pos.y())

    def _apply_fit(self) -> None:
        if self._scene is not None:
            self._viewport = vpm.fit(*self._scene, self.width(), self.height())
            self.zoom_changed.emit(self.relative_zoom())

    def _clamped(self, vp: Viewport) -> Viewport:
        return vpm.clamp(vp, *self._scene) if self._scene is not None else vp

    def _changed_by_user(self) -> None:
        self.update()
        self.viewport_changed.emit(self._viewport)
        self.zoom_changed.emit(self.relative_zoom())

    # --- events -----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self._apply_fit()
        self.content_changed()

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.zoom_by(WHEEL_STEP**notches, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._scene is not None:
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # The press is remembered here instead of reading event.buttons(): synthetic drags
        # (tests, some tablets) do not always carry the button state on move events.
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan(delta.x(), delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() == Qt.MouseButton.LeftButton:
            self._pan_from = None
            self.unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # Double click toggles Fit and 100 %, as in most photo viewers.
        if self._fitted:
            self._fitted = False
            self._viewport = self._clamped(
                vpm.zoom_about(
                    self._viewport,
                    self.native_zoom() / self._viewport.zoom,
                    event.position().x(),
                    event.position().y(),
                    self.width(),
                    self.height(),
                )
            )
            self._changed_by_user()
        else:
            self.fit()
        event.accept()
