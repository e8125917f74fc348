"""EXIF, XMP and DPI: read them from a source, and rewrite them for an output.

Metadata is what photographers care about besides pixels, but it is also the most
often broken part of a file. Every function here is therefore forgiving: broken metadata
is logged and dropped, it never stops a photo from loading or an export from finishing.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image, TiffImagePlugin

_log = logging.getLogger(__name__)

# warnings.catch_warnings() swaps process-wide state; the lock keeps two of our own
# calls from tangling it. Decoding is short next to inference, so this costs little.
_PILLOW_LOCK = threading.RLock()


@contextlib.contextmanager
def quiet_pillow(label: str) -> Iterator[None]:
    """Capture Pillow's warnings and log them instead of letting them reach the user.

    Pillow only warns about metadata it skips (a broken EXIF tag, say); the pixels are
    fine, so the photo loads and the warning goes to the log. Pixel-level failures are
    exceptions, which the public functions turn into ImageReadError/ImageWriteError.
    """
    with _PILLOW_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield  # on an exception the file is refused anyway, so its warnings are moot
        for item in caught:
            if not issubclass(item.category, Image.DecompressionBombWarning):
                _log.warning("%s: %s", label, item.message)


EXIF_HEADER = b"Exif\x00\x00"
SOFTWARE = "UltraIS"

TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
TAG_IMAGE_WIDTH = 0x0100
TAG_IMAGE_LENGTH = 0x0101
TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_INTEROP_IFD = 0xA005
TAG_MAKER_NOTE = 0x927C
TAG_PIXEL_X = 0xA002
TAG_PIXEL_Y = 0xA003
TAG_XMP = 700

# IFD0 tags of a TIFF (or TIFF-based RAW) that describe the photo rather than the file
# layout; only these are carried into a synthesised EXIF block.
_TIFF_DESCRIPTIVE_TAGS = (
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    0x0112,  # Orientation
    0x011A,  # XResolution
    0x011B,  # YResolution
    0x0128,  # ResolutionUnit
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x013C,  # HostComputer
    0x8298,  # Copyright
    0x9C9B,  # XPTitle
    0x9C9C,  # XPComment
    0x9C9D,  # XPAuthor
    0x9C9E,  # XPKeywords
    0x9C9F,  # XPSubject
)

# JPEG APP1 segments hold at most 65533 bytes, "Exif\0\0" included.
JPEG_EXIF_LIMIT = 65533


def as_bytes(value: Any) -> bytes | None:
    """Pillow hands metadata back as bytes, str or a 1-tuple depending on the format."""
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)) and value:
        return bytes(value)
    return None


def normalise_exif(raw: bytes | None) -> bytes | None:
    """EXIF as the standard APP1 payload ("Exif\\0\\0" + TIFF structure), or None."""
    if not raw:
        return None
    if raw.startswith(EXIF_HEADER):
        return raw
    if raw[:4] in (b"II*\x00", b"MM\x00*"):
        return EXIF_HEADER + raw
    return None


def parse_exif(raw: bytes | None) -> Image.Exif | None:
    """A Pillow Exif object, or None when absent or unreadable."""
    if not raw:
        return None
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception as exc:  # Pillow raises many types on bad EXIF; none must escape
        _log.warning("Ignoring unreadable EXIF data: %s", exc)
        return None
    return exif


def orientation_of(exif: Image.Exif | None) -> int:
    """The EXIF orientation (1..8), 1 when absent or invalid."""
    if exif is None:
        return 1
    value = exif.get(TAG_ORIENTATION, 1)
    if isinstance(value, tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright as EXIF orientation 1..8 asks (works for 2-D and 3-D)."""
    upright = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: a.swapaxes(0, 1)[:, ::-1],
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: a.swapaxes(0, 1)[::-1, :],
    }[orientation if 1 <= orientation <= 8 else 1]
    return np.ascontiguousarray(upright(pixels))


def oriented_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """(width, height) after applying an orientation: 5..8 swap the axes."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def exif_from_tiff_tags(ifd0: Image.Exif) -> bytes | None:
    """Build an EXIF block from a TIFF's own first IFD (TIFF and TIFF-based RAW sources).

    A TIFF keeps camera metadata in its first IFD next to layout tags (strip offsets...).
    Copying the whole IFD would carry offsets that are meaningless elsewhere, so only the
    descriptive tags and the Exif/GPS sub-IFDs are taken.
    """
    try:
        out = Image.Exif()
        for tag in _TIFF_DESCRIPTIVE_TAGS:
            if tag in ifd0:
                out[tag] = ifd0[tag]
        for pointer in (TAG_EXIF_IFD, TAG_GPS_IFD):
            sub = ifd0.get_ifd(pointer)
            if sub:
                out[pointer] = _without_pointers(dict(sub))
        return out.tobytes() if len(out) else None
    except Exception as exc:  # broken TIFF metadata must not stop the photo
        _log.warning("Ignoring unreadable TIFF metadata: %s", exc)
        return None


def _without_pointers(sub: dict[int, Any]) -> dict[int, Any]:
    """Drop nested-IFD pointers that would dangle once the block is re-serialised."""
    return {tag: value for tag, value in sub.items() if tag not in (TAG_INTEROP_IFD,)}


def exif_for_output(
    raw: bytes | None, width: int, height: int, *, drop_maker_note: bool
) -> bytes | None:
    """The source's EXIF rewritten for an output of width x height upright pixels.

    Orientation is reset to 1 (the pixels are already upright), the pixel dimensions are
    the new ones, Software says UltraIS, and the stale embedded thumbnail (IFD1) is left
    out because it would show the original, unprocessed photo.
    """
    exif = parse_exif(raw)
    if exif is None:
        return None
    try:
        exif[TAG_ORIENTATION] = 1
        exif[TAG_SOFTWARE] = SOFTWARE
        for tag, value in ((TAG_IMAGE_WIDTH, width), (TAG_IMAGE_LENGTH, height)):
            if tag in exif:
                exif[tag] = value
        sub = dict(exif.get_ifd(TAG_EXIF_IFD))
        interop = exif.get_ifd(TAG_INTEROP_IFD) if TAG_INTEROP_IFD in sub else None
        sub = _without_pointers(sub)
        if interop:
            sub[TAG_INTEROP_IFD] = dict(interop)
        if drop_maker_note:
            sub.pop(TAG_MAKER_NOTE, None)
        sub[TAG_PIXEL_X] = width
        sub[TAG_PIXEL_Y] = height
        exif[TAG_EXIF_IFD] = sub
        return exif.tobytes()
    except Exception as exc:  # a broken tag must not cost the user the export
        _log.warning("Dropping EXIF from the output, it could not be rewritten: %s", exc)
        return None


def jpeg_exif_for_output(raw: bytes | None, width: int, height: int) -> bytes | None:
    """Like exif_for_output, but small enough for one JPEG APP1 segment."""
    out = exif_for_output(raw, width, height, drop_maker_note=False)
    if out is not None and len(out) > JPEG_EXIF_LIMIT:
        out = exif_for_output(raw, width, height, drop_maker_note=True)
    if out is not None and len(out) > JPEG_EXIF_LIMIT:
        _log.warning("Dropping EXIF from the JPEG output: %d bytes do not fit", len(out))
        return None
    return out


def read_xmp(info: dict[str, Any]) -> bytes | None:
    """The XMP packet Pillow found, as bytes."""
    return as_bytes(info.get("xmp"))


def read_dpi(info: dict[str, Any]) -> tuple[float, float] | None:
    """(x, y) dots per inch when the file states a usable resolution."""
    dpi = info.get("dpi")
    if not isinstance(dpi, tuple) or len(dpi) != 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    if not (0 < x < 1e6 and 0 < y < 1e6):
        return None
    return (x, y)


def read_icc(info: dict[str, Any]) -> bytes | None:
    """The embedded ICC profile bytes."""
    return as_bytes(info.get("icc_profile"))


_XMP_ORIENTATION = re.compile(rb"(tiff:Orientation\s*=\s*[\"']|<tiff:Orientation>)\s*\d+")
_XMP_DIMENSIONS = {
    rb"exif:PixelXDimension": 0,
    rb"exif:PixelYDimension": 1,
    rb"tiff:ImageWidth": 0,
    rb"tiff:ImageLength": 1,
}


def xmp_for_output(xmp: bytes | None, width: int, height: int) -> bytes | None:
    """The source's XMP with orientation and pixel dimensions made true for the output.

    XMP can repeat the EXIF orientation; left alone, some viewers would rotate the
    already-upright output a second time.
    """
    if not xmp:
        return None
    out = _XMP_ORIENTATION.sub(lambda m: m.group(1) + b"1", xmp)
    sizes = (str(width).encode(), str(height).encode())
    for name, axis in _XMP_DIMENSIONS.items():
        pattern = re.compile(rb"(" + name + rb"\s*=\s*[\"']|<" + name + rb">)\s*\d+")
        out = pattern.sub(lambda m, v=sizes[axis]: m.group(1) + v, out)
    return out


def tiff_ifd_for_metadata(
    exif: bytes | None, xmp: bytes | None, icc: bytes | None, dpi: tuple[float, float] | None
) -> TiffImagePlugin.ImageFileDirectory_v2:
    """The metadata part of a TIFF IFD0 (the writer adds the layout tags)."""
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    parsed = parse_exif(exif)
    if parsed is not None:
        for tag, value in parsed.items():
            if tag in (TAG_EXIF_IFD, TAG_GPS_IFD):
                sub = parsed.get_ifd(tag)
                if sub:
                    ifd[tag] = _without_pointers(dict(sub))
            elif tag in _TIFF_DESCRIPTIVE_TAGS:
                ifd[tag] = value
    ifd[TAG_SOFTWARE] = SOFTWARE
    ifd[TAG_ORIENTATION] = 1
    if xmp:
        ifd[TAG_XMP] = xmp
    if icc:
        ifd[34675] = icc
    if dpi:
        ifd[282] = dpi[0]
        ifd[283] = dpi[1]
        ifd[296] = 2
    return ifd
