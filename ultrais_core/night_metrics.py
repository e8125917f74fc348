"""Reference-free figures for real night photos (issue 14): what a photographer sees, as numbers.

Real night photos have no well-exposed twin to score against, and the PSNR sets could not show
the failures that matter on them: blown lit subjects, lost colour in the highlights, dark rings
and tone inversions, bright photos brightened further, blotchy colour in the lifted shadows.
Each figure below compares an output with its own input only.

Conventions, the same for every figure:

* images are float sRGB in [0, 1], H x W x 3; the output (any size, usually ``scale`` times
  the input) is first reduced to the input's size by area averaging (``cv2.INTER_AREA``), so
  a x4 output is judged on the same pixel grid as its input and upscaling itself cannot help
  or hurt a figure;
* luminance is Rec. 709 (0.2126, 0.7152, 0.0722) on the encoded values, as the rest of the
  project computes it (the app's sliders, the classical baseline's exposure);
* a pixel is *clipped* when its largest channel is at least 250/255;
* a photo is *bright* when its input's mean luminance is above 0.35 (``BRIGHT_MEAN``), and
  *dark* otherwise: dark photos should be brightened, bright ones left alone.

numpy and OpenCV only (no torch), so the figures can be computed anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

CLIP_LEVEL = 250.0 / 255.0
BRIGHT_MEAN = 0.35
HIGHLIGHT_SHARE = 0.03
SHADOW_SHARE = 0.30
LOE_HEIGHT = 50
MOTTLE_SIGMA = 4.0
# Below this mean Lab chroma the input's highlights are grey (white lamps, overcast sky) and
# "chroma kept" is a ratio of two noise levels, so hl_chroma is not reported.
MIN_HIGHLIGHT_CHROMA = 1.0
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
# Tiny tolerance so 250/255 read back from an 8-bit file counts as clipped in float32.
_CLIP_EPS = 1e-6


def _rgb(image: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"{what}: expected an H x W x 3 RGB image, got shape {array.shape}")
    if min(array.shape[:2]) < 1:
        raise ValueError(f"{what}: the image is empty")
    if array.min() < 0.0 or array.max() > 1.0:  # no copy of a x4 output that is in range
        array = np.clip(array, 0.0, 1.0)
    return array


def to_input_size(output: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """The output reduced (or, if it is smaller, enlarged) to the input's H x W by area averaging.

    Area averaging is the mean of the output pixels over each input pixel, so a figure sees
    the tone and colour the output gives that part of the scene, not its added detail.
    """
    out = _rgb(output, "output")
    height, width = input_shape[:2]
    if out.shape[:2] == (height, width):
        return out
    return cv2.resize(out, (width, height), interpolation=cv2.INTER_AREA)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """H x W Rec. 709 luminance of encoded sRGB values."""
    return (np.asarray(rgb, dtype=np.float32) @ _LUMA).astype(np.float32)


def clipped(rgb: np.ndarray) -> np.ndarray:
    """H x W booleans: the largest channel is at least 250/255."""
    return rgb.max(axis=2) >= CLIP_LEVEL - _CLIP_EPS


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of float sRGB; OpenCV's float conversion linearises the sRGB curve itself."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def _chroma(lab: np.ndarray) -> np.ndarray:
    return np.hypot(lab[..., 1], lab[..., 2])


def _extreme_indices(values: np.ndarray, share: float, *, largest: bool) -> np.ndarray:
    """Flat indices of the ``share`` largest (or smallest) values, at least one: an exact
    count, whatever the ties, so a flat image still gives a well-defined set."""
    flat = values.ravel()
    count = min(flat.size, max(1, math.ceil(share * flat.size)))
    key = -flat if largest else flat
    if count >= flat.size:
        return np.arange(flat.size)
    return np.argpartition(key, count - 1, kind="introselect")[:count]


def new_clip(inp: np.ndarray, out: np.ndarray) -> float:
    """Percentage of pixels clipped in the output but not in the input (0-100).

    Highlights the camera already clipped are not the enhancer's fault; every other clipped
    pixel is detail and colour it destroyed.
    """
    inp = _rgb(inp, "input")
    out = to_input_size(out, inp.shape)
    return float(100.0 * np.mean(clipped(out) & ~clipped(inp)))


def hl_chroma(inp: np.ndarray, out: np.ndarray) -> float | None:
    """Colour kept in the highlights: mean Lab chroma of the output over that of the input, on
    the input's brightest 3 % (by luminance) of the pixels not clipped in the input.

    1 keeps the colour of lamps and lit subjects; below 1 they wash out towards white (what
    a curve per channel or a blown exposure does). The 3 % are taken among the unclipped
    pixels because clipped ones have already lost their colour in the camera. None when the
    input has no unclipped pixel or its highlights are grey (mean chroma below 1), where the
    ratio would measure noise.
    """
    inp = _rgb(inp, "input")
    out = to_input_size(out, inp.shape)
    usable = ~clipped(inp).ravel()
    if not usable.any():
        return None
    lum = luminance(inp).ravel()[usable]
    picked = _extreme_indices(lum, HIGHLIGHT_SHARE, largest=True)
    chroma_in = _chroma(_lab(inp)).ravel()[usable][picked]
    chroma_out = _chroma(_lab(out)).ravel()[usable][picked]
    mean_in = float(chroma_in.mean())
    if mean_in < MIN_HIGHLIGHT_CHROMA:
        return None
    return float(chroma_out.mean()) / mean_in


def _loe_grid(max_channel: np.ndarray) -> np.ndarray:
    """The max-channel image sampled down to LOE_HEIGHT rows by nearest neighbour (aspect
    kept); smaller images are used as they are."""
    height, width = max_channel.shape
    if height <= LOE_HEIGHT:
        return max_channel
    new_width = max(1, round(width * LOE_HEIGHT / height))
    return cv2.resize(max_channel, (new_width, LOE_HEIGHT), interpolation=cv2.INTER_NEAREST)


def lightness_order_error(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> float:
    """Mean over pixels x of the number of pixels y with U(a(x), a(y)) != U(b(x), b(y)), where
    U(p, q) = 1 if p >= q (Wang et al., TIP 2013), for two equal-shape lightness images.

    Worked in chunks of ``chunk`` rows of the pairwise table, so memory stays at chunk * N.
    """
    first = np.asarray(a, dtype=np.float32).ravel()
    second = np.asarray(b, dtype=np.float32).ravel()
    if first.shape != second.shape:
        raise ValueError("lightness images differ in size")
    total = 0
    for start in range(0, first.size, chunk):
        order_a = first[start : start + chunk, None] >= first[None, :]
        order_b = second[start : start + chunk, None] >= second[None, :]
        total += int(np.count_nonzero(order_a != order_b))
    return total / first.size


def loe(inp: np.ndarray, out: np.ndarray) -> float:
    """Lightness order error (Wang et al., "Naturalness preserved enhancement", TIP 2013) of
    the output against the input, on their max-channel images sampled down to 50 px high.

    0 means no region that was darker than another in the input became brighter than it (no
    dark rings around lamps, no inverted tones); the figure grows with the number of pixel
    pairs whose order flipped. Downsampling to a fixed height makes photos of any size
    comparable, as in the paper.
    """
    inp = _rgb(inp, "input")
    out = to_input_size(out, inp.shape)
    return lightness_order_error(_loe_grid(inp.max(axis=2)), _loe_grid(out.max(axis=2)))


def mean_luminance(rgb: np.ndarray) -> float:
    return float(luminance(_rgb(rgb, "image")).mean())


def is_bright(inp: np.ndarray) -> bool:
    """Whether a photo counts as bright (input mean luminance above 0.35): not to be brightened."""
    return mean_luminance(inp) > BRIGHT_MEAN


def mean_shift(inp: np.ndarray, out: np.ndarray) -> float | None:
    """|mean luminance of the output - that of the input| for bright inputs, None for dark ones.

    A photo that was already well exposed should come out at its own exposure; for dark
    photos brightening is the point, so the shift is not reported.
    """
    inp = _rgb(inp, "input")
    if not is_bright(inp):
        return None
    out = to_input_size(out, inp.shape)
    return abs(float(luminance(out).mean()) - float(luminance(inp).mean()))


def mottle(inp: np.ndarray, out: np.ndarray) -> float:
    """Low-frequency colour blotches in the output's shadows: sqrt(std_a^2 + std_b^2) of the
    output's Lab a and b channels, each blurred by a Gaussian of sigma 4 px, over the input's
    darkest 30 % of pixels (by luminance).

    The blur removes fine grain (which the eye forgives, and a denoiser removes) and keeps the
    blotches of a few pixels and more that demosaicing and in-camera noise reduction leave in
    night JPEGs and that brightening turns into murky colour. The darkest 30 % are where
    an enhancer lifts the most and where a clean night sky should be one even colour. The
    two deviations are combined as the length of the (std_a, std_b) vector, in Lab units.
    """
    inp = _rgb(inp, "input")
    out = to_input_size(out, inp.shape)
    lab = _lab(out)
    darkest = _extreme_indices(luminance(inp), SHADOW_SHARE, largest=False)
    deviations = []
    for channel in (1, 2):
        blurred = cv2.GaussianBlur(
            lab[..., channel], (0, 0), MOTTLE_SIGMA, borderType=cv2.BORDER_REFLECT
        )
        deviations.append(float(blurred.ravel()[darkest].std()))
    return math.hypot(*deviations)


@dataclass(frozen=True)
class NightFigures:
    """One photo's figures for one method; ``hl_chroma`` and ``mean_shift`` may be None
    (grey highlights; dark input). ``input_mean`` is the input's mean luminance."""

    input_mean: float
    new_clip: float
    hl_chroma: float | None
    loe: float
    mean_shift: float | None
    mottle: float

    @property
    def bright(self) -> bool:
        return self.input_mean > BRIGHT_MEAN


def night_figures(inp: np.ndarray, out: np.ndarray) -> NightFigures:
    """Every figure of one output against its input (output of any size, see the module)."""
    inp = _rgb(inp, "input")
    small = to_input_size(out, inp.shape)
    return NightFigures(
        input_mean=mean_luminance(inp),
        new_clip=new_clip(inp, small),
        hl_chroma=hl_chroma(inp, small),
        loe=loe(inp, small),
        mean_shift=mean_shift(inp, small),
        mottle=mottle(inp, small),
    )


@dataclass(frozen=True)
class NightSummary:
    """The issue's summary of one method over a set of photos (None where no photo counts).

    Dark inputs: mean new_clip, median hl_chroma (a median because a few grey-lit photos swing
    a ratio), mean loe and mean mottle. Bright inputs: mean new_clip and mean mean_shift.
    """

    dark_count: int
    bright_count: int
    dark_new_clip: float | None
    dark_hl_chroma: float | None
    dark_loe: float | None
    dark_mottle: float | None
    bright_new_clip: float | None
    bright_mean_shift: float | None


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(kept)) if kept else None


def _median(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(kept)) if kept else None


def summarize(figures: Sequence[NightFigures]) -> NightSummary:
    """Summary of one method's figures over photos (see :class:`NightSummary`)."""
    dark = [f for f in figures if not f.bright]
    bright = [f for f in figures if f.bright]
    return NightSummary(
        dark_count=len(dark),
        bright_count=len(bright),
        dark_new_clip=_mean([f.new_clip for f in dark]),
        dark_hl_chroma=_median([f.hl_chroma for f in dark]),
        dark_loe=_mean([f.loe for f in dark]),
        dark_mottle=_mean([f.mottle for f in dark]),
        bright_new_clip=_mean([f.new_clip for f in bright]),
        bright_mean_shift=_mean([f.mean_shift for f in bright]),
    )
