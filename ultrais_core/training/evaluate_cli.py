"""`python main.py evaluate`: the model against the baselines on pairs it was never trained on.

Without `--pairs`, it scores the held-out validation split of the training data: the clean
validation photos (dark input synthesised with a fixed seed per image) and the real SICE pairs
of the validation stacks, as two tables, since the issue sets a target for each.

With `--night DIR` it scores a folder of real photos that have no reference instead
(:mod:`ultrais_core.night_eval`): the model and the classical path, the reference-free figures
of :mod:`ultrais_core.night_metrics`, a contact sheet and JSON. `--heldout` keeps only the
photos of DIR held out from training (:mod:`ultrais_core.holdout`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ultrais_core.engine import Engine
from ultrais_core.errors import UltraISError
from ultrais_core.evaluation import EvaluationReport, evaluate_pair_list, pairs_in_folder
from ultrais_core.training.data import list_clean_images, split_clean_images, validation_pairs


def default_pair_sets(data: Path) -> dict[str, list[tuple[Path | None, Path]]]:
    _, clean_validation = split_clean_images(list_clean_images(data), data)
    return {
        "synthetic (clean validation photos)": [(None, p) for p in sorted(clean_validation)],
        "real (sice_zerodce validation stacks)": [(lo, hi) for lo, hi in validation_pairs(data)],
    }


def night_sheet_path(args: argparse.Namespace) -> Path | None:
    """--sheet FILE, else beside --json as <json stem>_sheet.png, else none."""
    if args.sheet is not None:
        return args.sheet
    if args.json is not None:
        return args.json.with_name(f"{args.json.stem}_sheet.png")
    return None


def night_command(args: argparse.Namespace) -> int:
    """`evaluate --night DIR`: the model (through the app's Engine) and the classical path
    (auto-exposure + CLAHE + Lanczos, the evaluation's "classical") on every photo of DIR."""
    from ultrais_core.baselines import classical
    from ultrais_core.holdout import is_heldout
    from ultrais_core.imageio import SUPPORTED_READ_SUFFIXES, read_image, write_image
    from ultrais_core.night_eval import evaluate_night, photos_in

    engine = Engine(args.weights, device=args.device)
    engine.model_for(args.scale)  # fail early if the weights are missing
    paths = photos_in(args.night, SUPPORTED_READ_SUFFIXES)
    if args.heldout:
        paths = [p for p in paths if is_heldout(p, args.data)]
    if args.limit:
        paths = paths[: args.limit]
    if not paths:
        raise UltraISError(f"no photos to evaluate in {args.night}")
    methods = {
        "classical": lambda low: classical(low, args.scale, denoise_strength=0.0),
        "model": lambda low: engine.enhance(low, args.scale),
    }

    def progress(index: int, total: int, name: str) -> None:
        print(f"[{index + 1}/{total}] {name}", file=sys.stderr)

    report, sheet = evaluate_night(
        paths,
        args.scale,
        methods,
        read=lambda path: read_image(path).pixels,
        max_side=args.max_side,
        thumb_height=args.sheet_height,
        on_photo=progress,
    )
    weights = engine.weights_path(args.scale)
    print(f"\n## {args.night}, x{args.scale}, weights {weights}")
    print(report.format_table())
    sheet_path = night_sheet_path(args)
    if sheet_path is not None and sheet is not None:
        sheet_path.parent.mkdir(parents=True, exist_ok=True)
        write_image(sheet_path, sheet, overwrite=True)  # atomic: temp file, then rename
        print(f"wrote {sheet_path} ({sheet.shape[1]}x{sheet.shape[0]})", file=sys.stderr)
    if args.json is not None:
        payload = {
            "folder": str(args.night),
            "weights": str(weights),
            "max_side": args.max_side,
            "heldout": bool(args.heldout),
            "sheet": None if sheet_path is None or sheet is None else str(sheet_path),
            **report.to_json(),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        _write_text_atomic(args.json, json.dumps(payload, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _write_text_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    temp.replace(path)


def evaluate_command(args: argparse.Namespace) -> int:
    if getattr(args, "night", None) is not None:
        return night_command(args)
    engine = Engine(args.weights, device=args.device)
    engine.model_for(args.scale)  # fail early, before any baseline work, if weights are missing

    def enhance(low):  # noqa: ANN001, ANN202 - numpy in, numpy out
        return engine.enhance(low, args.scale)

    methods = {"model": enhance}
    cascade_enhancer = None
    if args.cascade is not None:
        from ultrais_core.training.cascade import cascade, load_cascade_sr

        sr = load_cascade_sr(args.cascade)
        if sr.scale != args.scale:
            raise UltraISError(f"{args.cascade} is a x{sr.scale} SR stage, not x{args.scale}")
        # The cascade's enhancer is the shipped x1 network; a single weights file under test
        # (one scale only) has none, so the shipped folder supplies it.
        single_file = args.weights is not None and Path(args.weights).is_file()
        cascade_enhancer = Engine(None, device=args.device) if single_file else engine
        cascade_enhancer.model_for(1)
        methods["cascade"] = cascade(lambda low: cascade_enhancer.enhance(low, 1), sr)

    if args.pairs is not None:
        sets = {str(args.pairs): pairs_in_folder(args.pairs)}
    else:
        sets = default_pair_sets(args.data)
    reports: dict[str, EvaluationReport] = {}
    for name, pairs in sets.items():
        if args.limit:
            pairs = pairs[: args.limit]
        print(f"evaluating {name}: {len(pairs)} images at x{args.scale}", file=sys.stderr)
        reports[name] = evaluate_pair_list(pairs, args.scale, methods)
        print(f"\n## {name}, x{args.scale}, weights {engine.weights_path(args.scale)}")
        print(reports[name].format_table(per_image=False))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "scale": args.scale,
            "weights": str(engine.weights_path(args.scale)),
            "cascade_x1_weights": (
                None if cascade_enhancer is None else str(cascade_enhancer.weights_path(1))
            ),
            "sets": {name: report.to_json() for name, report in reports.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
