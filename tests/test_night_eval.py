"""`evaluate --night DIR`: the report, the contact sheet, unreadable photos, and the command end to
end on two small generated photos with tiny random weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ultrais_core.cli import main
from ultrais_core.errors import UltraISError
from ultrais_core.night_eval import (
    GAP,
    LABEL_HEIGHT,
    as_rgb,
    brightened,
    evaluate_night,
    fit_max_side,
    labelled_thumbnail,
    thumb_width,
)


def dark_photo(height: int = 24, width: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.uniform(0.0, 0.06, (height, width, 3))
    img[4:10, 6:14] = [0.8, 0.55, 0.25]  # a lit, warm patch
    return (img * 255).astype(np.uint8)


def bright_photo(height: int = 24, width: int = 40) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.uniform(0.45, 0.85, (height, width, 3)) * 255).astype(np.uint8)


def read_float(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def upscale(scale: int):  # a stand-in method: nearest enlargement, gain 2
    return lambda rgb: np.clip(2 * np.repeat(np.repeat(rgb, scale, 0), scale, 1), 0, 1)


def test_fit_max_side_area_reduces_only_large_photos():
    big = np.ones((300, 200, 3), np.float32) * 0.5
    assert fit_max_side(big, 150).shape == (150, 100, 3)
    assert fit_max_side(big, 400) is big and fit_max_side(big, None) is big
    np.testing.assert_allclose(fit_max_side(big, 150), 0.5, atol=1e-6)


def test_readers_layouts_become_rgb():
    assert as_rgb(np.zeros((4, 5), np.float32)).shape == (4, 5, 3)
    assert as_rgb(np.zeros((4, 5, 4), np.float32)).shape == (4, 5, 3)


def test_brightened_is_a_plain_gain_to_a_fixed_mean():
    dark = np.full((8, 8, 3), 0.05, np.float32)
    pushed, gain = brightened(dark)
    assert gain == pytest.approx(7.0, rel=1e-4)
    np.testing.assert_allclose(pushed, 0.35, atol=1e-5)
    assert brightened(np.full((2, 2, 3), 0.9, np.float32))[1] == 1.0  # never darkens


def test_thumbnails_have_the_fixed_height_and_a_label_band():
    tile = labelled_thumbnail(np.zeros((100, 150, 3), np.float32), "x", thumb_height=64)
    assert tile.shape == (64 + LABEL_HEIGHT, 96, 3) and tile.dtype == np.uint8
    assert tile[:LABEL_HEIGHT].max() > 200  # the label's text


def test_report_rows_sheet_and_skipped_photos(tmp_path: Path):
    images = {"dark.png": dark_photo(), "bright.png": bright_photo()}
    for name, pixels in images.items():
        Image.fromarray(pixels).save(tmp_path / name)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    paths = sorted(tmp_path.iterdir())

    def read(path: Path) -> np.ndarray:
        if path.suffix == ".jpg":
            raise UltraISError(f"{path.name}: cannot read")
        return read_float(path)

    methods = {"identity": upscale(2), "copy": lambda rgb: np.repeat(np.repeat(rgb, 2, 0), 2, 1)}
    report, sheet = evaluate_night(paths, 2, methods, read=read, thumb_height=32)
    assert [p.name for p in report.photos] == ["bright.png", "dark.png"]
    assert report.skipped == (("broken.jpg", "broken.jpg: cannot read"),)
    bright, dark = report.photos
    assert bright.bright and not dark.bright
    assert report.photos[1].figures["copy"].loe == 0.0
    assert bright.figures["identity"].mean_shift > 0.1  # a gain of 2 on a bright photo
    summary = report.summaries()["copy"]
    assert (summary.dark_count, summary.bright_count) == (1, 1)
    assert summary.bright_mean_shift == pytest.approx(0.0, abs=1e-6)
    # rows: input + 2 methods (+ the brightened input for the dark photo), 32 + label px high
    bright_row = 3 * thumb_width(40, 24, 32) + 2 * GAP
    dark_row = 4 * thumb_width(32, 24, 32) + 3 * GAP
    row_height = 32 + 2 * LABEL_HEIGHT  # title band, label band, picture
    assert sheet.shape[0] == 2 * row_height + 3 * GAP  # rows this small are as wide as titles
    assert sheet.shape[1] >= max(bright_row, dark_row) + 2 * GAP
    text = report.format_table()
    assert "dark: median hl_chroma" in text and "skipped broken.jpg" in text
    payload = report.to_json()
    assert payload["photos"][0]["figures"]["identity"]["hl_chroma"] is not None
    json.dumps(payload)  # JSON-ready


def test_a_method_returning_the_wrong_size_skips_the_photo(tmp_path: Path):
    Image.fromarray(dark_photo()).save(tmp_path / "a.png")
    report, sheet = evaluate_night(
        [tmp_path / "a.png"], 2, {"bad": lambda rgb: rgb}, read=read_float
    )
    assert report.photos == () and sheet is None
    assert "expected (48, 64)" in report.skipped[0][1]


def test_evaluate_night_command_end_to_end(tmp_path: Path, weights_dir: Path) -> None:
    folder = tmp_path / "night"
    folder.mkdir()
    Image.fromarray(dark_photo(48, 64)).save(folder / "dark.png")
    Image.fromarray(bright_photo(40, 40)).save(folder / "bright.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "notes.md").write_text("not a photo")
    out = tmp_path / "report" / "night.json"
    sheet = tmp_path / "report" / "sheet.png"
    code = main(
        [
            "evaluate", "--night", str(folder), "--scale", "2",
            "--weights", str(weights_dir), "--device", "cpu",
            "--json", str(out), "--sheet", str(sheet), "--max-side", "32",
        ]
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out.read_text())
    assert {"folder", "weights", "max_side", "heldout", "sheet", "scale", "methods", "summary",
            "photos", "skipped", "count"} <= set(payload)  # fmt: skip
    assert payload["methods"] == ["classical", "model"]
    assert [p["name"] for p in payload["photos"]] == ["bright.jpg", "dark.png"]
    assert [s["name"] for s in payload["skipped"]] == ["broken.png"]
    dark = payload["photos"][1]
    assert dark["dark"] and dark["size"] == [32, 24] and dark["original_size"] == [64, 48]
    assert set(dark["figures"]["model"]) == {
        "input_mean", "new_clip", "hl_chroma", "loe", "mean_shift", "mottle"
    }  # fmt: skip
    assert set(payload["summary"]["model"]) >= {"dark_new_clip", "bright_mean_shift"}
    # rows of title + label + 256 px: bright (input, classical, model), dark (+ brightened input)
    bright_row = 3 * thumb_width(32, 32) + 2 * GAP
    dark_row = 4 * thumb_width(32, 24) + 3 * GAP
    with Image.open(sheet) as image:
        width, height = image.size
    assert width == max(bright_row, dark_row) + 2 * GAP
    assert height == 2 * (256 + 2 * LABEL_HEIGHT) + 3 * GAP
    assert payload["sheet"] == str(sheet)
    assert not list(sheet.parent.glob(".*"))  # no temporary file left


def test_heldout_keeps_only_held_out_files(tmp_path: Path, weights_dir: Path) -> None:
    from ultrais_core.holdout import is_heldout_night

    folder = tmp_path / "night"
    folder.mkdir()
    names = [f"n{i}.png" for i in range(6)]
    for name in names:
        Image.fromarray(dark_photo(16, 16)).save(folder / name)
    out = tmp_path / "n.json"
    code = main(
        [
            "evaluate", "--night", str(folder), "--scale", "1", "--heldout",
            "--weights", str(weights_dir), "--device", "cpu", "--json", str(out),
            "--data", str(tmp_path / "data"),
        ]
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out.read_text())
    assert [p["name"] for p in payload["photos"]] == [n for n in names if is_heldout_night(n)]
    assert payload["heldout"] and Path(payload["sheet"]).name == "n_sheet.png"
