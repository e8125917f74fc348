"""Distil the half-resolution stem of the semantic extractor from the format-3 extractor.

Format 3's extractor computed a stride-1 level that only fed its stride-2 level (SMU never ran
at full resolution). Format 4 starts at stride 2 (`model.semantic`). Rather than pre-training
anew, the new stem and first block are trained to reproduce the old extractor's stride-2 and
stride-4 features on the inputs the pre-training used (clean crops with exposure, gamma,
white-balance and noise jitter, which is what the reflection v looks like); the old deeper
levels are copied unchanged. The DS weights trained against the old features then start from
features that mean the same thing.
"""

from __future__ import annotations

import logging
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from ultrais_core.model.layers import Downsample, LocalBlock
from ultrais_core.model.semantic import SemanticExtractor
from ultrais_core.training.data import list_clean_images, read_rgb, split_clean_images
from ultrais_core.training.semantic_pretrain import _crops, _jitter

log = logging.getLogger(__name__)


class Format3Extractor(nn.Module):
    """The format-3 extractor's layout (stride-1 stem and block first), as the teacher."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], kernel_size=3, padding=1), nn.GELU())
        self.levels = nn.ModuleList(LocalBlock(w) for w in widths)
        self.downs = nn.ModuleList(Downsample(a, b) for a, b in pairwise(widths))

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        features = [self.levels[0](self.stem(image))]
        for down, level in zip(self.downs, self.levels[1:], strict=True):
            features.append(level(down(features[-1])))
        return features[1:]


def teacher_from(weights: Path) -> Format3Extractor:
    """The `semantic.*` tensors of a format-3 DS weights file, as a frozen teacher."""
    tensors = {
        k.removeprefix("semantic."): v
        for k, v in load_file(str(weights)).items()
        if k.startswith("semantic.")
    }
    widths = tuple(int(tensors[f"levels.{i}.norm.weight"].numel()) for i in range(3))
    teacher = Format3Extractor(widths)
    teacher.load_state_dict(tensors)
    return teacher.eval().requires_grad_(False)


def distil_semantic(
    weights: Path,
    *,
    steps: int = 1500,
    batch: int = 12,
    crop: int = 96,
    data: Path | None = None,
    seed: int = 0,
) -> tuple[SemanticExtractor, list[float]]:
    """Train the stride-2 stem and block; returns the student and the final relative errors
    (feature RMS error over the teacher's feature RMS) at strides 2 and 4."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    teacher = teacher_from(weights)
    student = SemanticExtractor(widths=tuple(int(d.body[1].out_channels) for d in teacher.downs))
    # The deeper levels are the teacher's own: only the new stem and first block learn.
    for i, (down, level) in enumerate(zip(teacher.downs[1:], teacher.levels[2:], strict=True)):
        student.downs[i].load_state_dict(down.state_dict())
        student.levels[i + 1].load_state_dict(level.state_dict())
    trainable = list(student.stem.parameters()) + list(student.levels[0].parameters())
    for parameter in trainable:
        parameter.requires_grad_(True)
    train_paths, _ = split_clean_images(list_clean_images(data), data)
    images = [img for img in (read_rgb(p) for p in train_paths) if min(img.shape[:2]) >= crop]
    optimizer = torch.optim.AdamW(trainable, lr=2e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    started = time.monotonic()
    errors = [1.0, 1.0]
    for step in range(steps):
        inputs = _jitter(_crops(images, crop, batch, rng), generator)
        with torch.no_grad():
            targets = teacher(inputs)
        outputs = student(inputs)
        relative = [
            F.mse_loss(o, t) / t.pow(2).mean().clamp_min(1e-8)
            for o, t in zip(outputs, targets, strict=True)
        ]
        loss = sum(relative)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        errors = [
            0.95 * e + 0.05 * float(r.detach().sqrt())
            for e, r in zip(errors, relative, strict=True)
        ]
        if step % 100 == 0:
            log.info("step %d: relative errors %s", step, [f"{e:.3f}" for e in errors])
    student.freeze()
    log.info("distilled in %.1f min: %s", (time.monotonic() - started) / 60, errors)
    return student, errors
