"""The frozen semantic extractor that feeds the SMU blocks.

The paper uses a frozen pre-trained network; nothing may be downloaded here, so we pre-train a
small convolutional encoder ourselves (as the encoder of an auto-encoder on clean photos, see
`ultrais_core.training.semantic_pretrain`) and ship it inside the DS weights file. It is purely
convolutional with per-pixel LayerNorm, so it is exact tile by tile.

It starts at half resolution (a 2x2 pixel-unshuffle, then a 3x3 convolution): SMU runs at every
decoder level but full resolution, so stride-1 features were computed only to be downsampled,
and that full-resolution block cost a sixth of the x2 network's time. The format-4 stem was
distilled from the format-3 extractor's first two levels (`training.semantic_distill`), so the
deeper features SMU attends to kept their meaning.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from ultrais_core.model.layers import Downsample, LocalBlock


class SemanticExtractor(nn.Module):
    """Features at strides 2, 4, ... (one per entry of `widths`), never trained with the DS net.

    Args:
        widths: channels at each stride, starting at stride 2.
    """

    def __init__(self, *, widths: tuple[int, ...] = (32, 64)) -> None:
        super().__init__()
        self.stem = (
            nn.Sequential(
                nn.PixelUnshuffle(2), nn.Conv2d(12, widths[0], kernel_size=3, padding=1), nn.GELU()
            )
            if widths
            else nn.Identity()
        )
        self.levels = nn.ModuleList([LocalBlock(widths[0])] if widths else [])
        self.downs = nn.ModuleList()
        for previous, current in pairwise(widths):
            self.downs.append(Downsample(previous, current))
            self.levels.append(LocalBlock(current))
        self.freeze()

    def freeze(self) -> None:
        """Stop gradients to the weights; the pre-training script calls `unfreeze` instead."""
        for parameter in self.parameters():
            parameter.requires_grad_(False)

    def unfreeze(self) -> None:
        for parameter in self.parameters():
            parameter.requires_grad_(True)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        if not len(self.levels):
            return []
        features = [self.levels[0](self.stem(image))]
        for down, level in zip(self.downs, self.levels[1:], strict=True):
            features.append(level(down(features[-1])))
        return features
