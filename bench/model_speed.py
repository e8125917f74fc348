"""Parameter counts and CPU seconds per input megapixel of the DS presets, through the engine.

    python -m bench.model_speed [--scales 2] [--size 512] [--threads N] [--repeats 3]

Random weights (speed does not depend on them). The same run times every preset, so compare
the rows with each other rather than across runs: these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ultrais_core.engine import Engine
from ultrais_core.model import DualStreamNet, config_for, count_parameters
from ultrais_core.weights import save_weights

RESULTS = Path(__file__).resolve().parent / "results"


def time_preset(preset: str, scale: int, size: int, repeats: int, folder: Path) -> dict:
    torch.manual_seed(0)
    model = DualStreamNet(config_for(preset, scale))
    path = save_weights(model, folder / f"{preset}_x{scale}.safetensors")
    engine = Engine(path, device="cpu", tile=size)
    image = (np.random.default_rng(0).random((size, size, 3)) * 0.1).astype(np.float32)
    engine.enhance(image[:64, :64], scale)  # warm-up: oneDNN builds its kernels on first use
    engine.enhance(image, scale)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine.enhance(image, scale)
        times.append(time.perf_counter() - start)
    megapixels = size * size / 1e6
    best = min(times)
    return {
        "preset": preset,
        "scale": scale,
        "parameters": count_parameters(model),
        "input_size": size,
        "seconds_best": best,
        "seconds_median": float(np.median(times)),
        "seconds_per_input_mp": best / megapixels,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=int, nargs="+", default=[2])
    parser.add_argument("--presets", nargs="+", default=["small", "large"])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for preset in args.presets:
            for scale in args.scales:
                rows.append(time_preset(preset, scale, args.size, args.repeats, Path(folder)))
                if args.threads:  # Engine sets all cores; keep the requested count
                    torch.set_num_threads(args.threads)
    print(
        f"CPU: {platform.processor() or platform.machine()}, torch threads "
        f"{torch.get_num_threads()}, input {args.size}x{args.size}"
    )
    print(f"{'preset':<7} {'scale':>5} {'params':>10} {'s/input MP':>11} {'best s':>8}")
    for row in rows:
        print(
            f"{row['preset']:<7} {'x' + str(row['scale']):>5} {row['parameters']:>10,} "
            f"{row['seconds_per_input_mp']:>11.2f} {row['seconds_best']:>8.2f}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "model_speed.json"
    out.write_text(json.dumps({"threads": torch.get_num_threads(), "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
