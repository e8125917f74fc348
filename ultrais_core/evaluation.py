"""Evaluate an enhancer against the baselines on reference pairs: PSNR, SSIM and CIEDE2000.

Two kinds of pairs are supported, chosen per pair:

* real pairs ``(low_path, high_path)``: the full-size under-exposed frame is box-downscaled in
  linear light to become the input (:func:`~ultrais_core.training.degrade.real_pair_input`), the
  well-exposed frame, cropped to a multiple of the scale, is the reference;
* reference-only pairs ``(None, high_path)``: the dark low-resolution input is synthesised from
  the reference with a seed fixed per image name, so every run and machine scores the same input.

Each model is just a function ``enhance(low_rgb) -> rgb`` (float32 RGB in [0, 1], output
``scale`` times larger), so this module needs neither torch nor the network.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ultrais_core.baselines import bicubic, classical
from ultrais_core.dataset_files import read_rgb
from ultrais_core.errors import UltraISError
from ultrais_core.metrics import all_metrics
from ultrais_core.training.degrade import (
    DegradeParams,
    crop_to_multiple,
    real_pair_input,
    synthesize_pair,
)

EnhanceFn = Callable[[np.ndarray], np.ndarray]
METRICS = ("psnr", "ssim", "ciede2000")
_METRIC_LABELS = {"psnr": "PSNR", "ssim": "SSIM", "ciede2000": "dE00"}
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})


@dataclass(frozen=True)
class ImageResult:
    """Scores of one image: ``scores[method][metric]``; ``kind`` is 'real' or 'synthetic'."""

    name: str
    kind: str
    scores: dict[str, dict[str, float]]


@dataclass(frozen=True)
class EvaluationReport:
    """Per-image and mean scores of every method (higher PSNR/SSIM, lower CIEDE2000 is better)."""

    scale: int
    methods: tuple[str, ...]
    images: tuple[ImageResult, ...]

    def mean(self) -> dict[str, dict[str, float]]:
        """Mean of each metric over the images, per method (NaN when there are no images)."""
        return {
            method: {
                metric: float(np.mean([r.scores[method][metric] for r in self.images]))
                if self.images
                else math.nan
                for metric in METRICS
            }
            for method in self.methods
        }

    def to_json(self) -> dict:
        """A JSON-ready dict; infinite or NaN scores (identical images) become ``None``."""
        return {
            "scale": self.scale,
            "methods": list(self.methods),
            "metrics": list(METRICS),
            "count": len(self.images),
            "mean": _finite_or_none(self.mean()),
            "images": [
                {"name": r.name, "kind": r.kind, "scores": _finite_or_none(r.scores)}
                for r in self.images
            ],
        }

    def format_table(self, per_image: bool = True) -> str:
        """A fixed-width text table: one row per image (optional) and the mean row."""
        kinds = sorted({r.kind for r in self.images})
        counts = ", ".join(f"{sum(r.kind == k for r in self.images)} {k}" for k in kinds)
        title = f"Evaluation at x{self.scale} on {len(self.images)} images ({counts or 'none'})"
        rows = [(r.name, r.scores) for r in self.images] if per_image else []
        rows.append(("MEAN", self.mean()))
        name_width = max(12, *(len(name) for name, _ in rows))
        cell = 7
        group = len(METRICS) * cell + len(METRICS) - 1
        header1 = " " * name_width + " | " + " | ".join(m.center(group) for m in self.methods)
        labels = " ".join(_METRIC_LABELS[m].rjust(cell) for m in METRICS)
        header2 = "image".ljust(name_width) + " | " + " | ".join(labels for _ in self.methods)
        rule = "-" * len(header2)
        lines = [title, header1, header2, rule]
        for name, scores in rows:
            if name == "MEAN" and per_image:
                lines.append(rule)
            groups = [
                " ".join(_format_value(metric, scores[m][metric], cell) for metric in METRICS)
                for m in self.methods
            ]
            lines.append(name.ljust(name_width) + " | " + " | ".join(groups))
        return "\n".join(lines)


def _format_value(metric: str, value: float, width: int) -> str:
    if not math.isfinite(value):
        return ("inf" if value > 0 else "nan").rjust(width)
    return f"{value:.4f}".rjust(width) if metric == "ssim" else f"{value:.2f}".rjust(width)


def _finite_or_none(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    return {
        method: {k: (v if math.isfinite(v) else None) for k, v in values.items()}
        for method, values in scores.items()
    }


def image_seed(name: str, seed: int) -> np.random.Generator:
    """Generator for one image's synthetic degradation, fixed by its name and ``seed``.

    crc32 rather than Python's hash(), which changes from run to run.
    """
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def prepare_pair(
    name: str,
    low_full: np.ndarray | None,
    high: np.ndarray,
    scale: int,
    *,
    seed: int = 0,
    params: DegradeParams | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(low-resolution input, reference, kind) for one image, real or synthetic."""
    if low_full is None:
        rng = image_seed(name, seed)
        low, target = synthesize_pair(high, scale, rng, params or DegradeParams())
        return low, target, "synthetic"
    if low_full.shape != high.shape:
        raise UltraISError(f"{name}: low and high frames differ in size")
    return real_pair_input(low_full, scale), crop_to_multiple(high, scale), "real"


def _score(
    name: str,
    low: np.ndarray,
    target: np.ndarray,
    scale: int,
    methods: dict[str, EnhanceFn],
) -> dict[str, dict[str, float]]:
    scores = {}
    for method, fn in methods.items():
        out = np.asarray(fn(low), dtype=np.float32)
        if out.shape != target.shape:
            raise UltraISError(
                f"{name}: {method} returned {out.shape}, expected {target.shape} at x{scale}"
            )
        scores[method] = all_metrics(out, target)
    return scores


def _methods(models: Mapping[str, EnhanceFn], scale: int, baselines: bool) -> dict[str, EnhanceFn]:
    methods: dict[str, EnhanceFn] = dict(models)
    if baselines:
        methods["bicubic"] = lambda low: bicubic(low, scale)
        # The baseline (b): auto-exposure + CLAHE + Lanczos. "classical+nlm" adds
        # OpenCV's non-local-means denoising, a stronger peer that the model should also beat.
        methods["classical"] = lambda low: classical(low, scale, denoise_strength=0.0)
        methods["classical+nlm"] = lambda low: classical(low, scale)
    if not methods:
        raise UltraISError("nothing to evaluate: no models and baselines switched off")
    return methods


def evaluate_images(
    items: Iterable[tuple[str, np.ndarray | None, np.ndarray]],
    scale: int,
    models: Mapping[str, EnhanceFn],
    *,
    seed: int = 0,
    params: DegradeParams | None = None,
    baselines: bool = True,
) -> EvaluationReport:
    """Evaluate decoded ``(name, low_full or None, high)`` images (float32 RGB [0, 1]).

    The core of the other entry points; also usable on pairs decoded from a training pack.
    ``models`` maps a column name to its function; ``{}`` scores the baselines only.
    """
    methods = _methods(models, scale, baselines)
    results = []
    for name, low_full, high in items:
        low, target, kind = prepare_pair(name, low_full, high, scale, seed=seed, params=params)
        results.append(ImageResult(name, kind, _score(name, low, target, scale, methods)))
    return EvaluationReport(scale, tuple(methods), tuple(results))


def _unique_names(paths: Sequence[Path]) -> list[str]:
    """File names, with the parent folder added where two pairs share a name."""
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def evaluate_pair_list(
    pairs: Sequence[tuple[str | Path | None, str | Path]],
    scale: int,
    models: Mapping[str, EnhanceFn],
    *,
    seed: int = 0,
    params: DegradeParams | None = None,
    baselines: bool = True,
) -> EvaluationReport:
    """Evaluate ``(low_path or None, high_path)`` pairs, e.g. the validation split of
    :mod:`ultrais_core.training.data`. Images are read one pair at a time to bound memory.
    """
    highs = [Path(h) for _, h in pairs]
    names = _unique_names(highs)

    def items() -> Iterable[tuple[str, np.ndarray | None, np.ndarray]]:
        for name, (low, _), high in zip(names, pairs, highs, strict=True):
            yield name, None if low is None else read_rgb(Path(low)), read_rgb(high)

    return evaluate_images(items(), scale, models, seed=seed, params=params, baselines=baselines)


def pairs_in_folder(pairs_dir: str | Path) -> list[tuple[Path | None, Path]]:
    """Pairs of a folder with ``high/`` and optionally ``low/`` (matching file names).

    Without ``low/`` every high image is a reference-only pair (synthetic input).
    """
    base = Path(pairs_dir)
    high_dir, low_dir = base / "high", base / "low"
    if not high_dir.is_dir():
        raise UltraISError(f"no 'high' folder in {base}")
    highs = sorted(p for p in high_dir.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not highs:
        raise UltraISError(f"no images in {high_dir}")
    if not low_dir.is_dir():
        return [(None, h) for h in highs]
    missing = [h.name for h in highs if not (low_dir / h.name).is_file()]
    if missing:
        raise UltraISError(
            f"{len(missing)} images in {high_dir} have no match in {low_dir}, e.g. {missing[0]}"
        )
    return [(low_dir / h.name, h) for h in highs]


def evaluate_pairs(
    pairs_dir: str | Path,
    scale: int,
    models: Mapping[str, EnhanceFn],
    *,
    seed: int = 0,
    params: DegradeParams | None = None,
    baselines: bool = True,
) -> EvaluationReport:
    """Evaluate every pair in ``pairs_dir`` (see :func:`pairs_in_folder`)."""
    return evaluate_pair_list(
        pairs_in_folder(pairs_dir),
        scale,
        models,
        seed=seed,
        params=params,
        baselines=baselines,
    )
