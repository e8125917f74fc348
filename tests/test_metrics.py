"""Image quality metrics against values known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.color import lab2rgb

from ultrais_core.errors import UltraISError
from ultrais_core.metrics import all_metrics, ciede2000, psnr, ssim


def photo(h: int = 24, w: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.8, size=(h, w, 3)).astype(np.float32)


def test_identical_images():
    x = photo()
    assert psnr(x, x) == math.inf
    assert ssim(x, x) == pytest.approx(1.0)
    assert ciede2000(x, x) == pytest.approx(0.0, abs=1e-9)
    assert all_metrics(x, x)["psnr"] == math.inf


@pytest.mark.parametrize(("offset", "expected"), [(0.1, 20.0), (0.01, 40.0), (0.5, 6.0206)])
def test_psnr_of_a_constant_offset(offset, expected):
    x = np.full((8, 8, 3), 0.25, np.float32)
    assert psnr(x + offset, x) == pytest.approx(expected, abs=1e-3)


def test_values_are_clipped_to_the_display_range():
    x = np.full((8, 8, 3), 1.0, np.float32)
    assert psnr(x + 0.3, x) == math.inf


def test_ssim_drops_with_noise_and_is_symmetric():
    x = photo(32, 32)
    rng = np.random.default_rng(1)
    light = np.clip(x + rng.normal(0, 0.02, x.shape), 0, 1)
    heavy = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1)
    assert 1.0 > ssim(light, x) > ssim(heavy, x)
    assert ssim(light, x) == pytest.approx(ssim(x, light))


def test_ssim_on_images_smaller_than_the_window():
    x = photo(5, 9)
    assert ssim(x, x) == pytest.approx(1.0)
    assert ssim(x, 1 - x) < 0.9


def test_ciede2000_of_pure_lightness_steps():
    """Around L = 50 CIEDE2000's lightness weight is 1, so greys 20 L apart differ by exactly 20."""
    grey40 = lab2rgb(np.array([[[40.0, 0.0, 0.0]]])) * np.ones((4, 4, 3))
    grey60 = lab2rgb(np.array([[[60.0, 0.0, 0.0]]])) * np.ones((4, 4, 3))
    assert ciede2000(grey40, grey60) == pytest.approx(20.0, abs=0.05)
    black, white = np.zeros((2, 2, 3)), np.ones((2, 2, 3))
    assert ciede2000(black, white) == pytest.approx(100.0, abs=0.05)


def test_shape_mismatch_is_an_error():
    with pytest.raises(UltraISError):
        psnr(photo(8, 8), photo(8, 9))
    with pytest.raises(UltraISError):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
