"""Photo input and output for UltraIS: one module for the CLI and the GUI.

Never imports torch or Qt (the GUI imports this at start-up); OpenCV, rawpy and
pillow-heif are loaded on first use.

Policies, in one place:

* Formats are recognised from the file's content, never its extension. A PNG named
  photo.jpg loads as the PNG it is (LoadedImage.format says "PNG"; the mismatch is
  logged at INFO). The extension only routes TIFF-based RAW files (NEF, ARW...) to the
  RAW decoder.
* max_pixels is checked against the header before any pixel is decoded.
* Only ImageReadError (read_image, probe_image) and ImageWriteError (write_image) leave
  these functions, each with one line that names the file. Pillow's warnings (it only
  warns about metadata it skips) are logged, not raised: a broken EXIF tag must not cost
  the user the photo.
* Pixels are float32 sRGB in [0, 1]. Embedded ICC profiles are converted to sRGB on
  read. On write, a matrix/TRC source profile (Display P3, Adobe RGB, sRGB...) is
  restored: pixels go back into it and the original profile bytes are embedded. Other
  profiles (CMYK, LUT-based) are replaced by an sRGB profile, which is what the pixels
  then are.
* Writes are atomic (temporary file in the destination folder, fsync, rename); the source
  photo is never opened for writing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _backends
from ._read import DEFAULT_MAX_PIXELS, public_probe, public_read
from ._sniff import RAW_SUFFIXES
from ._types import LoadedImage
from ._write import public_write, write_formats

__all__ = [
    "SUPPORTED_READ_SUFFIXES",
    "SUPPORTED_WRITE_SUFFIXES",
    "LoadedImage",
    "probe_image",
    "read_image",
    "write_image",
]


def _read_suffixes() -> frozenset[str]:
    """Extensions a file dialog should offer on this installation."""
    suffixes = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp", ".bmp"}
    if _backends.heif_readable():
        suffixes |= {".heic", ".heif", ".hif"}
    if _backends.raw_readable():
        suffixes |= RAW_SUFFIXES
    return frozenset(suffixes)


SUPPORTED_READ_SUFFIXES: frozenset[str] = _read_suffixes()
SUPPORTED_WRITE_SUFFIXES: frozenset[str] = frozenset(write_formats())


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode a photo into float32 sRGB pixels plus the metadata needed to write it back.

    Reads JPEG, PNG (8/16-bit, alpha, palette), TIFF (8/16-bit), WebP, BMP, HEIC/HEIF and
    camera RAW (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2...). EXIF orientation is applied,
    embedded ICC profiles are converted to sRGB, CMYK becomes RGB, grey stays HxW, and a
    palette with transparency becomes RGBA. RAW is developed by LibRaw with the camera's
    white balance, 16 bits, sRGB, without auto-brightening (the model wants the darkness).

    Raises ImageReadError (one line naming the file) for anything that is not a readable
    photo: missing, folder, unreadable, empty, truncated, corrupt, unsupported, or more
    than max_pixels pixels according to its header.
    """
    return public_read(path, max_pixels)


def write_image(
    path: str | Path,
    pixels: np.ndarray,
    *,
    source: LoadedImage | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    overwrite: bool = False,
) -> Path:
    """Write pixels atomically; the format comes from the extension. Returns the path.

    pixels: float in [0, 1] (clipped; NaN is refused), HxW, HxWx3 or HxWx4, sRGB; uint8
    and uint16 arrays are taken as they are. bit_depth=16 gives 16-bit PNG and TIFF;
    JPEG, WebP and HEIC are always 8-bit. With source, its EXIF (orientation reset to 1,
    new PixelXDimension/PixelYDimension, Software "UltraIS", no stale thumbnail), XMP,
    DPI and ICC profile are carried over (see the module docstring for ICC). JPEG output
    of RGBA is flattened over white.

    Raises ImageWriteError, leaving no partial file, when the path is the source photo,
    an existing file (without overwrite=True), a folder, in a missing folder, has an
    unsupported extension, or when anything fails while encoding or writing.
    """
    return public_write(path, pixels, source, bit_depth, quality, overwrite)


def probe_image(path: str | Path) -> tuple[int, int]:
    """(width, height) of the upright photo from its header only; cheap, decodes nothing.

    Raises ImageReadError like read_image for files that are not readable photos.
    """
    return public_probe(path)
