"""Photos per second of `batch` on one machine with 1 and 2 workers, and with 2 local Ray actors.

    python -m bench.batch_throughput [--photos 60] [--width 128] [--height 96] [--scale 2]
                                     [--preset small] [--no-ray]

Generates one folder of dark JPEGs and a random-weights network of the preset (speed does not
depend on the weights), then runs the same batch into a fresh output folder per mode.
"photos/s" counts from the first photo handed out to the last one back, once the workers have
loaded their engines; "wall s" is the whole command, start-up included. On a CPU, one worker
gets every core and two workers half each (Ray's actors: one CPU each). These machines are
noisy and may be busy: compare rows of one run rather than across runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ultrais_core.batch.runner import BatchOptions, cpu_count, run_batch

RESULTS = Path(__file__).resolve().parent / "results"


def make_inputs(root: Path, photos: int, width: int, height: int, scale: int, preset: str) -> None:
    import torch

    from ultrais_core.model import DualStreamNet, config_for
    from ultrais_core.weights import save_weights

    torch.manual_seed(0)
    save_weights(
        DualStreamNet(config_for(preset, scale)), root / "weights" / f"ultrais_x{scale}.safetensors"
    )
    rng = np.random.default_rng(0)
    for i in range(photos):
        path = root / "src" / f"d{i % 4}" / f"p{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((height, width, 3)) * 40).astype(np.uint8)
        Image.fromarray(pixels).save(path, quality=92)


def run_mode(root: Path, name: str, scale: int, **options: object) -> dict:
    dst = root / f"out-{name.replace(' ', '-')}"
    batch = BatchOptions(
        src=root / "src", dst=dst, scale=scale, recursive=True, weights=root / "weights"
    )
    for key, value in options.items():
        setattr(batch, key, value)
    start = time.perf_counter()
    summary = run_batch(batch, io.StringIO())
    wall = time.perf_counter() - start
    if summary.failed:
        raise RuntimeError(f"{name}: {summary.failed[:3]}")
    return {
        "mode": name,
        "workers": len(summary.workers),
        "photos": summary.done,
        "photos_per_second": summary.photos_per_second,
        "processing_s": summary.processing_s,
        "wall_s": wall,
        "wall_photos_per_second": summary.done / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--height", type=int, default=96)
    parser.add_argument("--scale", type=int, choices=(1, 2, 4), default=2)
    parser.add_argument("--preset", choices=("small", "large"), default="small")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray row")
    args = parser.parse_args()
    os.environ.pop("OMP_NUM_THREADS", None)  # workers share the cores themselves
    rows = []
    with tempfile.TemporaryDirectory(prefix="ultrais-bench-") as folder:
        root = Path(folder)
        make_inputs(root, args.photos, args.width, args.height, args.scale, args.preset)
        rows.append(run_mode(root, "1 worker", args.scale, workers=1, device="cpu"))
        rows.append(run_mode(root, "2 workers", args.scale, workers=2, device="cpu"))
        ray_start_s = None
        if not args.no_ray:
            try:
                import ray
            except ImportError:
                print("ray is not installed: no Ray row (pip install ray)")
            else:
                start = time.perf_counter()
                project = str(Path(__file__).resolve().parent.parent)
                ray.init(
                    num_cpus=2,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": project}},
                )
                ray_start_s = time.perf_counter() - start
                try:
                    rows.append(
                        run_mode(
                            root, "ray 2 actors", args.scale, ray="auto", workers=2, device="cpu"
                        )
                    )
                finally:
                    ray.shutdown()
    print(
        f"batch throughput: {args.photos} photos {args.width}x{args.height} JPEG, x{args.scale}, "
        f"{args.preset} preset (random weights), CPU {platform.machine()} x{cpu_count()}"
    )
    header = ("mode", "workers", "photos/s", "proc s", "wall s", "wall p/s")
    print("{:<14} {:>7} {:>9} {:>7} {:>7} {:>8}".format(*header))
    for row in rows:
        print(
            f"{row['mode']:<14} {row['workers']:>7} {row['photos_per_second']:>9.2f} "
            f"{row['processing_s']:>7.1f} {row['wall_s']:>7.1f} "
            f"{row['wall_photos_per_second']:>8.2f}"
        )
    if ray_start_s is not None:
        print(f"(starting the local Ray instance took {ray_start_s:.1f} s, not in the rows)")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "batch_throughput.json"
    out.write_text(
        json.dumps(
            {
                "photos": args.photos,
                "size": [args.width, args.height],
                "scale": args.scale,
                "preset": args.preset,
                "cpu_count": cpu_count(),
                "platform": platform.platform(),
                "ray_start_s": ray_start_s,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
