"""ISDM: the illumination-semantic dual modulator of the reflection decoder.

IMU and SMU are the same block, a transposed (channel) cross-attention in the style of
Restormer's MDTA followed by a gated feed-forward network; they differ only in what they attend
to (illumination features for IMU, frozen semantic features for SMU).

NOTE: Restormer's channel attention sums over the whole spatial extent, so a tile would see a
different attention matrix than the whole photo and tiled outputs would show seams. Here each
C x C attention matrix comes from a window of 2w x 2w pixels, and the windows overlap: they start
on every multiple of w (the stride), so each pixel lies in four of them. A pixel's output is the
blend of its four windows' outputs with bilinear "tent" weights that sum to one. Plain
non-overlapping windows were tried first and trained: every window mixed channels its own way,
and the photos showed a grid of brightness and colour steps at the window borders. With the
tent blend the attention varies smoothly across the photo, and since all windows sit on
multiples of w from the photo's origin (tiles start on multiples of the size multiple), a tile
computes exactly the photo's windows. A window that runs past the edge is zero-padded after the
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
        window: stride w of the overlapping attention windows (each is 2w x 2w), in pixels of
            this feature map.
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
        stride = self.window
        q = self.query(self.norm_query(x))
        k, v = self.key_value(self.norm_context(context)).chunk(2, dim=1)
        # Shift by one stride so the windows centred on the photo's first row/column exist.
        q, k, v = (F.pad(t, (stride, 0, stride, 0)) for t in (q, k, v))
        blended = torch.zeros_like(q, dtype=torch.float32)
        for row_offset in (0, stride):
            for col_offset in (0, stride):
                part = self._attend_in_windows(
                    q[..., row_offset:, col_offset:],
                    k[..., row_offset:, col_offset:],
                    v[..., row_offset:, col_offset:],
                )
                blended[..., row_offset:, col_offset:] += part
        out = blended[..., stride : stride + height, stride : stride + width].to(v.dtype)
        return self.project(out)

    def _attend_in_windows(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention in non-overlapping 2w windows from the top-left, weighted by the tent."""
        size = 2 * self.window
        height, width = q.shape[-2:]
        pad_h, pad_w = -height % size, -width % size
        if pad_h or pad_w:
            q, k, v = (F.pad(t, (0, pad_w, 0, pad_h)) for t in (q, k, v))
        rows, cols = q.shape[-2] // size, q.shape[-1] // size

        def to_windows(t: torch.Tensor) -> torch.Tensor:
            return rearrange(
                t,
                "b (head c) (rows wh) (cols ww) -> (b rows cols) head c (wh ww)",
                head=self.heads,
                wh=size,
                ww=size,
            )

        q, k, v = to_windows(q), to_windows(k), to_windows(v)
        # NOTE: fp32 for the normalisation and softmax; the rest may run in half precision.
        q = F.normalize(q.float(), dim=-1)
        k = F.normalize(k.float(), dim=-1)
        attention = (q @ k.transpose(-2, -1)) * self.temperature
        out = attention.softmax(dim=-1) @ v.float()
        out = out * tent_weights(self.window, out.device).flatten()
        out = rearrange(
            out,
            "(b rows cols) head c (wh ww) -> b (head c) (rows wh) (cols ww)",
            rows=rows,
            cols=cols,
            wh=size,
            ww=size,
        )
        return out[..., :height, :width]


def tent_weights(stride: int, device: torch.device) -> torch.Tensor:
    """2w x 2w bilinear weights of one window; windows at every multiple of w sum to one.

    Along one axis, t(i) = (i + 0.5) / w rising over the first half and 1 - (i - w + 0.5) / w
    falling over the second, so t(i) + t(i + w) = 1 for the two windows covering each pixel.
    """
    i = torch.arange(2 * stride, dtype=torch.float32, device=device)
    ramp = torch.where(i < stride, (i + 0.5) / stride, 1 - (i - stride + 0.5) / stride)
    return ramp[:, None] * ramp[None, :]


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
