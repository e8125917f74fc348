"""Optional decoders (pillow-heif for HEIC, rawpy for camera RAW) and OpenCV, loaded lazily.

The GUI imports this package at start-up; rawpy and OpenCV each take a tenth of a second
to import, so they are loaded on the first file that needs them. An installation without
one of the optional packages still works for every other format, and files that need the
missing one get a clear "not supported on this installation" reason.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from types import ModuleType

from ._types import Problem


@cache
def _load(name: str) -> ModuleType | None:
    """Import a module once; None when it is missing or fails to load its native library."""
    try:
        return importlib.import_module(name)
    except (ImportError, OSError):
        return None


def _present(name: str) -> bool:
    """Whether a module is installed, without paying for importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def heif() -> ModuleType:
    """pillow_heif, or a Problem saying HEIC is unavailable."""
    module = _load("pillow_heif")
    if module is None:
        raise Problem("HEIC/HEIF is not supported on this installation (pillow-heif is missing)")
    return module


def rawpy() -> ModuleType:
    """rawpy, or a Problem saying camera RAW is unavailable."""
    module = _load("rawpy")
    if module is None:
        raise Problem("camera RAW is not supported on this installation (rawpy is missing)")
    return module


def cv2() -> ModuleType:
    """OpenCV (a hard dependency of the project), used for 16-bit colour PNG and TIFF."""
    module = _load("cv2")
    if module is None:
        raise Problem("16-bit colour images need OpenCV, which failed to load")
    return module


def heif_readable() -> bool:
    """True when HEIC files can be opened here."""
    return _present("pillow_heif")


def heif_writable() -> bool:
    """True when pillow-heif loads and its libheif has an HEVC encoder."""
    module = _load("pillow_heif")
    if module is None:
        return False
    try:
        return bool(module.libheif_info().get("HEIF"))
    except Exception:  # an odd build: treat as no encoder
        return False


def raw_readable() -> bool:
    """True when camera RAW files can be opened here."""
    return _present("rawpy")
