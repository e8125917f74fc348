"""Zoom/pan maths: fitting, zooming about the cursor, and pixel-exact placements."""

from __future__ import annotations

import pytest

from app.views import viewport as vpm
from app.views.viewport import Rect, Viewport


def test_fit_shows_the_whole_image_centred():
    vp = vpm.fit(400, 200, 800, 600)
    assert vp.zoom == pytest.approx(2.0)
    rect = vpm.visible_rect(vp, 800, 600)
    assert rect.x0 == pytest.approx(0) and rect.x1 == pytest.approx(400)
    assert rect.y0 < 0 < 200 < rect.y1  # letterboxed vertically


def test_zoom_about_keeps_the_point_under_the_cursor():
    vp = Viewport(100, 80, 1.0)
    anchor = (150.0, 40.0)
    before = vpm.view_to_scene(vp, 400, 300, *anchor)
    zoomed = vpm.zoom_about(vp, 2.5, *anchor, 400, 300)
    after = vpm.view_to_scene(zoomed, 400, 300, *anchor)
    assert after == pytest.approx(before)
    assert zoomed.zoom == pytest.approx(2.5)


def test_zoom_is_clamped():
    vp = vpm.zoom_about(Viewport(0, 0, 1), 1e9, 0, 0, 10, 10)
    assert vp.zoom == vpm.MAX_ZOOM


def test_pan_moves_the_image_with_the_mouse():
    vp = vpm.pan_by(Viewport(100, 100, 2.0), 20, -10)
    assert (vp.cx, vp.cy) == (90, 105)


def test_clamp_keeps_the_centre_on_the_image():
    assert vpm.clamp(Viewport(-50, 500, 1), 200, 100) == Viewport(0, 100, 1)


def test_placement_is_pixel_exact_and_clipped():
    vp = Viewport(50, 50, 4.0)
    placement = vpm.placement(vp, 100, 100, 200, 100)
    assert placement is not None
    x, y, w, h = placement.target
    assert (x, y, w, h) == (0, 0, 200, 100)
    assert placement.source == Rect(25, 37.5, 75, 62.5)
    assert vpm.placement(Viewport(1000, 1000, 1), 100, 100, 50, 50) is None
