"""Pre-train the semantic extractor as the encoder of a denoising auto-encoder.

The paper's semantic stream is a frozen pre-trained network; nothing can be downloaded here,
so we train one on the clean photos of the training split. The encoder sees a clean crop with
random exposure, gamma, white-balance and noise changes (what the reflection v looks like
after the Retinex division) and a decoder must rebuild the clean crop from the deepest
features alone. With no skip connections, the deep features must carry the content, which
is what SMU attends to; the exposure and noise jitter make them invariant to both.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from ultrais_core.console import progress_bar
from ultrais_core.model.layers import LocalBlock, Upsample
from ultrais_core.model.semantic import SemanticExtractor
from ultrais_core.training.data import list_clean_images, read_rgb, split_clean_images

log = logging.getLogger(__name__)


class _Decoder(nn.Module):
    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for high, low in zip(reversed(widths), reversed(widths[:-1]), strict=False):
            layers += [LocalBlock(high), Upsample(high, low)]
        # The extractor starts at stride 2: one more doubling back to the crop's size.
        layers += [LocalBlock(widths[0]), Upsample(widths[0], widths[0])]
        layers += [nn.Conv2d(widths[0], 3, kernel_size=3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _jitter(clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Exposure x[0.4, 1.6], gamma [0.7, 1.4], per-channel gain +-10 %, gaussian noise <= 0.08."""
    n = clean.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    gain = uniform(0.4, 1.6, 1, 1, 1) * uniform(0.9, 1.1, 3, 1, 1)
    gamma = uniform(0.7, 1.4, 1, 1, 1)
    noisy = (clean.clamp_min(1e-4) ** gamma) * gain
    noisy = noisy + uniform(0.0, 0.08, 1, 1, 1) * torch.randn(clean.shape, generator=generator)
    return noisy.clamp(0, 1)


def _crops(
    images: list[np.ndarray], size: int, count: int, rng: np.random.Generator
) -> torch.Tensor:
    batch = []
    for _ in range(count):
        image = images[int(rng.integers(len(images)))]
        y = int(rng.integers(0, image.shape[0] - size + 1))
        x = int(rng.integers(0, image.shape[1] - size + 1))
        crop = image[y : y + size, x : x + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        batch.append(torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1))
    return torch.stack(batch)


def pretrain_semantic(
    out: Path,
    *,
    widths: tuple[int, ...] = (16, 32, 64),
    steps: int = 600,
    batch: int = 8,
    crop: int = 64,
    data: Path | None = None,
    seed: int = 0,
) -> float:
    """Train, save the encoder's weights to `out`, and return the final reconstruction L1."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    train_paths, _ = split_clean_images(list_clean_images(data), data)
    images = [img for img in (read_rgb(p) for p in train_paths) if min(img.shape[:2]) >= crop]
    encoder = SemanticExtractor(widths=widths)
    encoder.unfreeze()
    decoder = _Decoder(widths)
    parameters = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=2e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    started = time.monotonic()
    running = 0.0
    for step in progress_bar(range(steps), unit="step"):
        clean = _crops(images, crop, batch, rng)
        reconstruction = decoder(encoder(_jitter(clean, generator))[-1])
        loss = F.l1_loss(reconstruction, clean)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        value = float(loss.detach())
        running = value if step == 0 else 0.95 * running + 0.05 * value
    out.parent.mkdir(parents=True, exist_ok=True)
    encoder.freeze()
    save_file(
        {k: v.contiguous() for k, v in encoder.state_dict().items()},
        str(out),
        metadata={"widths": str(list(widths)), "steps": str(steps), "l1": f"{running:.4f}"},
    )
    log.info(
        "semantic extractor: L1 %.4f after %d steps, %.1f min",
        running,
        steps,
        (time.monotonic() - started) / 60,
    )
    return running
