"""The reference network for the speed ratio: the Real-ESRGAN "compact" shape (SRVGGNetCompact).

    conv 3x3 (3 -> 64) + PReLU, then `convs` x [conv 3x3 (64 -> 64) + PReLU],
    then conv 3x3 (64 -> 3 * scale^2), pixel-shuffle, plus the input upsampled (nearest).

64 features and 16 body convolutions (`realesr-animevideov3`'s size; the general x4 model has 32),
so 18 convolutions in all, about 0.6 M parameters. Weights are random: the speed of a dense
convolution stack does not depend on them. It is a peer app's network in shape only.

`ReferenceEngine` runs it through the product engine's own path (`Engine.enhance`, hence
`run_with_backoff` and `run_tiled`: same padding, same tile plan, same channels_last/autocast
forward, same row-band blending into the same output canvas), so the ratio of the two speeds
compares the networks and nothing else.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from ultrais_core.engine import Engine
from ultrais_core.model.compact_sr import SRVGGNetCompact
from ultrais_core.weights import ModelDescriptor


def count_convolutions(model: nn.Module) -> int:
    return sum(isinstance(m, nn.Conv2d) for m in model.modules())


class ReferenceEngine(Engine):
    """An `Engine` whose network is the reference, with the DS network's tiling.

    It borrows the DS model's descriptor (scale, size multiple, parameter count), so
    `auto_tile`, padding and the tile plan are the ones the DS engine uses; pass the same `tile`
    and `overlap` as the DS engine to compare like with like.
    """

    def __init__(
        self,
        ds_engine: Engine,
        *,
        tile: int | None = None,
        overlap: int | None = None,
        upsample: str = "nearest",
        seed: int = 0,
    ) -> None:
        threads = torch.get_num_threads()
        super().__init__(
            None,  # never read: model_for below builds the reference network
            device=ds_engine.device.type,
            precision=_precision_name(ds_engine.dtype),
            tile=ds_engine.tile if tile is None else tile,
            overlap=ds_engine.overlap if overlap is None else overlap,
        )
        self.ds_engine = ds_engine
        self.upsample = upsample
        self.seed = seed
        # Engine.__init__ sets every core; keep the count in force (the bench may have set one).
        torch.set_num_threads(threads)

    def model_for(self, scale: int) -> tuple[torch.nn.Module, ModelDescriptor]:
        if scale not in self._models:
            _, ds_descriptor = self.ds_engine.model_for(scale)
            torch.manual_seed(self.seed)
            model = SRVGGNetCompact(scale, upsample=self.upsample).eval().to(self.device)
            model = model.to(memory_format=torch.channels_last)
            descriptor = replace(ds_descriptor, notes="reference: SRVGGNetCompact, random")
            self._models[scale] = (model, descriptor)
        return self._models[scale]


def _precision_name(dtype: torch.dtype) -> str:
    return {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}[dtype]
