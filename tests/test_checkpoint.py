"""Training checkpoints: model and optimizer state survive a save and load (no pickle)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ultrais_core.errors import WeightsError
from ultrais_core.model import DualStreamNet
from ultrais_core.training.averaging import WeightAverage
from ultrais_core.training.checkpoint import load_checkpoint, save_checkpoint


def test_round_trip_restores_model_optimizer_and_state(tmp_path: Path, tiny_config: dict) -> None:
    torch.manual_seed(0)
    model = DualStreamNet(scale=2, **tiny_config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    model(torch.rand(1, 3, 16, 16)).mean().backward()
    optimizer.step()
    path = tmp_path / "run.ckpt.safetensors"
    save_checkpoint(path, model, optimizer, {"step": 7})
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind

    restored = DualStreamNet(model.config)
    restored_optimizer = torch.optim.AdamW([p for p in restored.parameters() if p.requires_grad])
    assert load_checkpoint(path, restored, restored_optimizer) == {"step": 7}
    for a, b in zip(model.state_dict().values(), restored.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    original = optimizer.state_dict()["state"]
    loaded = restored_optimizer.state_dict()["state"]
    assert original.keys() == loaded.keys()
    assert torch.equal(original[0]["exp_avg"], loaded[0]["exp_avg"])
    assert float(original[0]["step"]) == float(loaded[0]["step"])


def test_truncated_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.ckpt.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    model = DualStreamNet(
        scale=1,
        widths=(8,),
        illumination_widths=(8,),
        semantic_widths=(),
        blocks=(1,),
        heads=(1,),
        window=8,
        upsampler_channels=8,
    )
    with pytest.raises(WeightsError, match="broken"):
        load_checkpoint(path, model, torch.optim.AdamW(model.parameters()))


def test_the_weight_average_survives_a_checkpoint(tmp_path: Path, tiny_config: dict) -> None:
    torch.manual_seed(0)
    model = DualStreamNet(scale=2, **tiny_config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    average = WeightAverage(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    average.update(model, step=1000)
    path = tmp_path / "run.ckpt.safetensors"
    save_checkpoint(path, model, optimizer, {"step": 1}, average=average.model)

    restored = DualStreamNet(model.config)
    restored_average = WeightAverage(restored)
    opt = torch.optim.AdamW(restored.parameters())
    load_checkpoint(path, restored, opt, restored_average.model)
    for a, b in zip(average.model.parameters(), restored_average.model.parameters(), strict=True):
        assert torch.equal(a, b)
    # ... and differs from the model it averages (a checkpoint without it would copy the model).
    assert not torch.equal(next(restored.parameters()), next(restored_average.model.parameters()))
