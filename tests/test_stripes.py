"""The striped inference tail: pure stripe maths, and the network's result unchanged by it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ultrais_core.model import stripes
from ultrais_core.model.network import DualStreamNet, config_for
from ultrais_core.model.stripes import run_in_stripes, stripe_bounds


def test_stripe_bounds_cover_every_row_once_with_clipped_halos():
    bounds = stripe_bounds(50, rows=16, halo=4)
    assert [(a, b) for a, b, _, _ in bounds] == [(0, 16), (16, 32), (32, 48), (48, 50)]
    assert [(a, b) for _, _, a, b in bounds] == [(0, 20), (12, 36), (28, 50), (44, 50)]
    with pytest.raises(ValueError):
        stripe_bounds(10, rows=0, halo=1)


def test_run_in_stripes_matches_one_pass_for_a_local_upsampler():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 4, 3, padding=1)

    def tail(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(conv(a) + b, scale_factor=2, mode="bilinear", align_corners=False)
        return F.conv2d(up, torch.ones(4, 1, 3, 3) / 9, padding=1, groups=4)

    a, b = torch.rand(1, 4, 37, 20), torch.rand(1, 4, 37, 20)
    whole = tail(a, b)
    striped = run_in_stripes(tail, (a, b), scale=2, rows=8, halo=3)
    assert torch.allclose(striped, whole, atol=1e-6)
    # Too little context shows at the cuts: the test above is not vacuous.
    short = run_in_stripes(tail, (a, b), scale=2, rows=8, halo=0)
    assert not torch.allclose(short, whole, atol=1e-4)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_network_output_is_the_same_in_stripes(scale: int, monkeypatch: pytest.MonkeyPatch):
    """Random weights everywhere (the heads start at zero, which would hide the upsampler), a
    stripe height that cuts the tile several times: the same output as the unstriped pass."""
    torch.manual_seed(scale)
    model = DualStreamNet(config_for("small", scale)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    x = torch.rand(1, 3, 72, 56) * 0.3
    with torch.no_grad():
        monkeypatch.setattr(stripes, "STRIPE_BYTES", 1 << 40)
        whole = model(x)
        monkeypatch.setattr(stripes, "STRIPE_BYTES", 1)
        striped = model(x)
        channels_last = model.to(memory_format=torch.channels_last)(x)
    assert striped.shape == whole.shape == (1, 3, 72 * scale, 56 * scale)
    assert torch.allclose(striped, whole, atol=1e-5)
    assert torch.allclose(channels_last, whole, atol=1e-5)
    assert torch.allclose(striped, model.forward_with_illumination(x).output.detach(), atol=1e-5)
