"""The slider maths: identities, directions, ranges, and strip/region consistency."""

from __future__ import annotations

import numpy as np
import pytest

from app.develop.adjustments import (
    SLIDERS,
    Adjustments,
    apply_adjustments,
    box_blur,
    exposure_gain,
    luminance,
    smooth,
    tone_ratio,
)


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.05, 0.95, size=(24, 32, 3)).astype(np.float32)


def test_defaults_leave_the_output_untouched(image):
    out = apply_adjustments(image, image * 0.5, Adjustments(), blur_radius=2.0)
    assert Adjustments().is_identity()
    np.testing.assert_allclose(out, image, atol=1e-6)
    assert out is not image  # the cached result must never be modified in place


def test_strength_blends_with_the_matched_input(image):
    matched = np.full_like(image, 0.2)
    half = apply_adjustments(image, matched, Adjustments(strength=0.5), blur_radius=0)
    zero = apply_adjustments(image, matched, Adjustments(strength=0.0), blur_radius=0)
    np.testing.assert_allclose(zero, matched, atol=1e-6)
    np.testing.assert_allclose(half, 0.5 * image + 0.5 * matched, atol=1e-6)


def test_exposure_is_monotonic_and_one_stop_roughly_doubles_linear_light_of_dark_tones(image):
    dark = image * 0.05
    up = apply_adjustments(dark, dark, Adjustments(exposure=1.0), blur_radius=0)
    down = apply_adjustments(dark, dark, Adjustments(exposure=-1.0), blur_radius=0)
    assert np.all(up >= dark - 1e-6) and np.all(down <= dark + 1e-6)
    ratio = np.mean(up**2.2) / np.mean(dark**2.2)
    assert 1.85 < ratio < 2.05


@pytest.mark.parametrize("ev", [-3.0, -1.0, 1.0, 3.0])
def test_exposure_never_clips_what_the_network_kept_and_keeps_hue(image, ev):
    """Issue 14: brighter or darker, nothing below 250/255 reaches it (a plain gain of 3 EV
    clipped most of this image)."""
    kept = image.max(axis=2) < 250 / 255
    out = apply_adjustments(image, image, Adjustments(exposure=ev), blur_radius=0)
    assert np.all(out.max(axis=2)[kept] < 250 / 255)
    ratios_in = image / image.sum(axis=2, keepdims=True)
    ratios_out = out / out.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(ratios_out, ratios_in, atol=1e-5)
    brighter = np.all(out >= image - 1e-6) if ev > 0 else np.all(out <= image + 1e-6)
    assert brighter


def test_exposure_is_the_core_curve_so_preview_and_cli_agree(image):
    from ultrais_core.tone import exposure_curve

    out = apply_adjustments(image, image, Adjustments(exposure=1.3), blur_radius=0)
    np.testing.assert_allclose(out, np.clip(exposure_curve(image, 1.3), 0, 1), atol=1e-7)


def test_shadows_lift_dark_tones_more_than_bright_ones():
    lum = np.linspace(0, 1, 11, dtype=np.float32)
    ratio = tone_ratio(lum, shadows=1.0, highlights=0.0)
    assert ratio[1] > ratio[5] > ratio[9] >= 1.0


@pytest.mark.parametrize("shadows", [-1.0, 1.0])
@pytest.mark.parametrize("highlights", [-1.0, 1.0])
def test_tone_curve_never_inverts_tones(shadows, highlights):
    lum = np.linspace(0, 1, 1001, dtype=np.float32)
    out = lum * tone_ratio(lum, shadows, highlights)
    assert np.all(np.diff(out) >= -1e-6)
    assert np.all(out >= 0)


def test_highlights_minus_darkens_bright_tones():
    lum = np.array([0.1, 0.9], dtype=np.float32)
    ratio = tone_ratio(lum, 0.0, -1.0)
    assert ratio[1] < ratio[0] <= 1.0


def test_saturation_zero_gives_grey_and_keeps_luminance(image):
    grey = apply_adjustments(image, image, Adjustments(saturation=0.0), blur_radius=0)
    np.testing.assert_allclose(grey[..., 0], grey[..., 1], atol=1e-6)
    np.testing.assert_allclose(luminance(grey), luminance(image), atol=1e-5)


def test_detail_minus_one_is_the_smoothed_image_and_reduces_noise():
    rng = np.random.default_rng(1)
    noisy = np.clip(0.5 + rng.normal(0, 0.1, (64, 64, 3)), 0, 1).astype(np.float32)
    smoothed = apply_adjustments(noisy, noisy, Adjustments(detail=-1.0), blur_radius=2)
    np.testing.assert_allclose(smoothed, np.clip(smooth(noisy, 2), 0, 1), atol=1e-5)
    assert smoothed.std() < noisy.std() / 2
    sharper = apply_adjustments(noisy, noisy, Adjustments(detail=1.0), blur_radius=2)
    assert sharper.std() > noisy.std()


def test_detail_is_skipped_below_half_a_pixel(image):
    out = apply_adjustments(image, image, Adjustments(detail=-1.0), blur_radius=0.3)
    np.testing.assert_allclose(out, image, atol=1e-6)


def test_box_blur_keeps_constants_and_means():
    flat = np.full((10, 13, 3), 0.25, dtype=np.float32)
    np.testing.assert_allclose(box_blur(flat, 3), flat, atol=1e-6)
    rng = np.random.default_rng(2)
    img = rng.random((20, 20, 3)).astype(np.float32)
    blurred = box_blur(img, 2)
    assert blurred.shape == img.shape and blurred.dtype == np.float32
    # Interior pixel equals the mean of its 5x5 window.
    np.testing.assert_allclose(blurred[10, 10], img[8:13, 8:13].mean(axis=(0, 1)), atol=1e-6)


def test_output_is_always_in_range(image):
    extreme = Adjustments(strength=1, exposure=3, shadows=1, highlights=1, saturation=2, detail=1)
    out = apply_adjustments(image, image, extreme, blur_radius=2)
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.dtype == np.float32


def test_exposure_gain_matches_mean_light():
    rng = np.random.default_rng(3)
    bright = rng.uniform(0.2, 0.8, (50, 60, 3)).astype(np.float32)
    dark = bright / 4.0
    gain = exposure_gain(dark, bright)
    assert gain == pytest.approx(4.0, rel=0.05)
    assert exposure_gain(np.zeros_like(bright), bright) == 1.0  # black frame: no infinite gain


def test_with_value_clamps_and_from_dict_tolerates_junk():
    adj = Adjustments().with_value("exposure", 99)
    assert adj.exposure == 3.0
    restored = Adjustments.from_dict({"saturation": 1.5, "detail": "x", "nope": 1, "shadows": True})
    assert restored == Adjustments(saturation=1.5)
    assert {s.name for s in SLIDERS} == set(Adjustments().as_dict())
