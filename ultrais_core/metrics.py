"""Full-reference image quality metrics on float RGB images in [0, 1] (H x W x 3, numpy).

Inputs are clipped to [0, 1] first: a result is judged as it would be saved and shown, and a
model's slight overshoot outside the range is not something a viewer can see.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from ultrais_core.errors import UltraISError


def _prepare(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise UltraISError(f"images differ in size: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise UltraISError(f"expected H x W x 3 RGB images, got shape {a.shape}")
    # float64: squared errors of near-identical images underflow float32 precision in PSNR.
    return np.clip(a, 0.0, 1.0).astype(np.float64), np.clip(b, 0.0, 1.0).astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels (peak 1.0).

    Identical images give ``inf``.
    """
    x, y = _prepare(a, b)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of an RGB image, channels averaged (1.0 when identical).

    Uses the original formulation of Wang et al. (2004): Gaussian window with sigma 1.5 and
    population covariance, as most super-resolution papers report and as the training loss
    uses. Images smaller than that window (11 px) fall back to a uniform window that fits.
    """
    x, y = _prepare(a, b)
    side = min(x.shape[:2])
    if side >= 11:
        return float(
            structural_similarity(
                x,
                y,
                channel_axis=2,
                data_range=1.0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
        )
    win = side if side % 2 else side - 1
    if win < 3:
        raise UltraISError(f"image of {side} px is too small for SSIM")
    return float(structural_similarity(x, y, channel_axis=2, data_range=1.0, win_size=win))


def ciede2000(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference (sRGB, D65), 0 when identical; about 2.3 is 'just
    noticeable'. Lower is better.
    """
    x, y = _prepare(a, b)
    return float(np.mean(deltaE_ciede2000(rgb2lab(x), rgb2lab(y))))


def all_metrics(result: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM and CIEDE2000 of ``result`` against ``reference``."""
    return {
        "psnr": psnr(result, reference),
        "ssim": ssim(result, reference),
        "ciede2000": ciede2000(result, reference),
    }
