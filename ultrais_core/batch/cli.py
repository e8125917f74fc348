"""`python main.py batch SRC -o DST --scale N`: the subcommand's arguments and handler.

Importing this module is cheap (no torch): `ultrais_core.cli` imports it to build its parser.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

EPILOG = """\
Results go to DST/<same sub-folder>/<name>_ultrais_x<scale>.<format>, with the source's
metadata; 16-bit sources stay 16-bit in png and tif. Photos of one sub-folder that share a
name (IMG_0001.CR2, IMG_0001.JPG) carry their extension: IMG_0001_cr2_ultrais_x2.png.
DST/.ultrais-batch.sqlite records every photo: run the same command again to resume (done
photos are skipped, failed ones retried once with a smaller tile, changed photos or settings
redone). Exit code 0 when every photo is done, 1 when some failed, 2 when the batch could
not run, 130 when interrupted.

--exposure EV: each result brighter (+) or darker (-) by EV stops with the app's Exposure
curve, which never clips what the default rendering kept; another EV is changed settings.

--workers auto: one worker process per CUDA GPU; on a CPU one process (torch already uses
every core for one photo), more only with many cores (cores // 8, at most 4).
--ray: run the photos on Ray actors (`pip install ray`), one per GPU, or per CPU without
GPUs; "auto" joins the local Ray instance or starts one, an ADDRESS joins that cluster. SRC
and DST must then be on storage every node sees at the same path.
"""


def workers_arg(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("use auto or a number of workers") from None
    if value < 1:
        raise argparse.ArgumentTypeError("use auto or at least 1 worker")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def exposure_arg(text: str) -> float:
    """--exposure EV: a finite number of stops within +-10 (the app's slider spans +-3)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of stops, e.g. 0.5 or -1") from None
    if not -10.0 <= value <= 10.0:  # also refuses nan and inf
        raise argparse.ArgumentTypeError("use a number of stops between -10 and 10")
    return value


def add_batch_parser(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch",
        help="enhance a folder of photos, resumably, on this machine or a Ray cluster",
        description="Enhance every photo in SRC into DST; resumable and crash-safe.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("src", type=Path, metavar="SRC", help="folder of photos")
    batch.add_argument("-o", "--output", required=True, type=Path, metavar="DST")
    batch.add_argument("--scale", type=int, choices=(1, 2, 4), required=True)
    batch.add_argument("--recursive", action="store_true", help="include sub-folders")
    batch.add_argument("--format", choices=("jpg", "png", "tif"), default="png")
    batch.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    batch.add_argument(
        "--workers",
        type=workers_arg,
        default=None,
        metavar="auto|N",
        help="worker processes, or Ray actors with --ray (default auto)",
    )
    batch.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        default=None,
        metavar="auto|ADDRESS",
        help="run on Ray: auto (local) or a cluster address",
    )
    batch.add_argument("--weights", type=Path, default=None, help="weights file or folder")
    batch.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    batch.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto")
    batch.add_argument("--tile", type=positive_int, default=None, help="tile side in pixels")
    batch.add_argument(
        "--exposure",
        type=exposure_arg,
        default=0.0,
        metavar="EV",
        help="brighter (+) or darker (-) by EV stops, never clipping highlights (default 0)",
    )
    batch.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs that exist but were not written by this batch",
    )
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="retry photos that already failed twice (each retry uses a smaller tile)",
    )
    batch.set_defaults(handler=run_batch_command)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_batch_command(args: argparse.Namespace) -> int:
    from ultrais_core.batch.manifest import ManifestError
    from ultrais_core.batch.planner import PlanError
    from ultrais_core.batch.runner import BatchError, BatchOptions, run_batch, write_summary

    options = BatchOptions(
        src=args.src,
        dst=args.output,
        scale=args.scale,
        fmt=args.format,
        recursive=args.recursive,
        workers=args.workers,
        ray=args.ray,
        weights=args.weights,
        device=args.device,
        precision=args.precision,
        tile=args.tile,
        quality=args.quality,
        overwrite=args.overwrite,
        retry_failed=args.retry_failed,
        exposure=args.exposure,
    )
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # stop on SIGTERM as on Ctrl-C: the manifest stays tidy
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = run_batch(options, sys.stderr)
    except (PlanError, ManifestError, BatchError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted: run the same command again to resume\n")
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    write_summary(summary, sys.stderr)
    return summary.exit_code
