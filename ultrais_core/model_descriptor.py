"""What the engine knows about a loaded network, whichever runtime loaded it.

Kept free of torch so the ONNX Runtime backend (the CPU bundle ships no torch) describes its
networks with the same type as `weights.load_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelDescriptor:
    """What the engine needs to know about a loaded network, without looking inside it."""

    path: Path
    scale: int
    size_multiple: int
    parameters: int
    half_precision_safe: bool
    notes: str
