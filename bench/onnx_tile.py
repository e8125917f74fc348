"""One tile through torch and through ONNX Runtime, same process, same thread count.

`python -m bench.onnx_tile [--weights FILE] [--side 320] [--threads 1] [--repeats 5]`

Exports the network (the weights file's, or with --random a freshly initialised small x2 one,
for when the shipped files are of another format version) to ONNX with dynamic height and
width, runs one side x side tile with its photo context through both, and prints the largest
difference in 1/255 units and the median time of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ultrais_core.model import DSConfig, DualStreamNet
from ultrais_core.model.guidance import photo_context
from ultrais_core.onnx_export import export_model
from ultrais_core.weights import load_weights


def random_network(scale: int) -> DualStreamNet:
    """A small network with every parameter random, zero-initialised output layers included
    (otherwise the residual path would be zero and the comparison would skip most of it)."""
    torch.manual_seed(0)
    model = DualStreamNet(DSConfig(scale=scale))
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.abs().sum():
                parameter.normal_(0, 0.02)
    return model.eval()


def median_seconds(run: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights", type=Path, default=Path("resources/weights/ultrais_x2.safetensors")
    )
    parser.add_argument("--random", action="store_true", help="random x2 network, no weights")
    parser.add_argument("--side", type=int, default=320)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import onnxruntime as ort

    torch.set_num_threads(args.threads)
    if args.random:
        model, source = random_network(2), "random DSConfig(scale=2)"
    else:
        model, _ = load_weights(args.weights)
        source = str(args.weights)
    rng = np.random.default_rng(0)
    # A dark photo-like tile: smooth gradient, texture and noise, mostly under 0.2.
    yy, xx = np.mgrid[0 : args.side, 0 : args.side] / args.side
    base = 0.03 + 0.15 * (xx * yy)[None] + 0.05 * np.sin(12 * xx + 7 * yy)[None] ** 2
    tile = np.clip(base + rng.normal(0, 0.01, (3, args.side, args.side)), 0, 1).astype(np.float32)
    x = torch.from_numpy(tile)[None]
    context = photo_context(x)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "net.onnx"
        started = time.perf_counter()
        export_model(model, path, source=source)
        export_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    feeds = {"x": tile[None], "context": context.numpy()}
    with torch.inference_mode():
        reference = model(x, context).numpy()
    result = session.run(None, feeds)[0]
    clamp = np.clip  # the engine clamps both to [0, 1] before storing
    difference = np.abs(clamp(result, 0, 1) - clamp(reference, 0, 1)).max() * 255

    def torch_run() -> None:
        with torch.inference_mode():
            model(x.contiguous(memory_format=torch.channels_last), context)

    torch_s = median_seconds(torch_run, args.repeats)
    ort_s = median_seconds(lambda: session.run(None, feeds), args.repeats)
    print(f"network: {source}; onnx file {size_mb:.1f} MB, export {export_s:.1f} s")
    print(f"tile {args.side}x{args.side}, {args.threads} thread(s), median of {args.repeats}")
    print(f"max |ort - torch| = {difference:.4f} / 255")
    print(f"torch {torch_s:.3f} s, onnxruntime {ort_s:.3f} s, ort/torch {ort_s / torch_s:.2f}x")


if __name__ == "__main__":
    main()
