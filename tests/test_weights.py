"""Weights files: a file alone rebuilds its network; bad files fail with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ultrais_core.errors import WeightsError
from ultrais_core.model import DualStreamNet
from ultrais_core.weights import FORMAT_VERSION, load_weights, read_metadata, save_weights


@pytest.mark.parametrize("scale", [1, 4])
def test_round_trip_rebuilds_the_same_network(
    tmp_path: Path, tiny_config: dict, scale: int
) -> None:
    torch.manual_seed(1)
    model = DualStreamNet(scale=scale, **tiny_config).eval()
    path = save_weights(model, tmp_path / "w.safetensors", notes="test")
    loaded, descriptor = load_weights(path)
    assert descriptor.scale == scale
    assert descriptor.size_multiple == model.size_multiple
    assert descriptor.parameters == sum(p.numel() for p in model.state_dict().values())
    assert descriptor.notes == "test"
    x = torch.rand(1, 3, 19, 23) * 0.1
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_half_precision_files_are_half_the_size(tmp_path: Path, tiny_config: dict) -> None:
    model = DualStreamNet(scale=2, **tiny_config)
    full = save_weights(model, tmp_path / "full.safetensors")
    half = save_weights(model, tmp_path / "half.safetensors", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_weights(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_metadata_holds_format_version_and_hyperparameters(
    tmp_path: Path, tiny_config: dict
) -> None:
    path = save_weights(DualStreamNet(scale=2, **tiny_config), tmp_path / "w.safetensors")
    metadata = read_metadata(path)
    assert metadata["format_version"] == str(FORMAT_VERSION)
    assert json.loads(metadata["hyperparameters"])["widths"] == list(tiny_config["widths"])


def test_written_files_are_readable_by_others(tmp_path: Path, tiny_config: dict) -> None:
    """The atomic writer's temporary file is private (mkstemp); the published file must not be."""
    path = save_weights(DualStreamNet(**tiny_config), tmp_path / "w.safetensors")
    assert path.stat().st_mode & 0o777 == 0o644


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"nothere\.safetensors.*not found"):
        load_weights(tmp_path / "nothere.safetensors")


def test_truncated_file_is_refused(tmp_path: Path, tiny_config: dict) -> None:
    path = save_weights(DualStreamNet(scale=2, **tiny_config), tmp_path / "w.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"w\.safetensors.*(truncated|corrupt)"):
        load_weights(path)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x00\x01 definitely not tensors")
    with pytest.raises(WeightsError, match=r"junk\.safetensors"):
        load_weights(path)


def test_foreign_safetensors_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(path))
    with pytest.raises(WeightsError, match="not an UltraIS weights file"):
        load_weights(path)


def test_mismatched_tensors_are_named(tmp_path: Path, tiny_config: dict) -> None:
    """A file whose tensors do not fit the hyper-parameters it declares."""
    path = save_weights(DualStreamNet(scale=2, **tiny_config), tmp_path / "w.safetensors")
    header = read_metadata(path)
    other = dict(tiny_config, widths=(8, 24), heads=(1, 2))
    header["hyperparameters"] = json.dumps(DualStreamNet(scale=2, **other).config.to_dict())
    from safetensors.torch import load_file

    save_file(load_file(str(path)), str(path), metadata=header)
    with pytest.raises(WeightsError, match=r"shape|does not match"):
        load_weights(path)


def test_newer_format_version_is_refused(tmp_path: Path, tiny_config: dict) -> None:
    path = save_weights(DualStreamNet(scale=2, **tiny_config), tmp_path / "w.safetensors")
    from safetensors.torch import load_file

    header = read_metadata(path)
    header["format_version"] = "99"
    save_file(load_file(str(path)), str(path), metadata=header)
    with pytest.raises(WeightsError, match=r"version 99"):
        load_weights(path)


def test_no_pickle_anywhere_in_the_project() -> None:
    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(p.relative_to(root))
        for folder in ("ultrais_core", "app", "bench", "packaging")
        for p in (root / folder).rglob("*.py")
        if "torch.load(" in p.read_text() or "import pickle" in p.read_text()
    ]
    assert offenders == []
