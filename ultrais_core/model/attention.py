"""ISDM: the illumination-semantic dual modulator of the reflection decoder.

IMU and SMU are the same block, a transposed (channel) cross-attention in the style of
Restormer's MDTA followed by a gated feed-forward network; they differ only in what they attend
to (illumination features for IMU, frozen semantic features for SMU).

NOTE: Restormer's channel attention sums over the whole spatial extent, so a tile would see a
different attention matrix than the whole photo and tiled outputs would show seams. Here the
C x C attention is computed inside fixed windows aligned to the tensor's origin. When the engine
starts every tile on a multiple of the network's size multiple, tile windows coincide with photo
windows and tiled inference is exact. A window that runs past the edge is zero-padded after the
projections; zeros add nothing to the Q.K dot products nor to the L2 norms, so a partial window
attends over exactly its valid pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ultrais_core.model.layers import GatedFeedForward, LayerNorm2d


class WindowedChannelCrossAttention(nn.Module):
    """Channel cross-attention: queries from `x`, keys and values from `context`, per window.

    Args:
        channels: channels of `x` (and of the output).
        context_channels: channels of the attended feature.
        heads: attention heads; `channels` must be divisible by it.
        window: side of the square attention window, in pixels of this feature map.
    """

    def __init__(self, *, channels: int, context_channels: int, heads: int, window: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.window = window
        self.norm_query = LayerNorm2d(channels)
        self.norm_context = LayerNorm2d(context_channels)
        self.query = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=1),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1, groups=channels),
        )
        self.key_value = nn.Sequential(
            nn.Conv2d(context_channels, channels * 2, kernel_size=1),
            nn.Conv2d(channels * 2, channels * 2, kernel_size=3, padding=1, groups=channels * 2),
        )
        # Learned per-head temperature, as in Restormer: cosine similarities are in [-1, 1].
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.project = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        q = self.query(self.norm_query(x))
        k, v = self.key_value(self.norm_context(context)).chunk(2, dim=1)
        pad_h = -height % self.window
        pad_w = -width % self.window
        if pad_h or pad_w:
            q, k, v = (F.pad(t, (0, pad_w, 0, pad_h)) for t in (q, k, v))
        rows, cols = q.shape[-2] // self.window, q.shape[-1] // self.window

        def to_windows(t: torch.Tensor) -> torch.Tensor:
            return rearrange(
                t,
                "b (head c) (rows wh) (cols ww) -> (b rows cols) head c (wh ww)",
                head=self.heads,
                wh=self.window,
                ww=self.window,
            )

        q, k, v = to_windows(q), to_windows(k), to_windows(v)
        # NOTE: fp32 for the normalisation and softmax; the rest may run in half precision.
        q = F.normalize(q.float(), dim=-1)
        k = F.normalize(k.float(), dim=-1)
        attention = (q @ k.transpose(-2, -1)) * self.temperature
        out = (attention.softmax(dim=-1) @ v.float()).to(v.dtype)
        out = rearrange(
            out,
            "(b rows cols) head c (wh ww) -> b (head c) (rows wh) (cols ww)",
            rows=rows,
            cols=cols,
            wh=self.window,
            ww=self.window,
        )
        return self.project(out[..., :height, :width])


class ModulationUnit(nn.Module):
    """One IMU or SMU: cross-attention with a residual add, then a gated FFN with a residual add."""

    def __init__(self, *, channels: int, context_channels: int, heads: int, window: int) -> None:
        super().__init__()
        self.attention = WindowedChannelCrossAttention(
            channels=channels, context_channels=context_channels, heads=heads, window=window
        )
        self.ffn = GatedFeedForward(channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.ffn(x + self.attention(x, context))


class ISDM(nn.Module):
    """Illumination-semantic dual modulator: IMU (attend to illumination), then SMU (semantics)."""

    def __init__(
        self,
        *,
        channels: int,
        illumination_channels: int,
        semantic_channels: int,
        heads: int,
        window: int,
    ) -> None:
        super().__init__()
        self.imu = ModulationUnit(
            channels=channels, context_channels=illumination_channels, heads=heads, window=window
        )
        self.smu = ModulationUnit(
            channels=channels, context_channels=semantic_channels, heads=heads, window=window
        )

    def forward(
        self, reflection: torch.Tensor, illumination: torch.Tensor, semantic: torch.Tensor
    ) -> torch.Tensor:
        return self.smu(self.imu(reflection, illumination), semantic)
