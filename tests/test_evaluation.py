"""Evaluation on tiny generated folders: real pairs, reference-only pairs, reports."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from ultrais_core.baselines import bicubic
from ultrais_core.errors import UltraISError
from ultrais_core.evaluation import (
    EvaluationReport,
    evaluate_images,
    evaluate_pair_list,
    evaluate_pairs,
    pairs_in_folder,
)
from ultrais_core.training.degrade import linear_to_srgb, srgb_to_linear

SCALE = 2


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), bgr)


def scene(seed: int, h: int = 34, w: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.45 + 0.25 * np.sin(xx / 4 + seed) * np.cos(yy / 5)
    return np.clip(base[..., None] + rng.uniform(-0.1, 0.1, (h, w, 3)), 0, 1).astype(np.float32)


@pytest.fixture
def real_dir(tmp_path: Path) -> Path:
    for i in range(3):
        high = scene(i)
        write_rgb(tmp_path / "real" / "high" / f"s{i:03d}_1.png", high)
        write_rgb(
            tmp_path / "real" / "low" / f"s{i:03d}_1.png", linear_to_srgb(srgb_to_linear(high) / 10)
        )
    return tmp_path / "real"


def brighten_and_enlarge(low: np.ndarray) -> np.ndarray:
    """An 'identity-like' model: undo the known 10x darkening, enlarge bicubically."""
    return bicubic(linear_to_srgb(srgb_to_linear(low) * 10), SCALE)


def test_real_pairs_give_finite_scores_and_a_table(real_dir):
    report = evaluate_pairs(real_dir, SCALE, {"model": brighten_and_enlarge})
    assert report.methods == ("model", "bicubic", "classical", "classical+nlm")
    assert len(report.images) == 3
    assert all(r.kind == "real" for r in report.images)
    for result in report.images:
        for method in report.methods:
            assert all(math.isfinite(v) for v in result.scores[method].values())
    mean = report.mean()
    # The model knows the exposure; bicubic alone leaves the image 10x too dark.
    assert mean["model"]["psnr"] > mean["bicubic"]["psnr"] + 5
    assert mean["model"]["ciede2000"] < mean["bicubic"]["ciede2000"]
    table = report.format_table()
    assert "s000_1.png" in table and "MEAN" in table and "classical" in table
    assert len(report.format_table(per_image=False).splitlines()) == 5
    data = report.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["count"] == 3
    assert data["mean"]["model"]["psnr"] == pytest.approx(mean["model"]["psnr"])


def test_reference_only_folder_is_synthesised_deterministically(tmp_path):
    for i in range(2):
        write_rgb(tmp_path / "syn" / "high" / f"photo{i}.png", scene(10 + i, 33, 41))
    first = evaluate_pairs(tmp_path / "syn", SCALE, {})
    again = evaluate_pairs(tmp_path / "syn", SCALE, {})
    other = evaluate_pairs(tmp_path / "syn", SCALE, {}, seed=1)
    assert first.methods == ("bicubic", "classical", "classical+nlm")
    assert all(r.kind == "synthetic" for r in first.images)
    assert first.to_json() == again.to_json()
    assert first.to_json() != other.to_json()
    # The synthetic input is dark, so the classical pipeline beats plain enlargement.
    assert first.mean()["classical"]["psnr"] > first.mean()["bicubic"]["psnr"]


def test_a_perfect_model_scores_infinity(tmp_path):
    high = scene(3, 32, 32)
    report = evaluate_images(
        [("a", None, high)], SCALE, {"model": lambda low: high}, baselines=False
    )
    assert report.images[0].scores["model"]["psnr"] == math.inf
    assert report.to_json()["images"][0]["scores"]["model"]["psnr"] is None
    assert "inf" in report.format_table()


def test_pair_list_mixes_real_and_synthetic(real_dir):
    pairs = pairs_in_folder(real_dir)
    mixed = [*pairs[:1], (None, pairs[1][1])]
    report = evaluate_pair_list(mixed, SCALE, {"model": brighten_and_enlarge}, baselines=False)
    assert [r.kind for r in report.images] == ["real", "synthetic"]
    assert isinstance(report, EvaluationReport)


def test_wrong_output_size_and_bad_folders_are_errors(real_dir, tmp_path):
    with pytest.raises(UltraISError, match="expected"):
        evaluate_pairs(real_dir, SCALE, {"model": lambda low: low})
    (real_dir / "high" / "extra.png").write_bytes((real_dir / "high" / "s000_1.png").read_bytes())
    with pytest.raises(UltraISError, match="no match"):
        pairs_in_folder(real_dir)
    with pytest.raises(UltraISError):
        pairs_in_folder(tmp_path / "empty")
    with pytest.raises(UltraISError):
        evaluate_images([], SCALE, {}, baselines=False)


def test_evaluation_does_not_import_torch():
    """Baselines, metrics and evaluation stay usable without the deep-learning stack."""
    import subprocess
    import sys

    code = (
        "import sys, ultrais_core.evaluation, ultrais_core.baselines, ultrais_core.metrics, "
        "ultrais_core.training.degrade; assert 'torch' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
