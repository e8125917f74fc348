"""Synthetic night scenes: the capture is dark and noisy, the target never clips, keeps colour,
keeps shadows below lit parts, and a crop is lit exactly like the same part of the photo."""

from __future__ import annotations

import numpy as np
import pytest

from ultrais_core.training.degrade import LUMA_WEIGHTS, srgb_to_linear
from ultrais_core.training.night import (
    WHITE_LEVEL,
    LightPool,
    NightScene,
    capture_night,
    night_radiance,
    sample_night_scene,
    synthesize_night_pair,
    tone_map_night,
)


def _textured(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.8, size=(size // 8, size // 8, 3)).astype(np.float32)
    return np.kron(base, np.ones((8, 8, 1), dtype=np.float32))


def _scene(**overrides: object) -> NightScene:
    scene = sample_night_scene(np.random.default_rng(5))
    return NightScene(**{**scene.__dict__, **overrides})


@pytest.mark.parametrize("seed", range(6))
def test_pair_shapes_ranges_and_no_clipping_in_the_target(seed: int) -> None:
    rng = np.random.default_rng(seed)
    clean = _textured(128, seed)
    low, high = synthesize_night_pair(clean, 2, sample_night_scene(rng), rng)
    assert low.shape == (64, 64, 3) and high.shape == (128, 128, 3)
    assert low.dtype == np.float32 and high.dtype == np.float32
    assert low.min() >= 0.0 and low.max() <= 1.0
    assert high.max() <= WHITE_LEVEL + 1e-6


def test_same_seed_same_pair() -> None:
    clean = _textured(64)
    a = synthesize_night_pair(
        clean, 2, sample_night_scene(np.random.default_rng(1)), np.random.default_rng(2)
    )
    b = synthesize_night_pair(
        clean, 2, sample_night_scene(np.random.default_rng(1)), np.random.default_rng(2)
    )
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_a_crop_is_lit_like_the_same_part_of_the_whole_photo() -> None:
    photo = srgb_to_linear(_textured(128))
    scene = _scene()
    whole = night_radiance(photo, scene, aspect=1.0)
    crop = night_radiance(photo[32:96, 64:128], scene, region=(0.25, 0.5, 0.5, 0.5), aspect=1.0)
    np.testing.assert_allclose(crop, whole[32:96, 64:128], rtol=1e-4, atol=1e-6)


def test_lit_parts_keep_their_colour_and_shadows_stay_darker() -> None:
    """A sodium pool on a grey wall: the target keeps it orange (not bleached to white), and
    the unlit corner stays well below the lit centre."""
    grey = np.full((96, 96, 3), 0.5, dtype=np.float32)
    sodium = (1.0, 0.55, 0.18)
    scene = _scene(
        pools=(LightPool(centre=(0.5, 0.5), radii=(0.1, 0.1), level=3.0, colour=sodium),),
        windows=(),
        emitters=(),
        sky_darkening=1.0,
        ambient=0.002,
    )
    radiance = night_radiance(srgb_to_linear(grey), scene)
    target = tone_map_night(radiance, scene)
    centre, corner = target[48, 48], target[2, 2]
    assert centre.max() <= WHITE_LEVEL
    assert centre[0] > centre[2] + 0.3, f"lit wall lost its colour: {centre}"
    assert float(corner @ LUMA_WEIGHTS) < 0.5 * float(centre @ LUMA_WEIGHTS)
    assert float(corner @ LUMA_WEIGHTS) > 0.02, "shadows must be lifted enough to read"


def test_capture_is_dark_noisy_and_correlated() -> None:
    """Flat grey at a low level: the capture's noise is visible and spatially correlated
    (neighbouring pixels share it, as after demosaicing and chroma noise reduction)."""
    rng = np.random.default_rng(0)
    radiance = np.full((128, 128, 3), 0.02, dtype=np.float32)
    scene = _scene(jpeg_quality=None, electrons=300.0, read_sigma=0.004)
    low = capture_night(radiance, 1, scene, rng)
    assert low.mean() < 0.25
    noise = low - low.mean(axis=(0, 1))
    assert noise.std() > 0.005
    right = noise[:, 1:] * noise[:, :-1]
    correlation = right.mean() / noise.var()
    assert correlation > 0.2
