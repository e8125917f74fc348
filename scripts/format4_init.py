"""Seed files for the format-4 runs from the format-3 weights (session 6, scripts/train_cpu.sh).

Format 4 drops the illumination U-Net's full-resolution decoder level and its output map (the
illumination is the guidance under a photo-wide toe) and starts the semantic extractor at
stride 2 (its stem distilled by `training.semantic_distill`). The remaining illumination decoder
tensors move down one index; everything else keeps its name, and `train.initialise_from`
copies what matches in name and shape.

    python scripts/format4_init.py FORMAT3_FILE SEMANTIC_FILE OUT
"""

from __future__ import annotations

import re
import sys

from safetensors.torch import load_file, save_file


def format4_tensors(format3: dict, semantic: dict) -> dict:
    out = {}
    for name, tensor in format3.items():
        if name.startswith("semantic.") or name.startswith("illumination.head."):
            continue
        match = re.match(r"illumination\.(ups|decoders)\.(\d+)\.(.*)", name)
        if match:
            index = int(match.group(2)) - 1
            if index < 0:
                continue  # the full-resolution level, gone
            name = f"illumination.{match.group(1)}.{index}.{match.group(3)}"
        out[name] = tensor
    out.update(semantic)
    return out


if __name__ == "__main__":
    source, semantic, target = sys.argv[1:4]
    save_file(format4_tensors(load_file(source), load_file(semantic)), target)
