"""Zoom and pan maths shared by the compare view and the scales view; no Qt.

Positions are in *scene* pixels: pixels of the input photo (x1). A result at scale s covers the
same scene, with s output pixels per scene pixel. Defining the viewport in scene pixels is what
keeps x1, x2 and x4 panes on the same region with one shared object, and lets the compare view
keep its region when the scale changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_ZOOM = 0.01
MAX_ZOOM = 64.0


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def scaled(self, factor: float) -> Rect:
        return Rect(self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor)


@dataclass(frozen=True)
class Viewport:
    """cx, cy: scene point at the centre of the widget; zoom: screen pixels per scene pixel."""

    cx: float
    cy: float
    zoom: float


@dataclass(frozen=True)
class Placement:
    """Where the visible part of the image goes: `source` (scene px) is drawn into `target`
    (integer widget px), so renders are made at exactly target size and never resampled twice."""

    source: Rect
    target: tuple[int, int, int, int]  # x, y, width, height in widget pixels


def fit(scene_w: float, scene_h: float, view_w: int, view_h: int) -> Viewport:
    """Whole image visible and centred."""
    if scene_w <= 0 or scene_h <= 0 or view_w <= 0 or view_h <= 0:
        return Viewport(scene_w / 2, scene_h / 2, 1.0)
    zoom = min(view_w / scene_w, view_h / scene_h)
    return Viewport(scene_w / 2, scene_h / 2, _clamp_zoom(zoom))


def visible_rect(vp: Viewport, view_w: int, view_h: int) -> Rect:
    half_w = view_w / (2 * vp.zoom)
    half_h = view_h / (2 * vp.zoom)
    return Rect(vp.cx - half_w, vp.cy - half_h, vp.cx + half_w, vp.cy + half_h)


def view_to_scene(
    vp: Viewport, view_w: int, view_h: int, x: float, y: float
) -> tuple[float, float]:
    return vp.cx + (x - view_w / 2) / vp.zoom, vp.cy + (y - view_h / 2) / vp.zoom


def scene_to_view(
    vp: Viewport, view_w: int, view_h: int, x: float, y: float
) -> tuple[float, float]:
    return (x - vp.cx) * vp.zoom + view_w / 2, (y - vp.cy) * vp.zoom + view_h / 2


def zoom_about(
    vp: Viewport, factor: float, anchor_x: float, anchor_y: float, view_w: int, view_h: int
) -> Viewport:
    """Zoom by `factor`, keeping the scene point under the anchor (the mouse) where it is."""
    new_zoom = _clamp_zoom(vp.zoom * factor)
    sx, sy = view_to_scene(vp, view_w, view_h, anchor_x, anchor_y)
    cx = sx - (anchor_x - view_w / 2) / new_zoom
    cy = sy - (anchor_y - view_h / 2) / new_zoom
    return Viewport(cx, cy, new_zoom)


def with_zoom(vp: Viewport, zoom: float) -> Viewport:
    """Zoom about the centre of the widget."""
    return Viewport(vp.cx, vp.cy, _clamp_zoom(zoom))


def pan_by(vp: Viewport, dx: float, dy: float) -> Viewport:
    """Move the image by (dx, dy) widget pixels (a drag to the right shows more of the left)."""
    return Viewport(vp.cx - dx / vp.zoom, vp.cy - dy / vp.zoom, vp.zoom)


def clamp(vp: Viewport, scene_w: float, scene_h: float) -> Viewport:
    """Keep the centre on the image, so a drag can never lose the photo off-screen."""
    return Viewport(min(max(vp.cx, 0.0), scene_w), min(max(vp.cy, 0.0), scene_h), vp.zoom)


def placement(
    vp: Viewport, scene_w: float, scene_h: float, view_w: int, view_h: int
) -> Placement | None:
    """The visible part of the image, snapped to whole widget pixels; None if nothing shows."""
    if view_w <= 0 or view_h <= 0:
        return None
    tx0, ty0 = scene_to_view(vp, view_w, view_h, 0.0, 0.0)
    tx1, ty1 = scene_to_view(vp, view_w, view_h, scene_w, scene_h)
    x0 = max(0, math.floor(tx0 + 0.5))
    y0 = max(0, math.floor(ty0 + 0.5))
    x1 = min(view_w, math.floor(tx1 + 0.5))
    y1 = min(view_h, math.floor(ty1 + 0.5))
    if x1 <= x0 or y1 <= y0:
        return None
    # The source rectangle is recomputed from the snapped target, so the mapping stays exact.
    sx0, sy0 = view_to_scene(vp, view_w, view_h, x0, y0)
    sx1, sy1 = view_to_scene(vp, view_w, view_h, x1, y1)
    source = Rect(max(0.0, sx0), max(0.0, sy0), min(scene_w, sx1), min(scene_h, sy1))
    return Placement(source, (x0, y0, x1 - x0, y1 - y0))


def _clamp_zoom(zoom: float) -> float:
    return min(max(zoom, MIN_ZOOM), MAX_ZOOM)
