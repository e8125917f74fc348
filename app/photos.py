"""The photos the user has opened and the network results cached for them; no Qt.

The network is slow and the sliders are fast, so each (photo, scale) result is kept and every
slider move works from it. Results are kept as uint16 (a x4 result of a 12 MP photo is 1.2 GB
that way, 2.3 GB as float32) and only the region on screen, or the strip being exported, is
ever converted to float. The store still evicts least recently viewed photos past a budget and
reloads them on demand; thumbnails are always kept.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.develop.adjustments import exposure_gain

THUMBNAIL_EDGE = 160
RESULT_DTYPE = np.uint16  # what the engine is asked for, and what the cache holds
_GAIN_SAMPLES = 262_144


@dataclass(frozen=True)
class Enhanced:
    """One network result, uint16 in the engine's layout (HxW, HxWx3 or HxWx4)."""

    scale: int
    pixels: np.ndarray
    seconds: float
    gain: float  # exposure gain that matches the input to this result (for the Strength slider)
    # `pixels` area-reduced to the input's size (None at x1). Fitting a x4 result on screen from
    # this costs a sixteenth of resampling the full result, which keeps the redraw when a
    # result arrives, and every slider move at Fit, far below 100 ms.
    reduced: np.ndarray | None = None
    # x4 only: `pixels` area-reduced by two (twice the input's size), for views that show more
    # than the input's resolution but less than the result's (Fit on a screen larger than the
    # input). Made on the worker thread with `reduced`, so the first redraw of a x4 result never
    # resamples the full result on the GUI thread.
    halved: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the result."""
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    @property
    def nbytes(self) -> int:
        extra = sum(int(a.nbytes) for a in (self.reduced, self.halved) if a is not None)
        return int(self.pixels.nbytes) + extra


@dataclass(eq=False)
class Photo:
    path: Path
    id: int
    image: Any = None  # ultrais_core.imageio.LoadedImage, once decoded
    rgb: np.ndarray | None = None  # HxWx3 float32 view of image.pixels for display and tone maths
    thumbnail: np.ndarray | None = None  # HxWx3 uint8
    results: dict[int, Enhanced] = field(default_factory=dict)
    error: str | None = None
    last_used: int = 0
    source_stat: tuple[int, int] | None = None  # (size, mtime_ns) of the file when decoded
    read_s: float = 0.0  # how long decoding took

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def loaded(self) -> bool:
        return self.image is not None and self.rgb is not None

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the input, once decoded."""
        if self.rgb is None:
            return None
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    def nbytes(self) -> int:
        total = sum(r.nbytes for r in self.results.values())
        if self.image is not None:
            total += int(self.image.pixels.nbytes)
            if self.rgb is not None and self.rgb is not self.image.pixels:
                total += int(self.rgb.nbytes)
        return total

    def add_result(self, result: Enhanced) -> None:
        self.results[result.scale] = result

    def placeholder(self) -> str:
        """What a view shows while there are no pixels: opening, or why it could not."""
        if self.error:
            return f"Could not open {self.name}\n{self.error}"
        return f"Opening {self.name}…"


def make_enhanced(
    scale: int, pixels: np.ndarray, input_rgb: np.ndarray, seconds: float
) -> Enhanced:
    """Wrap an engine result; call it on the worker thread (it resamples a large array).

    `pixels` should already be uint16 (the engine writes tiles straight into a uint16
    canvas); anything else is converted, so a float result is not kept at four bytes a value.
    """
    pixels = as_result_dtype(pixels)
    reduced = halved = None
    if scale > 1:
        h, w = input_rgb.shape[:2]
        source = pixels
        if scale >= 4:
            # Two halvings (each a whole-number INTER_AREA, OpenCV's fast path) give the same
            # box average as one quartering, and the half-size copy on the way.
            halved = cv2.resize(
                pixels, (w * scale // 2, h * scale // 2), interpolation=cv2.INTER_AREA
            )
            source = halved
        reduced = cv2.resize(source, (w, h), interpolation=cv2.INTER_AREA)
    # The gain only needs the mean light: a strided sample, converted, costs the same at any size.
    step = max(1, int(np.ceil(np.sqrt(pixels.shape[0] * pixels.shape[1] / _GAIN_SAMPLES))))
    sample = to_float_rgb(pixels[::step, ::step])
    return Enhanced(scale, pixels, seconds, exposure_gain(input_rgb, sample), reduced, halved)


def as_result_dtype(pixels: np.ndarray) -> np.ndarray:
    """An engine result as uint16 (the same array when it already is)."""
    if pixels.dtype == RESULT_DTYPE:
        return pixels
    if pixels.dtype == np.uint8:
        return pixels.astype(RESULT_DTYPE) * RESULT_DTYPE(257)
    out = np.empty(pixels.shape, dtype=RESULT_DTYPE)
    rows = max(1, (1 << 22) // max(1, pixels[0].size))  # float temporaries of a few MB
    for r0 in range(0, pixels.shape[0], rows):
        quantize_into(out[r0 : r0 + rows], pixels[r0 : r0 + rows])
    return out


def quantize_into(target: np.ndarray, values: np.ndarray) -> None:
    """float [0, 1] values -> `target` (uint8 or uint16), rounded; `values` is not modified."""
    peak = np.float32(np.iinfo(target.dtype).max)
    scaled = np.clip(values, 0.0, 1.0, dtype=np.float32)
    scaled *= peak
    scaled += np.float32(0.5)
    np.copyto(target, scaled, casting="unsafe")


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16/float samples -> float32 in [0, 1], same layout (a copy unless float32)."""
    if pixels.dtype == np.float32:
        return pixels
    if pixels.dtype.kind == "u":
        out = pixels.astype(np.float32)
        out *= np.float32(1.0 / np.iinfo(pixels.dtype).max)
        return out
    return pixels.astype(np.float32)


def to_float_rgb(pixels: np.ndarray) -> np.ndarray:
    """Any layout and sample type -> float32 HxWx3 in [0, 1]; meant for regions and strips."""
    return as_rgb(to_float(pixels))


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """HxW, HxWx1, HxWx3 or HxWx4 -> contiguous HxWx3 (the same array when already RGB)."""
    if pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=2)
    if pixels.shape[2] == 3:
        return pixels if pixels.flags.c_contiguous else np.ascontiguousarray(pixels)
    if pixels.shape[2] == 4:
        return np.ascontiguousarray(pixels[..., :3])
    if pixels.shape[2] == 1:
        return np.repeat(pixels, 3, axis=2)
    raise ValueError(f"unsupported image shape {pixels.shape}")


def make_thumbnail(rgb: np.ndarray, edge: int = THUMBNAIL_EDGE) -> np.ndarray:
    """A small uint8 preview, brightened so a near-black night photo is still recognisable."""
    h, w = rgb.shape[:2]
    step = max(1, int(np.ceil(max(h, w) / edge)))
    hh, ww = h // step, w // step
    if hh == 0 or ww == 0:  # a sliver narrower than one block: plain subsampling will do
        small = rgb[::step, ::step]
    else:  # block means: a cheap area filter that does not alias the noise into the preview
        small = rgb[: hh * step, : ww * step].reshape(hh, step, ww, step, 3).mean(axis=(1, 3))
    # Stretch so the 99th percentile is near white: the strip is for recognising photos, and an
    # unaltered ultra-dark thumbnail is a black square.
    top = float(np.percentile(small, 99.0)) if small.size else 1.0
    small = small * (0.9 / max(top, 0.02))
    return (np.clip(small, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class PhotoStore:
    """Opened photos in the order they were added; evicts pixels and results past a budget."""

    def __init__(self, budget_bytes: int = 4 << 30) -> None:
        self.budget_bytes = budget_bytes
        self._photos: list[Photo] = []
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    def __len__(self) -> int:
        return len(self._photos)

    def __iter__(self):  # noqa: ANN204 - a plain iterator over photos
        return iter(list(self._photos))

    def photos(self) -> list[Photo]:
        return list(self._photos)

    def add(self, path: Path) -> Photo | None:
        """A new entry, or None when this file is already open."""
        resolved = path.resolve()
        if any(p.path == resolved for p in self._photos):
            return None
        photo = Photo(resolved, next(self._ids))
        self._photos.append(photo)
        return photo

    def get(self, photo_id: int) -> Photo | None:
        return next((p for p in self._photos if p.id == photo_id), None)

    def find(self, path: Path) -> Photo | None:
        resolved = path.resolve()
        return next((p for p in self._photos if p.path == resolved), None)

    def remove(self, photo: Photo) -> None:
        if photo in self._photos:
            self._photos.remove(photo)

    def touch(self, photo: Photo) -> None:
        photo.last_used = next(self._clock)

    def total_bytes(self) -> int:
        return sum(p.nbytes() for p in self._photos)

    def evict(self, keep: set[int]) -> list[Photo]:
        """Drop pixels of least recently used photos (not in `keep`) until under budget."""
        evicted: list[Photo] = []
        total = self.total_bytes()
        for photo in sorted(self._photos, key=lambda p: p.last_used):
            if total <= self.budget_bytes:
                break
            if photo.id in keep or photo.nbytes() == 0:
                continue
            total -= photo.nbytes()
            photo.results.clear()
            photo.image = None
            photo.rgb = None
            evicted.append(photo)
        return evicted
