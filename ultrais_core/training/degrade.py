"""Physically based synthetic degradation: clean sRGB photo -> dark, noisy, low-resolution input.

The pairs imitate the RELLISUR benchmark (low-light, low-resolution input; normal-light,
high-resolution target). A real dark photo is formed in *linear light* on the sensor and only
afterwards gamma-encoded and quantised, so every physical step below (blur, downscale, exposure,
white-balance error, noise) runs on linear values; doing them on sRGB values would make noise
and averaging depend on the display curve instead of on photon counts.

Pipeline of :func:`synthesize_pair` (all images float32 RGB in [0, 1], H x W x 3):

1. sRGB -> linear light with the exact IEC 61966-2-1 EOTF.
2. Lens blur: a Gaussian of ``sigma = U(0.3, 0.8) * scale`` full-resolution pixels, i.e. 0.3 to 0.8
   pixels of the low-resolution image. Area averaging alone is a box filter that aliases; a real
   low-resolution capture also sees the lens/anti-aliasing filter point-spread function.
3. Exposure: divide by a factor drawn log-uniformly in [8, 150] (3 to 7.2 stops under). Log-uniform
   because perceived and photographic exposure are logarithmic; a uniform draw would almost never
   produce the mildly dark cases. Each channel also gets a white-balance error of up to +-10 %
   (gains renormalised to mean 1, so the exposure factor alone sets the brightness): cameras get
   white balance wrong under dim mixed street light, and the model must learn to neutralise it.
4. Poisson-Gaussian sensor noise, split between two resolutions. A random share (20 % to 80 %)
   of the noise variance is added at full resolution *before* the downscale (it is partly averaged
   away, leaving fine spatially correlated grain, as when a high-resolution sensor is binned); the
   rest is added at the low resolution (pixel-level noise of the capture itself).
   - Shot noise: the linear value 1.0 corresponds to ``electrons`` photo-electrons, drawn
     log-uniformly in [400, 6000]. 6000 e- is the full-well of a ~1.4 um small-sensor (phone)
     pixel at base ISO; 400 e- is that full well divided by the analogue gain at ISO ~1600-3200.
     At an exposure factor of 150 a mid-grey object then collects well under one electron per
     pixel at the low end: truly ultra-dark.
   - Read noise: Gaussian with sigma drawn log-uniformly in [0.0005, 0.005] of full scale. About
     3 e- of a 6000 e- base-ISO pixel gives 0.0005; about 2 e- input-referred read noise at the
     high-ISO end (400 e- full scale) gives 0.005.
5. Downscale by ``scale`` in linear light with ``cv2.INTER_AREA`` (exact box average for integer
   factors, like pixel binning).
6. Clip to [0, 1], re-apply the sRGB curve, quantise to 8 bits (the file a camera would write) and,
   with probability 0.3, JPEG-compress at quality 70-95 (phones save night shots as JPEG; blocky
   shadows are part of what the model sees in practice).

Everything is deterministic given the :class:`numpy.random.Generator` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Rec. 709 / sRGB luminance weights, used for brightness statistics.
LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class DegradeParams:
    """Ranges from which one degradation is drawn; see the module docstring for the reasons.

    Ranges are ``(low, high)`` tuples; ``exposure_factor``, ``electrons`` and ``read_sigma`` are
    drawn log-uniformly because they act multiplicatively, the others uniformly.
    """

    blur_sigma_lr: tuple[float, float] = (0.3, 0.8)
    exposure_factor: tuple[float, float] = (8.0, 150.0)
    wb_error: float = 0.10
    electrons: tuple[float, float] = (400.0, 6000.0)
    read_sigma: tuple[float, float] = (0.0005, 0.005)
    hr_noise_share: tuple[float, float] = (0.2, 0.8)
    jpeg_probability: float = 0.3
    jpeg_quality: tuple[int, int] = (70, 95)

    def __post_init__(self) -> None:
        for name in ("blur_sigma_lr", "exposure_factor", "electrons", "read_sigma"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"DegradeParams.{name} must satisfy 0 < low <= high")
        share_low, share_high = self.hr_noise_share
        if not 0.0 <= share_low <= share_high <= 1.0:
            raise ValueError("DegradeParams.hr_noise_share must lie within [0, 1]")
        if not 0.0 <= self.wb_error < 1.0:
            raise ValueError("DegradeParams.wb_error must lie in [0, 1)")
        if not 0.0 <= self.jpeg_probability <= 1.0:
            raise ValueError("DegradeParams.jpeg_probability must lie in [0, 1]")
        q_low, q_high = self.jpeg_quality
        if not 1 <= q_low <= q_high <= 100:
            raise ValueError("DegradeParams.jpeg_quality must satisfy 1 <= low <= high <= 100")


@dataclass(frozen=True)
class DegradeSample:
    """One concrete draw from :class:`DegradeParams` (kept so tests and logs can see it)."""

    blur_sigma_hr: float
    exposure_factor: float
    wb_gains: tuple[float, float, float]
    electrons: float
    read_sigma: float
    hr_noise_share: float
    jpeg_quality: int | None


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Exact sRGB EOTF (IEC 61966-2-1), float32 in and out; values are clipped to [0, 1] first."""
    x = np.clip(srgb, 0.0, 1.0).astype(np.float32, copy=False)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_to_linear`; values are clipped to [0, 1] first."""
    x = np.clip(linear, 0.0, 1.0).astype(np.float32, copy=False)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1.0 / 2.4) - 0.055).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 weighted sum of the channels (H x W), for brightness statistics."""
    return (rgb.astype(np.float32, copy=False) @ LUMA_WEIGHTS).astype(np.float32)


def quantize_8bit(img: np.ndarray) -> np.ndarray:
    """Round to the 256 levels an 8-bit file can hold, returned as float32 in [0, 1]."""
    return (np.round(np.clip(img, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def crop_to_multiple(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right edge so height and width are multiples of ``scale``."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def area_downscale(img: np.ndarray, scale: int) -> np.ndarray:
    """Box-average downscale by an integer factor (the image must be a multiple of ``scale``)."""
    if scale == 1:
        return img.astype(np.float32, copy=True)
    h, w = img.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"image {w}x{h} is not a multiple of scale {scale}")
    return cv2.resize(img, (w // scale, h // scale), interpolation=cv2.INTER_AREA)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with reflected borders; a zero sigma returns a copy."""
    if sigma <= 0:
        return img.copy()
    return cv2.GaussianBlur(
        img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101
    )


def add_poisson_gaussian(
    signal: np.ndarray,
    electrons: float,
    read_sigma: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sensor noise on a linear signal whose value 1.0 equals ``electrons`` photo-electrons.

    Shot noise is drawn as a true Poisson count (not a Gaussian approximation) because at a few
    electrons per pixel its discreteness and skew are what an ultra-dark photo actually shows.
    The result has mean ``signal`` and variance ``signal / electrons + read_sigma**2``.
    """
    lam = np.clip(signal, 0.0, None).astype(np.float64) * electrons
    shot = rng.poisson(lam).astype(np.float64) / electrons
    read = rng.normal(0.0, read_sigma, size=signal.shape) if read_sigma > 0 else 0.0
    return (shot + read).astype(np.float32)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (float32 RGB in, float32 RGB out)."""
    bgr = cv2.cvtColor(np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode the degraded image")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_degradation(
    rng: np.random.Generator, scale: int, params: DegradeParams = DegradeParams()
) -> DegradeSample:
    """Draw one set of degradation settings; the draw order is fixed so seeds reproduce."""
    blur_lr = float(rng.uniform(*params.blur_sigma_lr))
    exposure = _log_uniform(rng, params.exposure_factor)
    gains = 1.0 + rng.uniform(-params.wb_error, params.wb_error, size=3)
    # Renormalise so the white-balance error only shifts colour, never overall brightness.
    gains = gains / gains.mean()
    electrons = _log_uniform(rng, params.electrons)
    read_sigma = _log_uniform(rng, params.read_sigma)
    share = float(rng.uniform(*params.hr_noise_share))
    use_jpeg = bool(rng.random() < params.jpeg_probability)
    quality = int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1))
    return DegradeSample(
        blur_sigma_hr=blur_lr * scale,
        exposure_factor=exposure,
        wb_gains=(float(gains[0]), float(gains[1]), float(gains[2])),
        electrons=electrons,
        read_sigma=read_sigma,
        hr_noise_share=share,
        jpeg_quality=quality if use_jpeg else None,
    )


def _noise_part(
    signal: np.ndarray, sample: DegradeSample, share: float, rng: np.random.Generator
) -> np.ndarray:
    """Add ``share`` of the sample's noise variance (both shot and read) to ``signal``."""
    if share <= 0.0:
        return signal
    # Poisson with electrons/share has variance share * signal / electrons, as required.
    return add_poisson_gaussian(
        signal, sample.electrons / share, sample.read_sigma * math.sqrt(share), rng
    )


def apply_degradation(
    clean_rgb: np.ndarray, scale: int, sample: DegradeSample, rng: np.random.Generator
) -> np.ndarray:
    """Degrade a clean sRGB image (size a multiple of ``scale``) with fixed settings.

    ``rng`` only supplies the noise; the settings come from ``sample``. Returns the
    (H/scale) x (W/scale) x 3 dark input, float32 sRGB in [0, 1] on the 8-bit grid.
    """
    linear = srgb_to_linear(clean_rgb)
    linear = gaussian_blur(linear, sample.blur_sigma_hr)
    gains = np.asarray(sample.wb_gains, dtype=np.float32) / np.float32(sample.exposure_factor)
    dark = linear * gains
    dark = _noise_part(dark, sample, sample.hr_noise_share, rng)
    low = area_downscale(dark, scale)
    low = _noise_part(low, sample, 1.0 - sample.hr_noise_share, rng)
    low = quantize_8bit(linear_to_srgb(low))
    if sample.jpeg_quality is not None:
        low = jpeg_roundtrip(low, sample.jpeg_quality)
    return low


def synthesize_pair(
    clean_rgb: np.ndarray,
    scale: int,
    rng: np.random.Generator,
    params: DegradeParams = DegradeParams(),
) -> tuple[np.ndarray, np.ndarray]:
    """Make one (dark low-resolution input, clean target) training pair from a clean photo.

    The target is ``clean_rgb`` cropped at the bottom/right to a multiple of ``scale``, so its
    size is exactly ``scale`` times the input's. Both are float32 RGB in [0, 1].
    """
    _check_rgb(clean_rgb)
    if scale < 1:
        raise ValueError("scale must be a positive integer")
    target = np.ascontiguousarray(crop_to_multiple(clean_rgb, scale), dtype=np.float32)
    if target.shape[0] == 0 or target.shape[1] == 0:
        raise ValueError(f"image {clean_rgb.shape[1]}x{clean_rgb.shape[0]} is smaller than scale")
    sample = sample_degradation(rng, scale, params)
    return apply_degradation(target, scale, sample, rng), target


def real_pair_input(low_rgb: np.ndarray, scale: int, *, quantize: bool = True) -> np.ndarray:
    """Low-resolution input from a real under-exposed full-size frame.

    The frame is cropped to a multiple of ``scale`` and box-averaged in linear light (as a
    sensor bins photons), then gamma-encoded again. ``quantize`` rounds to 8 bits because the
    synthetic inputs, and every file a user opens, are 8-bit; otherwise the averaging would hand
    the model finer levels than it ever sees in practice.
    """
    _check_rgb(low_rgb)
    cropped = crop_to_multiple(low_rgb, scale)
    out = linear_to_srgb(area_downscale(srgb_to_linear(cropped), scale))
    return quantize_8bit(out) if quantize else out


def _check_rgb(img: np.ndarray) -> None:
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 RGB image, got shape {img.shape}")
