"""Which files a drop or an Open hands us: folders expand to the images directly inside them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# Used only if the image I/O module cannot say which suffixes it reads.
_FALLBACK_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})


def supported_suffixes() -> frozenset[str]:
    try:
        from ultrais_core.imageio import SUPPORTED_READ_SUFFIXES
    except ImportError:
        return _FALLBACK_SUFFIXES
    return frozenset(s.lower() for s in SUPPORTED_READ_SUFFIXES)


def is_supported(path: Path, suffixes: frozenset[str] | None = None) -> bool:
    return path.suffix.lower() in (suffixes or supported_suffixes())


def expand(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(images to open, paths skipped). A folder contributes its images, sorted by name, not
    those of its subfolders: dropping a whole archive by accident should not open thousands."""
    suffixes = supported_suffixes()
    images: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir():
            children = sorted(
                (p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")),
                key=lambda p: p.name.lower(),
            )
            images.extend(p for p in children if is_supported(p, suffixes))
        elif path.is_file() and is_supported(path, suffixes):
            images.append(path)
        else:
            skipped.append(path)
    return images, skipped


def file_dialog_filter() -> str:
    patterns = " ".join(f"*{s}" for s in sorted(supported_suffixes()))
    return f"Images ({patterns});;All files (*)"
