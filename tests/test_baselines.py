"""Baselines: bicubic enlargement and the classical brighten-denoise-CLAHE-Lanczos pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from ultrais_core.baselines import (
    auto_expose,
    bicubic,
    clahe_lab,
    clahe_tiles,
    classical,
    denoise,
    estimate_noise_sigma,
    exposure_gamma,
)
from ultrais_core.errors import UltraISError
from ultrais_core.training.degrade import luminance


def dark_scene(h: int = 48, w: int = 64, seed: int = 0, noise: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.05 + 0.04 * np.sin(xx / 5)[..., None] * np.array([1.0, 0.8, 0.6], np.float32)
    base = base + 0.03 * (yy > h / 2)[..., None]
    return np.clip(base + rng.normal(0, noise, (h, w, 3)), 0, 1).astype(np.float32)


def test_bicubic_shape_and_constant_image():
    flat = np.full((10, 7, 3), 0.3, np.float32)
    out = bicubic(flat, 3)
    assert out.shape == (30, 21, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.3, atol=1e-5)


def test_classical_brightens_a_dark_image():
    low = dark_scene()
    out = classical(low, 2)
    assert out.shape == (96, 128, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert luminance(low).mean() < 0.1
    assert luminance(out).mean() > 0.3


def test_exposure_gamma_reaches_the_target_mean():
    low = dark_scene()
    for target in (0.3, 0.45, 0.6):
        brightened = auto_expose(low, target)
        assert luminance(brightened).mean() == pytest.approx(target, abs=0.005)
    bright = np.full((8, 8, 3), 0.9, np.float32)
    assert exposure_gamma(bright, 0.45) > 1.0
    assert exposure_gamma(np.zeros((4, 4, 3), np.float32)) == 1.0


def test_noise_estimate_and_denoising():
    rng = np.random.default_rng(0)
    noisy = 128.0 + rng.normal(0, 10.0, (96, 96))
    assert estimate_noise_sigma(noisy) == pytest.approx(10.0, rel=0.1)
    assert estimate_noise_sigma(np.full((20, 20), 50.0)) == 0.0
    img = np.clip(0.5 + rng.normal(0, 0.06, (64, 64, 3)), 0, 1).astype(np.float32)
    cleaned = denoise(img)
    assert cleaned.std() < 0.5 * img.std()


def test_classical_keeps_a_grey_scene_grey():
    grey = np.repeat(dark_scene()[..., :1], 3, axis=2)
    out = classical(grey, 1)
    assert np.abs(out - out.mean(axis=2, keepdims=True)).max() < 0.02


def test_clahe_raises_local_contrast_and_tiles_follow_size():
    low_contrast = 0.45 + 0.05 * np.sin(np.arange(64) / 3)[None, :, None] * np.ones((64, 1, 3))
    out = clahe_lab(low_contrast.astype(np.float32), 2.0, 2)
    assert out.std() > 1.5 * low_contrast.std()
    assert clahe_tiles(128, 128) == 2
    assert clahe_tiles(512, 700) == 8
    assert clahe_tiles(20, 20) == 2


def test_bad_input_is_rejected():
    with pytest.raises(UltraISError):
        classical(np.zeros((8, 8), np.float32), 2)
    with pytest.raises(UltraISError):
        bicubic(np.zeros((8, 8, 3), np.float32), 0)
