"""The frozen semantic extractor that feeds the SMU blocks.

The paper uses a frozen pre-trained network; nothing may be downloaded here, so we pre-train a
small convolutional encoder ourselves (as the encoder of an auto-encoder on clean photos, see
`ultrais_core.training.semantic_pretrain`) and ship it inside the DS weights file. It is purely
convolutional with per-pixel LayerNorm, so it is exact tile by tile.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from ultrais_core.model.layers import Downsample, LocalBlock


class SemanticExtractor(nn.Module):
    """Features at strides 1, 2, 4, ... (one per entry of `widths`), never trained with the DS net.

    Args:
        widths: channels at each stride.
    """

    def __init__(self, *, widths: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], kernel_size=3, padding=1), nn.GELU())
        self.levels = nn.ModuleList([LocalBlock(widths[0])])
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
        features = [self.levels[0](self.stem(image))]
        for down, level in zip(self.downs, self.levels[1:], strict=True):
            features.append(level(down(features[-1])))
        return features
