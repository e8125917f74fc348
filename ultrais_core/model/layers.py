"""Local building blocks shared by every stream of the Dual-Stream network.

Everything here is per-pixel or convolutional, so it gives the same result on a tile as on the
whole photo (away from the tile border). No batch or instance normalisation: statistics over the
spatial extent would differ between a tile and the photo and show up as brightness steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ultrais_core.model.stripes import run_in_stripes, stripe_rows, striping


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of each pixel (Restormer's "WithBias" LayerNorm on NCHW)."""

    def __init__(self, channels: int, *, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # NOTE: statistics in fp32 even under autocast: wide features overflow fp16 variances.
        # F.layer_norm on the channels-last view is one fused kernel: 1.15x faster for the
        # whole network on the CPU than the same maths written out (bench/cpu_backends).
        channels_last = x.float().permute(0, 2, 3, 1)
        y = F.layer_norm(
            channels_last,
            (channels_last.shape[-1],),
            self.weight.view(-1),
            self.bias.view(-1),
            self.eps,
        )
        return y.permute(0, 3, 1, 2).to(x.dtype)


class GatedFeedForward(nn.Module):
    """Restormer's gated-dconv feed-forward: two depthwise-conv branches multiplied elementwise."""

    def __init__(self, channels: int, *, expansion: float = 2.0) -> None:
        super().__init__()
        hidden = max(8, int(channels * expansion))
        self.norm = LayerNorm2d(channels)
        self.expand = nn.Conv2d(channels, hidden * 2, kernel_size=1)
        self.depthwise = nn.Conv2d(
            hidden * 2, hidden * 2, kernel_size=3, padding=1, groups=hidden * 2
        )
        self.project = nn.Conv2d(hidden, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.depthwise(self.expand(self.norm(x))).chunk(2, dim=1)
        # add_ in place on the conv's fresh output (its backward does not need it): one
        # feature-size buffer less per block, and on the CPU every large buffer costs page faults.
        return self.project(F.gelu(gate) * value).add_(x)


class LocalBlock(nn.Module):
    """A cheap residual block for the encoders: spatial mixing by a gated depthwise conv, then FFN.

    NOTE: the spatial part is NAFNet-style (1x1, depthwise 3x3, multiplicative gate, 1x1): most of
    the network runs at full input resolution, where dense 3x3 convolutions would dominate the cost.
    """

    def __init__(self, channels: int, *, expansion: float = 2.0) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels)
        self.expand = nn.Conv2d(channels, channels * 2, kernel_size=1)
        self.depthwise = nn.Conv2d(
            channels * 2, channels * 2, kernel_size=3, padding=1, groups=channels * 2
        )
        self.project = nn.Conv2d(channels, channels, kernel_size=1)
        self.ffn = GatedFeedForward(channels, expansion=expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.depthwise(self.expand(self.norm(x))).chunk(2, dim=1)
        return self.ffn(self.project(a * b).add_(x))


class GatedRefinement(nn.Module):
    """LocalBlock's spatial half alone (norm, 1x1, depthwise 3x3, gate, 1x1, residual).

    NOTE: for the full-resolution end of the decoder, where every operation is paid per output
    pixel: the fusion with illumination and semantics happens one level down, and this only
    restores the edges the upsampling blurred.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels)
        self.expand = nn.Conv2d(channels, channels * 2, kernel_size=1)
        self.depthwise = nn.Conv2d(
            channels * 2, channels * 2, kernel_size=3, padding=1, groups=channels * 2
        )
        self.project = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not striping():
            return self._refine(x)
        # Inference: in stripes (see `stripes`); the depthwise 3x3 reaches one row.
        row_bytes = 2 * x.shape[1] * x.shape[-1] * x.element_size()
        return run_in_stripes(self._refine, (x,), scale=1, rows=stripe_rows(row_bytes), halo=1)

    def _refine(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.depthwise(self.expand(self.norm(x))).chunk(2, dim=1)
        return self.project(a * b).add_(x)


class Downsample(nn.Module):
    """Halve the resolution without aliasing-prone strided convs: pixel-unshuffle, then 1x1."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.PixelUnshuffle(2), nn.Conv2d(in_channels * 4, out_channels, kernel_size=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """Double the resolution inside a U-Net decoder: 1x1 to 4x channels, then pixel-shuffle."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels * 4, kernel_size=1), nn.PixelShuffle(2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def stack_blocks(channels: int, count: int, *, expansion: float = 2.0) -> nn.Module:
    """`count` LocalBlocks in a row, or Identity when count is 0."""
    if count == 0:
        return nn.Identity()
    return nn.Sequential(*(LocalBlock(channels, expansion=expansion) for _ in range(count)))


def zero_output_layer(layer: nn.Module) -> None:
    """Zero a layer that emits the residual: an untrained network then renders the night curve
    alone, a sane photo from the first step, and training adds detail from there."""
    for parameter in layer.parameters():
        nn.init.zeros_(parameter)
