"""Non-learned reference methods the model is measured against (numpy/OpenCV, float32 RGB [0, 1]).

* :func:`bicubic` only enlarges: it shows what super-resolution alone gives on a dark input.
* :func:`classical` is an honest hand-made pipeline a photographer could run without any
  learning: automatic exposure by gamma, denoising, local contrast (CLAHE) and Lanczos
  enlargement. Each step is a standard, well-tuned tool with its parameters chosen from the
  image itself, so beating it means the model adds something real.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ultrais_core.errors import UltraISError

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def _check(low: np.ndarray, scale: int) -> None:
    if low.ndim != 3 or low.shape[2] != 3:
        raise UltraISError(f"expected an H x W x 3 RGB image, got shape {low.shape}")
    if scale < 1:
        raise UltraISError(f"scale must be a positive integer, got {scale}")


def _resize(img: np.ndarray, scale: int, interpolation: int) -> np.ndarray:
    if scale == 1:
        return img.copy()
    h, w = img.shape[:2]
    return cv2.resize(img, (w * scale, h * scale), interpolation=interpolation)


def bicubic(low: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic enlargement by ``scale``, clipped to [0, 1]; no brightening."""
    _check(low, scale)
    out = _resize(low.astype(np.float32), scale, cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def exposure_gamma(rgb: np.ndarray, target_mean: float = 0.45) -> float:
    """Gamma ``g`` such that the mean luma of ``rgb ** g`` equals ``target_mean``.

    Solved by bisection on ``log g`` because that mean is monotone in ``g``; the closed form
    ``log(target) / log(mean)`` would miss the target on skewed (mostly black) histograms, since
    the mean of a power is not the power of the mean. The gamma is bounded to [1/20, 20] so a
    black frame cannot produce an absurd curve.
    """
    flat = np.clip(rgb.reshape(-1, 3).astype(np.float64), 0.0, 1.0)
    if flat.shape[0] > 65536:
        # A regular subsample gives the same mean to well under 1 % and keeps this cheap.
        flat = flat[:: flat.shape[0] // 65536]
    if not np.any(flat > 0):
        return 1.0
    # log(0) = -inf maps to exp(-inf) = 0: black stays black under any gamma, as it should.
    with np.errstate(divide="ignore"):
        log_rgb = np.log(flat)
    weights = _LUMA.astype(np.float64)
    lo, hi = math.log(1 / 20), math.log(20)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        mean = float((np.exp(log_rgb * math.exp(mid)) @ weights).mean())
        if mean > target_mean:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def estimate_noise_sigma(gray: np.ndarray) -> float:
    """Noise standard deviation of a single-channel image (Immerkaer 1996).

    Convolves with a kernel that cancels any locally planar signal, so what remains is mostly
    noise; the mean absolute response, scaled, estimates sigma. Fast and parameter-free, which
    is what lets the denoiser adapt to each photo.
    """
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = cv2.filter2D(gray.astype(np.float32), -1, kernel)[1:-1, 1:-1]
    if response.size == 0:
        return 0.0
    return float(math.sqrt(math.pi / 2.0) / 6.0 * np.mean(np.abs(response)))


def auto_expose(low: np.ndarray, target_mean: float = 0.45) -> np.ndarray:
    """Brighten (or darken) by one gamma curve per image so the mean luma is ``target_mean``.

    The curve is applied to each channel. Keeping colour ratios instead (scaling RGB by
    ``new_luma / luma``) was tried and measured worse on the validation pairs (real SICE and
    synthetic, scale 4): per-pixel ratios blow up the colour noise and 8-bit steps of nearly
    black pixels into saturated blotches, while the per-channel curve mutes them.
    """
    img = np.clip(low, 0.0, 1.0).astype(np.float32)
    return np.power(img, np.float32(exposure_gamma(img, target_mean))).astype(np.float32)


def denoise(img: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Non-local-means colour denoising with the filter strength set from the measured noise.

    NLM is the strongest denoiser in OpenCV that needs no training. Its ``h`` follows the
    estimated noise sigma (on the 0-255 scale) of the brightened image; the chroma strength is
    set the same, because brightening a dark frame amplifies colour noise as much as luma noise.
    """
    img8 = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    sigma = estimate_noise_sigma(img8.astype(np.float32) @ _LUMA)
    h = float(np.clip(strength * sigma, 0.0, 60.0))
    if h < 1.0:
        return img.astype(np.float32, copy=True)
    bgr = cv2.cvtColor(img8, cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)


def clahe_tiles(height: int, width: int, tile_px: int = 64) -> int:
    """Tiles per side so a CLAHE tile is about ``tile_px`` pixels, between 2 and 8.

    The customary 8 x 8 grid assumes photos of 512 px and more; on the small images this
    baseline works on (a 512 px frame at scale 4 is 128 px) it makes 16 px tiles, whose
    histograms are mostly noise: measured on the validation pairs it cost 2-3 dB against a
    grid of ~64 px tiles, which keeps 8 x 8 for large images.
    """
    return int(np.clip(round(min(height, width) / tile_px), 2, 8))


def clahe_lab(img: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of Lab lightness only.

    Working on L leaves colour alone. CLAHE runs on the usual 8-bit L: OpenCV's 16-bit
    variant spreads each tile over 65536 bins, where ``clip_limit`` can no longer limit
    anything and the result is plain, noise-amplifying equalisation. The 8-bit curve's change
    is then added to the float L, so the output keeps the precision of the input instead of
    showing 8-bit banding in stretched shadows.
    """
    lab = cv2.cvtColor(np.clip(img, 0.0, 1.0).astype(np.float32), cv2.COLOR_RGB2Lab)
    lightness8 = np.round(lab[..., 0] * (255.0 / 100.0)).astype(np.uint8)
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    change = clahe.apply(lightness8).astype(np.float32) - lightness8.astype(np.float32)
    lab[..., 0] = np.clip(lab[..., 0] + change * (100.0 / 255.0), 0.0, 100.0)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0).astype(np.float32)


def classical(
    low: np.ndarray,
    scale: int,
    *,
    target_mean: float = 0.45,
    denoise_strength: float = 1.0,
    clip_limit: float = 2.0,
) -> np.ndarray:
    """Auto-exposure, NLM denoising, CLAHE on L, Lanczos enlargement by ``scale``.

    The order matters: denoise after brightening (so the noise estimate sees the noise the
    viewer will see) but before CLAHE (which would otherwise amplify it), and enlarge last so
    every step works on the small image.
    """
    _check(low, scale)
    img = auto_expose(low.astype(np.float32), target_mean)
    if denoise_strength > 0:
        img = denoise(img, denoise_strength)
    img = clahe_lab(img, clip_limit, clahe_tiles(*img.shape[:2]))
    out = _resize(img, scale, cv2.INTER_LANCZOS4)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
