"""The Real-ESRGAN "compact" super-resolution network (SRVGGNetCompact), written from its paper.

    conv 3x3 (3 -> F) + PReLU, then `convs` x [conv 3x3 (F -> F) + PReLU],
    then conv 3x3 (F -> 3 * scale^2), pixel-shuffle, plus the input upsampled.

Two uses, both as a peer of the DS network rather than part of it: the benchmark runs it with
random weights as the speed reference (64 features, 16 convs: a peer app's network size), and
the evaluation's cascade baseline trains a smaller one here as its learned SR stage
(ultrais_core/training/cascade.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SRVGGNetCompact(nn.Module):
    """SRVGGNetCompact (Wang et al., Real-ESRGAN), called as `model(x)` or `model(x, context)`.

    Args:
        scale: 1, 2 or 4 (x1 keeps the shape: the last conv has 3 channels and no shuffle).
        features: channels of the body.
        convs: 3x3 body convolutions between the first and the last one.
        upsample: how the input is upsampled for the residual add, "nearest" (as Real-ESRGAN)
            or "bilinear".
    """

    def __init__(
        self, scale: int, *, features: int = 64, convs: int = 16, upsample: str = "nearest"
    ) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {scale}")
        if upsample not in ("nearest", "bilinear"):
            raise ValueError(f"upsample must be nearest or bilinear, got {upsample!r}")
        self.scale = scale
        self.upsample = upsample
        layers: list[nn.Module] = [
            nn.Conv2d(3, features, kernel_size=3, padding=1),
            nn.PReLU(num_parameters=features),
        ]
        for _ in range(convs):
            layers += [
                nn.Conv2d(features, features, kernel_size=3, padding=1),
                nn.PReLU(num_parameters=features),
            ]
        layers.append(nn.Conv2d(features, 3 * scale * scale, kernel_size=3, padding=1))
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """`context` is accepted (the engine passes the photo's) and ignored."""
        out = self.shuffle(self.body(x))
        if self.scale == 1:
            return out + x
        if self.upsample == "nearest":
            base = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        else:
            base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + base
