"""Tone maths behind the sliders: pure numpy, no Qt, no torch.

Every function takes and returns float32 arrays in display-referred sRGB [0, 1], shaped HxWx3.
The same `apply_adjustments` runs on the small visible region for the preview and on strips of
the full-resolution image for export, so what the user sees is what gets written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from ultrais_core.tone import exposure_curve

# Rec. 709 luma weights applied to gamma-encoded values: not colourimetric, but cheap and the
# same in preview and export, which is what matters for sliders.
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

# sRGB is close enough to a pure 2.2 power that an exposure gain k in linear light equals
# k ** (1 / 2.2) on the encoded values; this avoids two power functions per pixel per redraw.
_GAMMA = 2.2

# Detail vs noise: blur radius in input (x1) pixels. Grain in a night photo spans about one to
# two input pixels, so the radius is defined in input pixels and grows with the output scale.
DETAIL_RADIUS_INPUT_PX = 1.5

# Highlights: how far the curve may push the brightest tones; 0.3 keeps the curve monotonic
# (its slope 1 + 3 * 0.3 * h * l^2 stays positive for h >= -1).
_HIGHLIGHT_REACH = 0.3


@dataclass(frozen=True)
class SliderSpec:
    """How one adjustment appears in the GUI: its range, default, and label."""

    name: str
    label: str
    minimum: float
    maximum: float
    default: float
    decimals: int
    suffix: str = ""
    tooltip: str = ""


SLIDERS: tuple[SliderSpec, ...] = (
    SliderSpec(
        "strength",
        "Strength",
        0.0,
        1.0,
        1.0,
        2,
        tooltip="Blend of the network's output (1) with the input brightened to the same "
        "exposure (0).",
    ),
    SliderSpec("exposure", "Exposure", -3.0, 3.0, 0.0, 2, " EV", "Brightness in stops."),
    SliderSpec("shadows", "Shadows", -1.0, 1.0, 0.0, 2, "", "Lift (+) or deepen (−) dark tones."),
    SliderSpec(
        "highlights", "Highlights", -1.0, 1.0, 0.0, 2, "", "Recover (−) or boost (+) bright tones."
    ),
    SliderSpec("saturation", "Saturation", 0.0, 2.0, 1.0, 2, "×", "0 is black and white."),
    SliderSpec(
        "detail",
        "Detail vs noise",
        -1.0,
        1.0,
        0.0,
        2,
        "",
        "Smooth remaining noise (−) or sharpen fine detail (+).",
    ),
)
SLIDER_BY_NAME: dict[str, SliderSpec] = {spec.name: spec for spec in SLIDERS}


@dataclass(frozen=True)
class Adjustments:
    """The slider values; the defaults leave the network output untouched."""

    strength: float = 1.0
    exposure: float = 0.0
    shadows: float = 0.0
    highlights: float = 0.0
    saturation: float = 1.0
    detail: float = 0.0

    def is_identity(self) -> bool:
        return self == Adjustments()

    def with_value(self, name: str, value: float) -> Adjustments:
        spec = SLIDER_BY_NAME[name]
        return replace(self, **{name: float(np.clip(value, spec.minimum, spec.maximum))})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Adjustments:
        """Tolerant of missing, unknown and out-of-range entries (settings written by others)."""
        result = cls()
        for f in fields(cls):
            raw = values.get(f.name)
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                result = result.with_value(f.name, float(raw))
        return result


def luminance(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 -> HxW float32 luma.

    Three multiply-adds rather than a dot product: np.dot would go through OpenBLAS, whose
    threads then spin for about 0.1 s and steal the CPU from the GUI thread on small machines.
    """
    out = rgb[..., 0] * _LUMA[0]
    out += rgb[..., 1] * _LUMA[1]
    out += rgb[..., 2] * _LUMA[2]
    return out


def exposure_gain(reference: np.ndarray, target: np.ndarray, max_samples: int = 262_144) -> float:
    """Gain for `reference` (gamma-encoded) so its mean light matches `target`'s.

    Means are taken in linear light, on a strided sample, so a dark photo of any size costs the
    same. The result is clamped: a black frame must not produce an infinite gain.
    """
    ref = _sample(reference, max_samples)
    tgt = _sample(target, max_samples)
    ref_lin = float(np.mean(np.power(np.clip(luminance(ref), 0.0, 1.0), _GAMMA)))
    tgt_lin = float(np.mean(np.power(np.clip(luminance(tgt), 0.0, 1.0), _GAMMA)))
    if ref_lin <= 1e-9 or tgt_lin <= 1e-9:
        return 1.0
    gain_linear = tgt_lin / ref_lin
    return float(np.clip(gain_linear ** (1.0 / _GAMMA), 1.0 / 64.0, 256.0))


def _sample(image: np.ndarray, max_samples: int) -> np.ndarray:
    h, w = image.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / max_samples))))
    return image[::step, ::step]


def box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Separable box blur of radius `radius` (window 2r+1), edges replicated."""
    if radius < 1:
        return image
    out = _box_1d(image, radius, axis=0)
    return _box_1d(out, radius, axis=1)


def _box_1d(image: np.ndarray, radius: int, axis: int) -> np.ndarray:
    n = image.shape[axis]
    pad = [(0, 0)] * image.ndim
    pad[axis] = (radius + 1, radius)
    padded = np.pad(image, pad, mode="edge")
    # float64 sums: a float32 running sum over a 16 000-pixel row loses about 1e-3, visible in
    # 16-bit exports; the first padded sample is dropped below so the window sums come out exact.
    sums = np.cumsum(padded, axis=axis, dtype=np.float64)
    window = 2 * radius + 1
    upper = np.take(sums, np.arange(window, window + n), axis=axis)
    lower = np.take(sums, np.arange(0, n), axis=axis)
    return ((upper - lower) / window).astype(np.float32)


def smooth(image: np.ndarray, radius: float) -> np.ndarray:
    """Two box passes (a tent filter): close to a Gaussian, no ringing, and cheap in numpy."""
    r = round(radius)
    if r < 1:
        return image
    return box_blur(box_blur(image, r), r)


def tone_ratio(lum: np.ndarray, shadows: float, highlights: float) -> np.ndarray:
    """Per-pixel multiplier for the shadows/highlights curve, applied as out = l * ratio.

    Both factors are monotonic in l for amounts in [-1, 1] and never negative, so the curve
    cannot invert tones. Applied as a ratio on RGB, it keeps hue.
    """
    lum = np.clip(lum, 0.0, 1.0)
    ratio = np.ones_like(lum)
    if shadows:
        ratio *= 1.0 + shadows * np.square(1.0 - lum)
    if highlights:
        ratio *= 1.0 + (_HIGHLIGHT_REACH * highlights) * np.square(lum)
    return ratio


def apply_adjustments(
    enhanced: np.ndarray,
    matched_input: np.ndarray,
    adj: Adjustments,
    *,
    blur_radius: float,
    blur: Callable[[np.ndarray, float], np.ndarray] = smooth,
) -> np.ndarray:
    """Apply the sliders to the network output.

    Args:
        enhanced: the network output (or a region of it), HxWx3 float32.
        matched_input: the input at the same size, already multiplied by its exposure gain.
        adj: slider values.
        blur_radius: detail/noise blur radius in pixels of these arrays (it depends on zoom).
        blur: the tent blur; `smooth` here, an equal but faster OpenCV one in `app.views.render`.
    Returns:
        A new HxWx3 float32 array clipped to [0, 1].
    """
    if adj.strength >= 1.0:
        out = enhanced.astype(np.float32, copy=True)
    else:
        out = matched_input + np.float32(adj.strength) * (enhanced - matched_input)

    if adj.detail and blur_radius >= 0.5:
        blurred = blur(out, blur_radius)
        # detail = -1 gives the smoothed image; +1 doubles the high frequencies (unsharp mask).
        out += np.float32(adj.detail) * (out - blurred)

    if adj.exposure:
        # Not a plain gain: the curve lifts or lowers tones in stops but never pushes a pixel the
        # network kept below 250/255 to the clipping level (issue 14). In place, numpy only.
        exposure_curve(out, adj.exposure, out=out)

    if adj.shadows or adj.highlights:
        out *= tone_ratio(luminance(out), adj.shadows, adj.highlights)[..., None]

    if adj.saturation != 1.0:
        lum = luminance(out)[..., None]
        out -= lum
        out *= np.float32(adj.saturation)
        out += lum

    np.clip(out, 0.0, 1.0, out=out)
    return out
