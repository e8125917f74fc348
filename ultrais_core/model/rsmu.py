"""RSMU: the resolution-sensitive merging upsampler.

A single upsampling operator has a typical artefact: pixel-shuffle and transposed convolutions
make checkerboards, bilinear interpolation blurs and rings (halos) after a sharpening residual,
nearest-neighbour makes blocks. RSMU runs three x2 paths (pixel-shuffle, bilinear + conv,
nearest + conv) and merges them with per-pixel softmax weights predicted from the paths
themselves, so the network can pick the path that is artefact-free for each kind of content.
x4 is two x2 stages; the second is a light two-path one (`LightMergingUpsample2x`) that emits
the RGB residual directly, because its output has sixteen times the photo's pixels: every
convolution runs before the last doubling and only three channels exist at the output size.
Transposed convolutions are left out: their uneven kernel overlap is the textbook cause of
checkerboards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ultrais_core.model.layers import zero_output_layer


class MergingUpsample2x(nn.Module):
    """One x2 stage: three upsampling paths merged with learned per-pixel weights.

    NOTE: the dense convolutions run at the input resolution and only cheap depthwise and 1x1
    operations at the output resolution: at x4 the output has 16 times the pixels, and dense
    3x3 convolutions there would cost more than the rest of the network.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.shuffle = nn.Sequential(
            nn.Conv2d(in_channels, out_channels * 4, kernel_size=3, padding=1), nn.PixelShuffle(2)
        )
        self.bilinear_conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.nearest_conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        # Smooths the blocks of the nearest path at the output resolution (depthwise: cheap).
        self.nearest_smooth = nn.Conv2d(
            out_channels, out_channels, kernel_size=3, padding=1, groups=out_channels
        )
        self.merge_logits = nn.Conv2d(out_channels * 3, 3, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        paths = [
            self.shuffle(x),
            F.interpolate(self.bilinear_conv(x), scale_factor=2, mode="bilinear"),
            self.nearest_smooth(
                F.interpolate(self.nearest_conv(x), scale_factor=2, mode="nearest")
            ),
        ]
        # The 1x1 merge conv of the concatenated paths, as the sum of its three slices applied
        # path by path: same maths, no 3x-wide copy at the output resolution (78 MB per 640 px
        # output tile at 16 channels, a tenth of the CPU time in the profile).
        slices = self.merge_logits.weight.chunk(3, dim=1)
        logits = self.merge_logits.bias.view(1, -1, 1, 1) + sum(
            F.conv2d(p, w) for p, w in zip(paths, slices, strict=True)
        )
        weights = [w.unsqueeze(1) for w in logits.softmax(dim=1).unbind(dim=1)]
        merged = weights[0] * paths[0]
        for w, p in zip(weights[1:], paths[1:], strict=True):
            merged.addcmul_(w, p)  # in place: one output-size buffer instead of five
        return merged


class LightMergingUpsample2x(nn.Module):
    """The x4 network's second x2 stage: two paths (pixel-shuffle, bilinear) from one shared
    depthwise 3x3, merged by a per-pixel weight predicted at the input resolution.

    NOTE: this stage's output has 16 times the photo's pixels, where even elementwise work is
    expensive: with three full paths it took 35 % of the x4 network's time. Here every
    convolution runs before the resolution doubles, the merge weight is one channel upsampled
    bilinearly, and the output has few channels (the x4 network's RGB residual). The nearest
    path is left out: its blocks are what the shuffle path's learnt sub-pixel phases already
    cover at this stage.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.spatial = nn.Conv2d(
            in_channels, in_channels, kernel_size=3, padding=1, groups=in_channels
        )
        self.shuffle = nn.Sequential(
            nn.Conv2d(in_channels, out_channels * 4, kernel_size=1), nn.PixelShuffle(2)
        )
        self.bilinear_conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.merge_logit = nn.Conv2d(in_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.spatial(x)
        bilinear = F.interpolate(self.bilinear_conv(x), scale_factor=2, mode="bilinear")
        weight = torch.sigmoid(F.interpolate(self.merge_logit(x), scale_factor=2, mode="bilinear"))
        shuffled = self.shuffle(x)
        # bilinear + w * (shuffled - bilinear), in place on the fresh buffers.
        return shuffled.sub_(bilinear).mul_(weight).add_(bilinear)


class RSMU(nn.Module):
    """Upsample by `scale` (1, 2 or 4) with merging x2 stages; x1 is a plain 3x3 conv.

    Args:
        in_channels: channels of the decoder feature.
        out_channels: channels of the upsampled feature (kept small: it runs at output size).
        scale: 1, 2 or 4.
    """

    def __init__(self, *, in_channels: int, out_channels: int, scale: int) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {scale}")
        stages: list[nn.Module] = []
        if scale >= 2:
            stages += [MergingUpsample2x(in_channels, out_channels), nn.GELU()]
        if scale == 4:
            # NOTE: the last stage is the output head (3 channels, no activation). Features at
            # the x4 size cost 35 % of the network's time (8 channels, a GELU and a 3x3 head
            # there); its convolutions now run at the x2 size.
            head = LightMergingUpsample2x(out_channels, 3)
            zero_output_layer(head.shuffle)
            zero_output_layer(head.bilinear_conv)
            stages += [head]
        if not stages:
            stages = [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.GELU()]
        self.body = nn.Sequential(*stages)

        # At x4 the output is the RGB residual itself (the network then needs no head).
        self.out_channels = 3 if scale == 4 else out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
