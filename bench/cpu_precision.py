"""bf16 against fp32 on the CPU, with the shipped weights, through the engine the app uses.

    python -m bench.cpu_precision                          # x1, x2, x4 on the sample photo
    python -m bench.cpu_precision --scales 2 --threads 2 --repeats 3 --photo FILE

For each scale: the same photo through `Engine(precision="fp32")` and `Engine(precision="bf16")`
(the same tiles), the largest and the 99.9th-percentile absolute difference of the 8-bit outputs
(in 1/255 steps), and the time of each (best of `repeats`, the two interleaved so machine noise
hits both alike). This is the measurement behind `--precision auto` staying fp32 on the CPU
(engine.pick_dtype): bf16 would have to keep every output within 1/255 of fp32.

Writes JSON to bench/results/cpu_precision.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ultrais_core.engine import Engine
from ultrais_core.imageio import read_image

SAMPLE = Path(__file__).resolve().parent.parent / "resources" / "sample" / "night_street.jpg"
RESULTS = Path(__file__).resolve().parent / "results" / "cpu_precision.json"


def cpu_has_native_bf16() -> bool:
    """The avx512_bf16 or amx_bf16 flags of /proc/cpuinfo (Linux; False elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        return False
    return bool(set(flags.split()) & {"avx512_bf16", "amx_bf16"})


def _run(engine: Engine, photo: np.ndarray, scale: int) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    out = engine.enhance(photo, scale=scale, out_dtype=np.uint8)
    return out, time.perf_counter() - started


def measure(
    photo: np.ndarray, scale: int, repeats: int, weights: Path | None = None
) -> dict[str, float]:
    engines = {name: Engine(weights, device="cpu", precision=name) for name in ("fp32", "bf16")}
    times: dict[str, list[float]] = {name: [] for name in engines}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name, engine in engines.items():
            outputs[name], seconds = _run(engine, photo, scale)
            times[name].append(seconds)
    diff = np.abs(outputs["fp32"].astype(np.int16) - outputs["bf16"].astype(np.int16))
    return {
        "scale": scale,
        "max_diff_255": int(diff.max()),
        "p999_diff_255": float(np.percentile(diff, 99.9)),
        "mean_diff_255": float(diff.mean()),
        "fp32_s": min(times["fp32"]),
        "bf16_s": min(times["bf16"]),
        "speedup": min(times["fp32"]) / min(times["bf16"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SAMPLE)
    parser.add_argument("--weights", type=Path, default=None, help="folder or file (shipped)")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-side", type=int, default=640, help="crop the photo to this")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    photo = read_image(args.photo).pixels[: args.max_side, : args.max_side]
    rows = [measure(photo, scale, args.repeats, args.weights) for scale in args.scales]
    print(f"native bf16: {cpu_has_native_bf16()}, threads: {args.threads}, photo {photo.shape}")
    print("scale  max diff  99.9%  mean    fp32 s   bf16 s   speed-up")
    for r in rows:
        print(
            f"x{r['scale']:<5} {r['max_diff_255']:>4}/255 {r['p999_diff_255']:>6.2f} "
            f"{r['mean_diff_255']:>6.3f} {r['fp32_s']:>8.2f} {r['bf16_s']:>8.2f} "
            f"{r['speedup']:>8.2f}x"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"native_bf16": cpu_has_native_bf16(), "threads": args.threads, "rows": rows}
    args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
