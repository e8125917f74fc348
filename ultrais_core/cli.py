"""Command-line interface: `python main.py SUBCOMMAND ...`.

Each subcommand is a small function that parses nothing itself; heavy modules (torch, training)
are imported inside them so `python main.py --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ultrais_core import __version__
from ultrais_core.batch.cli import add_batch_parser, exposure_arg
from ultrais_core.errors import UltraISError

DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ultrais",
        description="Illuminate and super-resolve ultra-dark photos. Without a subcommand, "
        "`python main.py` starts the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"UltraIS {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    enhance = commands.add_parser("enhance", help="enhance photos")
    enhance.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    enhance.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        help="output file for one input, output folder for several",
    )
    enhance.add_argument("--scale", type=int, choices=(1, 2, 4), default=2)
    enhance.add_argument("--tile", type=int, default=None, help="tile side in input pixels")
    enhance.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    enhance.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto")
    enhance.add_argument("--weights", type=Path, default=None, help="weights file or folder")
    enhance.add_argument(
        "--format",
        choices=("png", "jpg", "tif", "webp"),
        default="png",
        help="format of outputs written into a folder",
    )
    enhance.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    enhance.add_argument(
        "--exposure",
        type=exposure_arg,
        default=0.0,
        metavar="EV",
        help="brighter (+) or darker (-) by EV stops, never clipping highlights (default 0)",
    )
    enhance.set_defaults(handler=run_enhance)

    info = commands.add_parser("info", help="versions, devices and weights found")
    info.set_defaults(handler=run_info)

    train = commands.add_parser("train", help="train a network")
    train.add_argument("--scale", type=int, choices=(1, 2, 4), required=True)
    train.add_argument("--config", choices=("small", "large"), default="small")
    train.add_argument("--steps", type=int, required=True)
    train.add_argument("--out", type=Path, required=True, help="weights file to write")
    train.add_argument("--resume", type=Path, default=None, help="checkpoint to resume from")
    train.add_argument(
        "--init",
        type=Path,
        default=None,
        help="weights of another scale to start from (shared layers only)",
    )
    train.add_argument("--data", type=Path, default=DATA_ROOT, help="data root or packed .npz")
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--crop", type=int, default=96, help="low-resolution crop side")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    train.add_argument(
        "--semantic", type=Path, default=None, help="pre-trained semantic extractor (.safetensors)"
    )
    train.add_argument("--minutes", type=float, default=None, help="stop after this long")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--real-fraction", type=float, default=0.3, help="share of real (SICE) pairs per batch"
    )
    train.add_argument(
        "--night-fraction",
        type=float,
        default=0.0,
        help="share of the synthetic items that are night scenes (training/night.py)",
    )
    train.add_argument(
        "--exposed-fraction",
        type=float,
        default=0.0,
        help="share of the synthetic items that are exposed or dusk photos kept at their exposure",
    )
    train.add_argument(
        "--loss-weight",
        action="append",
        default=[],
        type=loss_weight_override,
        metavar="TERM=WEIGHT",
        help="override one loss term's weight (training/losses.py LossWeights), e.g. relight=0",
    )
    train.add_argument(
        "--order-tolerance",
        type=float,
        metavar="LEVELS",
        help="input gap (8-bit levels) past which the pixel order term counts an order as clear, "
        "on all but daylight items (default: the term's own, 4)",
    )
    train.add_argument(
        "--order-margin",
        type=float,
        default=0.0,
        metavar="LEVELS",
        help="gap (8-bit levels) the pixel order term asks for on all but daylight items",
    )
    train.set_defaults(handler=run_train)

    semantic = commands.add_parser(
        "pretrain-semantic", help="pre-train the frozen semantic extractor (auto-encoder)"
    )
    semantic.add_argument("--out", type=Path, required=True)
    semantic.add_argument("--steps", type=int, default=600)
    semantic.add_argument("--config", choices=("small", "large"), default="small")
    semantic.add_argument("--data", type=Path, default=DATA_ROOT)
    semantic.set_defaults(handler=run_pretrain_semantic)

    cascade = commands.add_parser(
        "train-cascade-sr", help="train the SR stage of the evaluation's cascade baseline"
    )
    cascade.add_argument("--scale", type=int, choices=(2, 4), required=True)
    cascade.add_argument("--out", type=Path, required=True)
    cascade.add_argument("--minutes", type=float, default=15.0)
    cascade.add_argument("--steps", type=int, default=100_000)
    cascade.add_argument("--data", type=Path, default=DATA_ROOT)
    cascade.add_argument("--seed", type=int, default=0)
    cascade.set_defaults(handler=run_train_cascade_sr)

    export = commands.add_parser(
        "export-average",
        help="write a training checkpoint's weight average as a weights file",
    )
    export.add_argument("checkpoint", type=Path, help="a run's .ckpt.safetensors")
    export.add_argument("out", type=Path, help="weights file to write")
    export.set_defaults(handler=run_export_average)

    onnx = commands.add_parser(
        "export-onnx",
        help="write each weights file's network as .onnx beside it (for the ONNX Runtime "
        "backend of the CPU bundle)",
    )
    onnx.add_argument(
        "weights", nargs="+", type=Path, help="weights files or folders of ultrais_x*.safetensors"
    )
    onnx.set_defaults(handler=run_export_onnx)

    evaluate = commands.add_parser("evaluate", help="compare the model with baselines")
    evaluate.add_argument(
        "--pairs",
        type=Path,
        default=None,
        help="folder with high/ (and low/); default: the validation split",
    )
    evaluate.add_argument("--scale", type=int, choices=(1, 2, 4), required=True)
    evaluate.add_argument("--weights", type=Path, default=None)
    evaluate.add_argument("--json", type=Path, default=None)
    evaluate.add_argument("--data", type=Path, default=DATA_ROOT)
    evaluate.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate the first N pairs")
    evaluate.add_argument(
        "--cascade",
        type=Path,
        default=None,
        help="SR weights from train-cascade-sr: adds baseline (c), the x1 weights then this SR",
    )
    evaluate.add_argument(
        "--night",
        type=Path,
        default=None,
        metavar="DIR",
        help="score the photos of DIR with no reference (reference-free figures, contact sheet)",
    )
    evaluate.add_argument(
        "--sheet",
        type=Path,
        default=None,
        metavar="FILE.png",
        help="--night: contact sheet to write (default: beside --json)",
    )
    evaluate.add_argument(
        "--max-side",
        type=int,
        default=1600,
        metavar="N",
        help="--night: area-reduce inputs to at most N px on the longer side first (default 1600)",
    )
    evaluate.add_argument(
        "--sheet-height",
        type=int,
        default=256,
        metavar="PX",
        help="--night: height of each picture on the contact sheet (default 256)",
    )
    evaluate.add_argument(
        "--heldout",
        action="store_true",
        help="--night: only the photos of DIR held out from training (ultrais_core.holdout)",
    )
    evaluate.set_defaults(handler=run_evaluate)
    add_batch_parser(commands)
    return parser


def output_paths(inputs: Sequence[Path], output: Path, *, scale: int, fmt: str) -> dict[Path, Path]:
    """Where each input's result goes: OUT itself for one input (unless OUT is a folder), else
    OUT/<name> with names unique among the inputs (`ultrais_core.naming`)."""
    if len(inputs) == 1 and not output.is_dir():
        return {inputs[0]: output}
    from ultrais_core.naming import output_names

    return {source: output / name for source, name in output_names(inputs, scale, fmt).items()}


def exists_message(target: Path) -> str:
    """An existing output, in the CLI's words (the Python API says overwrite=True)."""
    return f"{target} already exists; pass --overwrite to replace it"


def keeps_16_bit(target: Path) -> bool:
    return target.suffix.lower() in (".png", ".tif", ".tiff")


def run_enhance(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from ultrais_core.console import progress_bar
    from ultrais_core.engine import Engine
    from ultrais_core.errors import OutputExistsError
    from ultrais_core.imageio import read_image, write_image
    from ultrais_core.tone import apply_exposure

    several = len(args.inputs) > 1
    if several:
        args.output.mkdir(parents=True, exist_ok=True)
    try:
        engine = Engine(args.weights, device=args.device, precision=args.precision, tile=args.tile)
    except UltraISError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failures = 0
    targets = output_paths(args.inputs, args.output, scale=args.scale, fmt=args.format)
    for source in args.inputs:
        target = targets[source]
        try:
            if not args.overwrite and (target.is_file() or target.is_symlink()):  # before work
                raise OutputExistsError(exists_message(target), target)
            loaded = read_image(source)
            with progress_bar(desc=source.name, unit="tile", leave=False) as bar:

                def progress(done: int, total: int, bar: tqdm = bar) -> None:
                    bar.total = total
                    bar.update(done - bar.n)  # update(), unlike refresh(), honours mininterval

                bit_depth = 16 if loaded.bit_depth == 16 and keeps_16_bit(target) else 8
                out_dtype = np.uint16 if bit_depth == 16 else np.uint8
                result = engine.enhance(
                    loaded.pixels,
                    args.scale,
                    progress=progress,
                    out_dtype=np.float32 if args.exposure else out_dtype,
                )
                if args.exposure:  # on the float result: the curve sees every level
                    result = apply_exposure(result, args.exposure)
            write_image(
                target, result, source=loaded, bit_depth=bit_depth, overwrite=args.overwrite
            )
            print(f"{source} -> {target} ({result.shape[1]}x{result.shape[0]})", file=sys.stderr)
        except OutputExistsError as error:
            failures += 1
            print(f"failed: {source}: {exists_message(error.path)}", file=sys.stderr)
        except UltraISError as error:
            failures += 1
            print(f"failed: {source}: {error}", file=sys.stderr)
    return 1 if failures else 0


def run_info(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return run_info_onnx()
    import platform

    import numpy
    import torch

    from ultrais_core.engine import DEFAULT_WEIGHTS_DIR, SCALES, default_weights_path
    from ultrais_core.weights import load_weights

    print(f"UltraIS {__version__}")
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {numpy.__version__}"
    )
    print(
        "devices: cpu"
        + (
            "".join(
                f", cuda:{i} {torch.cuda.get_device_name(i)}"
                for i in range(torch.cuda.device_count())
            )
            if torch.cuda.is_available()
            else ""
        )
        + (", mps" if torch.backends.mps.is_available() else "")
    )
    print(f"weights folder: {DEFAULT_WEIGHTS_DIR}")
    for scale in SCALES:
        path = default_weights_path(scale)
        try:
            _, descriptor = load_weights(path)
            print(f"  x{scale}: {path.name}, {descriptor.parameters:,} parameters")
        except UltraISError as error:
            print(f"  x{scale}: {error}")
    return 0


def run_info_onnx() -> int:
    """`info` where torch is not installed (the CPU bundle): the ONNX Runtime backend."""
    import platform

    import numpy
    import onnxruntime

    from ultrais_core.engine import DEFAULT_WEIGHTS_DIR, SCALES, default_weights_path
    from ultrais_core.onnx_runtime import OnnxTileModel

    print(f"UltraIS {__version__}")
    print(
        f"python {platform.python_version()}, onnxruntime {onnxruntime.__version__} (no torch), "
        f"numpy {numpy.__version__}"
    )
    print("devices: cpu")
    print(f"weights folder: {DEFAULT_WEIGHTS_DIR}")
    for scale in SCALES:
        path = default_weights_path(scale).with_suffix(".onnx")
        try:
            descriptor = OnnxTileModel(path, threads=1).descriptor
            print(f"  x{scale}: {path.name}, {descriptor.parameters:,} parameters")
        except UltraISError as error:
            print(f"  x{scale}: {error}")
    return 0


def run_export_onnx(args: argparse.Namespace) -> int:
    from ultrais_core.onnx_export import export_weights

    files: list[Path] = []
    for path in args.weights:
        files += sorted(path.glob("ultrais_x*.safetensors")) if path.is_dir() else [path]
    if not files:
        raise UltraISError(f"no ultrais_x*.safetensors in {', '.join(map(str, args.weights))}")
    for weights in files:
        print(export_weights(weights))
    return 0


def run_export_average(args: argparse.Namespace) -> int:
    from ultrais_core.training.checkpoint import export_average

    print(export_average(args.checkpoint, args.out))
    return 0


def loss_weight_override(text: str) -> tuple[str, float]:
    """`TERM=WEIGHT` for `train --loss-weight`; the term must be a field of LossWeights."""
    from dataclasses import fields

    from ultrais_core.training.losses import LossWeights

    name, sep, value = text.partition("=")
    terms = [f.name for f in fields(LossWeights)]
    if not sep or name not in terms:
        raise argparse.ArgumentTypeError(f"expected TERM=WEIGHT with TERM one of {terms}")
    try:
        weight = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight {value!r} is not a number") from None
    if not weight >= 0:
        raise argparse.ArgumentTypeError(f"weight must be >= 0, got {value}")
    return name, weight


def run_train(args: argparse.Namespace) -> int:
    from ultrais_core.training.losses import PIXEL_ORDER_TOLERANCE
    from ultrais_core.training.train import TrainOptions, train

    levels = args.order_tolerance
    tolerance = PIXEL_ORDER_TOLERANCE if levels is None else levels / 255

    options = TrainOptions(
        scale=args.scale,
        config=args.config,
        steps=args.steps,
        out=args.out,
        resume=args.resume,
        init=args.init,
        data=args.data,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        device=args.device,
        semantic=args.semantic,
        minutes=args.minutes,
        seed=args.seed,
        real_fraction=args.real_fraction,
        night_fraction=args.night_fraction,
        exposed_fraction=args.exposed_fraction,
        loss_weights=dict(args.loss_weight),
        order_tolerance=tolerance,
        order_margin=args.order_margin / 255,
    )
    train(options)
    return 0


def run_pretrain_semantic(args: argparse.Namespace) -> int:
    from ultrais_core.model import config_for
    from ultrais_core.training.semantic_pretrain import pretrain_semantic

    widths = config_for(args.config, 2).semantic_widths
    loss = pretrain_semantic(args.out, widths=widths, steps=args.steps, data=args.data)
    print(f"wrote {args.out} (reconstruction L1 {loss:.4f})")
    return 0


def run_train_cascade_sr(args: argparse.Namespace) -> int:
    from ultrais_core.training.cascade import CascadeSROptions, summary_text, train_cascade_sr

    options = CascadeSROptions(
        scale=args.scale,
        out=args.out,
        data=args.data,
        minutes=args.minutes,
        steps=args.steps,
        seed=args.seed,
    )
    summary = train_cascade_sr(options)
    print(f"wrote {args.out}: {summary_text(summary)}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    try:
        from ultrais_core.training.evaluate_cli import evaluate_command
    except ModuleNotFoundError as error:  # installers leave scikit-image out
        raise UltraISError(
            f"evaluation needs {error.name}, which this installation leaves out; "
            "run it from a source checkout"
        ) from None

    return evaluate_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args))
    except UltraISError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
