"""`evaluate --night DIR`: score a folder of real photos with no reference, and show them.

For every photo of the folder, each method (the model through the app's Engine, the classical
path) enhances the input; :mod:`ultrais_core.night_metrics` compares each output with its own
input at the input's size. The report holds the per-photo figures and the issue's summary per
method, as a text table and JSON; the contact sheet puts, one row per photo, the input, each
method's output and, for dark inputs, the input brightened by a plain gain, so that what the
figures say can be checked by eye.

Large photos are area-reduced to ``max_side`` before anything runs: a 4K photo at x4 would
otherwise take many minutes per method on a CPU. The figures are relative to that reduced
input, which is what every method was given. A photo that cannot be read (or enhanced) is
reported and skipped; the others go on.

Each method is a function ``enhance(rgb) -> rgb`` (float32 sRGB in [0, 1], ``scale`` times
larger), so this module needs no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ultrais_core.errors import UltraISError
from ultrais_core.night_metrics import (
    BRIGHT_MEAN,
    NightFigures,
    NightSummary,
    mean_luminance,
    night_figures,
    summarize,
)

EnhanceFn = Callable[[np.ndarray], np.ndarray]
DEFAULT_MAX_SIDE = 1600
THUMB_HEIGHT = 256
LABEL_HEIGHT = 20
GAP = 6
_BACKGROUND = 32
# What the plain-gain thumbnail brings a dark input's mean luminance to: bright enough to see
# what the photo holds, the same for every photo so rows compare.
BRIGHTENED_MEAN = 0.35
_MAX_GAIN = 64.0
_FIGURES = ("new_clip", "hl_chroma", "loe", "mean_shift", "mottle")
_FIGURE_LABELS = {
    "new_clip": "clip%",
    "hl_chroma": "chroma",
    "loe": "LOE",
    "mean_shift": "shift",
    "mottle": "mottle",
}


@dataclass(frozen=True)
class NightPhoto:
    """One photo's figures per method. size: (width, height) as evaluated (after max_side);
    original_size: as read."""

    name: str
    size: tuple[int, int]
    original_size: tuple[int, int]
    input_mean: float
    figures: dict[str, NightFigures]

    @property
    def bright(self) -> bool:
        return self.input_mean > BRIGHT_MEAN


@dataclass(frozen=True)
class NightReport:
    """Every photo's figures, the photos skipped (name, reason), and the summaries."""

    scale: int
    methods: tuple[str, ...]
    photos: tuple[NightPhoto, ...]
    skipped: tuple[tuple[str, str], ...]

    def summaries(self) -> dict[str, NightSummary]:
        return {m: summarize([p.figures[m] for p in self.photos]) for m in self.methods}

    def to_json(self) -> dict:
        """A JSON-ready dict (figures that do not apply are None)."""
        return {
            "scale": self.scale,
            "methods": list(self.methods),
            "bright_mean": BRIGHT_MEAN,
            "count": len(self.photos),
            "summary": {m: asdict(s) for m, s in self.summaries().items()},
            "photos": [
                {
                    "name": p.name,
                    "size": list(p.size),
                    "original_size": list(p.original_size),
                    "input_mean": p.input_mean,
                    "dark": not p.bright,
                    "figures": {m: _figures_json(f) for m, f in p.figures.items()},
                }
                for p in self.photos
            ],
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }

    def format_table(self) -> str:
        """Per-photo figures of every method, then the summary (rows) by method (columns)."""
        cell = 7
        group = len(_FIGURES) * cell + len(_FIGURES) - 1
        name_width = max(12, *(len(p.name) for p in self.photos)) if self.photos else 12
        labels = " ".join(_FIGURE_LABELS[f].rjust(cell) for f in _FIGURES)
        head1 = " " * (name_width + 7) + " | " + " | ".join(m.center(group) for m in self.methods)
        head2 = (
            "photo".ljust(name_width) + "   mean" + " | " + " | ".join(labels for _ in self.methods)
        )
        lines = [
            f"Night figures at x{self.scale} on {len(self.photos)} photos "
            f"({sum(not p.bright for p in self.photos)} dark, "
            f"{sum(p.bright for p in self.photos)} bright)",
            head1,
            head2,
            "-" * len(head2),
        ]
        for p in self.photos:
            groups = [
                " ".join(_cell(getattr(p.figures[m], f), cell) for f in _FIGURES)
                for m in self.methods
            ]
            lines.append(f"{p.name.ljust(name_width)} {p.input_mean:6.3f} | " + " | ".join(groups))
        lines.append("")
        lines.append(_summary_table(self.summaries(), self.methods))
        for name, reason in self.skipped:
            lines.append(f"skipped {name}: {reason}")
        return "\n".join(lines)


_SUMMARY_ROWS = (
    ("dark_new_clip", "dark: mean new_clip %"),
    ("dark_hl_chroma", "dark: median hl_chroma"),
    ("dark_loe", "dark: mean loe"),
    ("dark_mottle", "dark: mean mottle"),
    ("bright_new_clip", "bright: mean new_clip %"),
    ("bright_mean_shift", "bright: mean mean_shift"),
)


def _summary_table(summaries: Mapping[str, NightSummary], methods: Sequence[str]) -> str:
    width = max(12, *(len(m) for m in methods))
    first = next(iter(summaries.values()), None)
    counts = f" ({first.dark_count} dark, {first.bright_count} bright)" if first else ""
    lines = [
        f"Summary{counts}",
        "figure".ljust(24) + " | " + " | ".join(m.rjust(width) for m in methods),
    ]
    lines.append("-" * len(lines[-1]))
    for key, label in _SUMMARY_ROWS:
        values = [_cell(getattr(summaries[m], key), width) for m in methods]
        lines.append(label.ljust(24) + " | " + " | ".join(values))
    return "\n".join(lines)


def _cell(value: float | None, width: int) -> str:
    if value is None or not math.isfinite(value):
        return "-".rjust(width)
    return (f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}").rjust(width)


def _figures_json(figures: NightFigures) -> dict[str, float | None]:
    return {k: (v if v is None or math.isfinite(v) else None) for k, v in asdict(figures).items()}


# --- inputs ------------------------------------------------------------------------------------


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """H x W x 3 float32 from what the reader returns: grey is repeated, alpha dropped."""
    image = np.asarray(pixels, dtype=np.float32)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def fit_max_side(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """The image area-reduced so its longer side is at most ``max_side`` (None: as it is)."""
    height, width = rgb.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return rgb
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def photos_in(folder: Path, suffixes: frozenset[str]) -> list[Path]:
    """The photos directly in ``folder`` (by extension, hidden files left out), sorted."""
    if not folder.is_dir():
        raise UltraISError(f"{folder}: not a folder")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )


def brightened(rgb: np.ndarray, target_mean: float = BRIGHTENED_MEAN) -> tuple[np.ndarray, float]:
    """(the input times one gain so its mean luminance reaches ``target_mean``, the gain):
    what a plain exposure push gives, next to the methods on the contact sheet."""
    mean = mean_luminance(rgb)
    gain = float(np.clip(target_mean / max(mean, 1e-6), 1.0, _MAX_GAIN))
    return np.clip(rgb * np.float32(gain), 0.0, 1.0), gain


# --- the contact sheet -------------------------------------------------------------------------


def thumb_width(width: int, height: int, thumb_height: int = THUMB_HEIGHT) -> int:
    return max(1, round(width * thumb_height / height))


def labelled_thumbnail(rgb: np.ndarray, label: str, thumb_height: int = THUMB_HEIGHT) -> np.ndarray:
    """uint8 RGB: a label band of LABEL_HEIGHT px over the image scaled to ``thumb_height``
    (area-reduced when larger, so noise and detail show as they would at that size)."""
    height, width = rgb.shape[:2]
    size = (thumb_width(width, height, thumb_height), thumb_height)
    shrink = height > thumb_height
    scaled = cv2.resize(  # resized first: no full-size copy of a large output
        np.asarray(rgb, dtype=np.float32),
        size,
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_NEAREST,
    )
    np.clip(scaled, 0.0, 1.0, out=scaled)
    tile = np.full((LABEL_HEIGHT + thumb_height, size[0], 3), _BACKGROUND, np.uint8)
    tile[LABEL_HEIGHT:] = np.round(scaled * 255.0).astype(np.uint8)
    _put_label(tile, label)
    return tile


_FONT, _FONT_SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.42


def _label_width(text: str) -> int:
    (width, _), _ = cv2.getTextSize(text, _FONT, _FONT_SCALE, 1)
    return width + 6


def _put_label(image: np.ndarray, text: str) -> None:
    cv2.putText(
        image, text, (3, LABEL_HEIGHT - 6), _FONT, _FONT_SCALE, (235, 235, 235), 1, cv2.LINE_AA
    )


def sheet_row(title: str, tiles: Sequence[np.ndarray]) -> np.ndarray:
    """A title band of LABEL_HEIGHT px (the photo's name and figures, which a narrow portrait
    tile could not hold) over tiles of one height side by side, GAP px apart; as wide as the
    tiles or the title, whichever is wider."""
    height = tiles[0].shape[0]
    tiles_width = sum(t.shape[1] for t in tiles) + GAP * (len(tiles) - 1)
    row = np.full(
        (LABEL_HEIGHT + height, max(tiles_width, _label_width(title)), 3), _BACKGROUND, np.uint8
    )
    x = 0
    for tile in tiles:
        row[LABEL_HEIGHT:, x : x + tile.shape[1]] = tile
        x += tile.shape[1] + GAP
    _put_label(row, title)
    return row


def contact_sheet(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Rows stacked, left-aligned, with a GAP px margin around and between them."""
    if not rows:
        raise UltraISError("no photo to put on the contact sheet")
    width = max(r.shape[1] for r in rows) + 2 * GAP
    height = sum(r.shape[0] for r in rows) + GAP * (len(rows) + 1)
    sheet = np.full((height, width, 3), _BACKGROUND, np.uint8)
    y = GAP
    for row in rows:
        sheet[y : y + row.shape[0], GAP : GAP + row.shape[1]] = row
        y += row.shape[0] + GAP
    return sheet


# --- the evaluation ----------------------------------------------------------------------------


def evaluate_photo(
    name: str,
    rgb: np.ndarray,
    scale: int,
    methods: Mapping[str, EnhanceFn],
    *,
    original_size: tuple[int, int] | None = None,
    thumb_height: int = THUMB_HEIGHT,
) -> tuple[NightPhoto, np.ndarray]:
    """One (already reduced) input through every method: its figures and its sheet row."""
    height, width = rgb.shape[:2]
    input_mean = mean_luminance(rgb)
    tiles = [labelled_thumbnail(rgb, "input", thumb_height)]
    figures = {}
    for method, enhance in methods.items():
        out = np.asarray(enhance(rgb), dtype=np.float32)
        expected = (height * scale, width * scale)
        if out.shape[:2] != expected or out.ndim != 3:
            raise UltraISError(f"{method} returned {out.shape}, expected {expected} x 3")
        figures[method] = night_figures(rgb, out)
        tiles.append(labelled_thumbnail(out, f"{method} x{scale}", thumb_height))
        del out
    photo = NightPhoto(name, (width, height), original_size or (width, height), input_mean, figures)
    if not photo.bright:
        pushed, gain = brightened(rgb)
        tiles.append(labelled_thumbnail(pushed, f"input x{gain:.1f}", thumb_height))
    return photo, sheet_row(_row_title(photo), tiles)


def _row_title(photo: NightPhoto) -> str:
    """The photo, its mean, and each method's new clipping and kept chroma, for quick reading."""
    parts = [f"{photo.name}  {photo.size[0]}x{photo.size[1]}  mean {photo.input_mean:.2f}"]
    for method, figures in photo.figures.items():
        chroma = "-" if figures.hl_chroma is None else f"{figures.hl_chroma:.2f}"
        parts.append(f"{method}: clip {figures.new_clip:.2f}% chroma {chroma}")
    return "   ".join(parts)


def evaluate_night(
    paths: Sequence[Path],
    scale: int,
    methods: Mapping[str, EnhanceFn],
    *,
    read: Callable[[Path], np.ndarray],
    max_side: int | None = DEFAULT_MAX_SIDE,
    thumb_height: int = THUMB_HEIGHT,
    on_photo: Callable[[int, int, str], None] | None = None,
) -> tuple[NightReport, np.ndarray | None]:
    """Every photo through every method: the report and the contact sheet (None when no photo
    could be read). ``read`` decodes a path to pixels (the CLI passes the app's reader);
    UltraISError and MemoryError from reading or enhancing skip the photo with its reason.
    ``on_photo(index, total, name)`` is called before each photo, for progress."""
    results, rows, skipped = [], [], []
    for index, path in enumerate(paths):
        if on_photo is not None:
            on_photo(index, len(paths), path.name)
        try:
            full = as_rgb(read(path))
            original = (full.shape[1], full.shape[0])
            rgb = fit_max_side(full, max_side)
            del full
            photo, row = evaluate_photo(
                path.name,
                rgb,
                scale,
                methods,
                original_size=original,
                thumb_height=thumb_height,
            )
        except MemoryError:
            skipped.append((path.name, "out of memory"))
            continue
        except UltraISError as error:
            skipped.append((path.name, " ".join(str(error).split())))
            continue
        results.append(photo)
        rows.append(row)
    report = NightReport(scale, tuple(methods), tuple(results), tuple(skipped))
    return report, contact_sheet(rows) if rows else None
