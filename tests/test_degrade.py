"""Synthetic degradation: curves, shapes, determinism, exposure and the noise model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ultrais_core.training.degrade import (
    DegradeParams,
    DegradeSample,
    add_poisson_gaussian,
    apply_degradation,
    linear_to_srgb,
    real_pair_input,
    sample_degradation,
    srgb_to_linear,
    synthesize_pair,
)

# No noise, blur, colour error or JPEG: isolates the exposure and resampling steps.
CLEAN_SETTINGS = DegradeSample(
    blur_sigma_hr=0.0,
    exposure_factor=10.0,
    wb_gains=(1.0, 1.0, 1.0),
    electrons=1e12,
    read_sigma=0.0,
    hr_noise_share=0.5,
    jpeg_quality=None,
)


def texture(h: int, w: int, seed: int = 0, low: float = 0.1, high: float = 0.9) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=(h, w, 3)).astype(np.float32)


def test_srgb_curve_known_values_and_roundtrip():
    x = np.array([0.0, 0.04045, 0.5, 1.0], dtype=np.float32)
    lin = srgb_to_linear(x)
    np.testing.assert_allclose(lin, [0.0, 0.04045 / 12.92, 0.21404, 1.0], rtol=1e-4, atol=1e-7)
    grid = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(grid)), grid, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(4, 40),
    w=st.integers(4, 40),
    scale=st.sampled_from([1, 2, 3, 4]),
    seed=st.integers(0, 2**32 - 1),
)
def test_target_is_exactly_scale_times_low(h, w, scale, seed):
    clean = texture(h, w, seed % 1000)
    low, target = synthesize_pair(clean, scale, np.random.default_rng(seed))
    assert target.shape == (low.shape[0] * scale, low.shape[1] * scale, 3)
    assert target.shape[:2] == (h - h % scale, w - w % scale)
    np.testing.assert_array_equal(target, clean[: target.shape[0], : target.shape[1]])
    assert low.dtype == np.float32 and target.dtype == np.float32
    assert low.min() >= 0.0 and low.max() <= 1.0
    # 8-bit file values (JPEG or not).
    np.testing.assert_allclose(low * 255, np.round(low * 255), atol=1e-3)


def test_same_seed_same_pair_and_different_seed_differs():
    clean = texture(32, 32)
    a, _ = synthesize_pair(clean, 2, np.random.default_rng(7))
    b, _ = synthesize_pair(clean, 2, np.random.default_rng(7))
    c, _ = synthesize_pair(clean, 2, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("factor", [8.0, 40.0, 150.0])
def test_input_darker_by_the_exposure_factor(factor):
    clean = texture(64, 64, low=0.3, high=0.9)
    settings_ = dataclasses.replace(CLEAN_SETTINGS, exposure_factor=factor)
    low = apply_degradation(clean, 2, settings_, np.random.default_rng(0))
    ratio = srgb_to_linear(clean).mean() / srgb_to_linear(low).mean()
    assert ratio == pytest.approx(factor, rel=0.05)


def test_default_draws_cover_the_documented_ranges():
    rng = np.random.default_rng(0)
    draws = [sample_degradation(rng, 4) for _ in range(400)]
    factors = np.array([d.exposure_factor for d in draws])
    assert factors.min() >= 8.0 and factors.max() <= 150.0
    # Log-uniform: the geometric mean is near sqrt(8 * 150), far below the arithmetic midpoint.
    assert np.exp(np.log(factors).mean()) == pytest.approx(np.sqrt(8 * 150), rel=0.15)
    gains = np.array([d.wb_gains for d in draws])
    np.testing.assert_allclose(gains.mean(axis=1), 1.0, atol=1e-9)
    assert gains.min() > 0.8 and gains.max() < 1.2 and gains.std() > 0.03
    sigmas = np.array([d.blur_sigma_hr for d in draws])
    assert sigmas.min() >= 0.3 * 4 and sigmas.max() <= 0.8 * 4
    jpeg = [d.jpeg_quality for d in draws if d.jpeg_quality is not None]
    assert 0.2 < len(jpeg) / len(draws) < 0.4
    assert min(jpeg) >= 70 and max(jpeg) <= 95


def test_poisson_gaussian_variance_grows_with_signal():
    rng = np.random.default_rng(0)
    electrons, read = 1000.0, 0.001
    variances = []
    for level in (0.01, 0.1):
        noisy = add_poisson_gaussian(np.full((400, 400), level, np.float32), electrons, read, rng)
        assert noisy.mean() == pytest.approx(level, rel=0.02)
        variances.append(noisy.var())
        assert noisy.var() == pytest.approx(level / electrons + read**2, rel=0.05)
    assert variances[1] > 5 * variances[0]


def test_pipeline_noise_is_signal_dependent():
    """Bright regions of the dark input are noisier (in linear light) than dark ones."""
    clean = np.full((96, 192, 3), 0.15, np.float32)
    clean[:, 96:] = 0.9
    settings_ = dataclasses.replace(CLEAN_SETTINGS, electrons=300.0, read_sigma=1e-4)
    low = srgb_to_linear(apply_degradation(clean, 2, settings_, np.random.default_rng(1)))
    dark, bright = low[4:-4, 4:40], low[4:-4, 56:-4]
    assert bright.var() > 5 * dark.var()


def test_noise_added_before_downscale_is_averaged_away():
    clean = np.full((128, 128, 3), 0.5, np.float32)
    base = dataclasses.replace(CLEAN_SETTINGS, exposure_factor=4.0, electrons=2000.0)
    only_hr = apply_degradation(
        clean, 4, dataclasses.replace(base, hr_noise_share=1.0), np.random.default_rng(0)
    )
    only_lr = apply_degradation(
        clean, 4, dataclasses.replace(base, hr_noise_share=0.0), np.random.default_rng(0)
    )
    var_hr = srgb_to_linear(only_hr).var()
    var_lr = srgb_to_linear(only_lr).var()
    # A 4x4 box average divides the variance by 16.
    assert var_hr < var_lr / 8


def test_jpeg_is_applied_when_drawn():
    # A smooth image: JPEG changes it a little; white noise would be mangled by chroma subsampling.
    ramp = np.linspace(0.4, 1.0, 64, dtype=np.float32)
    clean = np.stack(
        [
            ramp[None, :] * np.ones((64, 1)),
            ramp[:, None] * np.ones((1, 64)),
            np.full((64, 64), 0.7),
        ],
        axis=2,
    ).astype(np.float32)
    plain = apply_degradation(clean, 2, CLEAN_SETTINGS, np.random.default_rng(0))
    jpeg = apply_degradation(
        clean, 2, dataclasses.replace(CLEAN_SETTINGS, jpeg_quality=70), np.random.default_rng(0)
    )
    assert not np.array_equal(plain, jpeg)
    assert np.abs(plain - jpeg).mean() < 0.01


def test_real_pair_input_averages_in_linear_light():
    checker = np.zeros((8, 8, 3), np.float32)
    checker[::2, ::2] = 1.0
    checker[1::2, 1::2] = 1.0
    low = real_pair_input(checker, 2, quantize=False)
    assert low.shape == (4, 4, 3)
    # Half the light: sRGB 0.735, not the 0.5 that averaging encoded values would give.
    np.testing.assert_allclose(low, linear_to_srgb(np.float32(0.5)), atol=1e-5)
    flat = np.full((10, 9, 3), 0.3, np.float32)
    out = real_pair_input(flat, 3)
    assert out.shape == (3, 3, 3)
    np.testing.assert_allclose(out, np.round(0.3 * 255) / 255, atol=1e-6)


def test_bad_params_and_shapes_are_rejected():
    with pytest.raises(ValueError):
        DegradeParams(exposure_factor=(0.0, 10.0))
    with pytest.raises(ValueError):
        DegradeParams(hr_noise_share=(0.5, 1.5))
    with pytest.raises(ValueError):
        synthesize_pair(np.zeros((8, 8), np.float32), 2, np.random.default_rng(0))
