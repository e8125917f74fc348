"""The data types shared by the reader and the writer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class Problem(Exception):
    """An internal, already user-readable reason; the public functions add the file name.

    Kept separate from ImageReadError/ImageWriteError so helpers need not know which
    file, or which direction, they are working for.
    """


# eq=False: comparing two images field by field would compare numpy arrays, which is
# ambiguous; identity is the only meaningful equality for a decoded photo.
@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded photo, ready for processing, with what is needed to write it back.

    pixels: float32 in [0, 1], sRGB-encoded; HxWx3 (colour), HxW (grey) or HxWx4 (RGBA,
        alpha not premultiplied). Already upright (EXIF orientation applied) and already
        converted from any embedded ICC profile to sRGB.
    bit_depth: precision of the source per channel, 8 or 16 (RAW and 10/12-bit HEIF: 16).
    format: the real format found in the content: JPEG, PNG, TIFF, WEBP, BMP, HEIF, RAW.
    exif: the source's EXIF as an APP1 payload (b"Exif\\0\\0" + TIFF structure). For JPEG,
        PNG, WebP and HEIF it is the block exactly as stored, ORIGINAL orientation
        included (write_image resets it). For TIFF and TIFF-based RAW (DNG, CR2, NEF,
        ARW...) it is built from the file's descriptive tags; other RAW formats give None.
    icc_profile: the ORIGINAL embedded profile bytes (the pixels are already sRGB).
    xmp: the XMP packet as stored.
    dpi: (x, y) dots per inch when the file states them.
    """

    pixels: np.ndarray
    bit_depth: int
    source_path: Path
    format: str
    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None

    @property
    def width(self) -> int:
        """Width in pixels of the upright image."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels of the upright image."""
        return int(self.pixels.shape[0])
