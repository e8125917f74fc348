"""Throughput, memory and the reference ratio of the engine: `python -m bench`.

    python -m bench                                  # 0.5, 2, 12 MP at x1, x2, x4; CPU (+ CUDA)
    python -m bench --quick                          # 0.1 MP only, profile at 0.1 MP
    python -m bench --device cpu --sizes 0.5 2 --scales 2 --threads 2
    python -m bench --memory-case                    # adds 24 MP at x2 to uint8 on the CPU

Every case runs in a fresh subprocess (`python -m bench.throughput --child SPEC`), so its peak
RSS (the kernel's VmHWM) is its own: import, weights, warm-up and the timed runs. For each
(device, scale, size) it times the DS network through `Engine.enhance`, the same photo through
the same engine path with the reference network (`bench.reference`, the Real-ESRGAN-compact
shape) and, where the whole padded photo fits in memory as one tile, the DS network untiled.
Speeds are in megapixels per second of input and of output; the ratio is DS speed per input
megapixel over the reference's (above 1: the DS network is faster).

Weights: `--weights DIR` or `resources/weights/ultrais_x{scale}.safetensors`; where a scale has
no file, a random-weight network of the "small" preset is saved to a temporary folder (speed does
not depend on the weights). The output says which was used.

Prints tables and writes JSON to bench/results/throughput.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OUT = RESULTS / "throughput.json"
RESULT_MARK = "BENCH-RESULT "

FULL_SIZES = (0.5, 2.0, 12.0)
QUICK_SIZES = (0.1,)
SCALES = (1, 2, 4)
MEMORY_CASE = {"megapixels": 24.0, "scale": 2, "out_dtype": "uint8", "goal_bytes": 3e9}
PROFILE_CASE = {"megapixels": 2.0, "scale": 2}
QUICK_PROFILE_MEGAPIXELS = 0.1
# The untiled run is tried only where Engine.auto_tile's bytes-per-pixel estimate says the whole
# photo fits in half the free memory.
UNTILED_MEMORY_SHARE = 0.5
# Peak activation bytes per input pixel of one forward, small preset, fp32 CPU, torch 2.13,
# measured (peak RSS - RSS before, 512x512 input, 1 thread); only used to explain a peak.
ACTIVATION_BYTES_PER_PIXEL = {1: 2900, 2: 3650, 4: 8500}
GOALS = {
    "cpu_12mp_x2_seconds": 60.0,
    "cuda_12mp_x2_seconds": 1.0,
    # Issue 15: per input MP, x2 at least 1.5x the reference's speed, x4 at least 1.2x (x1 is
    # held to x2's).
    "ratio_to_reference": {1: 1.5, 2: 1.5, 4: 1.2},
    "memory_case_peak_rss_bytes": MEMORY_CASE["goal_bytes"],
}

# ---------------------------------------------------------------------------------------------
# Shared helpers


def photo_shape(megapixels: float) -> tuple[int, int]:
    """(height, width) of a 4:3 landscape photo of about `megapixels`."""
    width = max(8, round(math.sqrt(megapixels * 1e6 * 4 / 3)))
    height = max(8, round(megapixels * 1e6 / width))
    return height, width


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A dark float32 photo (gradient, a few lamps, sensor noise), built without float64 copies:
    at 24 MP every full-size temporary is 288 MB of the peak being measured."""
    rng = np.random.default_rng(seed)
    image = rng.random((height, width, 3), dtype=np.float32)
    image *= 0.03
    rows = np.linspace(0.01, 0.06, height, dtype=np.float32)[:, None, None]
    cols = np.linspace(0.02, 0.05, width, dtype=np.float32)[None, :, None]
    image += rows
    image += cols * np.array([1.0, 0.8, 0.6], dtype=np.float32)
    for k in range(5):  # lamps: small bright squares
        y, x = int(height * (0.2 + 0.15 * k)), int(width * (0.1 + 0.18 * k))
        side = max(2, min(height, width) // 40)
        image[y : y + side, x : x + side] = (0.95, 0.85, 0.6)
    np.clip(image, 0, 1, out=image)
    return image


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM on Linux, ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.0f}"


# ---------------------------------------------------------------------------------------------
# The child: one case in this process


def _engine_for(spec: dict[str, Any]) -> Any:
    import torch

    from bench.reference import ReferenceEngine
    from ultrais_core.engine import Engine

    engine = Engine(
        spec["weights"], device=spec["device"], tile=spec.get("tile"), overlap=spec["overlap"]
    )
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    if spec["model"] == "reference":
        engine = ReferenceEngine(engine)
    return engine


def _resolve_tile(engine: Any, spec: dict[str, Any], height: int, width: int) -> dict[str, Any]:
    """The tile the engine will use; for an untiled case, one tile over the padded photo (or the
    reason it cannot fit)."""
    import torch

    from ultrais_core.engine import available_memory, cpu_tile_budget
    from ultrais_core.tiling import aligned, plan_tiles

    _, descriptor = engine.model_for(spec["scale"])
    multiple = descriptor.size_multiple
    auto = engine.auto_tile(descriptor)
    tile = engine.tile or auto
    padded_h, padded_w = aligned(height, multiple), aligned(width, multiple)
    tiles = len(plan_tiles(padded_h, padded_w, tile=tile, overlap=engine.overlap, align=multiple))
    if not spec.get("untiled"):
        return {"tile": tile, "tiles": tiles}
    if tiles == 1:
        return {"skipped": f"the tiled run is already one {tile}-pixel tile"}
    side = max(padded_h, padded_w)
    padded_pixels = padded_h * padded_w
    if engine.device.type == "cuda":
        available = torch.cuda.mem_get_info(engine.device)[0]
        budget = available * 0.5  # as Engine.auto_tile
    else:
        available = available_memory() or 0
        budget = cpu_tile_budget(available or None)
    # auto_tile's own estimate: `budget` bytes of activations for an auto-sized core with its
    # context on each side.
    needed = padded_pixels * budget / (auto + 2 * engine.overlap) ** 2
    if needed > available * UNTILED_MEMORY_SHARE:
        return {
            "skipped": f"untiled needs about {needed / 1e9:.1f} GB of activations by the "
            f"engine's estimate; {available / 1e9:.1f} GB free"
        }
    return {"tile": side, "tiles": 1, "estimated_activation_bytes": needed}


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one case in this process: warm-up on one tile, then `repeats` timed enhances."""
    import torch

    height, width = photo_shape(spec["megapixels"])
    scale = spec["scale"]
    engine = _engine_for(spec)
    resolved = _resolve_tile(engine, spec, height, width)
    result: dict[str, Any] = {
        key: spec[key] for key in ("model", "device", "scale", "megapixels", "untiled")
    }
    result.update(
        input_shape=[height, width],
        input_mp=height * width / 1e6,
        output_mp=height * width * scale * scale / 1e6,
        out_dtype=spec["out_dtype"],
        device_name=engine.device_name,
        threads=torch.get_num_threads(),
    )
    if "skipped" in resolved:
        result["skipped"] = resolved["skipped"]
        return result
    engine.tile = resolved["tile"]
    result["tile"] = resolved["tile"]
    result["tiles"] = resolved["tiles"]
    out_dtype = np.dtype(spec["out_dtype"]).type
    image = synthetic_photo(height, width)
    cuda = engine.device.type == "cuda"
    # Warm-up: oneDNN (CPU) and cudnn.benchmark (CUDA) pick kernels per shape on first use.
    crop = image[: min(height, resolved["tile"]), : min(width, resolved["tile"])]
    warm_start = time.perf_counter()
    engine.enhance(crop, scale, out_dtype=out_dtype)
    result["warmup_seconds"] = time.perf_counter() - warm_start
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    result["rss_before_run_bytes"] = current_rss_bytes()
    times = []
    for _ in range(spec.get("repeats", 1)):
        start = time.perf_counter()
        output = engine.enhance(image, scale, out_dtype=out_dtype)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        assert output.shape == (height * scale, width * scale, 3), output.shape
        del output
    best = min(times)
    result.update(
        seconds=best,
        seconds_all=times,
        input_mp_per_s=result["input_mp"] / best,
        output_mp_per_s=result["output_mp"] / best,
        retries=engine.last_run.retries if engine.last_run else None,
        peak_rss_bytes=peak_rss_bytes(),
    )
    if "estimated_activation_bytes" in resolved:
        result["estimated_activation_bytes"] = resolved["estimated_activation_bytes"]
    if cuda:
        result["peak_cuda_allocated_bytes"] = torch.cuda.max_memory_allocated()
        result["peak_cuda_reserved_bytes"] = torch.cuda.max_memory_reserved()
    return result


# ---------------------------------------------------------------------------------------------
# The profile: where the time goes on the CPU


# fmt: off
OP_GROUPS = {
    "convolutions": ("conv", "addmm", "linear", "mm"),
    "attention": ("bmm", "matmul", "softmax", "linalg_vector_norm", "norm", "clamp_min"),
    "upsampler": ("upsample", "pixel_shuffle", "pixel_unshuffle", "grid_sampler"),
    "data movement": (
        "copy_", "_to_copy", "to", "contiguous", "clone", "cat", "stack", "pad",
        "constant_pad_nd", "reflection_pad", "replication_pad", "permute", "reshape", "view",
        "as_strided", "slice", "select", "transpose", "expand", "unsqueeze", "squeeze", "chunk",
        "split", "narrow", "empty", "empty_strided", "zeros", "zero_", "fill_", "unbind",
        "flatten", "resize_", "alias", "detach", "t", "lift_fresh", "unfold", "index",
        "_reshape_alias", "unsafe_split", "split_with_sizes", "_unsafe_view", "repeat",
        "full", "ones", "new_empty", "new_zeros", "numpy_T",
    ),
}
# fmt: on
# Anything else (mean, sub, mul, add, div, pow, rsqrt, gelu, sigmoid, log, clamp, amax, ...).
ELEMENTWISE = "layernorm/elementwise"


def op_group(name: str) -> str:
    """The group of an aten op name (by its base name, e.g. aten::mkldnn_convolution)."""
    base = name.split("::")[-1]
    if "conv" in base or base in OP_GROUPS["convolutions"]:
        return "convolutions"
    if "softmax" in base or base in OP_GROUPS["attention"]:
        return "attention"
    if base.startswith(("upsample", "_upsample")) or base in OP_GROUPS["upsampler"]:
        return "upsampler"
    if base in OP_GROUPS["data movement"] or base.endswith("_pad2d"):
        return "data movement"
    return ELEMENTWISE


@contextmanager
def _module_ranges(model: Any) -> Iterator[None]:
    """Name profiler ranges after the model's top-level parts (and the whole forward), with
    forward hooks, so the engine and the model stay untouched."""
    import torch

    handles = []
    stack: list[Any] = []

    def enter(name: str) -> Any:
        def hook(module: Any, args: Any) -> None:
            scope = torch.autograd.profiler.record_function(name)
            scope.__enter__()
            stack.append(scope)

        return hook

    def leave(module: Any, args: Any, output: Any) -> None:
        stack.pop().__exit__(None, None, None)

    parts = [("ds::model", model)]
    for name, child in model.named_children():
        # Lists are never called themselves: hook their members (siblings, so no nesting).
        members = list(child) if isinstance(child, torch.nn.ModuleList) else [child]
        parts += [(f"part::{name}", member) for member in members]
    for name, module in parts:
        handles.append(module.register_forward_pre_hook(enter(name)))
        handles.append(module.register_forward_hook(leave))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def run_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """Profile one DS enhance on the CPU; ops grouped by kind, time by network part."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    height, width = photo_shape(spec["megapixels"])
    scale = spec["scale"]
    engine = _engine_for(spec)
    model, descriptor = engine.model_for(scale)
    engine.tile = engine.tile or engine.auto_tile(descriptor)
    image = synthetic_photo(height, width)
    engine.enhance(image[: engine.tile, : engine.tile], scale)  # warm-up
    start = time.perf_counter()
    engine.enhance(image, scale, out_dtype=np.uint8)
    unprofiled = time.perf_counter() - start
    with _module_ranges(model), profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        engine.enhance(image, scale, out_dtype=np.uint8)
        wall = time.perf_counter() - start
    events = prof.key_averages()
    model_us = sum(e.cpu_time_total for e in events if e.key == "ds::model")
    parts = {
        e.key.removeprefix("part::"): e.cpu_time_total / 1e6
        for e in events
        if e.key.startswith("part::")
    }
    groups: dict[str, float] = dict.fromkeys([*OP_GROUPS, ELEMENTWISE], 0.0)
    ops = []
    for e in events:
        if "::" not in e.key or e.key.startswith(("ds::", "part::")):
            continue
        groups[op_group(e.key)] += e.self_cpu_time_total / 1e6
        ops.append((e.self_cpu_time_total / 1e6, e.key, e.count))
    ops.sort(reverse=True)
    op_total = sum(groups.values()) or 1.0
    model_s = model_us / 1e6
    parts["rest of forward (guidance, Retinex division, base upsample, pads)"] = max(
        0.0, model_s - sum(parts.values())
    )
    return {
        "device": "cpu",
        "device_name": engine.device_name,
        "threads": torch.get_num_threads(),
        "scale": scale,
        "megapixels": spec["megapixels"],
        "input_shape": [height, width],
        "tile": engine.tile,
        "seconds_unprofiled": unprofiled,
        "seconds_profiled": wall,
        "model_forward_seconds": model_s,
        "engine_outside_model_seconds": max(0.0, wall - model_s),
        "op_groups_note": (
            "self CPU time of aten ops by kind: 'attention' is the attention math only "
            "(normalize, q.k, softmax, @v); its 1x1/depthwise projections count as "
            "convolutions and its LayerNorms as layernorm/elementwise. 'upsampler' is the "
            "interpolation and (un)shuffle ops; the upsampler's convolutions count as "
            "convolutions. parts_seconds gives whole modules instead."
        ),
        "op_groups_seconds": groups,
        "op_groups_share": {k: v / op_total for k, v in groups.items()},
        "parts_seconds": parts,
        "top_ops": [
            {"op": name, "self_seconds": s, "calls": n, "group": op_group(name)}
            for s, name, n in ops[:15]
        ],
    }


def child_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    result = run_profile(spec) if spec.get("profile") else run_case(spec)
    print(RESULT_MARK + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# The parent: plan cases, run each in a subprocess, tabulate


def run_child(spec: dict[str, Any], *, in_process: bool = False) -> dict[str, Any]:
    """Run one case in a fresh interpreter (or here, for tests) and return its result."""
    if in_process:
        result = run_profile(spec) if spec.get("profile") else run_case(spec)
        result["isolated"] = False
        return result
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bench.throughput", "--child", json.dumps(spec)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
            result["isolated"] = True
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    return {
        **{k: spec.get(k) for k in ("model", "device", "scale", "megapixels")},
        "error": f"exit {done.returncode}: " + " | ".join(tail),
    }


def resolve_weights(folder: Path | None, scales: list[int], temp: Path) -> dict[int, dict]:
    """Per scale: the weights file to use and where it came from."""
    import torch

    from ultrais_core.engine import DEFAULT_WEIGHTS_DIR, default_weights_path
    from ultrais_core.model import DualStreamNet, config_for
    from ultrais_core.weights import save_weights

    chosen = {}
    for scale in scales:
        path = default_weights_path(scale, folder or DEFAULT_WEIGHTS_DIR)
        if path.is_file():
            source = "given" if folder else "shipped"
            chosen[scale] = {"path": str(path), "source": source}
            continue
        torch.manual_seed(scale)
        model = DualStreamNet(config_for("small", scale))
        path = save_weights(model, temp / f"ultrais_x{scale}.safetensors", notes="bench: random")
        missing = default_weights_path(scale, folder or DEFAULT_WEIGHTS_DIR)
        chosen[scale] = {"path": str(path), "source": f"random small preset ({missing} not found)"}
    return chosen


def plan(args: argparse.Namespace, weights: dict[int, dict]) -> list[dict[str, Any]]:
    specs = []
    for device in args.devices:
        for scale in args.scales:
            for size in args.sizes:
                base = {
                    "device": device,
                    "scale": scale,
                    "megapixels": size,
                    "weights": weights[scale]["path"],
                    "tile": args.tile,
                    "overlap": args.overlap,
                    "threads": args.threads,
                    "repeats": args.repeats,
                    "out_dtype": args.out_dtype,
                    "untiled": False,
                }
                specs.append({**base, "model": "ds"})
                if not args.no_reference:
                    specs.append({**base, "model": "reference"})
                if not args.no_untiled:
                    specs.append({**base, "model": "ds", "untiled": True})
    return specs


def summarise(cases: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Ratios to the reference and tiling overheads, from the case results."""

    def key(case: dict) -> tuple:
        return (case["device"], case["scale"], case["megapixels"])

    timed = [c for c in cases if "seconds" in c]
    ds = {key(c): c for c in timed if c["model"] == "ds" and not c["untiled"]}
    ref = {key(c): c for c in timed if c["model"] == "reference"}
    untiled = {key(c): c for c in timed if c["model"] == "ds" and c["untiled"]}
    ratios = [
        {
            "device": k[0],
            "scale": k[1],
            "megapixels": k[2],
            "tile": ds[k]["tile"],
            "same_tiling": ds[k]["tile"] == ref[k]["tile"],
            "ds_input_mp_per_s": ds[k]["input_mp_per_s"],
            "reference_input_mp_per_s": ref[k]["input_mp_per_s"],
            "ratio": ds[k]["input_mp_per_s"] / ref[k]["input_mp_per_s"],
        }
        for k in ds
        if k in ref
    ]
    overheads = [
        {
            "device": k[0],
            "scale": k[1],
            "megapixels": k[2],
            "tile": ds[k]["tile"],
            "tiled_seconds": ds[k]["seconds"],
            "untiled_seconds": untiled[k]["seconds"],
            "overhead": ds[k]["seconds"] / untiled[k]["seconds"] - 1,
            "tiled_peak_rss_bytes": ds[k]["peak_rss_bytes"],
            "untiled_peak_rss_bytes": untiled[k]["peak_rss_bytes"],
        }
        for k in ds
        if k in untiled
    ]
    return ratios, overheads


def check_goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the throughput issue that this run measured: value, goal, met or by how much
    it is missed."""
    goals = []
    for case in report["cases"]:
        if case.get("model") != "ds" or case.get("untiled") or "seconds" not in case:
            continue
        if case["scale"] == 2 and abs(case["megapixels"] - 12) < 1e-6:
            limit = GOALS[f"{case['device']}_12mp_x2_seconds"]
            goals.append(
                {
                    "goal": f"12 MP at x2 on {case['device']} under {limit:g} s",
                    "value": case["seconds"],
                    "met": case["seconds"] < limit,
                    "factor_over": case["seconds"] / limit,
                }
            )
    for ratio in report["ratios"]:
        least = GOALS["ratio_to_reference"][ratio["scale"]]
        goals.append(
            {
                "goal": f"speed per MP >= {least}x reference "
                f"({ratio['device']}, x{ratio['scale']}, {ratio['megapixels']:g} MP)",
                "value": ratio["ratio"],
                "met": ratio["ratio"] >= least,
                "factor_over": least / ratio["ratio"],
            }
        )
    memory = report.get("memory_case")
    if memory and "peak_rss_bytes" in memory:
        limit = GOALS["memory_case_peak_rss_bytes"]
        goals.append(
            {
                "goal": f"{memory['megapixels']:g} MP at x{memory['scale']} to "
                f"{memory['out_dtype']} on the CPU under {limit / 1e9:g} GB peak RSS",
                "value": memory["peak_rss_bytes"],
                "met": memory["peak_rss_bytes"] < limit,
                "factor_over": memory["peak_rss_bytes"] / limit,
            }
        )
    return goals


def memory_budget(
    height: int, width: int, scale: int, tile: int, overlap: int, itemsize: int
) -> dict:
    """Expected host buffers of one enhance (bytes), from the engine's code path."""
    # The engine pads and clips each tile as it reads it (`engine.photo_window`): no padded or
    # clipped copy of the photo, and each tile's core goes straight into the canvas.
    window = tile + 2 * overlap
    return {
        "float32 photo (the caller's; in RSS before)": height * width * 3 * 4,
        "output canvas": height * width * scale * scale * 3 * itemsize,
        "tile window and its float32 result": window * window * 3 * 4 * (1 + scale * scale),
        "one tile's activations (measured B/px)": tile * tile * ACTIVATION_BYTES_PER_PIXEL[scale],
    }


def print_report(report: dict[str, Any]) -> None:
    print(
        f"machine: {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"torch {report['machine']['torch']}"
    )
    for scale, w in report["weights"].items():
        print(f"weights x{scale}: {w['source']}")
    if report["cases"]:
        print_cases(report["cases"])
    print_sections(report)


def print_cases(cases: list[dict[str, Any]]) -> None:
    header = (
        f"{'model':<11} {'device':<6} {'scale':>5} {'in MP':>6} {'out MP':>7} {'tile':>5} {'n':>4} "
        f"{'thr':>3} {'seconds':>8} {'in MP/s':>8} {'out MP/s':>9} {'peak RSS MB':>11} "
        f"{'CUDA MB':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for c in cases:
        name = c.get("model", "?") + (" untiled" if c.get("untiled") else "")
        prefix = f"{name:<11} {c.get('device', '?'):<6} {'x' + str(c.get('scale')):>5} "
        if "seconds" not in c:
            state = f"skipped: {c['skipped']}" if "skipped" in c else f"FAILED: {c.get('error')}"
            print(f"{prefix}{c.get('megapixels', 0):>6.2f}  {state}")
            continue
        print(
            f"{prefix}{c['input_mp']:>6.2f} {c['output_mp']:>7.2f} {c['tile']:>5} {c['tiles']:>4} "
            f"{c['threads']:>3} {c['seconds']:>8.2f} {c['input_mp_per_s']:>8.3f} "
            f"{c['output_mp_per_s']:>9.3f} {mb(c['peak_rss_bytes']):>11} "
            f"{mb(c.get('peak_cuda_allocated_bytes')):>8}"
        )
    devices = {c.get("device_name") for c in cases if c.get("device_name")}
    print("devices: " + "; ".join(sorted(devices)))


def print_sections(report: dict[str, Any]) -> None:
    if report["ratios"]:
        print("\nDS speed per input MP / reference (SRVGGNetCompact 64ch x 16 convs) speed:")
        for r in report["ratios"]:
            print(
                f"  {r['device']:<5} x{r['scale']} {r['megapixels']:>5g} MP: "
                f"{r['ds_input_mp_per_s']:.3f} / {r['reference_input_mp_per_s']:.3f} MP/s "
                f"= {r['ratio']:.2f}x"
            )
    if report["tiling_overhead"]:
        print("\ntiling overhead (tiled / untiled - 1, same engine path, DS network):")
        for t in report["tiling_overhead"]:
            print(
                f"  {t['device']:<5} x{t['scale']} {t['megapixels']:>5g} MP, tile {t['tile']}: "
                f"{t['tiled_seconds']:.2f} s vs {t['untiled_seconds']:.2f} s untiled = "
                f"{t['overhead']:+.0%} (peak RSS {mb(t['tiled_peak_rss_bytes'])} vs "
                f"{mb(t['untiled_peak_rss_bytes'])} MB)"
            )
    memory = report.get("memory_case")
    if memory:
        print("\nmemory case:")
        if "peak_rss_bytes" in memory:
            print(
                f"  {memory['megapixels']:g} MP ({memory['input_shape'][1]}x"
                f"{memory['input_shape'][0]}) at x{memory['scale']} -> {memory['output_mp']:.0f}"
                f" MP {memory['out_dtype']}: peak RSS {mb(memory['peak_rss_bytes'])} MB "
                f"in {memory['seconds']:.1f} s (tile {memory['tile']})"
            )
            print(
                f"    {'RSS before the run (torch, weights, photo)':<42} "
                f"{mb(memory['rss_before_run_bytes']):>7} MB"
            )
            print("    expected host buffers of the run:")
            for name, size in memory["expected_buffers_bytes"].items():
                print(f"    {name:<42} {mb(size):>7} MB")
        else:
            print(f"  FAILED: {memory.get('error') or memory.get('skipped')}")
    profile = report.get("profile")
    if profile and "op_groups_seconds" in profile:
        print_profile(profile)
    elif profile:
        print(f"\nprofile FAILED: {profile.get('error')}")
    if report["goals"]:
        print("\ngoals:")
        for g in report["goals"]:
            value = g["value"]
            shown = f"{value / 1e9:.2f} GB" if value > 1e6 else f"{value:.2f}"
            verdict = "met" if g["met"] else f"MISSED by {g['factor_over']:.2f}x"
            print(f"  {g['goal']}: {shown} -> {verdict}")


def print_profile(p: dict[str, Any]) -> None:
    print(
        f"\nprofile: CPU, {p['threads']} threads, {p['input_shape'][1]}x{p['input_shape'][0]} "
        f"({p['megapixels']:g} MP) at x{p['scale']}, tile {p['tile']}: "
        f"{p['seconds_unprofiled']:.2f} s unprofiled, {p['seconds_profiled']:.2f} s profiled"
    )
    wall = p["seconds_profiled"]
    model, outside = p["model_forward_seconds"], p["engine_outside_model_seconds"]
    print(
        f"  model forward {model:.2f} s ({model / wall:.0%}), engine outside the model "
        f"(padding, blending, canvas) {outside:.2f} s ({outside / wall:.0%})"
    )
    print("  by kind of op (self time):")
    for name, seconds in sorted(p["op_groups_seconds"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:<24} {seconds:>7.2f} s {p['op_groups_share'][name]:>5.0%}")
    print("  by part of the network (inclusive):")
    for name, seconds in sorted(p["parts_seconds"].items(), key=lambda kv: -kv[1]):
        share = seconds / p["model_forward_seconds"] if p["model_forward_seconds"] else 0
        print(f"    {name:<24} {seconds:>7.2f} s {share:>5.0%}")
    print("  top ops:")
    for op in p["top_ops"][:10]:
        seconds, calls = op["self_seconds"], op["calls"]
        print(f"    {op['op']:<36} {seconds:>7.2f} s {calls:>6} calls  ({op['group']})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--quick", action="store_true", help="0.1 MP cases, 0.1 MP profile")
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        nargs="+",
        dest="devices",
        help="devices to run (default: cpu, and cuda when available)",
    )
    parser.add_argument("--sizes", type=float, nargs="+", help="input megapixels")
    parser.add_argument("--scales", type=int, nargs="+", choices=SCALES, default=list(SCALES))
    parser.add_argument("--weights", type=Path, help="folder of ultrais_x{scale}.safetensors")
    parser.add_argument("--tile", type=int, help="tile side (default: the engine's auto tile)")
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: every core)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per case (best kept)")
    parser.add_argument("--out-dtype", default="float32", choices=["float32", "uint8", "uint16"])
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--no-untiled", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile-mp", type=float, help="profile input megapixels (default 2)")
    parser.add_argument(
        "--memory-case",
        action="store_true",
        help="also run 24 MP at x2 to uint8 on the CPU (minutes)",
    )
    parser.add_argument("--memory-mp", type=float, default=MEMORY_CASE["megapixels"])
    parser.add_argument(
        "--memory-only", action="store_true", help="run the memory case alone (no table, profile)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run cases in this process (fast, but peak RSS is not per case)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else FULL_SIZES)
    if args.memory_only:
        args.memory_case, args.no_profile, args.sizes = True, True, []
        args.scales = [MEMORY_CASE["scale"]]
    if args.profile_mp is None:
        args.profile_mp = QUICK_PROFILE_MEGAPIXELS if args.quick else PROFILE_CASE["megapixels"]
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.child:
        child_main(args.child)
        return {}
    import torch

    if args.devices is None:
        args.devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ultrais-bench-") as temp:
        scales = set(args.scales)
        scales |= set() if args.no_profile else {PROFILE_CASE["scale"]}
        scales |= {MEMORY_CASE["scale"]} if args.memory_case else set()
        weights = resolve_weights(args.weights, sorted(scales), Path(temp))
        cases = []
        ds_tiles: dict[tuple, int] = {}
        for spec in plan(args, weights):
            key = (spec["device"], spec["scale"], spec["megapixels"])
            if spec["model"] == "reference" and spec["tile"] is None and key in ds_tiles:
                spec = {**spec, "tile": ds_tiles[key]}  # the DS run's tile, whatever memory says
            result = run_child(spec, in_process=args.in_process)
            if spec["model"] == "ds" and not spec["untiled"] and "tile" in result:
                ds_tiles[key] = result["tile"]
            cases.append(result)
            state = (
                f"{result['seconds']:.2f} s"
                if "seconds" in result
                else ("skipped" if "skipped" in result else "FAILED")
            )
            print(
                f"  {spec['model']}{' untiled' if spec['untiled'] else ''} {spec['device']} "
                f"x{spec['scale']} {spec['megapixels']:g} MP: {state}",
                flush=True,
            )
        memory_case = None
        if args.memory_case:
            scale = MEMORY_CASE["scale"]
            spec = {
                "model": "ds",
                "device": "cpu",
                "scale": scale,
                "megapixels": args.memory_mp,
                "weights": weights[scale]["path"],
                "tile": args.tile,
                "overlap": args.overlap,
                "threads": args.threads,
                "repeats": 1,
                "out_dtype": MEMORY_CASE["out_dtype"],
                "untiled": False,
            }
            memory_case = run_child(spec, in_process=args.in_process)
            if "seconds" in memory_case:
                height, width = memory_case["input_shape"]
                memory_case["expected_buffers_bytes"] = memory_budget(
                    height, width, scale, memory_case["tile"], args.overlap, 1
                )
                memory_case["goal_bytes"] = MEMORY_CASE["goal_bytes"]
            state = f"{memory_case['seconds']:.1f} s" if "seconds" in memory_case else "FAILED"
            print(f"  memory case {args.memory_mp:g} MP x{scale}: {state}", flush=True)
        profile = None
        if not args.no_profile:
            scale = PROFILE_CASE["scale"]
            spec = {
                "profile": True,
                "model": "ds",
                "device": "cpu",
                "scale": scale,
                "megapixels": args.profile_mp,
                "weights": weights[scale]["path"],
                "tile": args.tile,
                "overlap": args.overlap,
                "threads": args.threads,
            }
            profile = run_child(spec, in_process=args.in_process)
    ratios, overheads = summarise(cases)
    report: dict[str, Any] = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "weights": {str(s): {"source": w["source"]} for s, w in weights.items()},
        "cases": cases,
        "ratios": ratios,
        "tiling_overhead": overheads,
        "memory_case": memory_case,
        "profile": profile,
        "goals": [],
        "total_seconds": time.perf_counter() - started,
    }
    report["goals"] = check_goals(report)
    print_report(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")
    return report


if __name__ == "__main__":
    main()
