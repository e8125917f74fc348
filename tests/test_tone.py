"""The exposure curve: identity at 0, monotone, never clips what was kept, keeps hue."""

from __future__ import annotations

import numpy as np
import pytest

from ultrais_core.tone import KNEE, apply_exposure, exposure_curve, exposure_factor

CLIP = 250 / 255


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.uniform(0.0, 1.0, (40, 50, 3)).astype(np.float32)
    img[0, :3] = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [KNEE, 0.2, 0.1]]
    return img


def test_zero_ev_is_the_identity_and_a_copy(image):
    out = exposure_curve(image, 0.0)
    np.testing.assert_array_equal(out, image)
    assert out is not image


@pytest.mark.parametrize("ev", [-3.0, -1.0, -0.25, 0.5, 1.0, 3.0])
def test_monotone_in_the_largest_channel(ev):
    levels = np.linspace(0.0, 1.0, 2001, dtype=np.float32)
    curved = levels * exposure_factor(levels, ev)
    assert np.all(np.diff(curved) >= 0)
    below = levels < KNEE
    assert np.all(curved[below] < KNEE) and np.all(curved[~below] == levels[~below])


@pytest.mark.parametrize("ev", np.linspace(-3.0, 3.0, 13))
def test_nothing_below_250_of_255_ends_at_or_above_it(image, ev):
    kept = image.max(axis=2) < CLIP
    out = exposure_curve(image, float(ev))
    assert np.all(out.max(axis=2)[kept] < CLIP)
    assert np.all(out >= 0)


@pytest.mark.parametrize("ev", [-2.0, 1.5])
def test_hue_and_channel_ratios_are_kept(image, ev):
    out = exposure_curve(image, ev)
    keep = image.min(axis=2) > 0.05
    ratios_in = image[keep] / image[keep].sum(axis=1, keepdims=True)
    ratios_out = out[keep] / out[keep].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ratios_out, ratios_in, atol=1e-5)


def test_one_stop_roughly_doubles_linear_light_of_dark_pixels():
    dark = np.linspace(0.005, 0.05, 100, dtype=np.float32).reshape(10, 10, 1) * [1.0, 0.8, 0.6]
    up = exposure_curve(dark.astype(np.float32), 1.0)
    down = exposure_curve(dark.astype(np.float32), -1.0)
    assert 1.85 < np.mean(up**2.2) / np.mean(dark**2.2) < 2.05
    assert 0.48 < np.mean(down**2.2) / np.mean(dark**2.2) < 0.56


def test_in_place_update_and_other_layouts(image):
    expected = exposure_curve(image, 1.0)
    work = image.copy()
    assert exposure_curve(work, 1.0, out=work) is work
    np.testing.assert_array_equal(work, expected)
    grey = image[..., 1]
    np.testing.assert_allclose(
        apply_exposure(grey, 1.0), exposure_curve(np.repeat(grey[..., None], 3, 2), 1.0)[..., 0]
    )
    rgba = np.dstack([image, np.full(image.shape[:2], 0.5, np.float32)])
    curved = apply_exposure(rgba, 1.0)
    np.testing.assert_array_equal(curved[..., :3], expected)
    assert np.all(curved[..., 3] == 0.5) and np.all(rgba[..., :3] == image)
    with pytest.raises(ValueError, match="RGB"):
        exposure_curve(np.zeros((3, 4)), 1.0)
