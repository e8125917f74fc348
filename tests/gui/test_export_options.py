"""Export names: the pattern, the folder, and never the original."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.export.export_options import (
    ExportOptions,
    PatternError,
    check_pattern,
    is_original,
    output_path,
)


def test_default_pattern_next_to_the_original():
    target = output_path(Path("/photos/night.jpg"), ExportOptions(scale=4))
    assert target == Path("/photos/night_ultrais_x4.jpg")


def test_folder_format_and_fields():
    options = ExportOptions(format="tiff16", folder="/out", pattern="{name}-{format}-{scale}")
    assert output_path(Path("/p/a.png"), options) == Path("/out/a-tiff16-2.tif")


@pytest.mark.parametrize("pattern", ["", "{nope}", "{name", "a/{name}", "{scale:03d}"])
def test_bad_patterns_are_refused_with_a_reason(pattern):
    with pytest.raises(PatternError):
        check_pattern(pattern)


def test_is_original(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    assert is_original(output_path(photo, ExportOptions(pattern="{name}")), photo)
    assert not is_original(output_path(photo, ExportOptions()), photo)
