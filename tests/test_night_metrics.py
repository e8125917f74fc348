"""Reference-free night figures on made images whose answers are known."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from ultrais_core.night_metrics import (
    CLIP_LEVEL,
    NightFigures,
    hl_chroma,
    lightness_order_error,
    loe,
    mean_shift,
    mottle,
    new_clip,
    night_figures,
    summarize,
    to_input_size,
)


@pytest.fixture
def night() -> np.ndarray:
    """A dark scene with warm lit patches: most pixels near black, a few bright and coloured."""
    rng = np.random.default_rng(0)
    img = rng.uniform(0.01, 0.08, (60, 80, 3)).astype(np.float32)
    img[10:20, 10:30] = rng.uniform(0.5, 0.8, (10, 20, 1)) * np.array([1.0, 0.7, 0.35])
    img[40:50, 50:70] = rng.uniform(0.4, 0.7, (10, 20, 1)) * np.array([0.4, 0.6, 1.0])
    return img


def test_identity_output_changes_nothing(night):
    figures = night_figures(night, night.copy())
    assert figures.new_clip == 0.0
    assert figures.loe == 0.0
    assert figures.hl_chroma == pytest.approx(1.0, abs=1e-6)
    assert figures.mean_shift is None  # a dark input
    assert not figures.bright


def test_an_output_at_twice_the_size_is_judged_at_the_input_size(night):
    bigger = np.repeat(np.repeat(night, 2, axis=0), 2, axis=1)
    np.testing.assert_allclose(to_input_size(bigger, night.shape), night, atol=1e-6)
    assert night_figures(night, bigger).loe == 0.0


def test_a_gain_that_clips_gives_the_exact_percentage():
    img = np.full((10, 10, 3), 0.1, dtype=np.float32)
    img[:2] = 0.6  # 20 pixels that a gain of 2 clips
    img[5, 5] = 1.0  # clipped already: not the enhancer's fault
    out = np.clip(img * 2.0, 0.0, 1.0)
    assert new_clip(img, out) == pytest.approx(20.0)


def test_250_of_255_read_from_an_8_bit_file_counts_as_clipped():
    img = np.full((4, 4, 3), 0.2, dtype=np.float32)
    out = img.copy()
    out[0, 0, 1] = np.float32(250) / np.float32(255)
    out[0, 1, 1] = np.float32(249) / np.float32(255)
    assert CLIP_LEVEL == 250 / 255
    assert new_clip(img, out) == pytest.approx(100 / 16)


def test_a_desaturated_output_lowers_highlight_chroma(night):
    grey = (night @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32))[..., None]
    half_grey = grey + 0.5 * (night - grey)
    kept = hl_chroma(night, half_grey)
    assert kept is not None and 0.2 < kept < 0.8
    assert hl_chroma(night, np.repeat(grey, 3, axis=2)) == pytest.approx(0.0, abs=0.02)


def test_highlight_chroma_is_not_reported_for_grey_highlights():
    grey = np.repeat(np.linspace(0, 0.9, 100, dtype=np.float32).reshape(10, 10, 1), 3, axis=2)
    assert hl_chroma(grey, grey) is None
    assert hl_chroma(np.ones((4, 4, 3), np.float32), np.ones((4, 4, 3), np.float32)) is None


def test_lightness_order_error_counts_flipped_pairs():
    a = np.array([1.0, 2.0, 3.0])
    # every pixel changes its order with both others: 2 flipped relations per pixel
    assert lightness_order_error(a, a[::-1]) == 2.0
    assert lightness_order_error(a, a * 5 + 1) == 0.0  # monotone maps keep the order
    rng = np.random.default_rng(1)
    x, y = rng.random(300), rng.random(300)
    assert lightness_order_error(x, y, chunk=7) == lightness_order_error(x, y, chunk=1000)


def test_an_inverted_pair_of_halves_gives_the_known_loe():
    img = np.zeros((100, 100, 3), np.float32)
    img[:, :50], img[:, 50:] = 0.2, 0.6
    swapped = img[:, ::-1].copy()
    # sampled to 50 x 50: every pixel disagrees with the 1250 pixels of the other half
    assert loe(img, swapped) == pytest.approx(1250.0)
    assert loe(img, np.clip(img * 1.5, 0, 1)) == 0.0


def test_mean_shift_only_for_bright_inputs():
    bright = np.full((8, 8, 3), 0.5, np.float32)
    assert mean_shift(bright, bright + 0.1) == pytest.approx(0.1, abs=1e-6)
    dark = np.full((8, 8, 3), 0.1, np.float32)
    assert mean_shift(dark, dark * 3) is None


def blotches(shape: tuple[int, int], cell: int, amount: float, seed: int) -> np.ndarray:
    """Colour noise that is constant over blobs of about ``cell`` pixels (mottling)."""
    rng = np.random.default_rng(seed)
    height, width = shape
    coarse = rng.normal(0, amount, (height // cell + 1, width // cell + 1, 3)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def test_blotchy_colour_noise_raises_mottle_more_than_fine_grain():
    dark = np.full((96, 128, 3), 0.03, np.float32)
    lifted = np.full_like(dark, 0.25)
    clean = mottle(dark, lifted)
    blotchy = mottle(dark, np.clip(lifted + blotches((96, 128), 16, 0.05, 2), 0, 1))
    grain = np.random.default_rng(3).normal(0, 0.05, dark.shape).astype(np.float32)
    fine = mottle(dark, np.clip(lifted + grain, 0, 1))
    assert clean == pytest.approx(0.0, abs=1e-3)
    assert blotchy > 3 * fine > 0


def test_mottle_looks_at_the_darkest_pixels_only():
    img = np.full((64, 64, 3), 0.02, np.float32)
    img[:, 32:] = 0.6  # the bright half is not among the darkest 30 %
    out = np.clip(img * 2, 0, 1)
    noisy = out.copy()
    noisy[:, 52:] += blotches((64, 12), 8, 0.1, 4)  # 5 sigma from the dark half
    assert mottle(img, np.clip(noisy, 0, 1)) == pytest.approx(mottle(img, out), abs=1e-3)


def test_summary_splits_dark_and_bright_inputs():
    def figures(mean: float, clip: float, chroma: float | None, shift: float | None):
        return NightFigures(mean, clip, chroma, loe=10.0 * clip, mean_shift=shift, mottle=clip)

    summary = summarize(
        [
            figures(0.1, 1.0, 0.5, None),
            figures(0.2, 3.0, None, None),
            figures(0.05, 2.0, 0.9, None),
            figures(0.6, 4.0, 1.0, 0.2),
        ]
    )
    assert (summary.dark_count, summary.bright_count) == (3, 1)
    assert summary.dark_new_clip == pytest.approx(2.0)
    assert summary.dark_hl_chroma == pytest.approx(0.7)  # median of the reported ones
    assert summary.dark_loe == pytest.approx(20.0)
    assert summary.dark_mottle == pytest.approx(2.0)
    assert summary.bright_new_clip == pytest.approx(4.0)
    assert summary.bright_mean_shift == pytest.approx(0.2)
    empty = summarize([])
    assert empty.dark_count == 0 and empty.dark_loe is None and empty.bright_mean_shift is None


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="RGB"):
        new_clip(np.zeros((4, 4)), np.zeros((4, 4, 3)))
    assert math.isfinite(mottle(np.zeros((1, 1, 3)), np.zeros((3, 3, 3))))
