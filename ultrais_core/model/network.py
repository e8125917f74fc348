"""The Dual-Stream (DS) network of Gao et al., "A Dual-Stream-Modulated Learning Framework for
Illuminating and Super-Resolving Ultra-Dark Images" (TNNLS 2024), written from the paper's text.

Data flow (names as in the paper):
    x^LL --max-RGB, blur--> u^IG --illumination U-Net (+ photo context)--> u^NL
    v^NL = x^LL / u^NL                                   (Retinex division, u^NL kept >= u_min)
    v^NL --reflection U-Net, decoder with ISDM (IMU with illumination features, SMU with
            frozen semantic features) at every level--> RSMU --> head --> y^NS (+ upsampled v)

Choices the paper leaves open, and why:
- One network per output scale (x1, x2, x4), each in its own weights file. The three tasks see
  different degradations and the upsampler is most of what differs; separate files keep each a
  few MB, let the engine load only the scale in use, and let each scale be retrained alone.
- The illumination is one channel in (u_min, 1): colour correction is left to the reflection
  stream, because a per-channel illumination divides noise-dominated shadows into colour casts.
  It is parameterised around the guidance (u = u^IG / target, corrected by the U-Net in logit
  space), so training starts from a sensible local exposure instead of from nothing.
- Tile exactness: the only photo-wide input is `context` (exposure statistics, see
  `guidance.photo_context`) modulating the illumination bottleneck (FiLM). Everything else is
  convolution, per-pixel LayerNorm, or attention in windows aligned to the photo grid. Inputs
  are padded to `size_multiple` internally and cropped back.
- The semantic extractor sees the reflection v (a brightened image), which looks like the clean
  photos it was pre-trained on; the dark input would give it little to recognise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ultrais_core.model.attention import ISDM
from ultrais_core.model.guidance import (
    CONTEXT_FEATURES,
    gaussian_kernel1d,
    illumination_guidance,
    photo_context,
)
from ultrais_core.model.layers import Downsample, LayerNorm2d, Upsample, stack_blocks
from ultrais_core.model.rsmu import RSMU
from ultrais_core.model.semantic import SemanticExtractor


@dataclass(frozen=True)
class DSConfig:
    """Hyper-parameters of a DS network; stored in every weights file so the file rebuilds it.

    Args:
        scale: output scale, 1, 2 or 4.
        widths: reflection stream channels per level (the number of levels is its length).
        illumination_widths: illumination stream channels per level.
        semantic_widths: semantic extractor channels per level.
        blocks: LocalBlocks per encoder level of the reflection stream.
        heads: attention heads of the ISDM at each level.
        window: stride of the overlapping attention windows (each 2 x window wide), in pixels
            of each level's feature map.
        upsampler_channels: channels at the output resolution.
        guidance_sigma: blur of the illumination guidance, in input pixels.
        min_illumination: floor of u^NL; bounds the gain of the Retinex division (x100).
    """

    scale: int = 2
    widths: tuple[int, ...] = (24, 48, 96)
    illumination_widths: tuple[int, ...] = (12, 24, 48)
    semantic_widths: tuple[int, ...] = (16, 32, 64)
    blocks: tuple[int, ...] = (1, 1, 2)
    heads: tuple[int, ...] = (1, 2, 4)
    window: int = 8
    upsampler_channels: int = 16
    guidance_sigma: float = 2.0
    min_illumination: float = 0.01
    exposure_target: float = field(default=0.6)

    def __post_init__(self) -> None:
        levels = len(self.widths)
        if self.scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {self.scale}")
        for name in ("illumination_widths", "semantic_widths", "blocks", "heads"):
            if len(getattr(self, name)) != levels:
                raise ValueError(f"{name} must have one entry per level ({levels})")
        for width, heads in zip(self.widths, self.heads, strict=True):
            if width % heads:
                raise ValueError(f"width {width} is not divisible by {heads} heads")

    @property
    def size_multiple(self) -> int:
        """Inputs are padded to this; tiles must start on multiples of it to be exact."""
        return self.window * 2 ** (len(self.widths) - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DSConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown hyper-parameters: {sorted(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


PRESETS: dict[str, dict[str, Any]] = {
    # Runs at about a second per input megapixel on a 2-core CPU; trained on the CPU.
    "small": {},
    # For GPU training: twice the width, deeper bottleneck.
    "large": {
        "widths": (48, 96, 192),
        "illumination_widths": (16, 32, 64),
        "semantic_widths": (24, 48, 96),
        "blocks": (2, 2, 4),
        "heads": (1, 2, 4),
        "upsampler_channels": 32,
    },
}


def config_for(preset: str, scale: int) -> DSConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown config {preset!r}; choose from {sorted(PRESETS)}")
    return DSConfig(scale=scale, **PRESETS[preset])


class IlluminationUNet(nn.Module):
    """Predicts the correction of log-illumination from u^IG and x; its decoder features feed IMU.

    The photo context modulates the bottleneck (FiLM), so the predicted exposure depends on the
    whole photo's brightness, not on what a tile happens to contain.
    """

    def __init__(self, *, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Conv2d(5, widths[0], kernel_size=3, padding=1)
        self.encoders = nn.ModuleList([stack_blocks(w, 1) for w in widths])
        self.downs = nn.ModuleList(Downsample(a, b) for a, b in pairwise(widths))
        self.film = nn.Sequential(
            nn.Linear(CONTEXT_FEATURES, 32), nn.GELU(), nn.Linear(32, widths[-1] * 2)
        )
        self.ups = nn.ModuleList(Upsample(b, a) for a, b in pairwise(widths))
        self.decoders = nn.ModuleList([stack_blocks(w, 1) for w in widths[:-1]])
        self.head = nn.Conv2d(widths[0], 1, kernel_size=3, padding=1)

    def forward(
        self, features_in: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Returns the logit correction (N x 1 x H x W) and decoder features, coarsest first."""
        x = self.stem(features_in)
        skips = []
        for level, encoder in enumerate(self.encoders):
            if level:
                x = self.downs[level - 1](x)
            x = encoder(x)
            skips.append(x)
        scale, shift = self.film(context).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        x = x * (1 + scale) + shift
        decoded = [x]
        for level in reversed(range(len(self.decoders))):
            x = self.decoders[level](self.ups[level](x) + skips[level])
            decoded.append(x)
        return self.head(x), decoded


class DualStreamNet(nn.Module):
    """The DS network. Call with an N x 3 x H x W batch in [0,1]; returns N x 3 x sH x sW.

    Build from a `DSConfig` (`DualStreamNet(config)`) or with keyword arguments of `DSConfig`
    (`DualStreamNet(scale=4, widths=(16, 32, 64), ...)`).
    """

    def __init__(self, config: DSConfig | None = None, **hyperparameters: Any) -> None:
        super().__init__()
        if config is not None and hyperparameters:
            raise TypeError("pass either a DSConfig or keyword hyper-parameters, not both")
        self.config = config or DSConfig(**hyperparameters)
        c = self.config
        levels = len(c.widths)
        self.register_buffer(
            "guidance_kernel", gaussian_kernel1d(c.guidance_sigma), persistent=False
        )
        self.illumination = IlluminationUNet(widths=c.illumination_widths)
        self.semantic = SemanticExtractor(widths=c.semantic_widths)

        self.stem = nn.Conv2d(4, c.widths[0], kernel_size=3, padding=1)
        self.encoders = nn.ModuleList(
            [stack_blocks(w, n) for w, n in zip(c.widths, c.blocks, strict=True)]
        )
        self.downs = nn.ModuleList(Downsample(a, b) for a, b in pairwise(c.widths))
        self.ups = nn.ModuleList(Upsample(b, a) for a, b in pairwise(c.widths))
        # ISDM at every decoder level, bottleneck included; index = level (0 = full resolution).
        self.modulators = nn.ModuleList(
            ISDM(
                channels=c.widths[level],
                illumination_channels=c.illumination_widths[level],
                semantic_channels=c.semantic_widths[level],
                heads=c.heads[level],
                window=c.window,
            )
            for level in range(levels)
        )
        self.output_norm = LayerNorm2d(c.widths[0])
        self.upsampler = RSMU(
            in_channels=c.widths[0], out_channels=c.upsampler_channels, scale=c.scale
        )
        self.head = nn.Conv2d(c.upsampler_channels, 3, kernel_size=3, padding=1)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def train(self, mode: bool = True) -> DualStreamNet:
        super().train(mode)
        self.semantic.eval()  # frozen: never in training mode
        return self

    def decompose(
        self, x: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Illumination u^NL, reflection v^NL and the illumination decoder features."""
        c = self.config
        guidance = illumination_guidance(x, self.guidance_kernel)
        log_guidance = torch.log(guidance + 1e-3) / math.log(1e-3)  # ~[0, 1]: 0 = bright
        correction, illumination_features = self.illumination(
            torch.cat([guidance, log_guidance, x], dim=1), context
        )
        # u = u_min + (1 - u_min) * sigmoid(logit(prior) + correction): bounded, smooth, and equal
        # to the guidance-based prior when the correction is zero.
        prior = (guidance / c.exposure_target).clamp(c.min_illumination * 1.1, 0.99)
        prior = (prior - c.min_illumination) / (1 - c.min_illumination)
        logit = torch.log(prior) - torch.log1p(-prior)
        illumination = c.min_illumination + (1 - c.min_illumination) * torch.sigmoid(
            logit + correction
        )
        reflection = x / illumination
        return illumination, reflection, illumination_features

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Enhance `x` (N x 3 x H x W, [0,1]). `context` defaults to the batch's own statistics;
        the engine passes the whole photo's context when `x` is a tile."""
        output, _ = self.forward_with_illumination(x, context)
        return output

    def forward_with_illumination(
        self, x: torch.Tensor, context: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As `forward`, also returning u^NL (N x 1 x H x W) for the luminance loss."""
        c = self.config
        height, width = x.shape[-2:]
        if context is None:
            context = photo_context(x)
        x = pad_to_multiple(x, c.size_multiple)
        illumination, reflection, illumination_features = self.decompose(x, context)
        bounded = reflection.clamp(0, 2)
        semantic_features = self.semantic(bounded.clamp(0, 1))

        r = self.stem(torch.cat([bounded, torch.log(illumination)], dim=1))
        skips = []
        for level, encoder in enumerate(self.encoders):
            if level:
                r = self.downs[level - 1](r)
            r = encoder(r)
            skips.append(r)
        last = len(c.widths) - 1
        r = self.modulators[last](r, illumination_features[0], semantic_features[last])
        for step, level in enumerate(reversed(range(last))):
            r = self.ups[level](r) + skips[level]
            r = self.modulators[level](r, illumination_features[step + 1], semantic_features[level])
        residual = self.head(self.upsampler(self.output_norm(r)))
        base = bounded.clamp(0, 1)
        if c.scale > 1:
            base = F.interpolate(base, scale_factor=c.scale, mode="bilinear", align_corners=False)
        output = base + residual
        crop = (slice(None), slice(None), slice(0, height * c.scale), slice(0, width * c.scale))
        return output[crop], illumination[..., :height, :width]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right to a multiple: reflect where the image is large enough, else replicate."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
