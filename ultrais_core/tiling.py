"""Tile plans and feathered blending: pure numpy, no torch, so they are easy to test.

A plan covers an image with tiles of (at most) `tile` pixels that overlap by `overlap` pixels.
Every tile starts on a multiple of `align` (the network's size multiple), so the network's
attention windows fall on the same pixels in a tile as in the whole photo; the last tile of a
row or column sits flush with the edge (the engine pads the photo to a multiple of `align`, so
that is aligned too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """A tile in input pixels: rows y0:y1, columns x0:x1."""

    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def _starts(length: int, tile: int, overlap: int, align: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    # Aligned starts keep tiles exact; flooring a start only adds overlap, never a gap.
    return sorted({start - start % align for start in starts})


def plan_tiles(height: int, width: int, *, tile: int, overlap: int, align: int = 1) -> list[Tile]:
    """Tiles covering height x width, row by row.

    `tile` and `overlap` are rounded to multiples of `align`; `height` and `width` should be
    multiples of `align` too (the engine pads), or the last tile may not be aligned.
    """
    if tile <= 0 or overlap < 0 or align <= 0:
        raise ValueError("tile and align must be positive and overlap non-negative")
    tile = max(align, tile - tile % align)
    overlap = min(overlap - overlap % align, tile - align)
    rows = _starts(height, tile, overlap, align)
    cols = _starts(width, tile, overlap, align)
    return [Tile(y, x, min(y + tile, height), min(x + tile, width)) for y in rows for x in cols]


def ramp(length: int, overlap: int, *, rise: bool, fall: bool) -> np.ndarray:
    """1-D blending weights for one side of a tile.

    Over a shared edge of `overlap` samples the weight stays near zero for the outer quarter
    (the pixels a tile computes worst: their receptive field runs off the tile), rises along a
    raised cosine over the middle half, and is 1 beyond. The neighbour mirrors this, so the two
    weights cross in the middle of the overlap. A small floor keeps every weight positive.
    """
    weights = np.ones(length, dtype=np.float32)
    width = min(overlap, length)
    if width > 0:
        margin = width // 4
        rising = width - 2 * margin
        t = (np.arange(width, dtype=np.float32) - margin + 0.5) / max(rising, 1)
        up = 0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))
        up = np.maximum(up, 1e-4).astype(np.float32)
        if rise:
            weights[:width] = np.minimum(weights[:width], up)
        if fall:
            weights[length - width :] = np.minimum(weights[length - width :], up[::-1])
    return weights


def tile_weights(tile: Tile, height: int, width: int, overlap: int, scale: int) -> np.ndarray:
    """Blending weights of a tile's output (scale * tile size), ramped only on inner edges."""
    vertical = ramp(tile.height * scale, overlap * scale, rise=tile.y0 > 0, fall=tile.y1 < height)
    horizontal = ramp(tile.width * scale, overlap * scale, rise=tile.x0 > 0, fall=tile.x1 < width)
    return np.outer(vertical, horizontal)
