"""numpy <-> QImage. QImage (not QPixmap) so that worker threads may build them too."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def qimage_from_rgb8(array: np.ndarray) -> QImage:
    """HxWx3 uint8 -> a QImage that owns a copy of the pixels."""
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected HxWx3 uint8, got {array.shape} {array.dtype}")
    data = np.ascontiguousarray(array)
    h, w = data.shape[:2]
    image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    # QImage wraps the numpy buffer without owning it; copy before `data` goes out of scope.
    return image.copy()


def rgb8_from_qimage(image: QImage) -> np.ndarray:
    """QImage of any format -> HxWx3 uint8 (used by tests and screenshots)."""
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = converted.height(), converted.width()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=converted.sizeInBytes())
    rows = buffer.reshape(h, converted.bytesPerLine())
    return rows[:, : 3 * w].reshape(h, w, 3).copy()


def pixmap_from_rgb8(array: np.ndarray, device_pixel_ratio: float = 1.0) -> QPixmap:
    """GUI thread only: QPixmap lives in the windowing system."""
    pixmap = QPixmap.fromImage(qimage_from_rgb8(array))
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    return pixmap


def pixmap_from_qimage(image: QImage, device_pixel_ratio: float = 1.0) -> QPixmap:
    """GUI thread only; for a QImage made on a worker thread (`app.views.frames`)."""
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    return pixmap
