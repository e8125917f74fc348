"""The CLI as later issues and checks use it: enhance, info, exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ultrais_core.cli import main

ROOT = Path(__file__).resolve().parent.parent


def write_dark_jpeg(path: Path, width: int, height: int) -> Path:
    rng = np.random.default_rng(0)
    pixels = (rng.random((height, width, 3)) * 30).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def test_enhance_one_jpeg_to_png_at_x4(tmp_path: Path, weights_dir: Path) -> None:
    """The foundation issue's example: a 640x480 JPEG becomes a 2560x1920 PNG."""
    source = write_dark_jpeg(tmp_path / "photo.jpg", 640, 480)
    out = tmp_path / "out.png"
    code = main(
        [
            "enhance",
            str(source),
            "-o",
            str(out),
            "--scale",
            "4",
            "--weights",
            str(weights_dir / "ultrais_x4.safetensors"),
            "--tile",
            "256",
        ]
    )
    assert code == 0
    with Image.open(out) as result:
        assert result.size == (2560, 1920)
        assert result.format == "PNG"


def test_several_inputs_go_to_a_folder_and_a_bad_one_does_not_stop_the_rest(
    tmp_path: Path, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [write_dark_jpeg(tmp_path / f"p{i}.jpg", 40, 30) for i in range(2)]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "results"
    code = main(
        [
            "enhance",
            str(good[0]),
            str(broken),
            str(good[1]),
            "-o",
            str(out),
            "--scale",
            "2",
            "--weights",
            str(weights_dir),
        ]
    )
    assert code != 0
    assert sorted(p.name for p in out.iterdir()) == ["p0_ultrais_x2.png", "p1_ultrais_x2.png"]
    errors = capsys.readouterr().err
    failed_lines = [line for line in errors.splitlines() if line.startswith("failed:")]
    assert len(failed_lines) == 1 and "broken.jpg" in failed_lines[0]


def test_existing_output_is_not_overwritten_without_asking(
    tmp_path: Path, weights_dir: Path
) -> None:
    source = write_dark_jpeg(tmp_path / "photo.jpg", 32, 32)
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    code = main(
        ["enhance", str(source), "-o", str(out), "--scale", "1", "--weights", str(weights_dir)]
    )
    assert code != 0
    assert out.read_bytes() == b"keep me"


def test_same_stem_inputs_get_distinct_outputs_and_messages_name_cli_flags(
    tmp_path: Path, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`enhance a/IMG_0001.jpg a/IMG_0001.png a/IMG_0001.tif -o out/`: three results named
    after their sources' extensions; rerun, each existing one is refused in the CLI's words."""
    folder = tmp_path / "a"
    folder.mkdir()
    pixels = (np.random.default_rng(3).random((16, 24, 3)) * 40).astype(np.uint8)
    sources = []
    for name in ("IMG_0001.tif", "IMG_0001.jpg", "IMG_0001.png"):
        Image.fromarray(pixels).save(folder / name)
        sources.append(str(folder / name))
    out = tmp_path / "out"
    args = ["enhance", *sources, "-o", str(out), "--scale", "1", "--weights", str(weights_dir)]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "IMG_0001_jpg_ultrais_x1.png",
        "IMG_0001_png_ultrais_x1.png",
        "IMG_0001_tif_ultrais_x1.png",
    ]
    capsys.readouterr()

    assert main(args) == 1
    failed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 3
    assert all("already exists; pass --overwrite to replace it" in line for line in failed)
    assert not any("overwrite=True" in line for line in failed)
    assert main([*args, "--overwrite"]) == 0


def test_an_output_that_appears_while_running_is_refused_in_the_clis_words(
    tmp_path: Path, weights_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """The early check passed, then the file appeared: the writer's OutputExistsError is
    reported with --overwrite, not with the Python API's overwrite=True."""
    from ultrais_core.engine import Engine

    source = write_dark_jpeg(tmp_path / "photo.jpg", 16, 16)
    out = tmp_path / "out.png"
    enhance = Engine.enhance

    def enhance_then_someone_writes(self, *args, **kwargs):
        result = enhance(self, *args, **kwargs)
        out.write_bytes(b"written meanwhile")
        return result

    monkeypatch.setattr(Engine, "enhance", enhance_then_someone_writes)
    code = main(
        ["enhance", str(source), "-o", str(out), "--scale", "1", "--weights", str(weights_dir)]
    )
    assert code == 1 and out.read_bytes() == b"written meanwhile"
    err = capsys.readouterr().err
    assert f"failed: {source}: {out} already exists; pass --overwrite to replace it" in err
    assert "overwrite=True" not in err


def test_missing_default_weights_are_reported_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_dark_jpeg(tmp_path / "photo.jpg", 32, 32)
    code = main(
        [
            "enhance",
            str(source),
            "-o",
            str(tmp_path / "o.png"),
            "--weights",
            str(tmp_path / "empty"),
        ]
    )
    assert code != 0
    assert "weights file not found" in capsys.readouterr().err


def test_main_py_info_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "info"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "UltraIS" in result.stdout and "torch" in result.stdout and "x2" in result.stdout


def test_metadata_survives_an_enhance_at_x2(tmp_path: Path, weights_dir: Path) -> None:
    """EXIF fields, DPI and the ICC profile of the original reach the enlarged output."""
    from tests.test_imageio import DISPLAY_P3

    rng = np.random.default_rng(1)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "Night 1"  # Model
    exif[0x0132] = "2026:11:25 21:00:00"  # DateTime
    source = tmp_path / "night.jpg"
    Image.fromarray((rng.random((48, 64, 3)) * 40).astype(np.uint8)).save(
        source, quality=92, exif=exif, dpi=(300, 300), icc_profile=DISPLAY_P3
    )
    out = tmp_path / "night_x2.jpg"
    code = main(
        ["enhance", str(source), "-o", str(out), "--scale", "2", "--weights", str(weights_dir)]
    )
    assert code == 0
    with Image.open(out) as result:
        assert result.size == (128, 96)
        assert result.info.get("icc_profile") == DISPLAY_P3
        assert tuple(round(v) for v in result.info["dpi"]) == (300, 300)
        written = result.getexif()
        assert written[0x010F] == "TestCam" and written[0x0110] == "Night 1"
        assert written[0x0132] == "2026:11:25 21:00:00"
        assert "UltraIS" in written.get(0x0131, "")  # Software


def test_sixteen_bit_input_gives_sixteen_bit_png(tmp_path: Path, weights_dir: Path) -> None:
    import cv2

    rng = np.random.default_rng(2)
    pixels = (rng.random((24, 32, 3)) * 4000).astype(np.uint16)
    source = tmp_path / "deep.png"
    cv2.imwrite(str(source), pixels)
    out = tmp_path / "deep_x2.png"
    assert (
        main(
            ["enhance", str(source), "-o", str(out), "--scale", "2", "--weights", str(weights_dir)]
        )
        == 0
    )
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert result.dtype == np.uint16 and result.shape == (48, 64, 3)
    assert len(np.unique(result)) > 256  # not an 8-bit detour


def test_evaluate_one_weights_file_against_the_cascade(tmp_path: Path, weights_dir: Path) -> None:
    """A single x4 file under test has no x1 network; the cascade takes the shipped one."""
    import json

    for side in ("low", "high"):
        (tmp_path / "pairs" / side).mkdir(parents=True)
    rng = np.random.default_rng(0)
    high = (rng.random((32, 32, 3)) * 200 + 40).astype(np.uint8)
    Image.fromarray(high).save(tmp_path / "pairs" / "high" / "a.png")
    Image.fromarray(high // 8).save(tmp_path / "pairs" / "low" / "a.png")
    out = tmp_path / "eval.json"
    code = main(
        [
            "evaluate",
            "--scale", "4",
            "--pairs", str(tmp_path / "pairs"),
            "--weights", str(weights_dir / "ultrais_x4.safetensors"),
            "--cascade", str(ROOT / "resources" / "baselines" / "cascade_sr_x4.safetensors"),
            "--device", "cpu",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out.read_text())
    assert Path(payload["cascade_x1_weights"]).parent == ROOT / "resources" / "weights"
    (report,) = payload["sets"].values()
    assert {"model", "cascade", "classical"} <= set(report["methods"])
    assert report["mean"]["cascade"]["psnr"] is not None


def test_train_loss_weight_overrides_are_checked() -> None:
    import argparse

    from ultrais_core.cli import loss_weight_override

    assert loss_weight_override("relight=0") == ("relight", 0.0)
    assert loss_weight_override("order=12.5") == ("order", 12.5)
    for bad in ("relight", "nosuchterm=1", "order=x", "order=-1", "order=nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            loss_weight_override(bad)
