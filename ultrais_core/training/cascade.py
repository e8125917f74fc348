"""The cascade baseline (c) of `python main.py evaluate`: a learned low-light enhancer, then a
learned super-resolution network, each trained for its own task.

No package ships weights for either stage, so both are trained here on the same data as the DS
network: the enhancer is our own x1 network (`resources/weights/ultrais_x1.safetensors`, which
brightens and denoises without changing the size), the SR stage an SRVGGNetCompact trained by
`python main.py train-cascade-sr` on the clean training photos. This is the two-stage pipeline
the paper argues against: the SR stage only ever sees what the enhancer left, so it cannot use
the noise statistics of the dark input, and the enhancer's errors are magnified by the SR.

The SR stage learns from clean crops downscaled with the training degradation switched to
"bright, nearly noiseless" (exposure 1, a trace of sensor noise, mild lens blur, some JPEG):
the input an enhancer is meant to produce.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from ultrais_core.errors import WeightsError
from ultrais_core.model.compact_sr import SRVGGNetCompact
from ultrais_core.training.data import PairDataset
from ultrais_core.training.degrade import DegradeParams
from ultrais_core.training.train import learning_rate, validation_psnr
from ultrais_core.weights import read_header_metadata, save_safetensors_atomic

log = logging.getLogger(__name__)

KIND = "ultrais-cascade-sr"

SR_DEGRADATION = DegradeParams(
    exposure_factor=(1.0, 1.0),
    wb_error=0.0,
    electrons=(2e4, 2e5),
    read_sigma=(1e-4, 1e-3),
    jpeg_probability=0.2,
)


@dataclass(frozen=True)
class CascadeSROptions:
    scale: int
    out: Path
    data: Path | None = None
    minutes: float = 15.0
    steps: int = 100_000
    batch: int = 16
    crop: int = 48
    lr: float = 5e-4
    features: int = 32
    convs: int = 8
    seed: int = 0
    validation_items: int = 48


def _psnr_on(model: SRVGGNetCompact, dataset: PairDataset) -> tuple[float, float]:
    """Mean PSNR of the model and of bicubic on a fixed set of validation crops."""
    batches = [(low[None], high[None], context[None]) for low, high, context, _ in dataset]
    bicubic = torch.nn.Upsample(scale_factor=model.scale, mode="bicubic")
    cpu = torch.device("cpu")
    with torch.inference_mode():
        ours = validation_psnr(model, batches, cpu)
        base = validation_psnr(bicubic, batches, cpu)
    model.eval()
    return ours, base


def train_cascade_sr(options: CascadeSROptions) -> dict[str, float]:
    """Train the SR stage for `minutes` (or `steps`) on the CPU and write its weights."""
    if options.scale not in (2, 4):
        raise ValueError("the cascade's SR stage exists for x2 and x4")
    torch.manual_seed(options.seed)
    train_set = PairDataset(
        options.data,
        scale=options.scale,
        crop_lr=options.crop,
        real_fraction=0.0,
        seed=options.seed,
        length=options.batch * 200,
        degrade_params=SR_DEGRADATION,
    )
    val_set = PairDataset(
        options.data,
        scale=options.scale,
        split="val",
        crop_lr=options.crop,
        real_fraction=0.0,
        seed=1,
        length=options.validation_items,
        degrade_params=SR_DEGRADATION,
    )
    model = SRVGGNetCompact(
        options.scale, features=options.features, convs=options.convs, upsample="bilinear"
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=options.lr)
    started = time.monotonic()
    budget = options.minutes * 60
    step, epoch, losses = 0, 0, []
    while step < options.steps and time.monotonic() - started < budget:
        train_set.set_epoch(epoch)
        epoch += 1
        for low, high, *_ in DataLoader(train_set, batch_size=options.batch, num_workers=0):
            progress = max(step / options.steps, (time.monotonic() - started) / budget)
            if step >= options.steps or progress >= 1:
                break
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(progress, step, options.lr)
            loss = F.l1_loss(model(low), high)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            step += 1
            if step % 100 == 0:
                log.info(
                    "step %d: L1 %.4f (%.0f %% done)", step, np.mean(losses[-100:]), 100 * progress
                )
    model.eval()
    val_psnr, bicubic_psnr = _psnr_on(model, val_set)
    summary = {
        "steps": step,
        "minutes": (time.monotonic() - started) / 60,
        "val_psnr": val_psnr,
        "val_psnr_bicubic": bicubic_psnr,
    }
    metadata = {
        "format": KIND,
        "scale": str(options.scale),
        "features": str(options.features),
        "convs": str(options.convs),
        "training": json.dumps(summary),
    }
    tensors = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    save_safetensors_atomic(tensors, options.out, metadata)
    return summary


def load_cascade_sr(path: str | Path) -> SRVGGNetCompact:
    """The SR stage written by `train_cascade_sr`, in eval mode."""
    path = Path(path)
    metadata = read_header_metadata(path)
    if metadata.get("format") != KIND:
        raise WeightsError(f"{path}: not a cascade SR weights file")
    model = SRVGGNetCompact(
        int(metadata["scale"]),
        features=int(metadata["features"]),
        convs=int(metadata["convs"]),
        upsample="bilinear",
    )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: unreadable weights ({error})") from None
    model.load_state_dict(tensors)
    return model.eval()


def cascade(
    enhance_x1: Callable[[np.ndarray], np.ndarray], sr: SRVGGNetCompact
) -> Callable[[np.ndarray], np.ndarray]:
    """low (H x W x 3 float) -> enhancer at x1 -> SR network -> (sH x sW x 3 float)."""

    def run(low: np.ndarray) -> np.ndarray:
        bright = np.ascontiguousarray(enhance_x1(low), dtype=np.float32)
        with torch.inference_mode():
            x = torch.from_numpy(bright).permute(2, 0, 1)[None]
            out = sr(x).clamp(0, 1)[0].permute(1, 2, 0)
        return out.numpy()

    return run


def summary_text(summary: dict[str, float]) -> str:
    gain = summary["val_psnr"] - summary["val_psnr_bicubic"]
    sign = "+" if gain >= 0 else ""
    return (
        f"{summary['steps']} steps in {summary['minutes']:.1f} min; validation crops: "
        f"{summary['val_psnr']:.2f} dB vs bicubic {summary['val_psnr_bicubic']:.2f} dB "
        f"({sign}{gain:.2f})"
    )
