"""Turning cached pixels into what the views show and what export writes; numpy + OpenCV, no Qt.

Preview speed comes from working at display resolution: only the visible region is resampled
to the widget's size (from the uint16 cache), converted to float, and the sliders run on that
small array, never on the full x4 result. Export runs the very same slider maths on
full-resolution strips and writes each strip straight into a uint8 or uint16 canvas, so no
full-size float copy of the result ever exists.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from app.develop.adjustments import (
    DETAIL_RADIUS_INPUT_PX,
    Adjustments,
    apply_adjustments,
    luminance,
)
from app.photos import Enhanced, as_rgb, quantize_into, to_float, to_float_rgb
from app.views.viewport import Rect

# Above this magnification, show pixels as squares: someone zoomed to 400 % wants to see
# the pixels, not a blur of them.
_NEAREST_FROM_ZOOM = 4.0
# At or below this magnification, resample with an area filter (see `sample`).
_AREA_BELOW_ZOOM = 0.5

# Export strips: at most this many output pixels, and at most 1/_MIN_STRIPS of the image, so
# the float temporaries of a strip stay small next to the canvas whatever the photo's size.
_STRIP_PIXELS = 1 << 20
_MIN_STRIPS = 32

CANVAS_DTYPES = (np.uint8, np.uint16)


def sample(image: np.ndarray, source: Rect, out_w: int, out_h: int) -> np.ndarray:
    """Resample the `source` rectangle (pixels of `image`) to exactly out_w x out_h."""
    zoom = out_w / max(source.width, 1e-9)
    if zoom < 1.0:
        # Minifying: a resize of a whole-pixel crop; the sub-pixel error this makes is below one
        # screen pixel. By 2 or more, INTER_AREA: the only filter that does not alias noise.
        # NOTE: by less than 2, bilinear: with a step under two source pixels it still reads
        # every pixel, and OpenCV's INTER_AREA at a ratio that is not a whole number takes a slow
        # generic path (20-50 ms for a 1 MP region at 0.97, against ~1.5 ms): that was most of
        # the window's stall when a x4 result first appeared at Fit.
        x0 = max(0, int(np.floor(source.x0)))
        y0 = max(0, int(np.floor(source.y0)))
        x1 = min(image.shape[1], max(x0 + 1, int(np.ceil(source.x1))))
        y1 = min(image.shape[0], max(y0 + 1, int(np.ceil(source.y1))))
        flags = cv2.INTER_AREA if zoom <= _AREA_BELOW_ZOOM else cv2.INTER_LINEAR
        return cv2.resize(image[y0:y1, x0:x1], (out_w, out_h), interpolation=flags)
    # Magnifying: an exact affine map from output pixel centres to source coordinates, so a
    # pan by a fraction of a source pixel moves the picture smoothly.
    sx = source.width / out_w
    sy = source.height / out_h
    matrix = np.array(
        [[sx, 0.0, source.x0 + 0.5 * sx - 0.5], [0.0, sy, source.y0 + 0.5 * sy - 0.5]],
        dtype=np.float64,
    )
    flags = cv2.INTER_NEAREST if zoom >= _NEAREST_FROM_ZOOM else cv2.INTER_LINEAR
    return cv2.warpAffine(
        image,
        matrix,
        (out_w, out_h),
        flags=flags | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def to_uint8(image: np.ndarray) -> np.ndarray:
    out = np.clip(image, 0.0, 1.0)
    out *= 255.0
    out += 0.5
    return out.astype(np.uint8)


def fast_smooth(image: np.ndarray, radius: float) -> np.ndarray:
    """The same tent filter as `adjustments.smooth` (two replicated-edge box passes), in OpenCV:
    about 25 times faster, which is what keeps the Detail slider interactive."""
    r = round(radius)
    if r < 1:
        return image
    size = (2 * r + 1, 2 * r + 1)
    once = cv2.blur(image, size, borderType=cv2.BORDER_REPLICATE)
    return cv2.blur(once, size, borderType=cv2.BORDER_REPLICATE)


class RegionCache:
    """Display-resolution samples of the input and of each result, for the current region, as
    float32 RGB (whatever the layout and sample type of the array they come from).

    Resampling a x4 result of a 1 MP photo to the screen costs ~80 ms; the sliders do not
    change it, so it is done once per region and the sliders only run on the small array.
    """

    def __init__(self, capacity: int = 6) -> None:
        self._capacity = capacity
        self._entries: dict[tuple[object, ...], np.ndarray] = {}

    def get(self, image: np.ndarray, source: Rect, out_w: int, out_h: int) -> np.ndarray:
        """`sample(image, source, out_w, out_h)`, reused while the same region is shown.

        The result is shared: callers must not modify it in place.
        """
        key = (id(image), image.shape, source, out_w, out_h)
        found = self._entries.pop(key, None)
        if found is None:
            found = to_float_rgb(sample(image, source, out_w, out_h))
        self._entries[key] = found  # re-inserted last: the dict order is the LRU order
        while len(self._entries) > self._capacity:
            self._entries.pop(next(iter(self._entries)))
        return found

    def clear(self) -> None:
        self._entries.clear()

    def entries(self) -> dict[tuple[object, ...], np.ndarray]:
        """A copy of the cached samples (a render made on another thread hands them over)."""
        return dict(self._entries)

    def adopt(self, entries: dict[tuple[object, ...], np.ndarray]) -> None:
        """Take samples made by another cache for the same images, as most recently used."""
        for key, value in entries.items():
            self._entries.pop(key, None)
            self._entries[key] = value
        while len(self._entries) > self._capacity:
            self._entries.pop(next(iter(self._entries)))


def render_before(
    original_rgb: np.ndarray,
    scene: Rect,
    out_w: int,
    out_h: int,
    cache: RegionCache | None = None,
) -> np.ndarray:
    """The input, untouched, for the region `scene` (input pixels) at out_w x out_h."""
    cache = cache or RegionCache()
    return to_uint8(cache.get(original_rgb, scene, out_w, out_h))


def render_after(
    original_rgb: np.ndarray,
    enhanced: Enhanced,
    adj: Adjustments,
    scene: Rect,
    out_w: int,
    out_h: int,
    cache: RegionCache | None = None,
) -> np.ndarray:
    """The result with the sliders applied, for the region `scene` (input pixels)."""
    cache = cache or RegionCache()
    if enhanced.reduced is not None and out_w <= scene.width:
        # The screen shows no more than input resolution: the reduced copy has all it needs.
        after = cache.get(enhanced.reduced, scene, out_w, out_h)
    elif enhanced.halved is not None and out_w <= 2 * scene.width:
        # Up to twice the input's resolution (Fit of a x4 result on a screen larger than the
        # input): the half-size copy, a quarter of the pixels to resample.
        after = cache.get(enhanced.halved, scene.scaled(enhanced.scale / 2), out_w, out_h)
    else:
        after = cache.get(enhanced.pixels, scene.scaled(enhanced.scale), out_w, out_h)
    if adj.is_identity():
        return to_uint8(after)
    if adj.strength < 1.0:
        matched = cache.get(original_rgb, scene, out_w, out_h) * np.float32(enhanced.gain)
    else:
        matched = after  # unused by the blend at full strength
    # The blur radius is defined in input pixels; on screen it is that many times the zoom.
    radius = DETAIL_RADIUS_INPUT_PX * out_w / max(scene.width, 1e-9)
    return to_uint8(apply_adjustments(after, matched, adj, blur_radius=radius, blur=fast_smooth))


def render_full(
    original_pixels: np.ndarray,
    enhanced: Enhanced,
    adj: Adjustments,
    *,
    out_dtype: type = np.uint8,
    strip_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """The full-resolution result with the sliders applied, in the engine's channel layout,
    as a uint8 or uint16 canvas (`out_dtype`) ready for `write_image`.

    Works in horizontal strips with a margin for the blur: each strip is converted to float,
    adjusted and written into the canvas, so the float temporaries stay a strip large even
    for a x4 result of a big photo. With neutral sliders a uint16 export is the cached result
    itself (no copy).
    """
    if out_dtype not in CANVAS_DTYPES:
        raise ValueError(f"out_dtype must be uint8 or uint16, not {out_dtype}")
    layout = enhanced.pixels
    out_h, out_w = enhanced.shape
    if adj.is_identity() and layout.dtype == out_dtype:
        return layout
    rows = strip_rows or _auto_strip_rows(out_h, out_w)
    strips = max(1, -(-out_h // rows))
    canvas = np.empty(layout.shape, dtype=out_dtype)
    original_rgb = as_rgb(original_pixels)
    scale = enhanced.scale
    radius = DETAIL_RADIUS_INPUT_PX * scale
    margin = 2 * round(radius) + 2 if adj.detail else 0
    for index in range(strips):
        if cancel is not None and cancel():
            from ultrais_core.errors import Cancelled

            raise Cancelled("export cancelled")
        r0 = index * rows
        r1 = min(out_h, r0 + rows)
        if adj.is_identity():
            quantize_into(canvas[r0:r1], to_float(layout[r0:r1]))
        else:
            m0 = max(0, r0 - margin)
            m1 = min(out_h, r1 + margin)
            after = to_float_rgb(layout[m0:m1])
            if adj.strength < 1.0:
                matched = _upscale_rows(original_rgb, scale, m0, m1, out_w)
                matched *= np.float32(enhanced.gain)
            else:
                matched = after  # unused by the blend at full strength
            adjusted = apply_adjustments(after, matched, adj, blur_radius=radius, blur=fast_smooth)
            _store_strip(canvas[r0:r1], adjusted[r0 - m0 : r1 - m0], layout[r0:r1])
        if progress is not None:
            progress(index + 1, strips)
    return canvas


def _auto_strip_rows(height: int, width: int) -> int:
    budget = min(_STRIP_PIXELS, max(1, height * width // _MIN_STRIPS))
    return max(8, budget // max(1, width))


def _store_strip(target: np.ndarray, rgb: np.ndarray, source: np.ndarray) -> None:
    """Adjusted float RGB rows -> canvas rows in the result's layout (grey, RGB or RGBA)."""
    if target.ndim == 2:
        quantize_into(target, luminance(rgb))
    elif target.shape[2] == 4:
        quantize_into(target[..., :3], rgb)
        quantize_into(target[..., 3], to_float(source[..., 3]))  # alpha is never adjusted
    else:
        quantize_into(target, rgb)


def _upscale_rows(
    original_rgb: np.ndarray, scale: int, row0: int, row1: int, width: int
) -> np.ndarray:
    """Rows [row0, row1) of the input bilinearly upscaled by `scale` (pixel-centre aligned)."""
    inv = 1.0 / scale
    matrix = np.array(
        [[inv, 0.0, 0.5 * inv - 0.5], [0.0, inv, (row0 + 0.5) * inv - 0.5]], dtype=np.float64
    )
    return cv2.warpAffine(
        original_rgb,
        matrix,
        (width, row1 - row0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
