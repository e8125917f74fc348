"""`--exposure EV` on `enhance` and `batch`: the no-clip curve on the result, and a changed
exposure is changed batch settings (tiny random weights, tiny photos)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_batch import expected_output, inline, make_folder, rows
from tests.test_cli import write_dark_jpeg
from ultrais_core.cli import build_parser, main
from ultrais_core.tone import apply_exposure


def read(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def test_enhance_with_exposure_is_the_curve_on_the_default_result(
    tmp_path: Path, weights_dir: Path
) -> None:
    source = write_dark_jpeg(tmp_path / "photo.jpg", 40, 32)
    common = ["--scale", "1", "--weights", str(weights_dir), "--device", "cpu"]
    plain, brighter = tmp_path / "plain.png", tmp_path / "brighter.png"
    assert main(["enhance", str(source), "-o", str(plain), *common]) == 0
    assert main(["enhance", str(source), "-o", str(brighter), "--exposure", "1", *common]) == 0
    default, exposed = read(plain), read(brighter)
    # the curve's slope is at most 2 ** (1 / 2.2): two 8-bit steps cover the rounding
    np.testing.assert_allclose(exposed, apply_exposure(default, 1.0), atol=2.5 / 255)
    kept = default.max(axis=2) < 250 / 255
    assert np.all(exposed.max(axis=2)[kept] < 250 / 255)
    assert exposed.mean() > default.mean()


@pytest.mark.parametrize("value", ["nan", "inf", "12", "bright"])
def test_a_bad_exposure_is_refused_by_the_parser(value: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["enhance", "a.jpg", "-o", "b.png", "--exposure", value])
    assert exit_info.value.code == 2


def test_batch_exposure_is_a_setting_a_rerun_redoes(tmp_path: Path, weights_dir: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 3)
    first = inline(src, dst, weights_dir)
    assert (first.done, first.skipped) == (3, 0)
    assert "exposure" not in json.loads(rows(dst)[rels[0]]["settings"])  # old manifests match
    default = read(dst / expected_output(rels[0]))

    brighter = inline(src, dst, weights_dir, exposure=1.0)
    assert (brighter.done, brighter.skipped, brighter.exit_code) == (3, 0, 0)
    assert json.loads(rows(dst)[rels[0]]["settings"])["exposure"] == 1.0
    exposed = read(dst / expected_output(rels[0]))
    np.testing.assert_allclose(exposed, apply_exposure(default, 1.0), atol=2.5 / 255)

    again = inline(src, dst, weights_dir, exposure=1.0)
    assert (again.done, again.skipped) == (0, 3)
    back = inline(src, dst, weights_dir, exposure=0.0)
    assert (back.done, back.skipped) == (3, 0)


def test_batch_command_passes_exposure_to_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ultrais_core.batch import runner

    seen = []

    def fake_run_batch(options: runner.BatchOptions, stream: object) -> runner.Summary:
        seen.append(options)
        return runner.Summary()

    monkeypatch.setattr(runner, "run_batch", fake_run_batch)
    code = main(["batch", str(tmp_path), "-o", str(tmp_path / "o"), "--scale", "2",
                 "--exposure", "-1.5"])  # fmt: skip
    assert code == 0 and seen[0].exposure == -1.5
    assert runner.engine_config(seen[0]).exposure == -1.5
