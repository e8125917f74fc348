"""The tile plan: a pure function, tested without torch."""

from __future__ import annotations

import numpy as np
import pytest

from ultrais_core.tiling import aligned, padded_indices, pads_by_reflection, plan_tiles


def core_coverage(tiles: list, height: int, width: int) -> np.ndarray:
    covered = np.zeros((height, width), dtype=int)
    for t in tiles:
        covered[t.core_y0 : t.core_y1, t.core_x0 : t.core_x1] += 1
    return covered


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "align"),
    [(256, 384, 128, 64, 64), (64, 64, 512, 64, 64), (640, 192, 256, 64, 32), (100, 37, 32, 8, 1)],
)
def test_cores_cover_everything_exactly_once_on_aligned_starts(
    height: int, width: int, tile: int, overlap: int, align: int
) -> None:
    tiles = plan_tiles(height, width, tile=tile, overlap=overlap, align=align)
    assert np.all(core_coverage(tiles, height, width) == 1)
    for t in tiles:
        assert t.y0 % align == 0 and t.x0 % align == 0
        assert t.core_y0 % align == 0 and t.core_x0 % align == 0
        assert t.core_y1 - t.core_y0 <= max(tile, align)
        assert 0 <= t.y0 <= t.core_y0 < t.core_y1 <= t.y1 <= height
        assert 0 <= t.x0 <= t.core_x0 < t.core_x1 <= t.x1 <= width


@pytest.mark.parametrize(
    ("height", "width", "tile"), [(512, 640, 192), (1248, 1664, 224), (96, 800, 128)]
)
def test_every_core_reads_at_least_the_context_where_the_image_has_it(
    height: int, width: int, tile: int
) -> None:
    overlap = 64
    for t in plan_tiles(height, width, tile=tile, overlap=overlap, align=32):
        assert t.core_y0 - t.y0 >= min(overlap, t.core_y0)
        assert t.core_x0 - t.x0 >= min(overlap, t.core_x0)
        assert t.y1 - t.core_y1 >= min(overlap, height - t.core_y1)
        assert t.x1 - t.core_x1 >= min(overlap, width - t.core_x1)


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "align"),
    [
        (1248, 1664, 224, 64, 32),
        (4000, 3008, 352, 64, 32),
        (256, 384, 128, 64, 64),
        (100, 37, 32, 8, 1),
    ],
)
def test_every_tile_has_one_shape_and_no_more_work_than_clipped_windows(
    height: int, width: int, tile: int, overlap: int, align: int
) -> None:
    """One window shape lets the CPU allocator reuse each tile's buffers for the next; the
    inward-shifted end windows cost at most one alignment unit per window over windows that
    are clipped at the edges (core + overlap on each side)."""
    tiles = plan_tiles(height, width, tile=tile, overlap=overlap, align=align)
    assert len({(t.height, t.width) for t in tiles}) == 1
    for length, window in ((height, tiles[0].height), (width, tiles[0].width)):
        tile_count = -(-length // tile)
        clipped = length + 2 * overlap * (tile_count - 1)
        assert window <= tile + 2 * overlap
        assert window * tile_count <= clipped + tile_count * align


def test_context_is_rounded_down_to_the_alignment() -> None:
    second = plan_tiles(64, 128, tile=64, overlap=40, align=32)[1]
    assert second.x0 == 64 - 32  # 40 rounded down to 32


def test_one_tile_without_context_when_the_image_fits() -> None:
    (only,) = plan_tiles(200, 300, tile=512, overlap=64, align=1)
    assert (only.y0, only.x0, only.y1, only.x1) == (0, 0, 200, 300)
    assert (only.core_y0, only.core_x0, only.core_y1, only.core_x1) == (0, 0, 200, 300)


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_tiles(10, 10, tile=0, overlap=0)
    with pytest.raises(ValueError):
        plan_tiles(10, 10, tile=8, overlap=-1)


@pytest.mark.parametrize(
    ("height", "width", "align"), [(13, 22, 8), (2, 30, 8), (5, 30, 8), (16, 16, 8)]
)
def test_padded_indices_read_the_photo_as_numpy_would_pad_it(
    height: int, width: int, align: int
) -> None:
    photo = np.arange(height * width, dtype=np.float32).reshape(height, width)
    reflect = pads_by_reflection(height, width, align)
    mode = "reflect" if reflect else "edge"
    padded = np.pad(photo, ((0, -height % align), (0, -width % align)), mode=mode)
    assert padded.shape == (aligned(height, align), aligned(width, align))
    rows = padded_indices(0, padded.shape[0], height, reflect=reflect)
    columns = padded_indices(0, padded.shape[1], width, reflect=reflect)
    np.testing.assert_array_equal(photo[np.ix_(rows, columns)], padded)


def test_padding_mirrors_only_a_photo_larger_than_the_padding() -> None:
    assert pads_by_reflection(13, 22, 8)
    assert not pads_by_reflection(2, 30, 8)  # 6 rows of padding cannot mirror 2: edge
    assert padded_indices(3, 7, 5, reflect=True) == [3, 4, 3, 2]
    assert padded_indices(3, 7, 5, reflect=False) == [3, 4, 4, 4]
