"""Turning cached pixels into what the views show and what export writes; numpy + OpenCV, no Qt.

Preview speed comes from working at display resolution: only the visible region is resampled
to the widget's size, and the sliders run on that small array, never on the full x4 result.
Export runs the very same slider maths on full-resolution strips.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from app.adjustments import DETAIL_RADIUS_INPUT_PX, Adjustments, apply_adjustments, luminance
from app.photos import Enhanced
from app.viewport import Rect

# Above this magnification, show pixels as squares: someone zoomed to 400 % wants to see
# the pixels, not a blur of them.
_NEAREST_FROM_ZOOM = 4.0


def sample(image: np.ndarray, source: Rect, out_w: int, out_h: int) -> np.ndarray:
    """Resample the `source` rectangle (pixels of `image`) to exactly out_w x out_h."""
    zoom = out_w / max(source.width, 1e-9)
    if zoom < 1.0:
        # Minifying: an area filter over a whole-pixel crop. The sub-pixel error this makes is
        # below one screen pixel, and INTER_AREA is the only filter that does not alias noise.
        x0 = max(0, int(np.floor(source.x0)))
        y0 = max(0, int(np.floor(source.y0)))
        x1 = min(image.shape[1], max(x0 + 1, int(np.ceil(source.x1))))
        y1 = min(image.shape[0], max(y0 + 1, int(np.ceil(source.y1))))
        return cv2.resize(image[y0:y1, x0:x1], (out_w, out_h), interpolation=cv2.INTER_AREA)
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
    """Display-resolution samples of the input and of each result, for the current region.

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
            found = sample(image, source, out_w, out_h)
        self._entries[key] = found  # re-inserted last: the dict order is the LRU order
        while len(self._entries) > self._capacity:
            self._entries.pop(next(iter(self._entries)))
        return found

    def clear(self) -> None:
        self._entries.clear()


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
    else:
        after = cache.get(enhanced.rgb, scene.scaled(enhanced.scale), out_w, out_h)
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
    strip_rows: int = 512,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """The full-resolution result with the sliders applied, in the engine's channel layout.

    Works in horizontal strips with a margin for the blur, so the temporaries stay a few strips
    large even for a x4 result of a big photo.
    """
    from app.photos import as_rgb  # local: keeps the import graph one-way at module load

    out_h, out_w = enhanced.rgb.shape[:2]
    layout = enhanced.pixels
    if adj.is_identity():
        return np.clip(layout, 0.0, 1.0).astype(np.float32, copy=False)

    original_rgb = as_rgb(original_pixels)
    scale = enhanced.scale
    radius = DETAIL_RADIUS_INPUT_PX * scale
    margin = 2 * round(radius) + 2 if adj.detail else 0
    result_rgb = np.empty((out_h, out_w, 3), dtype=np.float32)
    strips = max(1, -(-out_h // strip_rows))
    for index in range(strips):
        if cancel is not None and cancel():
            from ultrais_core.errors import Cancelled

            raise Cancelled("export cancelled")
        r0 = index * strip_rows
        r1 = min(out_h, r0 + strip_rows)
        m0 = max(0, r0 - margin)
        m1 = min(out_h, r1 + margin)
        after = enhanced.rgb[m0:m1]
        if adj.strength < 1.0:
            matched = _upscale_rows(original_rgb, scale, m0, m1, out_w)
            matched *= np.float32(enhanced.gain)
        else:
            matched = after  # unused by the blend at full strength
        adjusted = apply_adjustments(after, matched, adj, blur_radius=radius, blur=fast_smooth)
        result_rgb[r0:r1] = adjusted[r0 - m0 : r0 - m0 + (r1 - r0)]
        if progress is not None:
            progress(index + 1, strips)

    if layout.ndim == 2:
        return luminance(result_rgb)
    if layout.shape[2] == 4:
        return np.concatenate([result_rgb, np.clip(layout[..., 3:4], 0.0, 1.0)], axis=2)
    return result_rgb


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
