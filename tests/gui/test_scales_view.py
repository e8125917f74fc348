"""Scales view: three panes locked to one region, labelled with size and time."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.views.scales_view import ScalesView, format_seconds


@pytest.fixture
def view(qtbot, loaded_photo):
    view = ScalesView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_photo(loaded_photo(scale=2))
    return view


def regions(view):
    for pane in view.panes.values():
        pane.repaint()
    return [pane.last_region for pane in view.panes.values()]


def test_zoom_and_pan_are_locked_across_panes(qtbot, view, wheel):
    x1 = view.panes[1]
    wheel(x1, QPointF(100, 100), 3)
    first = regions(view)
    assert first[0] == first[1] == first[2]
    x4 = view.panes[4]
    qtbot.mousePress(x4, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(x4, QPoint(60, 90))
    qtbot.mouseRelease(x4, Qt.MouseButton.LeftButton, pos=QPoint(60, 90))
    second = regions(view)
    assert second[0] == second[1] == second[2]
    assert second[0] != first[0]


def test_labels_give_pixel_size_and_time(view):
    assert view.panes[2].label() == "x2 · 160 × 120 px · 0.5 s"
    assert view.panes[4].label() == "x4 · 320 × 240 px"  # not computed yet


def test_fit_refits_all_panes(view):
    view.actual_pixels()
    assert all(not p.is_fitted for p in view.panes.values())
    assert all(p.relative_zoom() == pytest.approx(1.0) for p in view.panes.values())
    view.fit()
    assert all(p.is_fitted for p in view.panes.values())


def test_format_seconds():
    assert format_seconds(3.21) == "3.2 s"
    assert format_seconds(42) == "42 s"
    assert format_seconds(600) == "10.0 min"
