"""Weights files: safetensors with the hyper-parameters and a format version in the metadata.

A file alone rebuilds its network; nothing is unpickled (safetensors holds raw tensors only), so
a weights file cannot run code. Every failure names the file and says what is wrong with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ultrais_core.errors import WeightsError
from ultrais_core.model import DSConfig, DualStreamNet
from ultrais_core.model_descriptor import ModelDescriptor

FORMAT_NAME = "ultrais-ds"
FORMAT_VERSION = 4


def save_weights(
    model: DualStreamNet, path: str | Path, *, notes: str = "", half: bool = False
) -> Path:
    """Write `model` to `path` atomically (temporary file in the same folder, then rename).

    `half` stores the tensors as fp16 (half the size); they are loaded back as fp32.
    """
    path = Path(path)
    tensors = {
        name: (t.detach().to("cpu", torch.float16 if half else torch.float32)).contiguous()
        for name, t in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "hyperparameters": json.dumps(model.config.to_dict()),
        "notes": notes,
    }
    save_safetensors_atomic(tensors, path, metadata)
    return path


def save_safetensors_atomic(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]
) -> None:
    """Write a safetensors file through a temporary file in the same folder, fsync, rename:
    a crash mid-write never leaves a truncated file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        save_file(tensors, temporary, metadata=metadata)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; weights are ordinary files
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_header_metadata(path: Path) -> dict[str, str]:
    """The `__metadata__` of any safetensors file, read without loading its tensors."""
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        with path.open("rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            # A garbage prefix can claim an exabyte header: check before reading it.
            if not 2 <= header_size <= min(path.stat().st_size - 8, 100_000_000):
                raise ValueError(f"header size {header_size} does not fit the file")
            header = json.loads(handle.read(header_size))
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise WeightsError(f"{path}: not a safetensors file ({error})") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{path}: not a safetensors file (bad header)")
    return header.get("__metadata__") or {}


def read_metadata(path: str | Path) -> dict[str, str]:
    """The file's metadata, checked for our format and version."""
    path = Path(path)
    metadata = read_header_metadata(path)
    if metadata.get("format") != FORMAT_NAME:
        raise WeightsError(f"{path}: not an UltraIS weights file (no '{FORMAT_NAME}' metadata)")
    version = metadata.get("format_version", "?")
    if version != str(FORMAT_VERSION):
        raise WeightsError(
            f"{path}: weights format version {version}, this UltraIS reads version {FORMAT_VERSION}"
        )
    return metadata


def load_weights(
    path: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[DualStreamNet, ModelDescriptor]:
    """Rebuild the network stored in `path` and load its weights (in eval mode, fp32)."""
    path = Path(path)
    metadata = read_metadata(path)
    try:
        config = DSConfig.from_dict(json.loads(metadata["hyperparameters"]))
    except (KeyError, TypeError, ValueError) as error:
        raise WeightsError(f"{path}: unreadable hyper-parameters ({error})") from None
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: truncated or corrupt tensor data ({error})") from None
    model = DualStreamNet(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: does not match the network it describes "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''})"
        )
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise WeightsError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)}, "
                f"the network needs {tuple(expected[name].shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.eval().to(device)
    descriptor = ModelDescriptor(
        path=path,
        scale=config.scale,
        size_multiple=config.size_multiple,
        parameters=sum(t.numel() for t in tensors.values()),
        # LayerNorm statistics and attention softmax run in fp32 inside the blocks (see layers).
        half_precision_safe=True,
        notes=metadata.get("notes", ""),
    )
    return model, descriptor
