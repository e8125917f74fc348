"""The ONNX Runtime backend: one tile through an exported network, with numpy and no torch.

The Linux CPU bundle ships ONNX Runtime (about 62 MiB unpacked) instead of torch (about
400 MiB), and the networks as .onnx files made from the .safetensors at packaging time
(`onnx_export`, `python main.py export-onnx`). The engine uses this module when torch cannot
be imported, or when asked (`Engine(backend="onnx")`, `ULTRAIS_BACKEND=onnx`).

What the engine needs from torch at run time has a numpy twin here, held equal to the torch
version by tests/test_onnx_runtime.py: the photo context (`guidance.photo_context`) and the
padding to the network's size multiple (`network.pad_to_multiple`). Importing this module
imports neither torch nor onnxruntime; sessions import onnxruntime when they are made.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ultrais_core.errors import UltraISError, WeightsError
from ultrais_core.model_descriptor import ModelDescriptor

# The same values as `ultrais_core.model.guidance` (which imports torch); a test holds them equal.
CONTEXT_SIDE = 256
CONTEXT_FEATURES = 7
_EPS = 1e-4
_LUMINANCE = (0.2126, 0.7152, 0.0722)


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


@dataclass(frozen=True)
class CpuDevice:
    """Stands in for `torch.device("cpu")` where the engine and its callers ask `device.type`."""

    type: str = "cpu"

    def __str__(self) -> str:
        return self.type


def area_downscale(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """H x W x C -> height x width x C by averaging, as torch's `interpolate(mode="area")`
    (adaptive average pooling): output row i averages input rows floor(i H / height) up to
    ceil((i + 1) H / height), and likewise for columns."""

    def pooled(values: np.ndarray, size: int, axis: int) -> np.ndarray:
        length = values.shape[axis]
        starts = (np.arange(size) * length) // size
        ends = -((-(np.arange(size) + 1) * length) // size)  # ceil division
        # Cumulative sums in float64: the sums of long rows stay exact enough for float32.
        summed = np.cumsum(values, axis=axis, dtype=np.float64)
        zero = np.zeros_like(np.take(summed, [0], axis=axis))
        summed = np.concatenate([zero, summed], axis=axis)
        totals = np.take(summed, ends, axis=axis) - np.take(summed, starts, axis=axis)
        counts = (ends - starts).reshape([-1 if a == axis else 1 for a in range(values.ndim)])
        return totals / counts

    return pooled(pooled(image, height, 0), width, 1).astype(np.float32)


def photo_context(rgb: np.ndarray, *, max_side: int = CONTEXT_SIDE) -> np.ndarray:
    """`guidance.photo_context` of one H x W x 3 float photo, as a 1 x CONTEXT_FEATURES array."""
    height, width = rgb.shape[:2]
    factor = max(height, width) / max_side
    x = np.asarray(rgb, dtype=np.float32)
    if factor > 1:
        x = area_downscale(x, max(1, round(height / factor)), max(1, round(width / factor)))
    x = np.clip(x, 0, 1)
    luminance = x @ np.array(_LUMINANCE, dtype=np.float32)
    brightest = x.max(axis=2).ravel()
    quantiles = np.quantile(brightest, [0.5, 0.9, 0.99])  # linear, as torch.quantile
    channel_means = x.reshape(-1, 3).mean(axis=0, dtype=np.float64) + _EPS
    features = [
        np.log(luminance.mean(dtype=np.float64) + _EPS),
        *np.log(quantiles + _EPS),
        (brightest > 0.9).mean(),
        np.log(channel_means[0] / channel_means[1]),
        np.log(channel_means[2] / channel_means[1]),
    ]
    return np.array([features], dtype=np.float32)


def pad_to_multiple(x: np.ndarray, multiple: int) -> np.ndarray:
    """`network.pad_to_multiple` for an N x C x H x W array: bottom/right, reflect where the
    image is larger than the pad, else replicate (numpy's "edge")."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "edge"
    return np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode=mode)


class OnnxTileModel:
    """An exported network in an ONNX Runtime session: `model(x, context)` as the torch one,
    on N x 3 x H x W float32 arrays (any H and W: padded here, cropped back)."""

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise WeightsError(
                f"{self.path}: ONNX network not found; make it with "
                "`python main.py export-onnx WEIGHTS`"
            )
        try:
            import onnxruntime
        except ImportError as error:
            raise UltraISError(f"ONNX Runtime is not installed ({error})") from None
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # One graph, one tile at a time: a second pool for parallel branches would only compete.
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # NOTE: no spin-waiting between operators. Spinning threads burn the cores the GUI and
        # other programs need, and lose when the CPU is shared: one 448 px x2 tile at 2 threads
        # beside two training runs took 24.2 s spinning, 15.8 s not (1 thread: 14.3 vs 15.2 s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise WeightsError(f"{self.path}: not a usable ONNX network ({error})") from None
        self.threads = threads
        self.descriptor = self._descriptor(self.session.get_modelmeta().custom_metadata_map)

    def _descriptor(self, metadata: dict[str, str]) -> ModelDescriptor:
        try:
            scale = int(metadata["ultrais_scale"])
            multiple = int(metadata["ultrais_size_multiple"])
            parameters = int(metadata["ultrais_parameters"])
            json.loads(metadata.get("ultrais_config", "{}"))
        except (KeyError, ValueError) as error:
            raise WeightsError(f"{self.path}: not an UltraIS ONNX network ({error})") from None
        return ModelDescriptor(
            path=self.path,
            scale=scale,
            size_multiple=multiple,
            parameters=parameters,
            half_precision_safe=False,
            notes=metadata.get("ultrais_source", ""),
        )

    def __call__(self, x: np.ndarray, context: np.ndarray) -> np.ndarray:
        height, width = x.shape[-2:]
        scale = self.descriptor.scale
        padded = pad_to_multiple(np.ascontiguousarray(x, dtype=np.float32), self.size_multiple)
        feeds: dict[str, Any] = {"x": padded, "context": np.asarray(context, dtype=np.float32)}
        output = self.session.run(None, feeds)[0]
        return output[..., : height * scale, : width * scale]

    @property
    def size_multiple(self) -> int:
        return self.descriptor.size_multiple
