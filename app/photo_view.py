"""Base of the compare view and the scales view's panes: one photo, shown with adjustments.

Holds what both views show on top of zooming and panning (`ZoomPanWidget`): the photo, the
slider adjustments applied to its result, the status line shown while the result is not there
yet, and the cache of converted regions.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.adjustments import Adjustments
from app.photos import Photo
from app.render import RegionCache
from app.zoom_pan import ZoomPanWidget


class PhotoView(ZoomPanWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._photo: Photo | None = None
        self._adjustments = Adjustments()
        self._status = ""
        self._samples = RegionCache()

    @property
    def photo(self) -> Photo | None:
        return self._photo

    def set_photo(self, photo: Photo | None, *, keep_view: bool = False) -> None:
        self._photo = photo
        self._status = ""
        size = photo.size if photo is not None else None
        self.set_scene_size(size, keep_view=keep_view and photo is not None)

    def set_adjustments(self, adjustments: Adjustments) -> None:
        if adjustments != self._adjustments:
            self._adjustments = adjustments
            self.update()

    def set_status(self, text: str) -> None:
        """Message shown over the result while it is not there yet."""
        if text != self._status:
            self._status = text
            self.update()
