"""Data-set files: a broken file gives a clear UltraISError naming it, never a crash."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ultrais_core.dataset_files import read_rgb, read_rgb8
from ultrais_core.errors import UltraISError


def test_a_good_png_reads_as_rgb(tmp_path: Path) -> None:
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    assert cv2.imwrite(str(tmp_path / "a.png"), bgr)
    rgb = read_rgb(tmp_path / "a.png")
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.float32
    assert rgb[0, 0, 0] == pytest.approx(200 / 255) and rgb[0, 0, 2] == 0


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_corrupt_or_truncated_files_are_reported_by_name(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(UltraISError, match=r"could not decode .*broken\.png"):
        read_rgb8(path)


def test_a_missing_file_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(UltraISError, match=r"could not read .*nowhere\.jpg"):
        read_rgb(tmp_path / "nowhere.jpg")
