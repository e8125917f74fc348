"""What a batch has to do: the photos under SRC, where each result goes, and the settings.

No torch here: the driver plans before any worker starts. Outputs are named by the one rule of
`ultrais_core.naming` (`{stem}_ultrais_x{scale}.{ext}`, with the source extension in the name
when photos of one sub-folder share a stem), in the photo's relative sub-folder under DST.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ultrais_core
from ultrais_core.naming import output_rels

# Keep in step with ultrais_core.engine.DEFAULT_WEIGHTS_DIR (which imports torch); a test checks.
DEFAULT_WEIGHTS_DIR = Path(ultrais_core.__file__).resolve().parent.parent / "resources" / "weights"
OUTPUT_FORMATS = ("jpg", "png", "tif")
DEEP_FORMATS = frozenset({"png", "tif"})
TEMP_SUFFIX = ".ultrais-tmp"  # what imageio's atomic writes name their temporary files
HASH_CHUNK = 1 << 20


class PlanError(ValueError):
    """SRC or DST cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class PlannedPhoto:
    """One photo of the batch.

    rel: the source's path relative to SRC, with "/" separators (the manifest's key).
    output_rel: the result's path relative to DST, unique in the batch (`naming.output_rels`).
    """

    rel: str
    source: Path
    output_rel: str
    size: int
    mtime_ns: int


def readable_suffixes() -> frozenset[str]:
    """Extensions the image reader handles on this installation (lower case, with the dot)."""
    from ultrais_core.imageio import SUPPORTED_READ_SUFFIXES

    return SUPPORTED_READ_SUFFIXES


def is_inside(path: Path, folder: Path) -> bool:
    """True when `path` is `folder` or lies below it (no filesystem access)."""
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def scan(src: Path, dst: Path, *, recursive: bool) -> Iterator[Path]:
    """Photo files under SRC, by extension; hidden files and folders, and DST itself when it
    lies inside SRC, are left out."""
    suffixes = readable_suffixes()
    src, dst = src.resolve(), dst.resolve()
    for folder, dirs, files in os.walk(src):
        here = Path(folder)
        if recursive:
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and not is_inside(here / d, dst)
            )
        else:
            dirs[:] = []
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            path = here / name
            if path.is_file():
                yield path


def plan(src: Path, dst: Path, *, scale: int, fmt: str, recursive: bool) -> list[PlannedPhoto]:
    """Every photo to process, sorted by relative path, with its output path under DST.

    Output names follow `naming.output_rels` over every photo found: photo.jpg and photo.png
    in one sub-folder become photo_jpg_ultrais_x2.png and photo_png_ultrais_x2.png, and no two
    outputs share a name, even ignoring case. The names depend only on the photos found, so a
    rerun plans the very names its manifest recorded.
    """
    if fmt not in OUTPUT_FORMATS:
        raise PlanError(f"unknown output format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if not src.is_dir():
        raise PlanError(f"{src}: not a folder")
    if src == dst:
        raise PlanError("the output folder must differ from the source folder")
    found: list[tuple[str, Path, os.stat_result]] = []
    for path in scan(src, dst, recursive=recursive):
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between the walk and now
        found.append((path.relative_to(src).as_posix(), path, stat))
    found.sort(key=lambda item: item[0])
    names = output_rels([rel for rel, _, _ in found], scale, fmt)
    return [
        PlannedPhoto(
            rel=rel,
            source=path,
            output_rel=names[rel],
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
        )
        for rel, path, stat in found
    ]


def hash_file(path: Path) -> str:
    """A fast content hash (BLAKE2b, 128 bits) of a file, read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def weights_file(weights: Path | None, scale: int) -> Path:
    """The weights file the engine will load for `scale` (same rule as Engine.weights_path)."""
    folder_or_file = Path(weights) if weights is not None else DEFAULT_WEIGHTS_DIR
    if folder_or_file.is_dir() or not folder_or_file.suffix:
        return folder_or_file / f"ultrais_x{scale}.safetensors"
    return folder_or_file


def batch_settings(
    *, scale: int, fmt: str, weights: Path | None, precision: str, quality: int
) -> dict:
    """Everything that changes a result: a photo done with other settings is redone.

    The weights are identified by their content hash, so retraining into the same file counts
    as a change. Device and tile are not settings: they change how a photo is computed, not
    what it should look like (tile seams are blended), and a retry uses a smaller tile.
    """
    path = weights_file(weights, scale)
    if not path.is_file():
        raise PlanError(
            f"{path}: weights file not found; train one with `python main.py train` "
            "or pass --weights FILE|FOLDER"
        )
    return {
        "scale": scale,
        "format": fmt,
        "quality": quality if fmt == "jpg" else None,
        "precision": precision,
        "weights": {"file": path.name, "size": path.stat().st_size, "blake2b": hash_file(path)},
    }


def settings_json(settings: dict) -> str:
    """The canonical text of the settings, as the manifest stores and compares them."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


def clean_temp_files(dst: Path) -> int:
    """Remove the hidden `.*.ultrais-tmp` files that a killed write can leave under DST."""
    removed = 0
    for folder, _dirs, files in os.walk(dst):
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                try:
                    os.unlink(os.path.join(folder, name))
                    removed += 1
                except OSError:
                    pass
    return removed
