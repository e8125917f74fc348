"""A trial of the CPU back-ends for the DS network: eager (as the engine runs it), ONNX Runtime
and `torch.compile` (inductor), on the same input, at a fixed thread count.

    python -m bench.cpu_backends                       # 256x256, x2, 1 thread, small preset
    python -m bench.cpu_backends --size 512 --threads 2 --repeats 7 --weights FILE
    python -m bench.cpu_backends --skip-compile        # ONNX only (compiling takes minutes)

For each back-end: the one-off cost (export + session creation, or compilation), the steady
time per call (best and median of `repeats`, calls interleaved so machine noise hits all alike)
and the largest absolute difference from eager on the same input; "identical" means within
1/255, one step of an 8-bit output. Needs `onnxruntime` and `onnxscript` for the ONNX part and a
C++ compiler for inductor; a missing one is reported, not fatal.

Writes JSON to bench/results/cpu_backends.json.

Export notes (torch 2.13, onnxscript 0.7.2, onnxruntime 1.32):
- The TorchScript exporter (`dynamo=False`) fails on the guidance blur: its depthwise kernel is
  a buffer `.view(...).expand(channels, ...)`, and the tracer sees a convolution "for kernel of
  unknown shape". `LEGACY_EXPORT_ERROR` keeps the message; `--try-legacy` re-checks it.
- The dynamo exporter works (einops' rearranges included), with dynamic H and W as multiples
  of the size multiple, but its graph optimiser (`optimize=True`, the default) writes an invalid
  graph when one tensor is clamped twice with the same bounds (`bounded.clamp(0, 1)` in the
  forward): the second Clip's min/max constants are dropped, and ONNX Runtime refuses the file
  ("Node input 'clamp_1_min_1' is not a graph input, initializer, or output of a previous
  node"). `optimizer_bug_present()` reproduces it on a three-line module; we export with
  `optimize=False` (ONNX Runtime optimises the graph itself when loading it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

RESULTS = Path(__file__).resolve().parent / "results"
TOLERANCE = 1 / 255
LEGACY_EXPORT_ERROR = (
    "SymbolicValueError: Unsupported: ONNX export of convolution for kernel of unknown shape "
    "(onnx::Pad output feeding the depthwise conv in guidance.gaussian_blur)"
)


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime", "onnxscript"))


def compiler_available() -> bool:
    return any(shutil.which(name) for name in ("c++", "g++", "clang++"))


class _Wrapped(nn.Module):
    """`model(x, context)` with both inputs positional, for the exporters."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.model(x, context)


def export_onnx(
    model: nn.Module,
    sample: torch.Tensor,
    context: torch.Tensor,
    path: Path,
    *,
    multiple: int,
    dynamic: bool = True,
    opset: int = 18,
    optimize: bool = False,
) -> dict[str, Any]:
    """Export `model(x, context)` with the dynamo exporter; H and W dynamic (multiples of
    `multiple`, as the engine's tiles are) when `dynamic`. Returns what it did and how long."""
    dynamic_shapes = None
    if dynamic:
        limit = max(2, 4096 // multiple)
        height = torch.export.Dim("tiles_h", min=1, max=limit)
        width = torch.export.Dim("tiles_w", min=1, max=limit)
        dynamic_shapes = ({2: multiple * height, 3: multiple * width}, None)
    start = time.perf_counter()
    program = torch.onnx.export(
        _Wrapped(model).eval(),
        (sample, context),
        dynamo=True,
        opset_version=opset,
        input_names=["image", "context"],
        output_names=["enhanced"],
        dynamic_shapes=dynamic_shapes,
        optimize=optimize,
        verbose=False,
    )
    program.save(str(path))
    return {
        "exporter": "torch.onnx.export(dynamo=True)",
        "opset": opset,
        "dynamic_hw": dynamic,
        "optimize": optimize,
        "export_seconds": time.perf_counter() - start,
        "file_bytes": path.stat().st_size,
    }


class OnnxModel:
    """An ONNX Runtime session called like the engine's model: `(batch NCHW, context) -> NCHW`,
    so it can stand in for the network in `run_tiled`."""

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        start = time.perf_counter()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.session_seconds = time.perf_counter() - start
        self.names = [i.name for i in self.session.get_inputs()]

    def __call__(self, batch: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feeds = {
            self.names[0]: np.ascontiguousarray(batch.detach().float().cpu().numpy()),
            self.names[1]: np.ascontiguousarray(context.detach().float().cpu().numpy()),
        }
        return torch.from_numpy(self.session.run(None, feeds)[0])


def optimizer_bug_present() -> bool | None:
    """Whether the exporter's optimiser still drops the constants of a repeated clamp (None when
    the exporter cannot run here)."""
    if not onnx_available():
        return None
    import onnx

    class TwoClamps(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b = x.clamp(0, 2)
            return b.clamp(0, 1) * 2 + b.clamp(0, 1)

    with _silenced():
        program = torch.onnx.export(
            TwoClamps().eval(), (torch.rand(1, 3, 8, 8),), dynamo=True, opset_version=18
        )
    try:
        onnx.checker.check_model(program.model_proto)
    except onnx.checker.ValidationError:
        return True
    return False


@contextmanager
def _silenced() -> Iterator[None]:
    """Mute stdout/stderr at the file-descriptor level (the TorchScript exporter prints its whole
    IR graph from C++ when it fails) and Python warnings."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def try_legacy_export(model: nn.Module, sample: torch.Tensor, context: torch.Tensor) -> str:
    """The TorchScript exporter's verdict: 'ok' or its error, first line."""
    with tempfile.TemporaryDirectory() as folder, _silenced():
        try:
            torch.onnx.export(
                _Wrapped(model).eval(),
                (sample, context),
                str(Path(folder) / "legacy.onnx"),
                dynamo=False,
                opset_version=17,
                input_names=["image", "context"],
                output_names=["enhanced"],
                dynamic_axes={"image": {2: "h", 3: "w"}, "enhanced": {2: "H", 3: "W"}},
            )
        except Exception as error:
            return f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    return "ok"


def compile_model(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """`torch.compile` with inductor and static shapes (each new tile shape recompiles)."""
    return torch.compile(model, dynamic=False)


def compile_costs(
    model: nn.Module, x: torch.Tensor, context: torch.Tensor, extra: bool
) -> dict[str, Any]:
    """Compile time in a fresh inductor cache (what a first launch pays); with `extra`, also
    after `torch._dynamo.reset()` with the cache warm (a later launch, if the cache is kept) and
    for a second tile shape (static shapes: every distinct tile shape compiles again)."""
    costs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
        previous = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        try:
            torch._dynamo.reset()
            compiled = compile_model(model)
            start = time.perf_counter()
            with torch.inference_mode():
                compiled(x, context)
            costs["compile_seconds_cold"] = time.perf_counter() - start
            if extra:
                torch._dynamo.reset()
                compiled = compile_model(model)
                start = time.perf_counter()
                with torch.inference_mode():
                    compiled(x, context)
                costs["compile_seconds_warm_cache"] = time.perf_counter() - start
                multiple = getattr(getattr(model, "config", None), "size_multiple", 64)
                other = torch.zeros(1, 3, x.shape[2] + multiple, x.shape[3]).contiguous(
                    memory_format=torch.channels_last
                )
                start = time.perf_counter()
                with torch.inference_mode():
                    compiled(other, context)
                costs["compile_seconds_second_shape"] = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = previous
    costs["compiled"] = compiled
    return costs


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


def time_interleaved(
    calls: dict[str, Callable[[], torch.Tensor]], repeats: int
) -> dict[str, list[float]]:
    """Seconds per call of each function, in rounds (a, b, c, a, b, c, ...)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    with torch.inference_mode():
        for _ in range(repeats):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
    return times


def build_model(weights: Path | None, scale: int) -> nn.Module:
    from ultrais_core.model import DualStreamNet, config_for
    from ultrais_core.weights import load_weights

    if weights is not None:
        model, _ = load_weights(weights)
        return model.eval()
    torch.manual_seed(0)
    return DualStreamNet(config_for("small", scale)).eval()


def run_trial(args: argparse.Namespace) -> dict[str, Any]:
    from bench.throughput import cpu_name
    from ultrais_core.model.guidance import photo_context

    torch.set_num_threads(args.threads)
    model = build_model(args.weights, args.scale)
    multiple = model.config.size_multiple
    size = args.size
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, size, size, generator=generator) * 0.1
    context = photo_context(x)
    x_last = x.contiguous(memory_format=torch.channels_last)
    eager_last = model.to(memory_format=torch.channels_last)
    report: dict[str, Any] = {
        "size": [size, size],
        "scale": args.scale,
        "threads": torch.get_num_threads(),
        "weights": str(args.weights) if args.weights else "random small preset",
        "torch": torch.__version__,
        "cpu": cpu_name(),
        "tolerance": TOLERANCE,
        "backends": {},
    }
    with torch.inference_mode():
        reference = eager_last(x_last, context)
    calls: dict[str, Callable[[], torch.Tensor]] = {
        "eager channels_last (engine)": lambda: eager_last(x_last, context),
    }
    contiguous_model = build_model(args.weights, args.scale)  # NCHW weights
    calls["eager NCHW"] = lambda: contiguous_model(x, context)
    backends: dict[str, dict[str, Any]] = report["backends"]
    backends["eager channels_last (engine)"] = {"setup_seconds": 0.0}
    backends["eager NCHW"] = {"setup_seconds": 0.0}

    if args.skip_onnx:
        backends["onnxruntime"] = {"skipped": "--skip-onnx"}
    elif not onnx_available():
        backends["onnxruntime"] = {"skipped": "onnx, onnxruntime or onnxscript not installed"}
    else:
        import onnxruntime

        info: dict[str, Any] = {"onnxruntime": onnxruntime.__version__}
        if args.try_legacy:
            info["legacy_exporter"] = try_legacy_export(contiguous_model, x, context)
        else:
            info["legacy_exporter"] = f"not re-run; known: {LEGACY_EXPORT_ERROR}"
        info["optimizer_bug_present"] = optimizer_bug_present()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ds.onnx"
            try:
                info.update(
                    export_onnx(
                        contiguous_model, x, context, path, multiple=multiple, dynamic=args.dynamic
                    )
                )
                session = OnnxModel(path, threads=args.threads)
                info["session_seconds"] = session.session_seconds
                info["setup_seconds"] = info["export_seconds"] + session.session_seconds
                info["max_abs_diff"] = max_abs_diff(session(x, context), reference)
                if args.dynamic:  # another tile shape through the same file
                    other = torch.rand(1, 3, size + multiple, size, generator=generator) * 0.1
                    with torch.inference_mode():
                        expected = eager_last(other, context)
                    info["max_abs_diff_other_shape"] = max_abs_diff(
                        session(other, context), expected
                    )
                calls["onnxruntime"] = lambda: session(x, context)
            except Exception as error:
                info["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            backends["onnxruntime"] = info

    if args.skip_compile:
        backends["torch.compile"] = {"skipped": "--skip-compile"}
    elif not compiler_available():
        backends["torch.compile"] = {"skipped": "no C++ compiler for inductor"}
    else:
        info = {"mode": "torch.compile(model, dynamic=False), inductor, channels_last input"}
        try:
            info.update(compile_costs(eager_last, x_last, context, args.compile_extra))
            compiled = info.pop("compiled")
            info["setup_seconds"] = info["compile_seconds_cold"]
            with torch.inference_mode():
                info["max_abs_diff"] = max_abs_diff(compiled(x_last, context), reference)
            calls["torch.compile"] = lambda: compiled(x_last, context)
        except Exception as error:
            info["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        backends["torch.compile"] = info

    for call in calls.values():  # warm-up: oneDNN and ORT build kernels on first use
        with torch.inference_mode():
            call()
    times = time_interleaved(calls, args.repeats)
    megapixels = size * size / 1e6
    eager_best = min(times["eager channels_last (engine)"])
    for name, samples in times.items():
        info = backends[name]
        best = min(samples)
        info.update(
            seconds_best=best,
            seconds_median=statistics.median(samples),
            seconds_all=samples,
            seconds_per_input_mp=best / megapixels,
            speedup_vs_eager=eager_best / best,
        )
        if "max_abs_diff" not in info:
            with torch.inference_mode():
                info["max_abs_diff"] = max_abs_diff(calls[name](), reference)
        info["identical_within_1_255"] = info["max_abs_diff"] <= TOLERANCE
        if info.get("setup_seconds") and best < eager_best:
            info["calls_to_repay_setup"] = info["setup_seconds"] / (eager_best - best)
    return report


def print_trial(report: dict[str, Any]) -> None:
    height, width = report["size"]
    print(
        f"CPU back-ends: DS {report['weights']}, x{report['scale']}, {width}x{height} input, "
        f"{report['threads']} thread(s), torch {report['torch']}"
    )
    print(
        f"{'backend':<30} {'setup s':>8} {'best s':>7} {'median s':>9} {'s/MP':>6} "
        f"{'speedup':>8} {'max |diff|':>11} {'<=1/255':>8}"
    )
    for name, info in report["backends"].items():
        if "seconds_best" not in info:
            print(f"{name:<30} {info.get('skipped') or info.get('error')}")
            continue
        print(
            f"{name:<30} {info.get('setup_seconds', 0):>8.1f} {info['seconds_best']:>7.3f} "
            f"{info['seconds_median']:>9.3f} {info['seconds_per_input_mp']:>6.2f} "
            f"{info['speedup_vs_eager']:>7.2f}x {info['max_abs_diff']:>11.2e} "
            f"{'yes' if info['identical_within_1_255'] else 'NO':>8}"
        )
    onnx_info = report["backends"].get("onnxruntime", {})
    for key in (
        "onnxruntime",
        "export_seconds",
        "session_seconds",
        "file_bytes",
        "max_abs_diff_other_shape",
        "optimizer_bug_present",
        "legacy_exporter",
    ):
        if key in onnx_info:
            print(f"  onnx {key}: {onnx_info[key]}")
    compile_info = report["backends"].get("torch.compile", {})
    for key in (
        "compile_seconds_cold",
        "compile_seconds_warm_cache",
        "compile_seconds_second_shape",
    ):
        if key in compile_info:
            print(f"  torch.compile {key}: {compile_info[key]:.1f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_backends", description=__doc__)
    parser.add_argument("--size", type=int, default=256, help="input side (a multiple of 64)")
    parser.add_argument("--scale", type=int, default=2, choices=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--weights", type=Path, help="a weights file (default: random small)")
    parser.add_argument("--skip-onnx", action="store_true")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument(
        "--static",
        dest="dynamic",
        action="store_false",
        help="export the ONNX graph for the input size only",
    )
    parser.add_argument(
        "--compile-extra",
        action="store_true",
        help="also time a warm-cache recompile and a second tile shape",
    )
    parser.add_argument(
        "--try-legacy", action="store_true", help="also try the TorchScript ONNX exporter"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "cpu_backends.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", str(args.threads))
    report = run_trial(args)
    print_trial(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
