"""Shared fixtures: tiny networks and weights files written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = {
    "widths": (8, 16),
    "illumination_widths": (8, 8),
    "semantic_widths": (8,),
    "blocks": (1, 1),
    "heads": (1, 2),
    "window": 8,
    "upsampler_channels": 8,
}


@pytest.fixture
def tiny_config() -> dict:
    return dict(TINY)


@pytest.fixture
def weights_dir(tmp_path: Path) -> Path:
    """A folder holding random-weight tiny networks for x1, x2 and x4."""
    import torch

    from ultrais_core.model import DualStreamNet
    from ultrais_core.weights import save_weights

    torch.manual_seed(0)
    folder = tmp_path / "weights"
    for scale in (1, 2, 4):
        save_weights(DualStreamNet(scale=scale, **TINY), folder / f"ultrais_x{scale}.safetensors")
    return folder
