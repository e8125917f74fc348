"""First frames of a result, prepared on the worker thread that made the result.

When a network job ends, the view that waits for it has to render the result at display size
(`render_after`), paint the clipping overlay and count the histogram before it can draw: tens of
milliseconds on the GUI thread, more on a busy machine, and the window froze for that long at
the end of every job. So each view posts on a `FrameBoard` what it would draw of a result it
does not have yet (a `FrameSpec`: photo, scale, sliders, region, size, clipping); the worker
reads the board once the engine is done and prepares those frames with the very same functions
(`prepare_frame`), and the job queue hands them back to the board with the result. A view that
still wants exactly that frame takes it and only turns its QImage into a pixmap; anything that
changed meanwhile (a zoom, a slider) falls back to rendering on the GUI thread, as before.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtGui import QImage

from app.develop.adjustments import Adjustments
from app.develop.histogram import Histogram, compute_histogram
from app.photos import Enhanced
from app.views.clipping import clipping_overlay
from app.views.qimage import qimage_from_rgb8
from app.views.render import RegionCache, render_after
from app.views.viewport import Rect


@dataclass(frozen=True)
class FrameSpec:
    """Everything a view's render of one result depends on (besides the result itself)."""

    photo_id: int
    scale: int
    adjustments: Adjustments
    source: Rect  # scene pixels shown
    width: int  # device pixels rendered
    height: int
    clipping: bool


@dataclass(frozen=True, eq=False)
class PreparedFrame:
    """A frame rendered off the GUI thread, with what the GUI thread would otherwise compute."""

    spec: FrameSpec
    # The result it was rendered from (a frame of another run is never used). A weak reference:
    # a frame nobody took must not keep an evicted x4 result (1 GB for 12 MP) alive.
    result: weakref.ref[Enhanced]
    pixels: np.ndarray  # HxWx3 uint8: the result as shown, before the clipping overlay
    image: QImage  # what goes on screen (with the overlay when the spec asks for it)
    histogram: Histogram
    # The RegionCache entries the render made, so the first slider move does not resample.
    samples: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict)


def prepare_frame(spec: FrameSpec, original_rgb: np.ndarray, result: Enhanced) -> PreparedFrame:
    """Render `spec` of `result` as a view would; safe on any thread (numpy, OpenCV, QImage)."""
    cache = RegionCache()
    pixels = render_after(
        original_rgb, result, spec.adjustments, spec.source, spec.width, spec.height, cache
    )
    shown = clipping_overlay(pixels) if spec.clipping else pixels
    # NOTE: converted here to the format of an opaque raster pixmap, so QPixmap.fromImage on the
    # GUI thread takes the pixels as they are instead of converting each one (~1 ms a MP).
    image = qimage_from_rgb8(shown).convertToFormat(QImage.Format.Format_RGB32)
    histogram = compute_histogram(pixels)
    return PreparedFrame(spec, weakref.ref(result), pixels, image, histogram, cache.entries())


class FrameBoard:
    """Where views post the frames they wait for and find the frames prepared for them.

    `post`/`take`/`deliver` run on the GUI thread; `specs_for` runs on the worker thread, hence
    the lock. Each view (the owner) has at most one posted spec.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posted: dict[int, FrameSpec] = {}  # id(owner) -> spec
        self._ready: dict[FrameSpec, PreparedFrame] = {}

    def post(self, owner: object, spec: FrameSpec | None) -> None:
        """`owner` will draw `spec` once its result exists; None withdraws its spec."""
        with self._lock:
            if spec is None:
                self._posted.pop(id(owner), None)
            else:
                self._posted[id(owner)] = spec

    def specs_for(self, photo_id: int, scale: int) -> list[FrameSpec]:
        """The distinct specs posted for one (photo, scale); called by the worker."""
        with self._lock:
            specs = [s for s in self._posted.values() if (s.photo_id, s.scale) == (photo_id, scale)]
        return list(dict.fromkeys(specs))

    def deliver(self, frames: list[PreparedFrame]) -> None:
        """Frames of the result that just arrived; replaces any earlier job's frames that no
        view took, so at most one job's frames (a few MB) are ever held."""
        self._ready = {frame.spec: frame for frame in frames}

    def take(self, spec: FrameSpec, result: Enhanced) -> PreparedFrame | None:
        """The frame prepared for exactly `spec` of `result`, once; None when there is none."""
        frame = self._ready.get(spec)
        if frame is None or frame.result() is not result:
            return None
        del self._ready[spec]
        return frame
