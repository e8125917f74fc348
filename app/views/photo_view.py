"""Base of the compare view and the scales view's panes: one photo, shown with adjustments.

Holds what both views show on top of zooming and panning (`ZoomPanWidget`): the photo, the
slider adjustments applied to its result, the status line shown while the result is not there
yet, the cache of converted regions, and the clipping warnings. `result_rendered` carries each
freshly rendered result (uint8, before the clipping overlay) for the histogram.

While a result does not exist yet, the view posts on `frame_board` (the job queue's, see
`app.views.frames`) what it would draw of it, and draws the frame the job prepared for it when it
still matches (`result_pixmap`), so the GUI thread does not render at the end of a job.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QHideEvent, QPixmap
from PySide6.QtWidgets import QWidget

from app.develop.adjustments import Adjustments
from app.develop.histogram import Histogram, compute_histogram
from app.photos import Enhanced, Photo
from app.views.clipping import clipping_overlay
from app.views.frames import FrameBoard, FrameSpec
from app.views.painting import device_size, to_pixmap
from app.views.qimage import pixmap_from_qimage
from app.views.render import RegionCache, render_after
from app.views.viewport import Placement
from app.views.zoom_pan import ZoomPanWidget


class PhotoView(ZoomPanWidget):
    result_rendered = Signal(object)  # HxWx3 uint8: the result as shown, before the overlay

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._photo: Photo | None = None
        self._adjustments = Adjustments()
        self._status = ""
        self._samples = RegionCache()
        self._clipping = False
        self.last_result: np.ndarray | None = None  # what result_rendered last carried
        self._last_histogram: Histogram | None = None  # of last_result, once counted
        self.frame_board: FrameBoard | None = None  # set by the window: the job queue's board

    @property
    def photo(self) -> Photo | None:
        return self._photo

    def set_photo(self, photo: Photo | None, *, keep_view: bool = False) -> None:
        if photo is not self._photo:
            self.last_result = None
            self._last_histogram = None
            self.post_frame(None)
        self._photo = photo
        self._status = ""
        size = photo.size if photo is not None else None
        self.set_scene_size(size, keep_view=keep_view and photo is not None)

    def set_adjustments(self, adjustments: Adjustments) -> None:
        if adjustments != self._adjustments:
            self._adjustments = adjustments
            self.update()

    @property
    def clipping(self) -> bool:
        return self._clipping

    def set_clipping(self, on: bool) -> None:
        """Paint clipped pixels of the result red (highlights) and blue (shadows)."""
        if on != self._clipping:
            self._clipping = on
            self.update()

    def shown_result(self, rendered: np.ndarray) -> np.ndarray:
        """A freshly rendered result as it goes on screen: announced, then overlaid if asked.

        NOTE: the overlay runs on the uint8 preview after the sliders, so it marks what the
        screen shows, and costs a few ms on the region already rendered.
        """
        self.last_result = rendered
        self._last_histogram = None
        self.result_rendered.emit(rendered)
        return clipping_overlay(rendered) if self._clipping else rendered

    def result_histogram(self) -> Histogram | None:
        """The histogram of `last_result`: counted by the worker for a prepared frame, here
        (once) otherwise."""
        if self._last_histogram is None and self.last_result is not None:
            self._last_histogram = compute_histogram(self.last_result)
        return self._last_histogram

    # --- frames prepared by the job -----------------------------------------------------------

    def frame_spec(self, scale: int, placement: Placement, dpr: float) -> FrameSpec | None:
        """What this view draws of the photo's result at `scale` for `placement`."""
        if self._photo is None:
            return None
        w, h = device_size(placement, dpr)
        return FrameSpec(
            self._photo.id, scale, self._adjustments, placement.source, w, h, self._clipping
        )

    def post_frame(self, spec: FrameSpec | None) -> None:
        """Ask the job that makes this result to prepare `spec` of it (None: nothing wanted)."""
        if self.frame_board is not None:
            self.frame_board.post(self, spec)

    def result_pixmap(self, result: Enhanced, spec: FrameSpec, dpr: float) -> QPixmap:
        """`result` as this view draws it for `spec`: the frame its job prepared when it still
        matches (only a QImage -> QPixmap here), rendered on this thread otherwise."""
        photo = self._photo
        assert photo is not None and photo.rgb is not None
        frame = self.frame_board.take(spec, result) if self.frame_board is not None else None
        if frame is not None:
            self._samples.adopt(frame.samples)
            self.last_result = frame.pixels
            self._last_histogram = frame.histogram
            self.result_rendered.emit(frame.pixels)
            return pixmap_from_qimage(frame.image, dpr)
        pixels = render_after(
            photo.rgb, result, spec.adjustments, spec.source, spec.width, spec.height, self._samples
        )
        return to_pixmap(self.shown_result(pixels), dpr)

    def hideEvent(self, event: QHideEvent) -> None:
        # A hidden view draws nothing when the result arrives: no job should render for it.
        self.post_frame(None)
        super().hideEvent(event)

    def set_status(self, text: str) -> None:
        """Message shown over the result while it is not there yet."""
        if text != self._status:
            self._status = text
            self.update()
