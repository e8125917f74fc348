"""Illumination guidance (the paper's u^IG) and the photo-wide context.

Both are pure functions. The guidance is local (a blurred max-RGB), so a tile computes it exactly
given enough overlap. The context is the only photo-wide input of the network: a handful of
exposure statistics that the engine computes ONCE from a downscaled copy of the whole photo and
hands to every tile, so that all tiles agree on how bright the photo is.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

CONTEXT_FEATURES = 7
# The context is computed on a copy of the photo at most this many pixels on its long side; the
# engine and training both shrink their copy to it.
CONTEXT_SIDE = 256
_EPS = 1e-4


def gaussian_kernel1d(sigma: float) -> torch.Tensor:
    """A normalised 1-D gaussian of radius ceil(3 sigma)."""
    radius = max(1, math.ceil(3.0 * sigma))
    positions = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (positions / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(x: torch.Tensor, kernel1d: torch.Tensor) -> torch.Tensor:
    """Separable gaussian blur of an N x C x H x W tensor with replicate padding."""
    channels = x.shape[1]
    radius = kernel1d.numel() // 2
    k = kernel1d.to(dtype=x.dtype, device=x.device)
    horizontal = k.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = k.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    x = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(x, horizontal, groups=channels)
    x = F.pad(x, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(x, vertical, groups=channels)


def illumination_guidance(x: torch.Tensor, kernel1d: torch.Tensor) -> torch.Tensor:
    """u^IG: max over RGB, smoothed.

    NOTE: max-RGB is the classic Retinex illumination prior (the brightest channel bounds the
    illumination from below); the blur keeps it from following texture and noise, which would
    otherwise be divided out of the reflection along with the light.
    """
    return gaussian_blur(x.amax(dim=1, keepdim=True), kernel1d)


def photo_context(x: torch.Tensor, *, max_side: int = CONTEXT_SIDE) -> torch.Tensor:
    """Exposure statistics of each photo in the batch: N x CONTEXT_FEATURES.

    Computed on an area-downscaled copy (at most `max_side` pixels on the long side), so the cost
    is independent of the photo's size and the engine can compute it once before tiling.
    Features: log mean luminance, log of the 50/90/99th percentiles of max-RGB, the fraction of
    near-saturated pixels (light sources), and the gray-world channel ratios R/G and B/G (logs).
    """
    height, width = x.shape[-2:]
    factor = max(height, width) / max_side
    if factor > 1:
        size = (max(1, round(height / factor)), max(1, round(width / factor)))
        x = F.interpolate(x.float(), size=size, mode="area")
    x = x.float().clamp(0, 1)
    luminance = 0.2126 * x[:, 0] + 0.7152 * x[:, 1] + 0.0722 * x[:, 2]
    brightest = x.amax(dim=1).flatten(1)
    quantiles = torch.quantile(
        brightest, torch.tensor([0.5, 0.9, 0.99], device=x.device), dim=1
    ).transpose(0, 1)
    channel_means = x.mean(dim=(2, 3)) + _EPS
    features = [
        torch.log(luminance.flatten(1).mean(dim=1, keepdim=True) + _EPS),
        torch.log(quantiles + _EPS),
        (brightest > 0.9).float().mean(dim=1, keepdim=True),
        torch.log(channel_means[:, 0:1] / channel_means[:, 1:2]),
        torch.log(channel_means[:, 2:3] / channel_means[:, 1:2]),
    ]
    return torch.cat(features, dim=1)
