"""Tile plans: pure numpy-free arithmetic, no torch, so they are easy to test.

A plan splits an image into *cores* of (at most) `tile` pixels that cover it exactly once, and
reads each core with at least `overlap` pixels of context on every side that has image there,
in windows of one shape (see `_windows`). The network runs on the core plus its context; only
the core's output is kept. Nothing is blended: every output pixel comes from exactly one tile,
computed with at least `overlap` pixels of context around it, so the result equals the untiled
one as soon as `overlap` covers how far the network reaches (measured in the model card: the
influence of input pixels beyond 64 px is about 1e-3 of the total with the small preset).
Feathered blending, used before, averaged two computations that each had only half the overlap
as context, which is why tiled results used to differ by up to 4/255.

Cores and contexts start on multiples of `align` (the network's size multiple), so the
network's attention windows fall on the same pixels in a tile as in the whole photo; the
engine pads the photo to a multiple of `align`, so the last core is aligned too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """A tile in input pixels: it reads rows y0:y1, columns x0:x1 (core plus context), and
    its output is kept for the core rows core_y0:core_y1, columns core_x0:core_x1."""

    y0: int
    x0: int
    y1: int
    x1: int
    core_y0: int
    core_x0: int
    core_y1: int
    core_x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def _windows(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(start, stop, core_start, core_stop) of each window along one axis, in units of the
    alignment.

    The fewest cores of at most `tile` cover `length`. Every window (core plus context) has the
    same size: the least that gives each core `overlap` of context on both sides, with the
    total overlap spread as evenly as whole units allow. The end windows lie on the image's
    edges, so the first and last cores read more context inwards instead of running a smaller
    window: the same work as windows clipped at the edges, in one shape.
    NOTE: one shape for every tile keeps CPU memory flat. With windows clipped at the edges
    (three widths and three heights) the freed buffers of one tile did not fit the next and
    the heap grew: peak RSS of a 2 MP photo 1,206-1,269 MB at x4 and 1,514 MB at x2, against
    907-930 MB and 958 MB with one shape, in the same time (within 1/255 of each other).
    """
    count = -(-length // tile)
    size = -(-(length + 2 * overlap * (count - 1)) // count)
    if count == 1 or size >= length:
        return [(0, length, 0, length)]
    spare, extra = divmod(count * size - length, count - 1)  # shared parts of spare (+1) units
    windows, start, core_start = [], 0, 0
    for index in range(count - 1):
        shared = spare + (1 if index < extra else 0)
        next_start = start + size - shared
        core_stop = next_start + shared // 2  # mid-way: each side keeps >= overlap of context
        windows.append((start, start + size, core_start, core_stop))
        start, core_start = next_start, core_stop
    windows.append((start, length, core_start, length))
    return windows


def plan_tiles(height: int, width: int, *, tile: int, overlap: int, align: int = 1) -> list[Tile]:
    """Tiles whose cores cover height x width exactly once, row by row.

    `tile` (the core side) and `overlap` (context on each side) are rounded down to multiples
    of `align` (at least `align` for the core); `height` and `width` should be multiples of
    `align` (the engine pads). An image no larger than one core is one tile without context.
    """
    if tile <= 0 or overlap < 0 or align <= 0:
        raise ValueError("tile and align must be positive and overlap non-negative")
    tile = max(align, tile - tile % align)
    overlap -= overlap % align

    def axis(length: int) -> list[tuple[int, ...]]:
        units = _windows(-(-length // align), tile // align, overlap // align)
        return [tuple(min(length, unit * align) for unit in window) for window in units]

    return [
        Tile(y0, x0, y1, x1, core_y0, core_x0, core_y1, core_x1)
        for y0, y1, core_y0, core_y1 in axis(height)
        for x0, x1, core_x0, core_x1 in axis(width)
    ]


def aligned(length: int, align: int) -> int:
    """`length` rounded up to a multiple of `align`: the padded size the tile plan works on."""
    return length + (-length % align)


def pads_by_reflection(height: int, width: int, align: int) -> bool:
    """Whether padding to `align` mirrors the photo (numpy's 'reflect') or repeats its last
    row and column ('edge'): mirroring needs the photo to be larger than the padding."""
    return -height % align < height and -width % align < width


def padded_indices(start: int, stop: int, length: int, *, reflect: bool) -> list[int]:
    """Indices into an axis of `length` samples of the positions start:stop of that axis once
    padded at its end, as numpy's pad would fill them ('reflect': mirrored about the last
    sample, without repeating it; else 'edge').

    NOTE: the engine reads each tile through these instead of padding the whole photo, which
    at 24 MP was a 288 MB copy of the input made only to add a few rows and columns.
    """
    last = length - 1
    return [i if i <= last else (2 * last - i if reflect else last) for i in range(start, stop)]
