"""The histogram: exact counts of a made image, the strided sample, the widget and the window."""

from __future__ import annotations

import numpy as np
import pytest

from app.develop.histogram import BINS, HistogramWidget, compute_histogram, sample_step

WAIT_MS = 10_000


def test_counts_of_a_made_image_are_exact():
    image = np.zeros((4, 5, 3), dtype=np.uint8)
    image[0, :] = (255, 0, 0)  # 5 pure red
    image[1, :] = (0, 255, 0)  # 5 pure green
    image[2, :2] = (10, 20, 30)  # 2
    image[2, 2:] = (200, 200, 200)  # 3 grey
    image[3, :] = (0, 0, 255)  # 5 pure blue
    h = compute_histogram(image)
    assert h.samples == 20
    for counts in h.channels():
        assert counts.shape == (BINS,) and counts.sum() == 20
    assert h.red[255] == 5 and h.red[0] == 10 and h.red[10] == 2 and h.red[200] == 3
    assert h.green[255] == 5 and h.green[20] == 2 and h.green[0] == 10
    assert h.blue[255] == 5 and h.blue[30] == 2 and h.blue[200] == 3
    # Luma: Rec. 709 on the codes, rounded: red 54, green 182, blue 18, grey 200, (10,20,30) 19.
    expected = {54: 5, 182: 5, 18: 5, 200: 3, 19: 2}
    assert {int(i): int(c) for i, c in enumerate(h.luma) if c} == expected


def test_a_large_image_is_sampled_with_a_stride():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1000, 1500, 3), dtype=np.uint8)
    step = sample_step(1000, 1500, 65_536)
    assert step == 5
    h = compute_histogram(image, max_samples=65_536)
    sample = image[::5, ::5]
    assert h.samples == sample.shape[0] * sample.shape[1] == 200 * 300
    assert np.array_equal(h.green, np.bincount(sample[..., 1].ravel(), minlength=256))


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        compute_histogram(np.zeros((4, 4), np.uint8))


def test_widget_paints_with_and_without_data(qtbot):
    widget = HistogramWidget()
    qtbot.addWidget(widget)
    widget.resize(220, 84)
    widget.show()
    widget.repaint()  # "No result yet"
    widget.set_image(np.full((8, 8, 3), 255, dtype=np.uint8))  # only the end bin: no crash
    widget.repaint()
    image = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    widget.set_image(image)
    widget.repaint()
    assert widget.histogram is not None and widget.histogram.samples == 1200
    grabbed = widget.grab().toImage()
    assert grabbed.width() == 220


def test_the_window_histogram_follows_the_result_and_the_sliders(qtbot, window, photo_files):
    window.open_paths([photo_files[0]])
    view = window.compare_view
    qtbot.waitUntil(lambda: view.photo is not None and 2 in view.photo.results, timeout=WAIT_MS)
    histogram = window.controls.histogram
    qtbot.waitUntil(lambda: histogram.histogram is not None, timeout=WAIT_MS)
    shown = view.last_result
    assert np.array_equal(histogram.histogram.red, compute_histogram(shown).red)
    dark_mean = float(np.average(np.arange(BINS), weights=histogram.histogram.luma))

    window.controls.rows["exposure"].slider.setValue(200)
    view.repaint()
    bright = histogram.histogram
    assert bright is not None
    assert float(np.average(np.arange(BINS), weights=bright.luma)) > dark_mean + 10

    window._apply_view_mode("scales")  # follows the pane of the photo's scale
    window.scales_view.panes[2].repaint()
    pane_result = window.scales_view.panes[2].last_result
    assert pane_result is not None
    assert np.array_equal(histogram.histogram.luma, compute_histogram(pane_result).luma)


def test_painting_makes_few_calls_into_qt(qtbot):
    """PySide6 6.12 on Python 3.11 drops a reference to None on each call of a method that
    returns nothing; a curve drawn point by point (1,024 calls a paint) crashed the app within
    a few dozen slider moves. Whatever the binding, a paint must stay a handful of calls."""
    import sys

    widget = HistogramWidget()
    qtbot.addWidget(widget)
    widget.resize(220, 84)
    widget.show()
    image = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    widget.set_image(image)
    widget.repaint()
    before = sys.getrefcount(None)
    for _ in range(20):
        widget.repaint()
    assert abs(sys.getrefcount(None) - before) / 20 < 60
