"""Draw the sample night photo shown on first start: a dark street with a few warm lights.

Procedural, so the repository ships no third-party photo: a night sky, building silhouettes
with lit windows, street lamps with glow and light pools, a wet road reflecting them, then the
darkening, shot noise and colour noise of an under-exposed phone photo.

    .venv/bin/python resources/sample/make_sample.py   # writes night_street.jpg beside itself
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 1024, 683
SEED = 7
HORIZON = 0.62  # fraction of the height where the street meets the buildings
WARM = np.array([1.0, 0.62, 0.28], dtype=np.float32)  # sodium-ish lamp colour
WINDOW_WARM = np.array([1.0, 0.78, 0.48], dtype=np.float32)
COOL = np.array([0.55, 0.7, 1.0], dtype=np.float32)  # a cooler LED sign


def _glow(
    yy: np.ndarray, xx: np.ndarray, cx: float, cy: float, radius: float, power: float = 1.0
) -> np.ndarray:
    d2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (radius**2)
    return power / (1.0 + d2) ** 1.5


def draw_scene(rng: np.random.Generator) -> np.ndarray:
    """Linear-light radiance, roughly what a well-exposed night photo would record."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    horizon = int(HEIGHT * HORIZON)
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.float32)

    # Sky: deep blue at the top, a little city glow near the horizon, a sprinkle of stars.
    t = yy / horizon
    img[..., 0] = 0.012 + 0.11 * t**2
    img[..., 1] = 0.016 + 0.08 * t**2
    img[..., 2] = 0.04 + 0.09 * t**1.5
    stars = rng.random((HEIGHT, WIDTH)) > 0.9992
    stars &= yy < horizon * 0.7
    img[stars] += rng.uniform(0.15, 0.5, size=(int(stars.sum()), 1))

    # Buildings: dark blocks of varying height, each with a grid of windows, some lit.
    x = 0
    while x < WIDTH:
        w = int(rng.integers(70, 170))
        top = int(horizon - rng.integers(120, 330))
        wall = np.array([0.012, 0.011, 0.014], dtype=np.float32) * rng.uniform(0.7, 1.3)
        img[top:horizon, x : x + w] = wall
        for wy in range(top + 14, horizon - 24, 26):
            for wx in range(x + 10, min(x + w - 14, WIDTH - 14), 22):
                if rng.random() < 0.22:
                    tint = WINDOW_WARM if rng.random() < 0.8 else COOL
                    img[wy : wy + 14, wx : wx + 10] = tint * rng.uniform(0.25, 0.7)
        x += w + int(rng.integers(0, 12))

    # Street and pavement below the horizon: dark asphalt, a lighter kerb line.
    img[horizon:] = np.array([0.02, 0.02, 0.022], dtype=np.float32)
    kerb = horizon + int((HEIGHT - horizon) * 0.18)
    img[kerb : kerb + 3] = 0.06

    # Street lamps: poles, heads, a soft glow around each and a light pool on the ground.
    for lx in (150, 430, 720, 960):
        head_y = horizon - 150 + int(rng.integers(-10, 10))
        img[head_y:kerb, lx - 2 : lx + 2] = 0.015
        img += _glow(yy, xx, lx, head_y, 9.0, 2.5)[..., None] * WARM
        img += _glow(yy, xx, lx, head_y, 60.0, 0.07)[..., None] * WARM
        pool = np.exp(-(((xx - lx) / 120.0) ** 2 + ((yy - kerb - 40) / 35.0) ** 2))
        img += (0.12 * pool)[..., None] * WARM
        # Wet road: a stretched, dimmer reflection below the lamp.
        streak = np.exp(-(((xx - lx) / 10.0) ** 2)) * (yy > kerb + 10) * np.exp(-(yy - kerb) / 90.0)
        img += (0.25 * streak)[..., None] * WARM

    # A car's tail lights far down the street.
    for cx in (560.0, 590.0):
        img += _glow(yy, xx, cx, kerb + 25, 3.0, 0.9)[..., None] * np.array([1.0, 0.1, 0.08])
    return np.clip(img, 0.0, None)


def underexpose(radiance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Darken about 5 stops and add the sensor noise that the network has to remove."""
    dark = radiance * (1.0 / 30.0)
    photons = 6000.0  # full-well-ish scale: fewer photons means more shot noise
    shot = rng.poisson(np.clip(dark, 0.0, 1.0) * photons) / photons
    read = rng.normal(0.0, 0.0025, size=dark.shape)
    chroma = rng.normal(0.0, 0.0015, size=(*dark.shape[:2], 1)) * np.array([1.0, -0.6, 0.8])
    noisy = np.clip(shot + read + chroma, 0.0, 1.0)
    # sRGB encode: the JPEG holds display values, as a phone would write them.
    encoded = np.where(noisy <= 0.0031308, 12.92 * noisy, 1.055 * noisy ** (1 / 2.4) - 0.055)
    return np.clip(encoded, 0.0, 1.0)


def main() -> Path:
    rng = np.random.default_rng(SEED)
    pixels = underexpose(draw_scene(rng), rng)
    out = Path(__file__).resolve().parent / "night_street.jpg"
    Image.fromarray((pixels * 255.0 + 0.5).astype(np.uint8)).save(out, quality=92, subsampling=0)
    return out


if __name__ == "__main__":
    main()
