"""Synthetic night scenes: clean photo -> high-dynamic-range night capture and its good rendering.

Every target in SICE and in the darkened clean photos is a daylight exposure of the whole frame,
so a network trained on them alone learns "bring every photo to a daylight mean": it bleaches lit
subjects and lifts black skies to murk. A real night photo is high dynamic range: lamps and lit
surfaces are already bright (often clipped by the camera) while the rest is near black. This
module builds such scenes from the clean photos and renders the target a photographer wants: lit
things keep colour and detail and never clip, shadows are lifted just enough to read and stay
clearly darker than lit parts, noise is gone.

The scene is built in linear light, in units of the camera's full scale (1.0 clips):

1. Ambient light: the reflectance (the clean photo, sRGB -> linear) times an ambient level drawn
   log-uniformly in [0.0005, 0.01] (skyglow and moonlight leave unlit areas 4 to 10 stops below a
   lit subject), tinted cool or neutral. With probability 0.5 the top of the frame (where the sky
   of an outdoor photo is) is darkened a further 3x to 20x along a smooth vertical ramp: night
   skies are far darker than anything lit.
2. Pools of artificial light: 1 to 5 elliptical Gaussian pools (radius 5 % to 30 % of the image
   diagonal) centred anywhere, peak level 0.1 to 2.0 (log-uniform; above 1 the camera clips the
   brightest lit surfaces, as it does on floodlit buildings), each with a source colour drawn
   from sodium, tungsten, warm/cool LED or saturated neon (mixed light is the norm at night).
   They multiply the reflectance: a lit facade keeps its texture and takes the light's colour.
   With probability 0.5 one to eight lit windows (bright rectangles, 2 % to 8 % of the diagonal,
   level 0.1 to 1.5) are added the same way.
3. Point sources with glow: 0 to 6 emissive discs (radius 0.3 % to 1.5 % of the diagonal) of
   radiance 2 to 40 (always clipped in the camera) with a wide Gaussian glow (sigma 1 % to 6 %,
   amplitude 0.03 to 0.4 of full scale): lamps, headlights and the veiling glare around them.
   They add to the radiance (emitters, not reflectors).
4. Capture (in :func:`capture_night`): lens blur, area downscale to the input resolution,
   clipping at 1, then camera noise as night JPEGs carry it: Poisson-Gaussian noise (300 to 4000
   electrons at full scale, read noise 0.001 to 0.006) generated on a half-resolution colour
   grid and upsampled bilinearly (a demosaiced Bayer pattern correlates neighbouring pixels and
   channels), then in-camera noise reduction that blurs the chroma (YCrCb, sigma 0.7 to 2.5 px)
   more than the luma: that is where the low-frequency colour mottling of real night photos
   comes from. Then sRGB, 8 bits, and JPEG at quality 60 to 92 with probability 0.8.

The target (in :func:`render_night_target`) is the noise-free, unclipped scene at the output
resolution through a highlight-compressing tone curve in linear light:

- Luminance goes through one global power curve (a straight line in log-log) that takes the
  ambient-lit mid-grey to a linear 0.004 to 0.015 (sRGB about 0.06 to 0.12: dark, its detail
  visible, clearly below the lit parts) and a white surface under the brightest light to a
  linear 0.35 to 0.75 (sRGB 0.63 to 0.88). A night scene spans 10 to 14 stops between those two
  and a good photo about 5 to 7, so the exponent is 0.35 to 1 (1: the scene fits, a plain gain).
  A global curve keeps the order of every tone; a local operator would draw halos.
- Above that level (lamps, glare), a Reinhard shoulder x / (x + (1 - knee)) folds the rest into
  [knee, 1): bright things stay distinguishable and never reach white.
- RGB is scaled by the luminance ratio (hue and saturation of lit things survive; a per-channel
  curve would bleach them towards white), and any pixel whose largest channel would pass the
  white level 0.97 (sRGB) is scaled down as a whole, so nothing clips and no hue turns.
- Emitters keep their colour through the curve like everything else. (An earlier version faded
  cores that clipped in the camera towards neutral white; blurred and reduced to the input's
  size, that fade reached the unclipped rims around every lamp and taught the network to
  bleach the brightest coloured things, the pixels the kept-chroma figure measures.)

All functions are deterministic given the :class:`numpy.random.Generator`; light positions and
sizes are in coordinates relative to the whole photo, so a crop and the whole photo (for the
photo context) are lit by the same scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ultrais_core.training.degrade import (
    LUMA_WEIGHTS,
    area_downscale,
    gaussian_blur,
    jpeg_roundtrip,
    linear_to_srgb,
    quantize_8bit,
    srgb_to_linear,
)

# Largest value of any channel in a rendered target (sRGB): below 250/255, the clipping
# threshold of the reference-free figures, so lit things keep their colour.
WHITE_LEVEL = 0.97

# Linear RGB of light sources, normalised to luminance 1 below: sodium, tungsten, warm LED,
# neutral LED, cool LED, and saturated signs (red, green, blue-violet, magenta).
_SOURCE_COLOURS = np.array(
    [
        (1.00, 0.55, 0.18),
        (1.00, 0.68, 0.40),
        (1.00, 0.80, 0.60),
        (1.00, 0.97, 0.92),
        (0.85, 0.95, 1.10),
        (1.00, 0.12, 0.10),
        (0.15, 1.00, 0.35),
        (0.40, 0.30, 1.00),
        (1.00, 0.20, 0.85),
    ],
    dtype=np.float32,
)
# Draw probabilities: mostly everyday street and house light, sometimes neon.
_SOURCE_WEIGHTS = np.array([0.2, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05, 0.05, 0.05])


def _unit_luminance(rgb: np.ndarray) -> np.ndarray:
    return (rgb / float(np.dot(rgb, LUMA_WEIGHTS))).astype(np.float32)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _source_colour(rng: np.random.Generator) -> np.ndarray:
    index = int(rng.choice(len(_SOURCE_COLOURS), p=_SOURCE_WEIGHTS))
    return _unit_luminance(_SOURCE_COLOURS[index])


@dataclass(frozen=True)
class LightPool:
    """An elliptical Gaussian pool of light; centre and radii relative to the photo."""

    centre: tuple[float, float]  # (y, x) in [0, 1]
    radii: tuple[float, float]  # (ry, rx) as fractions of the photo's diagonal
    level: float
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class LitWindow:
    """A soft-edged lit rectangle (a window, a sign, a shop front)."""

    top_left: tuple[float, float]
    size: tuple[float, float]  # (h, w) as fractions of the diagonal
    level: float
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class Emitter:
    """A point source (lamp, headlight) and its glow."""

    centre: tuple[float, float]
    radius: float
    radiance: float
    glow_sigma: float
    glow_level: float
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class NightScene:
    """One drawn night lighting; see the module docstring for the ranges and the reasons."""

    ambient: float
    ambient_tint: tuple[float, float, float]
    sky_darkening: float  # 1 = none; otherwise the factor at the top edge
    sky_extent: float  # fraction of the height the darkening ramp covers
    pools: tuple[LightPool, ...]
    windows: tuple[LitWindow, ...]
    emitters: tuple[Emitter, ...]
    shadow_level: float  # linear level an ambient-lit mid-grey gets in the target
    lit_level: float  # linear level a white surface under the brightest light gets
    # Capture
    blur_sigma_lr: float
    electrons: float
    read_sigma: float
    chroma_nr_sigma: float
    jpeg_quality: int | None


def sample_night_scene(rng: np.random.Generator) -> NightScene:
    """Draw one night lighting and capture; the draw order is fixed so seeds reproduce."""
    ambient = _log_uniform(rng, 0.0005, 0.01)
    tint = _unit_luminance(np.array([0.8, 0.95, 1.2], dtype=np.float32) ** rng.uniform(0, 1))
    dark_sky = rng.random() < 0.5
    sky_darkening = _log_uniform(rng, 3.0, 20.0) if dark_sky else 1.0
    sky_extent = float(rng.uniform(0.3, 0.7))
    pools = tuple(
        LightPool(
            centre=(float(rng.uniform(0.1, 1.0)), float(rng.uniform(0, 1))),
            radii=(_log_uniform(rng, 0.05, 0.3), _log_uniform(rng, 0.05, 0.3)),
            level=_log_uniform(rng, 0.1, 2.0),
            colour=tuple(_source_colour(rng).tolist()),
        )
        for _ in range(int(rng.integers(1, 6)))
    )
    window_count = int(rng.integers(1, 9)) if rng.random() < 0.5 else 0
    windows = tuple(
        LitWindow(
            top_left=(float(rng.uniform(0.05, 0.9)), float(rng.uniform(0, 0.95))),
            size=(_log_uniform(rng, 0.02, 0.08), _log_uniform(rng, 0.02, 0.08)),
            level=_log_uniform(rng, 0.1, 1.5),
            colour=tuple(_source_colour(rng).tolist()),
        )
        for _ in range(window_count)
    )
    emitters = tuple(
        Emitter(
            centre=(float(rng.uniform(0, 1)), float(rng.uniform(0, 1))),
            radius=_log_uniform(rng, 0.003, 0.015),
            radiance=_log_uniform(rng, 2.0, 40.0),
            glow_sigma=_log_uniform(rng, 0.01, 0.06),
            glow_level=_log_uniform(rng, 0.03, 0.4),
            colour=tuple(_source_colour(rng).tolist()),
        )
        for _ in range(int(rng.integers(0, 7)))
    )
    use_jpeg = rng.random() < 0.8
    quality = int(rng.integers(60, 93))
    return NightScene(
        ambient=ambient,
        ambient_tint=tuple(tint.tolist()),
        sky_darkening=sky_darkening,
        sky_extent=sky_extent,
        pools=pools,
        windows=windows,
        emitters=emitters,
        shadow_level=_log_uniform(rng, 0.004, 0.015),
        lit_level=float(rng.uniform(0.35, 0.75)),
        blur_sigma_lr=float(rng.uniform(0.3, 0.8)),
        electrons=_log_uniform(rng, 300.0, 4000.0),
        read_sigma=_log_uniform(rng, 0.001, 0.006),
        chroma_nr_sigma=float(rng.uniform(0.7, 2.5)),
        jpeg_quality=quality if use_jpeg else None,
    )


def _grid(
    shape: tuple[int, int], region: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray, float]:
    """Relative (y, x) coordinates of a region's pixel centres, and the photo's diagonal in
    relative units (1 = the photo's height for y, its width for x)."""
    top, left, height, width = region
    h, w = shape
    ys = top + (np.arange(h, dtype=np.float32) + 0.5) / h * height
    xs = left + (np.arange(w, dtype=np.float32) + 0.5) / w * width
    return ys[:, None], xs[None, :], 1.0


def night_radiance(
    reflectance_linear: np.ndarray,
    scene: NightScene,
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    aspect: float = 1.0,
) -> np.ndarray:
    """Scene radiance (linear, camera full scale = 1, unclipped) of a lit reflectance image.

    ``region`` is (top, left, height, width) of this image within the whole photo in relative
    coordinates, so a crop is lit exactly as the same part of the whole photo. ``aspect`` is the
    whole photo's width / height (distances are measured in units of the photo's diagonal).
    """
    h, w = reflectance_linear.shape[:2]
    ys, xs, _ = _grid((h, w), region)
    diagonal = math.hypot(1.0, aspect)
    # Distances in diagonal units: y spans 1 (height), x spans `aspect`.
    yd, xd = ys / diagonal, xs * aspect / diagonal

    light = np.ones((h, w, 1), dtype=np.float32) * np.float32(scene.ambient)
    if scene.sky_darkening > 1.0:
        ramp = np.clip(1.0 - ys / scene.sky_extent, 0.0, 1.0)  # 1 at the top edge
        light = light * (scene.sky_darkening ** (-ramp))[..., None]
    light = light * np.asarray(scene.ambient_tint, dtype=np.float32)
    for pool in scene.pools:
        cy, cx = pool.centre[0] / diagonal, pool.centre[1] * aspect / diagonal
        d2 = ((yd - cy) / pool.radii[0]) ** 2 + ((xd - cx) / pool.radii[1]) ** 2
        light = light + (pool.level * np.exp(-0.5 * d2))[..., None] * np.asarray(pool.colour)
    for window in scene.windows:
        top, left = window.top_left
        wh, ww = window.size[0] * diagonal, window.size[1] * diagonal / aspect
        inside_y = _soft_step(ys - top, 0.004) * _soft_step(top + wh - ys, 0.004)
        inside_x = _soft_step(xs - left, 0.004) * _soft_step(left + ww - xs, 0.004)
        light = light + (window.level * inside_y * inside_x)[..., None] * np.asarray(window.colour)
    radiance = reflectance_linear * light
    for emitter in scene.emitters:
        cy, cx = emitter.centre[0] / diagonal, emitter.centre[1] * aspect / diagonal
        d = np.sqrt((yd - cy) ** 2 + (xd - cx) ** 2)
        core = emitter.radiance * _soft_step(emitter.radius - d, emitter.radius * 0.3)
        glow = emitter.glow_level * np.exp(-0.5 * (d / emitter.glow_sigma) ** 2)
        radiance = radiance + (core + glow)[..., None] * np.asarray(emitter.colour)
    return radiance.astype(np.float32)


def _soft_step(x: np.ndarray, width: float) -> np.ndarray:
    """0 for x << 0, 1 for x >> 0, a logistic ramp of about `width` between."""
    return (1.0 / (1.0 + np.exp(-np.clip(x / width, -30, 30)))).astype(np.float32)


def capture_night(
    radiance: np.ndarray, scale: int, scene: NightScene, rng: np.random.Generator
) -> np.ndarray:
    """The camera's JPEG of a radiance image, at 1/scale resolution (see the module docstring)."""
    linear = gaussian_blur(radiance, scene.blur_sigma_lr * scale)
    low = np.clip(area_downscale(linear, scale), 0.0, 1.0)
    h, w = low.shape[:2]
    # Noise on a half-resolution colour grid, upsampled: demosaicing correlates it in space and
    # across channels.
    half = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
    coarse = cv2.resize(low, half, interpolation=cv2.INTER_AREA)
    variance = coarse / scene.electrons + scene.read_sigma**2
    noise = rng.standard_normal(coarse.shape).astype(np.float32) * np.sqrt(variance)
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)
    noisy = np.clip(low + noise, 0.0, 1.0)
    srgb = linear_to_srgb(noisy)
    # In-camera noise reduction: chroma blurred harder than luma -> low-frequency colour blotches.
    ycrcb = cv2.cvtColor(srgb.astype(np.float32), cv2.COLOR_RGB2YCrCb)
    for channel in (1, 2):
        ycrcb[..., channel] = cv2.GaussianBlur(
            ycrcb[..., channel], (0, 0), scene.chroma_nr_sigma, borderType=cv2.BORDER_REFLECT
        )
    srgb = np.clip(cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)
    out = quantize_8bit(srgb)
    if scene.jpeg_quality is not None:
        out = jpeg_roundtrip(out, scene.jpeg_quality)
    return out


def tone_map_night(radiance: np.ndarray, scene: NightScene) -> np.ndarray:
    """The good night rendering of a radiance image (same size), sRGB in [0, WHITE_LEVEL]."""
    y = np.maximum(radiance @ LUMA_WEIGHTS, 1e-7)[..., None]
    shadow_in = scene.ambient * 0.18
    lit_in = max([p.level for p in scene.pools] + [w.level for w in scene.windows])
    # One global power curve through (shadow_in -> shadow_level) and (lit_in -> lit_level): a
    # straight line in log-log, so every tone keeps its order and its local contrast shrinks
    # evenly; no compression when the scene's range already fits (gamma 1: a plain gain).
    ratio_in = max(lit_in / shadow_in, 1.0 + 1e-6)
    ratio_out = scene.lit_level / scene.shadow_level
    gamma = float(np.clip(math.log(ratio_out) / math.log(ratio_in), 0.35, 1.0))
    mapped = scene.lit_level * (y / lit_in) ** gamma
    # Above the lit level (lamps, glare, over-lit spots) a Reinhard shoulder folds [knee, inf)
    # into [knee, 1): bright things stay distinguishable and never reach white.
    knee = np.float32(scene.lit_level)
    excess = np.maximum(mapped - knee, 0.0)
    mapped = np.minimum(mapped, knee) + excess * (1.0 - knee) / (excess + (1.0 - knee))
    rgb = radiance * (mapped / y)
    # Whatever still exceeds the white level is scaled down as a whole: hue is kept.
    white = float(srgb_to_linear(np.float32(WHITE_LEVEL)))
    peak = rgb.max(axis=-1, keepdims=True)
    rgb = rgb * np.minimum(1.0, white / np.maximum(peak, 1e-6))
    return np.clip(linear_to_srgb(rgb), 0.0, WHITE_LEVEL).astype(np.float32)


def synthesize_night_pair(
    clean_crop: np.ndarray,
    scale: int,
    scene: NightScene,
    rng: np.random.Generator,
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    aspect: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(dark input at 1/scale, rendered target) of a clean sRGB crop lit by `scene`."""
    radiance = night_radiance(srgb_to_linear(clean_crop), scene, region, aspect)
    return capture_night(radiance, scale, scene, rng), tone_map_night(radiance, scene)


def night_photo_input(
    clean_small: np.ndarray, scene: NightScene, rng: np.random.Generator, shrink: float
) -> np.ndarray:
    """The whole photo's night capture at the context's size (for the photo context only).

    ``clean_small`` is the whole clean photo already reduced to the context's size, ``shrink``
    the extra area factor beyond the network input; the noise is scaled down by it as the
    engine's own reduction of a large photo would average it.
    """
    aspect = clean_small.shape[1] / clean_small.shape[0]
    radiance = night_radiance(srgb_to_linear(clean_small), scene, aspect=aspect)
    quieter = NightScene(
        **{
            **scene.__dict__,
            "blur_sigma_lr": 0.0,
            "electrons": scene.electrons * shrink**2,
            "read_sigma": scene.read_sigma / shrink,
            "chroma_nr_sigma": scene.chroma_nr_sigma,
            "jpeg_quality": None,
        }
    )
    return capture_night(radiance, 1, quieter, rng)
