"""Resumable training checkpoints, as safetensors (no pickle): model, optimizer moments, step.

The Adam moments are stored as tensors named `optimizer.<param index>.<state name>`; the
scalar state (step, elapsed time, hyper-parameters) goes into the metadata as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ultrais_core.errors import WeightsError
from ultrais_core.weights import read_header_metadata, save_safetensors_atomic


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    average: torch.nn.Module | None = None,
) -> None:
    """Write model, optimizer moments, the weight average (if any) and ``state`` to ``path``."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if average is not None:
        for k, v in average.state_dict().items():
            tensors[f"average.{k}"] = v.detach().cpu().contiguous()
    param_steps = {}
    for index, parameter in enumerate(p for g in optimizer.param_groups for p in g["params"]):
        for name, value in optimizer.state.get(parameter, {}).items():
            if torch.is_tensor(value) and value.ndim > 0:
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                param_steps[f"{index}.{name}"] = float(value)
    metadata = {"state": json.dumps(state), "optimizer_scalars": json.dumps(param_steps)}
    save_safetensors_atomic(tensors, path, metadata)


def load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    average: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Restore model, optimizer and weight average in place; return the saved state dict.

    A checkpoint written without an average (older runs) restarts it from the model's weights.
    """
    metadata = read_header_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: unreadable checkpoint ({error})") from None
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_state)
    if average is not None:
        averaged = {k[len("average.") :]: v for k, v in tensors.items() if k.startswith("average.")}
        average.load_state_dict(averaged or model_state)
    scalars = json.loads(metadata.get("optimizer_scalars", "{}"))
    parameters = [p for g in optimizer.param_groups for p in g["params"]]
    for index, parameter in enumerate(parameters):
        state: dict[str, Any] = {}
        prefix = f"optimizer.{index}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                state[key[len(prefix) :]] = value.to(parameter.device)
        for key, value in scalars.items():
            i, name = key.split(".", 1)
            if int(i) == index:
                state[name] = torch.tensor(value)
        if state:
            optimizer.state[parameter] = state
    return json.loads(metadata.get("state", "{}"))


def export_average(checkpoint: Path, out: Path, *, notes: str = "") -> Path:
    """Write a checkpoint's weight average (what a finished run would ship) as a weights file,
    so a run still in progress can be evaluated and its weights committed when they improve."""
    from ultrais_core.model import DSConfig, DualStreamNet
    from ultrais_core.training.train import config_options
    from ultrais_core.weights import save_weights

    state = json.loads(read_header_metadata(checkpoint).get("state", "{}"))
    options = state.get("options", {})
    try:
        tensors = load_file(str(checkpoint))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{checkpoint}: unreadable checkpoint ({error})") from None
    prefix = "average." if any(k.startswith("average.") for k in tensors) else "model."
    config: DSConfig = config_options(options)
    model = DualStreamNet(config)
    model.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    summary = {"from_checkpoint": checkpoint.name, "step": state.get("step"), "notes": notes}
    save_weights(model, out, notes=json.dumps(summary))
    return out
