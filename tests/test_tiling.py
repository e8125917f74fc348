"""The tile plan and blending weights: pure functions, tested without torch."""

from __future__ import annotations

import numpy as np
import pytest

from ultrais_core.tiling import plan_tiles, ramp, tile_weights


def coverage(tiles: list, height: int, width: int) -> np.ndarray:
    covered = np.zeros((height, width), dtype=int)
    for t in tiles:
        covered[t.y0 : t.y1, t.x0 : t.x1] += 1
    return covered


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "align"),
    [(256, 384, 128, 64, 64), (64, 64, 512, 64, 64), (640, 192, 256, 64, 32), (100, 37, 32, 8, 1)],
)
def test_plan_covers_everything_with_aligned_starts(
    height: int, width: int, tile: int, overlap: int, align: int
) -> None:
    tiles = plan_tiles(height, width, tile=tile, overlap=overlap, align=align)
    assert coverage(tiles, height, width).min() >= 1
    for t in tiles:
        assert t.y0 % align == 0 and t.x0 % align == 0
        assert t.height <= max(tile, align) and t.width <= max(tile, align)
        assert t.y1 <= height and t.x1 <= width
    # The last tile of each row and column is flush with the edge.
    assert max(t.y1 for t in tiles) == height and max(t.x1 for t in tiles) == width


def test_neighbours_overlap_by_at_least_the_overlap() -> None:
    tiles = plan_tiles(512, 512, tile=192, overlap=64, align=64)
    starts = sorted({t.x0 for t in tiles})
    ends = sorted({t.x1 for t in tiles})
    for previous_end, start in zip(ends[:-1], starts[1:], strict=True):
        assert previous_end - start >= 64


def test_one_tile_when_the_image_fits() -> None:
    assert len(plan_tiles(200, 300, tile=512, overlap=64, align=1)) == 1


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_tiles(10, 10, tile=0, overlap=0)


def test_ramp_is_one_inside_and_small_at_shared_edges() -> None:
    weights = ramp(100, 32, rise=True, fall=False)
    assert weights[0] < 1e-3 and weights[-1] == 1.0
    assert np.all(np.diff(weights) >= 0)
    assert np.all(weights > 0)
    # Mirrored neighbours sum to one across the overlap: blending does not change brightness.
    falling = ramp(100, 32, rise=False, fall=True)
    assert np.allclose(weights[:32] + falling[-32:], 1.0, atol=2e-4)


def test_tile_weights_only_ramp_on_inner_edges() -> None:
    tiles = plan_tiles(128, 256, tile=128, overlap=64, align=64)
    first = tile_weights(tiles[0], 128, 256, 64, 2)
    assert first.shape == (256, 256)
    assert first[:, 0].min() == 1.0  # the photo's own left edge: no ramp
    assert first[:, -1].max() < 1e-3  # shared right edge: ramped down


def test_blending_constant_tiles_reproduces_the_constant() -> None:
    """Normalised blending of tiles that all say 0.5 must give exactly 0.5 everywhere."""
    height, width, scale, overlap = 192, 320, 2, 64
    tiles = plan_tiles(height, width, tile=128, overlap=overlap, align=64)
    total = np.zeros((height * scale, width * scale))
    weight = np.zeros_like(total)
    for t in tiles:
        w = tile_weights(t, height, width, overlap, scale)
        rows, cols = slice(t.y0 * scale, t.y1 * scale), slice(t.x0 * scale, t.x1 * scale)
        total[rows, cols] += 0.5 * w
        weight[rows, cols] += w
    assert np.allclose(total / weight, 0.5)
