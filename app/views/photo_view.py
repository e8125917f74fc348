"""Base of the compare view and the scales view's panes: one photo, shown with adjustments.

Holds what both views show on top of zooming and panning (`ZoomPanWidget`): the photo, the
slider adjustments applied to its result, the status line shown while the result is not there
yet, the cache of converted regions, and the clipping warnings. `result_rendered` carries each
freshly rendered result (uint8, before the clipping overlay) for the histogram.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.develop.adjustments import Adjustments
from app.photos import Photo
from app.views.clipping import clipping_overlay
from app.views.render import RegionCache
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

    @property
    def photo(self) -> Photo | None:
        return self._photo

    def set_photo(self, photo: Photo | None, *, keep_view: bool = False) -> None:
        if photo is not self._photo:
            self.last_result = None
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
        self.result_rendered.emit(rendered)
        return clipping_overlay(rendered) if self._clipping else rendered

    def set_status(self, text: str) -> None:
        """Message shown over the result while it is not there yet."""
        if text != self._status:
            self._status = text
            self.update()
