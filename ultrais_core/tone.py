"""Brightness in the user's hands (issue 14, item 3): an exposure change that cannot clip.

One function, :func:`exposure_curve`, brightens or darkens a rendered sRGB image by ``ev``
stops. The app's Exposure slider and the ``--exposure EV`` option of ``enhance`` and
``batch`` both use it, so a preview and an export agree.

Why a curve on the rendered result rather than a network conditioned on a target brightness
(through the photo context's FiLM path):

* it is instant on the cached result: moving the slider never re-runs the network, which
  takes seconds to minutes per photo on a CPU, so the GUI keeps its 300 ms preview;
* it cannot clip by construction (below), whereas a conditioned network can only be trained
  towards not clipping, and would need brightness-labelled targets it has never seen;
* it is one small numpy function for the GUI and the CLI, testable exactly, and the same at
  every scale and on every set of weights (the shipped ones need no retraining for it).

The curve works on M, the largest channel of a pixel. With a knee K = 0.98 (just under the
clipping level 250/255), t = M / K and m = 2 ** (ev / 2.2) (a gain of m on sRGB-encoded
values is about 2 ** ev in linear light, since sRGB is close to a 2.2 power):

    h(t) = m t / (1 + (m - 1) t),    M' = K h(t) for M < K,    M' = M for M >= K,

and the pixel's RGB are scaled by M' / M. h is a Möbius map with h(0) = 0, h(1) = 1 and a
slope m at black, so dark tones get the full gain while tones near the knee get less and
less; it is increasing for every m > 0, so the curve is monotone in M, maps [0, K) onto
[0, K), and is the identity at ev = 0. Scaling the three channels by one factor keeps hue
and the channel ratios, and no channel can exceed M' < K: a pixel the default rendering kept
below 250/255 stays below it at any ev. Pixels at or above K are left as they are, so the
curve never brightens what is already (nearly) white, and never darkens it either: a lamp
that the network clipped stays clipped, rather than turning grey.

The factor M' / M simplifies to m / (1 + (m - 1) t) with t clamped to [0, 1]: one division per
pixel and no special case at black (the factor is m there); at and above the knee it is 1,
set exactly because float rounding of t would leave it a hair off.
Imports numpy only.
"""

from __future__ import annotations

import numpy as np

KNEE = 0.98
_GAMMA = 2.2


def stops_gain(ev: float) -> float:
    """m: the gain on sRGB-encoded values equivalent to ``ev`` stops in linear light."""
    return float(2.0 ** (ev / _GAMMA))


def exposure_factor(max_channel: np.ndarray, ev: float) -> np.ndarray:
    """Per-pixel multiplier M' / M of the curve for largest-channel values M (any shape).

    Values below 0 get the black slope m, values at or above the knee get exactly 1.
    """
    m = np.float32(stops_gain(ev))
    t = np.minimum(max_channel, np.float32(KNEE), dtype=np.float32)
    np.maximum(t, np.float32(0.0), out=t)
    t *= np.float32(1.0 / KNEE)
    t *= m - np.float32(1.0)
    t += np.float32(1.0)
    np.divide(m, t, out=t)
    np.putmask(t, max_channel >= KNEE, np.float32(1.0))  # exactly, whatever the rounding
    return t


def exposure_curve(rgb: np.ndarray, ev: float, *, out: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` (float sRGB, ... x 3) brightened (ev > 0) or darkened (ev < 0) by ``ev`` stops
    without clipping what was below 250/255 (see the module docstring).

    Returns a new float32 array, or writes into ``out`` (which may be ``rgb`` itself, for an
    in-place update of a float32 array) and returns it. ev = 0 returns the values unchanged.
    """
    source = np.asarray(rgb)
    if source.ndim < 1 or source.shape[-1] != 3:
        raise ValueError(f"expected RGB values in the last axis, got shape {source.shape}")
    if out is None:
        out = source.astype(np.float32, copy=True)
    elif out is not source:
        np.copyto(out, source)
    if ev == 0:
        return out
    # Two maximum() calls and a multiply per channel: ndarray.max over a last axis of 3 is
    # about ten times slower, and the preview redraws this on every slider move.
    largest = np.maximum(out[..., 0], out[..., 1])
    np.maximum(largest, out[..., 2], out=largest)
    factor = exposure_factor(largest, ev)
    for channel in range(3):
        out[..., channel] *= factor
    return out


def apply_exposure(pixels: np.ndarray, ev: float) -> np.ndarray:
    """The curve on an image of any layout the engine returns: H x W grey (its value is M),
    H x W x 3, or H x W x 4 (alpha untouched). Returns a new float32 array."""
    image = np.asarray(pixels, dtype=np.float32)
    if image.ndim == 2:
        return image * exposure_factor(image, ev)
    if image.ndim == 3 and image.shape[2] == 4:
        result = image.copy()
        exposure_curve(image[..., :3], ev, out=result[..., :3])
        return result
    return exposure_curve(image, ev)
