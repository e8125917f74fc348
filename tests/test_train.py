"""The training loop end to end on a miniature data folder: weights out, checkpoint, resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors import safe_open

from ultrais_core.training.train import TrainOptions, kept_average_path, train
from ultrais_core.weights import load_weights, read_header_metadata


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight clean photos and four real stacks, large enough for the 64 px validation crops."""
    root = tmp_path_factory.mktemp("train_data")
    rng = np.random.default_rng(0)
    for i in range(8):
        img = rng.integers(100, 255, (136, 136, 3), dtype=np.uint8)
        (root / "clean").mkdir(exist_ok=True)
        assert cv2.imwrite(str(root / "clean" / f"c{i}.png"), cv2.GaussianBlur(img, (5, 5), 0))
    for side in ("low", "high"):
        (root / "sice_zerodce" / side).mkdir(parents=True)
    for stack in range(12):
        high = rng.integers(60, 200, (128, 128, 3), dtype=np.uint8)
        name = f"s{stack:03d}_{stack}.png"
        assert cv2.imwrite(str(root / "sice_zerodce" / "high" / name), high)
        assert cv2.imwrite(str(root / "sice_zerodce" / "low" / name), high // 8)
    return root


def _steps_in(path: Path) -> int:
    return int(json.loads(read_header_metadata(path)["notes"])["steps"])


def test_a_run_writes_loadable_weights_and_resumes_from_its_checkpoint(
    small_data: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    out = tmp_path / "x2.safetensors"
    options = TrainOptions(
        scale=2, config="small", steps=2, out=out, data=small_data, batch=2, crop=16,
        validate_every=2, workers=0, real_fraction=0.5,
    )  # fmt: skip
    train(options)
    model, _ = load_weights(out)
    assert model.config.scale == 2 and _steps_in(out) == 2
    checkpoint = out.with_suffix(".ckpt.safetensors")
    with safe_open(str(checkpoint), "pt") as handle:
        names = list(handle.keys())
    assert any(n.startswith("average.") for n in names)
    assert any(n.startswith("optimizer.") for n in names)

    resumed = TrainOptions(**{**options.__dict__, "steps": 3, "resume": checkpoint})
    train(resumed)
    assert _steps_in(out) == 3
    # The shipped weights are the average, which moved away from the first run's.
    again, _ = load_weights(out)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True)
    )


def test_a_run_keeps_its_weight_average_at_intervals(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "x2.safetensors"
    options = TrainOptions(
        scale=2, config="small", steps=3, out=out, data=small_data, batch=2, crop=16,
        validate_every=3, workers=0, real_fraction=0.5, average_minutes=1e-5,
    )  # fmt: skip
    train(options)
    kept = sorted(tmp_path.glob("x2.m*.safetensors"))
    assert kept == [kept_average_path(out, 0)]  # sub-minute marks all round to minute 0
    model, _ = load_weights(kept[0])
    assert model.config.scale == 2 and 1 <= _steps_in(kept[0]) <= 3
    assert kept_average_path(out, 15.0).name == "x2.m015.safetensors"
    assert kept_average_path(out, 120.0).name == "x2.m120.safetensors"
