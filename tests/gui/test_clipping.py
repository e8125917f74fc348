"""Clipping warnings: the overlay on a made image with known clipped pixels, and the J toggle."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.views.clipping import (
    HIGHLIGHT_COLOUR,
    SHADOW_COLOUR,
    clipped_counts,
    clipping_masks,
    clipping_overlay,
)

WAIT_MS = 10_000


def made_image() -> np.ndarray:
    """10 x 12 mid grey with 7 highlight pixels (one channel or all at 255) and 5 black ones."""
    image = np.full((10, 12, 3), 128, dtype=np.uint8)
    image[0, 0] = (255, 255, 255)
    image[0, 1] = (255, 10, 10)  # only red blown: still clipped
    image[1, 2] = (10, 255, 10)
    image[2, 3] = (10, 10, 255)
    image[9, 9:12] = (254, 255, 0)  # green at 255 (blue at 0 too, but not all channels)
    image[5, 5:10] = 0  # five black pixels
    image[6, 6] = (0, 0, 1)  # nearly black: not clipped
    image[7, 7] = (254, 254, 254)  # nearly white: not clipped
    return image


def test_masks_and_counts_are_exact():
    image = made_image()
    highlights, shadows = clipping_masks(image)
    assert clipped_counts(image) == (7, 5)
    assert highlights.sum() == 7 and shadows.sum() == 5
    assert highlights[0, 1] and highlights[9, 11] and not highlights[7, 7]
    assert shadows[5, 5] and not shadows[6, 6] and not shadows[9, 9]


def test_overlay_paints_only_the_clipped_pixels():
    image = made_image()
    before = image.copy()
    out = clipping_overlay(image)
    assert np.array_equal(image, before)  # a copy: the cached render is not touched
    red = np.all(out == HIGHLIGHT_COLOUR, axis=2)
    blue = np.all(out == SHADOW_COLOUR, axis=2)
    assert red.sum() == 7 and blue.sum() == 5
    untouched = ~(red | blue)
    assert np.array_equal(out[untouched], image[untouched])
    assert untouched.sum() == 10 * 12 - 12


def test_overlay_matches_the_masks_on_a_random_image():
    rng = np.random.default_rng(3)
    image = rng.choice(np.array([0, 1, 128, 254, 255], np.uint8), size=(40, 50, 3))
    highlights, shadows = clipping_masks(image)
    expected = image.copy()
    expected[highlights] = HIGHLIGHT_COLOUR
    expected[shadows] = SHADOW_COLOUR
    assert np.array_equal(clipping_overlay(image), expected)
    assert np.array_equal(clipping_overlay(image[:, ::2]), expected[:, ::2])  # a strided view


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        clipping_overlay(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        clipping_overlay(np.zeros((4, 4, 3), np.float32))


def test_j_toggles_the_overlay_on_the_preview(qtbot, window, tmp_path):
    from PIL import Image

    # The fake engine brightens x4: the left third (0.3) blows out, the black block stays 0.
    rgb = np.full((30, 45, 3), 0.1, dtype=np.float32)
    rgb[:, :15] = 0.3
    rgb[20:, 30:] = 0.0
    path = tmp_path / "lamp.png"
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(path)
    window.open_paths([path])
    view = window.compare_view
    qtbot.waitUntil(lambda: view.photo is not None and 2 in view.photo.results, timeout=WAIT_MS)
    view.set_mode("after")
    view.repaint()
    shown = view.last_result
    highs, shadows = clipped_counts(shown)
    assert highs > 0 and shadows > 0
    plain = view._after[1].toImage()

    qtbot.keyClick(view, Qt.Key.Key_J)
    assert window.develop_actions.clipping_action.isChecked() and view.clipping
    assert window.scales_view.panes[4].clipping
    view.repaint()
    marked = view._after[1].toImage()
    assert marked != plain
    # Count red pixels on the painted pixmap: exactly the clipped ones of the render.
    from app.views.qimage import rgb8_from_qimage

    pixels = rgb8_from_qimage(marked)
    assert np.all(pixels == HIGHLIGHT_COLOUR, axis=2).sum() == highs
    assert np.all(pixels == SHADOW_COLOUR, axis=2).sum() == shadows
    qtbot.keyClick(view, Qt.Key.Key_J)
    assert not view.clipping
