"""A small RGB + luminance histogram of the displayed result, under the sliders.

`compute_histogram` is pure numpy: a strided sample of the uint8 preview (at most
`MAX_SAMPLES` pixels, so it costs about a millisecond at any window size) counted with
`np.bincount`. The widget paints the three channels as translucent filled curves and the
luminance as a line, each scaled to the tallest bin (ignoring the two end bins, which a
clipped image would otherwise make the only thing visible).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app import theme

BINS = 256
MAX_SAMPLES = 65_536
# Rec. 709 weights in integer form (sum 10000), applied to the 8-bit codes as the sliders do.
_LUMA = (2126, 7152, 722)


@dataclass(frozen=True)
class Histogram:
    """Counts per 8-bit code: `red`, `green`, `blue`, `luma`, each of length 256."""

    red: np.ndarray
    green: np.ndarray
    blue: np.ndarray
    luma: np.ndarray
    samples: int

    def channels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.red, self.green, self.blue, self.luma


def sample_step(height: int, width: int, max_samples: int = MAX_SAMPLES) -> int:
    """Stride in both directions that leaves at most `max_samples` pixels."""
    return max(1, int(np.ceil(np.sqrt(height * width / max(1, max_samples)))))


def compute_histogram(rgb8: np.ndarray, max_samples: int = MAX_SAMPLES) -> Histogram:
    """Counts of an HxWx3 uint8 image, from every `sample_step`-th pixel of every such row."""
    if rgb8.dtype != np.uint8 or rgb8.ndim != 3 or rgb8.shape[2] < 3:
        raise ValueError(f"expected HxWx3 uint8, got {rgb8.dtype} {rgb8.shape}")
    step = sample_step(rgb8.shape[0], rgb8.shape[1], max_samples)
    sample = rgb8[::step, ::step, :3].reshape(-1, 3)
    counts = [np.bincount(sample[:, c], minlength=BINS) for c in range(3)]
    luma_codes = (
        sample[:, 0].astype(np.uint32) * _LUMA[0]
        + sample[:, 1].astype(np.uint32) * _LUMA[1]
        + sample[:, 2].astype(np.uint32) * _LUMA[2]
        + 5000
    ) // 10000
    luma = np.bincount(luma_codes, minlength=BINS)[:BINS]
    return Histogram(counts[0], counts[1], counts[2], luma, int(sample.shape[0]))


_COLOURS = (QColor(230, 70, 70, 110), QColor(80, 200, 90, 110), QColor(80, 130, 240, 110))


class HistogramWidget(QWidget):
    """Paints the last `Histogram` given; empty (a dim note) when there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("histogram")
        self.setMinimumSize(120, 72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Histogram of the result on screen: red, green, blue and luminance")
        self._histogram: Histogram | None = None

    @property
    def histogram(self) -> Histogram | None:
        return self._histogram

    def sizeHint(self) -> QSize:
        return QSize(200, 84)

    def set_image(self, rgb8: np.ndarray | None) -> None:
        self.set_histogram(None if rgb8 is None else compute_histogram(rgb8))

    def set_histogram(self, histogram: Histogram | None) -> None:
        self._histogram = histogram
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.rect().adjusted(0, 0, -1, -1)
        painter.fillRect(rect, QColor(0, 0, 0, 90))
        histogram = self._histogram
        if histogram is None or histogram.samples == 0:
            painter.setPen(QColor(theme.TEXT_DIM))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "No result yet")
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # NOTE: the end bins hold every clipped pixel; scaling to them would flatten the rest.
        peak = max(1, max(int(c[1:-1].max()) for c in histogram.channels()))
        painter.setPen(Qt.PenStyle.NoPen)
        for counts, colour in zip(histogram.channels()[:3], _COLOURS, strict=True):
            painter.setBrush(colour)
            painter.drawPolygon(self._polygon(counts, peak, closed=True))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(235, 235, 235, 200), 1.2))
        painter.drawPolyline(self._polygon(histogram.luma, peak, closed=False))

    def _polygon(self, counts: np.ndarray, peak: int, *, closed: bool) -> QPolygonF:
        """The curve as one polygon, built in a single call.

        NOTE: not a QPainterPath grown point by point: PySide6 6.12 on Python 3.11 drops a
        reference to None on every call of a method that returns nothing, and 1,024 lineTo
        calls per paint took None's count to zero (a crash) within a few dozen slider moves.
        """
        w = max(1.0, self.width() - 1.0)
        h = max(1.0, self.height() - 1.0)
        ys = h - np.minimum(counts / peak, 1.0) * (h - 2.0)
        xs = np.arange(BINS) * (w / (BINS - 1))
        points = [QPointF(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        if closed:
            points = [QPointF(0.0, h), *points, QPointF(w, h)]
        return QPolygonF(points)
