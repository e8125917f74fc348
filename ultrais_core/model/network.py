"""The Dual-Stream (DS) network of Gao et al., "A Dual-Stream-Modulated Learning Framework for
Illuminating and Super-Resolving Ultra-Dark Images" (TNNLS 2024), written from the paper's text.

Data flow (names as in the paper):
    x^LL --max-RGB, blur--> u^IG --illumination U-Net (+ photo context)--> features for IMU
    u = max((u^IG)^toe, max-RGB(x^LL))                   (toe: photo-wide, in [0.3, 1])
    v^NL = x^LL / u                                      (Retinex division: v in [0, 1])
    base = v^NL * white * f_k(u)                         (night rendering, see below)
    v^NL --reflection U-Net, decoder with ISDM (IMU with illumination features, SMU with
            frozen semantic features) at the half- and quarter-resolution levels, a light
            gated refinement at full resolution--> RSMU --> head --> reflection residual r
    y^NS = f_k(u) * (v^NL + r)                           (at the output size, v + r <= 1)

Choices the paper leaves open, and why:
- One network per output scale (x1, x2, x4), each in its own weights file. The three tasks see
  different degradations and the upsampler is most of what differs; separate files keep each a
  few MB, let the engine load only the scale in use, and let each scale be retrained alone.
- The illumination is one channel in (u_min, 1): colour correction is left to the reflection
  stream, because a per-channel illumination divides noise-dominated shadows into colour casts.
  It is the guidance under a photo-wide power, u = (u^IG)^toe, the toe set from the photo
  context like the curve strength below (toe < 1 lifts the deepest tones less). Format 3 let the
  U-Net correct u pixel by pixel; that local gain kept noisy shadows dark but reordered tones
  across the photo (lightness order error 216 against 151 without it), so the illumination
  stream now only feeds IMU, and has no full-resolution decoder level.
- Night rendering by construction. Dividing the whole illumination out (the paper's Retinex
  step) brings every region to one daylight level: lamps and lit subjects clip, black skies are
  lifted to murk. Instead the illumination is kept, through a highlight-compressing curve:
  base = x * white * (1 + k) / (1 + k * u), i.e. v * f_k(u) with f_k(u) = white (1 + k) u /
  (1 + k u), Reinhard's curve normalised to f_k(1) = white. The photo-wide strength k (an MLP on
  the photo context, >= 0) sets how much the darks are lifted (gain up to white (1 + k) as
  u -> 0); k -> 0 is the identity (times white), which is what an exposed photo needs. Because u
  is kept >= max-RGB(x) pixel by pixel, the base never passes `white` (0.97, under the 250/255
  clipping level) and its hue is the input's (all channels scale alike): highlights cannot
  blow and lit colours cannot bleach. Where u is the input itself (bright pixels), the base is
  the global monotone curve f_k of the input, so lightness order among them is kept; the
  toe keeps it too (see `decompose`).
- The reflection stream restores the reflection, not the output: its residual r is added to
  v (denoising, detail, colour) and the sum, folded under 1 on its brightest channel, is lit by
  f_k(u). All brightening therefore goes through the illumination and the curve: smooth,
  multiplicative, monotone in the input, zero at black. An earlier version added r to the
  rendered output; trained, it took over the brightening (the curve strength fell to about 1)
  and lifted each region by what its content suggested, which reordered tones (the lightness
  order error doubled against the curve alone), lifted haze around lit towers and could turn
  a clipped flame core blue.
- Full resolution is kept light (most of the pixels, so most of the time): the ISDM blocks, the
  expensive part (attention plus a gated feed-forward), run at half and quarter resolution;
  level 0 of every stream (encoders, decoder) gets one gated depthwise refinement (NAFNet's
  simple gate) instead of blocks with a feed-forward. The x4 upsampler's second stage is a
  light two-path one that emits the RGB residual itself (see `rsmu`).
- Tile exactness: the only photo-wide input is `context` (exposure statistics, see
  `guidance.photo_context`) modulating the illumination bottleneck (FiLM). Everything else is
  convolution, per-pixel LayerNorm, or attention in windows aligned to the photo grid. Inputs
  are padded to `size_multiple` internally and cropped back.
- The semantic extractor sees the reflection v (a brightened image), which looks like the clean
  photos it was pre-trained on; the dark input would give it little to recognise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
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
from ultrais_core.model.layers import (
    Downsample,
    GatedRefinement,
    LayerNorm2d,
    Upsample,
    stack_blocks,
    zero_output_layer,
)
from ultrais_core.model.rsmu import RSMU
from ultrais_core.model.semantic import SemanticExtractor
from ultrais_core.model.stripes import run_in_stripes, stripe_rows, striping

# Input rows of context for each stripe of the inference tail: its reach (3x3 convolutions,
# bilinear interpolation) is 3 input rows, one more is margin; the tests hold striped to
# unstriped, and fail at x4 with 2.
TAIL_HALO = 4


@dataclass(frozen=True)
class DSConfig:
    """Hyper-parameters of a DS network; stored in every weights file so the file rebuilds it.

    Args:
        scale: output scale, 1, 2 or 4.
        widths: reflection stream channels per level (the number of levels is its length).
        illumination_widths: illumination stream channels per level.
        semantic_widths: semantic extractor channels per level from level 1 (stride 2) on:
            SMU runs at every level but full resolution.
        blocks: LocalBlocks per encoder level of the reflection stream (level 0, at full
            resolution, always has one light `GatedRefinement` instead).
        heads: attention heads of the ISDM at each level.
        window: stride of the overlapping attention windows (each 2 x window wide), in pixels
            of each level's feature map.
        upsampler_channels: channels at the output resolution.
        guidance_sigma: blur of the illumination guidance, in input pixels.
        min_illumination: floor of u^NL; bounds the gain of the Retinex division (x100).
        white_level: largest value of the rendered base (sRGB); below the 250/255 at which a
            pixel counts as clipped.
        initial_strength: the curve strength k the network starts from (before training
            moves the exposure MLP).
        min_toe: the smallest power of the guidance the illumination may take (lower lifts
            the deepest tones less).
    """

    scale: int = 2
    widths: tuple[int, ...] = (24, 48, 96)
    illumination_widths: tuple[int, ...] = (12, 24, 48)
    semantic_widths: tuple[int, ...] = (32, 64)
    blocks: tuple[int, ...] = (1, 1, 2)
    heads: tuple[int, ...] = (1, 2, 4)
    window: int = 8
    upsampler_channels: int = 16
    guidance_sigma: float = 2.0
    min_illumination: float = 0.01
    white_level: float = 0.97
    initial_strength: float = 8.0
    min_toe: float = 0.3

    def __post_init__(self) -> None:
        levels = len(self.widths)
        if self.scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {self.scale}")
        for name in ("illumination_widths", "blocks", "heads"):
            if len(getattr(self, name)) != levels:
                raise ValueError(f"{name} must have one entry per level ({levels})")
        if len(self.semantic_widths) != levels - 1:
            raise ValueError(f"semantic_widths must have one entry per level from 1 ({levels - 1})")
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
        "semantic_widths": (48, 96),
        "blocks": (2, 2, 4),
        "heads": (1, 2, 4),
        "upsampler_channels": 32,
    },
}


def config_for(preset: str, scale: int) -> DSConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown config {preset!r}; choose from {sorted(PRESETS)}")
    return DSConfig(scale=scale, **PRESETS[preset])


@dataclass(frozen=True)
class Rendering:
    """What one forward pass renders: the output, the illumination u (N x 1 x H x W, input
    size), and the light f_k(u) and the bounded reflection v at the output size, whose product
    `base` is the output without the reflection residual (for the relight loss)."""

    output: torch.Tensor
    illumination: torch.Tensor
    light: torch.Tensor
    reflection: torch.Tensor

    @property
    def base(self) -> torch.Tensor:
        # NOTE: a property, not a field: inference (`forward`) never needs it, and at x4 it is
        # a full output-size tensor per tile.
        return self.light * self.reflection


class IlluminationUNet(nn.Module):
    """Encodes u^IG and x into the illumination features that IMU attends to.

    The photo context modulates the bottleneck (FiLM), so the features depend on the whole
    photo's brightness, not on what a tile happens to contain. It has no decoder level at full
    resolution and no output map: the illumination itself is the guidance under a photo-wide
    toe (see `DualStreamNet.decompose`), and IMU only reads the half-resolution levels down.
    """

    def __init__(self, *, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Conv2d(5, widths[0], kernel_size=3, padding=1)
        # Full resolution gets the light block (no feed-forward): see the module docstring.
        self.encoders = nn.ModuleList(
            [full_resolution_block(widths[0])] + [stack_blocks(w, 1) for w in widths[1:]]
        )
        self.downs = nn.ModuleList(Downsample(a, b) for a, b in pairwise(widths))
        self.film = nn.Sequential(
            nn.Linear(CONTEXT_FEATURES, 32), nn.GELU(), nn.Linear(32, widths[-1] * 2)
        )
        # ups[i] brings level i + 2 to level i + 1; decoders[i] refines level i + 1.
        self.ups = nn.ModuleList(Upsample(b, a) for a, b in pairwise(widths[1:]))
        self.decoders = nn.ModuleList(stack_blocks(w, 1) for w in widths[1:-1])

    def forward(self, features_in: torch.Tensor, context: torch.Tensor) -> list[torch.Tensor]:
        """The decoder features from the bottleneck up to level 1, coarsest first."""
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
        for index in reversed(range(len(self.decoders))):
            x = self.decoders[index](self.ups[index](x) + skips[index + 1])
            decoded.append(x)
        return decoded


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

        # Photo-wide strength k of the night curve (log k, from the exposure statistics).
        self.strength = nn.Sequential(nn.Linear(CONTEXT_FEATURES, 32), nn.GELU(), nn.Linear(32, 1))
        # Small, not zero: a zero last layer would leave the first one without gradients.
        nn.init.normal_(self.strength[2].weight, std=1e-3)
        nn.init.constant_(self.strength[2].bias, math.log(c.initial_strength))
        # Photo-wide toe of the illumination (see `decompose`); starts near 1: the guidance.
        self.toe = nn.Sequential(nn.Linear(CONTEXT_FEATURES, 16), nn.GELU(), nn.Linear(16, 1))
        nn.init.normal_(self.toe[2].weight, std=1e-3)
        nn.init.constant_(self.toe[2].bias, 3.0)
        self.stem = nn.Conv2d(4, c.widths[0], kernel_size=3, padding=1)
        self.encoders = nn.ModuleList(
            [full_resolution_block(c.widths[0])]
            + [stack_blocks(w, n) for w, n in zip(c.widths[1:], c.blocks[1:], strict=True)]
        )
        self.downs = nn.ModuleList(Downsample(a, b) for a, b in pairwise(c.widths))
        self.ups = nn.ModuleList(Upsample(b, a) for a, b in pairwise(c.widths))
        # ISDM at every decoder level but full resolution, bottleneck included; keyed by level.
        self.modulators = nn.ModuleDict(
            {
                str(level): ISDM(
                    channels=c.widths[level],
                    illumination_channels=c.illumination_widths[level],
                    semantic_channels=c.semantic_widths[level - 1],
                    heads=c.heads[level],
                    window=c.window,
                )
                for level in range(1, levels)
            }
        )
        self.refine = GatedRefinement(c.widths[0])
        self.output_norm = LayerNorm2d(c.widths[0])
        self.upsampler = RSMU(
            in_channels=c.widths[0], out_channels=c.upsampler_channels, scale=c.scale
        )
        # x4: the upsampler's last stage emits the RGB residual itself (see `rsmu`).
        self.head = (
            nn.Identity()
            if self.upsampler.out_channels == 3
            else nn.Conv2d(self.upsampler.out_channels, 3, kernel_size=3, padding=1)
        )
        if isinstance(self.head, nn.Conv2d):
            zero_output_layer(self.head)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def train(self, mode: bool = True) -> DualStreamNet:
        super().train(mode)
        self.semantic.eval()  # frozen: never in training mode
        return self

    def decompose(
        self, x: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Illumination u (>= the input's max-RGB), reflection v = x / u in [0, 1], the light
        f_k(u) (N x 1 x H x W, see the module docstring; the rendered base is v * f_k(u)) and
        the illumination decoder features."""
        c = self.config
        guidance = illumination_guidance(x, self.guidance_kernel)
        log_guidance = torch.log(guidance + 1e-3) / math.log(1e-3)  # ~[0, 1]: 0 = bright
        illumination_features = self.illumination(
            torch.cat([guidance, log_guidance, x], dim=1), context
        )
        # u = g^toe: a photo-wide power of the guidance, toe in [min_toe, 1] (1: the guidance).
        # NOTE: photo-wide, not a learnt map. A per-pixel correction (format 3) lowered the gain
        # where the shadows were noise, and that local gain reordered tones across the photo.
        # With u = g^toe the rendered lightness white (1 + k) g / (1 + k g^toe) rises with g for
        # every k >= 0 and toe <= 1 (its log-derivative is 1 - toe k u / (1 + k u) > 0), so order
        # holds by construction, and toe < 1 still lifts the deepest (noisiest) tones less.
        toe = c.min_toe + (1 - c.min_toe) * torch.sigmoid(self.toe(context)).view(-1, 1, 1, 1)
        illumination = guidance.clamp(c.min_illumination, 1.0) ** toe
        # NOTE: never below the pixel's own brightest channel, so v <= 1 and the base <= white.
        illumination = torch.maximum(illumination, x.amax(dim=1, keepdim=True))
        reflection = x / illumination
        strength = self.strength(context).clamp(-6.0, 6.0).exp().view(-1, 1, 1, 1)
        light = c.white_level * (1 + strength) * illumination / (1 + strength * illumination)
        return illumination, reflection, light, illumination_features

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Enhance `x` (N x 3 x H x W, [0,1]). `context` defaults to the batch's own statistics;
        the engine passes the whole photo's context when `x` is a tile.

        Without autograd (inference) the output-size tail runs in stripes (`stripes`): the same
        result with output-size buffers a stripe high instead of a tile high. A trace (the ONNX
        export) takes the unstriped path: a stripe loop would be frozen at the traced size.
        """
        if not striping():
            return self.forward_with_illumination(x, context).output
        height, width = x.shape[-2:]
        r, bounded, light, _ = self._features(x, context)
        scale = self.config.scale
        # Bytes per input row of one output-size upsampler buffer.
        row_bytes = (
            self.config.upsampler_channels * bounded.element_size() * bounded.shape[-1] * scale**2
        )
        output = run_in_stripes(
            lambda *t: self._render(*t)[0],
            (r, bounded, light),
            scale=scale,
            rows=stripe_rows(row_bytes),
            halo=TAIL_HALO,
        )
        return output[..., : height * scale, : width * scale]

    def forward_with_illumination(
        self, x: torch.Tensor, context: torch.Tensor | None = None
    ) -> Rendering:
        """As `forward`, also returning u^NL (for the luminance loss) and the rendered base."""
        height, width = x.shape[-2:]
        r, bounded, light, illumination = self._features(x, context)
        output, bounded, light = self._render(r, bounded, light)
        scale = self.config.scale
        crop = (slice(None), slice(None), slice(0, height * scale), slice(0, width * scale))
        return Rendering(
            output[crop], illumination[..., :height, :width], light[crop], bounded[crop]
        )

    def _features(
        self, x: torch.Tensor, context: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The input-size part: the reflection stream's last feature, the bounded reflection v,
        the light f_k(u) and the illumination u (padded to the size multiple)."""
        c = self.config
        if context is None:
            context = photo_context(x)
        x = pad_to_multiple(x, c.size_multiple)
        illumination, reflection, light, illumination_features = self.decompose(x, context)
        bounded = reflection.clamp(0, 1)
        semantic_features = self.semantic(bounded)

        r = self.stem(torch.cat([bounded, torch.log(illumination)], dim=1))
        skips = []
        for level, encoder in enumerate(self.encoders):
            if level:
                r = self.downs[level - 1](r)
            r = encoder(r)
            skips.append(r)
        last = len(c.widths) - 1
        r = self.modulators[str(last)](r, illumination_features[0], semantic_features[last - 1])
        for step, level in enumerate(reversed(range(1, last))):
            r = self.ups[level](r) + skips[level]
            r = self.modulators[str(level)](
                r, illumination_features[step + 1], semantic_features[level - 1]
            )
        r = self.refine(self.ups[0](r) + skips[0])
        return r, bounded, light, illumination

    def _render(
        self, r: torch.Tensor, bounded: torch.Tensor, light: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The output-size tail: the residual from the last feature `r`, added to v and lit by
        the light; returns the output and v and the light at the output size."""
        c = self.config
        residual = self.head(self.upsampler(self.output_norm(r)))
        if c.scale > 1:
            bounded, light = (
                F.interpolate(t, scale_factor=c.scale, mode="bilinear", align_corners=False)
                for t in (bounded, light)
            )
        output = bounded + residual
        # The fold under the ceiling and the light are one factor per pixel: applied together,
        # one pass over the three output channels instead of two (the x4 tail, all at the
        # output size, was a sixth of the network's time).
        scale = light * ceiling_factor(bounded, output, 1.0)
        output = output * scale if torch.is_grad_enabled() else output.mul_(scale)
        return output, bounded, light


def ceiling_factor(base: torch.Tensor, output: torch.Tensor, ceiling: float) -> torch.Tensor:
    """The per-pixel factor (N x 1 x H x W, <= 1) that folds `output` (base + residual) under
    `ceiling` where its brightest channel rose above the base's.

    With b = max-RGB(base), s = max-RGB(output) and h = ceiling - b, a pixel whose s exceeds b
    is scaled as a whole by (b + h tanh((s - b) / h)) / s <= 1; others get 1.
    NOTE: one factor for all three channels, so the fold keeps the pixel's hue and saturation.
    A per-channel fold lifted the weaker channels of a saturated highlight while its strongest
    one sat at the ceiling, which drew lit signs and floodlit walls towards white. The base is
    already <= ceiling by construction; for a residual small against the headroom the folded
    output is the plain sum (tanh(x) ~ x).
    """
    base_peak = base.amax(dim=1, keepdim=True)
    peak = output.amax(dim=1, keepdim=True)
    headroom = (ceiling - base_peak).clamp_min(1e-4)
    excess = (peak - base_peak).clamp_min(0)
    folded_peak = base_peak + headroom * torch.tanh(excess / headroom)
    # Where the peak rose, it is > base_peak >= 0, so the division is safe; elsewhere factor 1.
    return torch.where(excess > 0, folded_peak / peak.clamp_min(1e-6), 1.0)


def full_resolution_block(channels: int) -> nn.Module:
    """The block every stream uses at full input resolution: a gated depthwise refinement
    without LocalBlock's feed-forward, which cost a tenth of the x2 network's time there."""
    return nn.Sequential(GatedRefinement(channels))


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
