"""Export a weights file's network to ONNX, for the ONNX Runtime backend (`onnx_runtime`).

Runs at packaging time (or `python main.py export-onnx`), where torch is installed; the CPU
bundle then ships the .onnx files and ONNX Runtime instead of torch. The graph takes one tile
and the photo context and returns the tile's output, exactly as `DualStreamNet.forward`:

    x:       N x 3 x H x W float32 in [0, 1], H and W multiples of `size_multiple`
    context: N x CONTEXT_FEATURES float32 (`guidance.photo_context` of the whole photo)
    output:  N x 3 x sH x sW float32 (not clamped; the engine clamps)

H and W are dynamic. The graph is traced at a size that is already a multiple of
`size_multiple`, so the network's own padding step (a no-op there) is not in the graph: inputs
must be padded to the multiple by the caller, which the engine does for every tile anyway.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

from ultrais_core.errors import WeightsError
from ultrais_core.model import DualStreamNet, guidance, layers
from ultrais_core.model.guidance import CONTEXT_FEATURES
from ultrais_core.weights import load_weights

# 17: the first opset with a LayerNormalization operator (the network's most frequent norm).
OPSET = 17
# Metadata keys read by `onnx_runtime`: what the engine's ModelDescriptor needs.
META_SCALE = "ultrais_scale"
META_SIZE_MULTIPLE = "ultrais_size_multiple"
META_PARAMETERS = "ultrais_parameters"
META_SOURCE = "ultrais_source"


def onnx_path_for(weights: Path) -> Path:
    """The .onnx file that sits beside (and is made from) a .safetensors file."""
    return weights.with_suffix(".onnx")


def _blur_with_static_channels(x: torch.Tensor, kernel1d: torch.Tensor) -> torch.Tensor:
    """`guidance.gaussian_blur` with the channel count read as a Python int.

    NOTE: the tracer records `x.shape[1]` as a graph value, so the blur's expanded kernel gets
    an unknown shape, which the ONNX exporter refuses for a convolution weight. The channel
    count never varies (the guidance blurs one channel), so making it a constant changes
    nothing; the maths is the original's line for line, and the tests compare the exported
    graph against torch.
    """
    channels = int(x.shape[1])
    radius = kernel1d.numel() // 2
    k = kernel1d.to(dtype=x.dtype, device=x.device)
    horizontal = k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    x = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(x, horizontal, groups=channels)
    x = F.pad(x, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(x, vertical, groups=channels)


def _layer_norm_with_static_channels(self: layers.LayerNorm2d, x: torch.Tensor) -> torch.Tensor:
    """`LayerNorm2d.forward` with the normalised shape as a Python int (same reason as above:
    a traced shape there is refused by the exporter's LayerNormalization)."""
    channels_last = x.float().permute(0, 2, 3, 1)
    y = F.layer_norm(
        channels_last,
        (int(channels_last.shape[-1]),),
        self.weight.view(-1),
        self.bias.view(-1),
        self.eps,
    )
    return y.permute(0, 3, 1, 2).to(x.dtype)


# (owner, attribute, export-time replacement): each replacement computes what the original does.
_REPLACEMENTS = (
    (guidance, "gaussian_blur", _blur_with_static_channels),
    (layers.LayerNorm2d, "forward", _layer_norm_with_static_channels),
)


@contextmanager
def _exportable() -> Iterator[None]:
    """Swap in the export-friendly equivalents above for the duration of a trace."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _REPLACEMENTS]
    try:
        for owner, name, replacement in _REPLACEMENTS:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def export_model(
    model: DualStreamNet, path: str | Path, *, source: str = "", trace_side: int | None = None
) -> Path:
    """Write `model` (eval mode, fp32, CPU) to `path` as ONNX with dynamic height and width.

    Written through a temporary file in the same folder and renamed, as the weights are.
    """
    path = Path(path)
    multiple = model.size_multiple
    # Two different sides, both aligned: a square trace could let the exporter fold H into W.
    side = trace_side or max(multiple, 128 - 128 % multiple)
    x = torch.rand(1, 3, side, side + multiple)
    context = torch.zeros(1, CONTEXT_FEATURES)
    model = model.float().eval().cpu()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        with _exportable(), torch.no_grad(), warnings.catch_warnings():
            # The tracer warns about every shape-derived Python value; the network's only
            # shape-dependent branch (padding to the multiple) is excluded by the aligned trace,
            # and `check_export` runs the graph at other sizes to prove the rest is dynamic.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (x, context),
                temporary,
                input_names=["x", "context"],
                output_names=["output"],
                dynamic_axes={
                    "x": {0: "batch", 2: "height", 3: "width"},
                    "context": {0: "batch"},
                    "output": {0: "batch", 2: "out_height", 3: "out_width"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        _write_metadata(
            Path(temporary),
            {
                META_SCALE: str(model.config.scale),
                META_SIZE_MULTIPLE: str(multiple),
                META_PARAMETERS: str(sum(p.numel() for p in model.parameters())),
                META_SOURCE: source,
                "ultrais_config": json.dumps(model.config.to_dict()),
            },
        )
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _write_metadata(path: Path, values: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in values.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def export_weights(weights: str | Path, out: str | Path | None = None) -> Path:
    """Export the network of a .safetensors weights file; `out` defaults to the file beside it."""
    weights = Path(weights)
    model, _ = load_weights(weights)
    target = Path(out) if out is not None else onnx_path_for(weights)
    if target.suffix != ".onnx":
        raise WeightsError(f"{target}: the ONNX file's name must end in .onnx")
    return export_model(model, target, source=weights.name)
