"""The cascade baseline (c): its SR stage trains, saves, loads and chains after an enhancer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ultrais_core.errors import WeightsError
from ultrais_core.training.cascade import (
    CascadeSROptions,
    cascade,
    load_cascade_sr,
    train_cascade_sr,
)
from ultrais_core.weights import save_safetensors_atomic


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96].astype(np.float32)
    for i in range(12):
        base = 128 + 100 * np.sin(xx / (3 + i)) * np.cos(yy / 5)
        img = np.clip(base[..., None] + rng.integers(-20, 20, (96, 96, 3)), 0, 255)
        folder = root / "clean" / "set"
        folder.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(folder / f"img_{i:02d}.png"), img.astype(np.uint8))
    (root / "sice_zerodce" / "low").mkdir(parents=True)
    (root / "sice_zerodce" / "high").mkdir(parents=True)
    return root


def test_sr_stage_trains_saves_and_reloads(clean_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sr_x2.safetensors"
    options = CascadeSROptions(
        scale=2, out=out, data=clean_root, steps=4, batch=2, crop=16, features=8, convs=1,
        validation_items=2,
    )  # fmt: skip
    summary = train_cascade_sr(options)
    assert summary["steps"] == 4
    assert np.isfinite(summary["val_psnr"]) and np.isfinite(summary["val_psnr_bicubic"])
    model = load_cascade_sr(out)
    assert model.scale == 2 and not model.training
    low = np.random.default_rng(1).random((10, 14, 3), dtype=np.float32)
    run = cascade(lambda x: np.clip(x * 2, 0, 1), model)
    result = run(low)
    assert result.shape == (20, 28, 3) and result.dtype == np.float32
    assert result.min() >= 0 and result.max() <= 1
    # The SR stage is applied to the enhancer's output, not to the dark input.
    brightened = torch.from_numpy(np.clip(low * 2, 0, 1)).permute(2, 0, 1)[None]
    with torch.inference_mode():
        expected = model(brightened).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(result, expected, atol=1e-6)


def test_loading_other_safetensors_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "other.safetensors"
    save_safetensors_atomic({"w": torch.zeros(2)}, other, {"format": "something else"})
    with pytest.raises(WeightsError, match="not a cascade SR weights file"):
        load_cascade_sr(other)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 5)
    with pytest.raises(WeightsError, match="not a safetensors file"):
        load_cascade_sr(broken)


def test_truncated_sr_weights_are_a_clear_error(tmp_path: Path) -> None:
    from ultrais_core.model.compact_sr import SRVGGNetCompact
    from ultrais_core.training.cascade import KIND

    model = SRVGGNetCompact(2, features=8, convs=1, upsample="bilinear")
    metadata = {"format": KIND, "scale": "2", "features": "8", "convs": "1"}
    path = tmp_path / "sr.safetensors"
    save_safetensors_atomic(dict(model.state_dict()), path, metadata)
    assert load_cascade_sr(path).scale == 2
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])  # header intact, tensor data cut short
    with pytest.raises(WeightsError, match="unreadable weights"):
        load_cascade_sr(path)
