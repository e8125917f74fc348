"""Compare view: the split line moves, both sides follow zoom and pan, Space flips."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.develop.adjustments import Adjustments
from app.views.compare_view import CompareView


@pytest.fixture
def view(qtbot, loaded_photo):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_photo(loaded_photo())
    view.set_scale(2)
    view.repaint()
    return view


def test_split_line_follows_a_drag(qtbot, view):
    start = QPoint(view.split_x(), 150)
    with qtbot.waitSignal(view.split_changed, timeout=2000):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view, QPoint(100, 150))
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 150))
    assert view.split == pytest.approx(100 / 400)
    # A drag on the line moved the line, not the image.
    assert view.is_fitted


def test_both_sides_follow_zoom_and_pan(qtbot, view, wheel):
    fitted = dict(view.last_regions)
    assert fitted["before"] == fitted["after"]

    wheel(view, QPointF(300, 100), 2)
    view.repaint()
    zoomed = dict(view.last_regions)
    assert zoomed["before"] == zoomed["after"]
    assert zoomed["after"].width < fitted["after"].width  # zoomed in

    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 200))
    qtbot.mouseMove(view, QPoint(330, 180))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(330, 180))
    view.repaint()
    panned = dict(view.last_regions)
    assert panned["before"] == panned["after"]
    assert panned["after"] != zoomed["after"]
    assert panned["after"].width == pytest.approx(zoomed["after"].width)


def test_actual_pixels_is_one_screen_pixel_per_output_pixel(view):
    view.actual_pixels()
    assert view.viewport.zoom == 2.0  # scene (input) pixels at x2
    assert view.relative_zoom() == pytest.approx(1.0)
    view.fit()
    assert view.is_fitted


def test_space_flip_goes_to_before_and_back(view):
    view.set_mode("after")
    view.toggle_before()
    assert view.mode == "before"
    view.toggle_before()
    assert view.mode == "after"


def test_sliders_change_only_the_after_side(view):
    view.repaint()
    before_key = view._before[0]
    after_key = view._after[0]
    view.set_adjustments(Adjustments(exposure=1.0))
    view.repaint()
    assert view._before[0] == before_key
    assert view._after[0] != after_key


def test_missing_result_shows_status_over_the_original(qtbot, view):
    view.set_scale(4)  # no x4 result in this photo
    view.set_status("Enhancing at x4… 50 %")
    image = view.grab().toImage()
    assert view._after is None or view._after[0][1] != id(None)
    assert not image.isNull()
