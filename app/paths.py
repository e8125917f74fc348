"""Which files a drop or an Open hands us.

A file named explicitly is always tried: formats are recognised from the content, so a photo
with an odd extension opens, and anything else fails with the reader's one-line reason. A
folder contributes the photos (by extension) in it and in its sub-folders, hidden ones left
out, up to a limit so that dropping a whole archive by accident does not open thousands.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Used only if the image I/O module cannot say which suffixes it reads.
_FALLBACK_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})
MAX_PHOTOS = 2000  # per drop or Open


def supported_suffixes() -> frozenset[str]:
    try:
        from ultrais_core.imageio import SUPPORTED_READ_SUFFIXES
    except ImportError:
        return _FALLBACK_SUFFIXES
    return frozenset(s.lower() for s in SUPPORTED_READ_SUFFIXES)


def is_supported(path: Path, suffixes: frozenset[str] | None = None) -> bool:
    return path.suffix.lower() in (suffixes or supported_suffixes())


@dataclass
class Expansion:
    images: list[Path] = field(default_factory=list)  # files to open, in order
    missing: list[Path] = field(default_factory=list)  # given paths that are not files/folders
    left_out: int = 0  # photos past MAX_PHOTOS, not opened


def expand(paths: Iterable[Path], limit: int = MAX_PHOTOS) -> Expansion:
    """The files to open for the given files and folders (folders walked recursively)."""
    suffixes = supported_suffixes()
    result = Expansion()

    def add(path: Path) -> None:
        if len(result.images) < limit:
            result.images.append(path)
        else:
            result.left_out += 1

    for path in paths:
        try:
            if path.is_dir():
                for found in walk_photos(path, suffixes):
                    add(found)
            elif path.is_file():
                add(path)
            else:
                result.missing.append(path)
        except OSError:  # a path we may not even stat: say so rather than fail the whole drop
            result.missing.append(path)
    return result


def walk_photos(folder: Path, suffixes: frozenset[str]) -> Iterable[Path]:
    """Photos under `folder` by extension, sorted by name within each folder, parents first.

    Hidden files and folders are left out; unreadable folders are skipped (os.walk ignores
    their errors); symbolic links to folders are not followed, so a link loop cannot hang us.
    """
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=str.lower)
        for name in sorted(files, key=str.lower):
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            path = Path(here) / name
            if path.is_file():
                yield path


def file_dialog_filter() -> str:
    patterns = " ".join(f"*{s}" for s in sorted(supported_suffixes()))
    return f"Images ({patterns});;All files (*)"
