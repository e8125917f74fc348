"""PNG and TIFF writers that keep 16 bits per channel and carry our metadata.

Pillow cannot hold 16-bit RGB, so it cannot write 16-bit colour PNG or TIFF. For PNG,
OpenCV encodes the pixels (8 or 16 bits) and we splice the metadata chunks in ourselves;
for TIFF, the container is simple enough to write directly, with Pillow's own IFD
serialiser laying out the tags (including the EXIF and GPS sub-IFDs). One code path per
format for both depths means the 8-bit and 16-bit outputs cannot drift apart.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import TiffImagePlugin, TiffTags

from . import _backends
from ._types import Problem

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks OpenCV might write that would contradict (or duplicate) the ones we add.
_PNG_REPLACED = {b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"pHYs", b"eXIf", b"iTXt", b"tEXt", b"zTXt"}
_INCH_PER_METRE = 39.37007874015748

_TIFF_STRIP_BYTES = 256 * 1024
_TIFF_LIMIT = 2**32 - 1


@dataclass(frozen=True)
class OutputMeta:
    """Metadata ready to embed: EXIF as an APP1 payload, XMP packet, ICC bytes, dpi."""

    exif: bytes | None = None
    xmp: bytes | None = None
    icc: bytes | None = None
    dpi: tuple[float, float] | None = None


# --------------------------------------------------------------------------- PNG


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_split(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) for every chunk of a PNG we just encoded."""
    if not png.startswith(_PNG_SIGNATURE):
        raise Problem("the PNG encoder returned unexpected data")
    chunks, pos = [], len(_PNG_SIGNATURE)
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        chunks.append((kind, png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_metadata_chunks(meta: OutputMeta) -> list[bytes]:
    """iCCP, pHYs, eXIf and iTXt (XMP) chunks for what the output carries."""
    out = []
    if meta.icc:
        out.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(meta.icc)))
    if meta.dpi:
        x, y = (round(v * _INCH_PER_METRE) for v in meta.dpi)
        out.append(_png_chunk(b"pHYs", struct.pack(">IIB", x, y, 1)))
    if meta.exif:
        out.append(_png_chunk(b"eXIf", meta.exif.removeprefix(b"Exif\x00\x00")))
    if meta.xmp:
        header = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00"
        out.append(_png_chunk(b"iTXt", header + meta.xmp))
    return out


def write_png(fh: BinaryIO, samples: np.ndarray, meta: OutputMeta) -> None:
    """Encode uint8/uint16 L, RGB or RGBA samples as PNG with our metadata."""
    cv2 = _backends.cv2()
    if samples.ndim == 3:
        order = [2, 1, 0] if samples.shape[2] == 3 else [2, 1, 0, 3]
        samples = np.ascontiguousarray(samples[..., order])
    ok, encoded = cv2.imencode(".png", samples, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise Problem("the PNG encoder failed")
    chunks = _png_split(encoded.tobytes())
    fh.write(_PNG_SIGNATURE)
    for kind, data in chunks:
        if kind in _PNG_REPLACED:
            continue
        fh.write(_png_chunk(kind, data))
        if kind == b"IHDR":
            for extra in _png_metadata_chunks(meta):
                fh.write(extra)


# --------------------------------------------------------------------------- TIFF


def _predict(rows: np.ndarray) -> np.ndarray:
    """TIFF horizontal predictor: each sample minus its left neighbour, wrapping."""
    out = rows.copy()
    out[:, 1:] = rows[:, 1:] - rows[:, :-1]
    return out


def _write_strips(fh: BinaryIO, samples: np.ndarray) -> tuple[list[int], list[int], int]:
    """Deflate-compressed strips; returns offsets, byte counts and rows per strip."""
    row_bytes = samples.shape[1] * samples.itemsize * (samples.shape[2] if samples.ndim == 3 else 1)
    rows_per_strip = max(1, _TIFF_STRIP_BYTES // row_bytes)
    little = samples.astype(samples.dtype.newbyteorder("<"), copy=False)
    offsets, counts = [], []
    for top in range(0, samples.shape[0], rows_per_strip):
        strip = _predict(little[top : top + rows_per_strip])
        data = zlib.compress(strip.tobytes(), 6)
        offsets.append(fh.tell())
        counts.append(len(data))
        fh.write(data)
    return offsets, counts, rows_per_strip


def _layout_tags(
    ifd: TiffImagePlugin.ImageFileDirectory_v2,
    samples: np.ndarray,
    strips: tuple[list[int], list[int], int],
) -> None:
    """Size, sample format, compression and strip tags of the single image."""
    height, width = samples.shape[:2]
    channels = samples.shape[2] if samples.ndim == 3 else 1
    offsets, counts, rows_per_strip = strips
    ifd[256] = width
    ifd[257] = height
    ifd[258] = (8 * samples.itemsize,) * channels
    ifd[259] = 8  # Adobe Deflate
    ifd[262] = 1 if channels == 1 else 2  # BlackIsZero / RGB
    ifd[273] = tuple(offsets)
    ifd[277] = channels
    ifd[278] = rows_per_strip
    ifd[279] = tuple(counts)
    ifd[284] = 1  # chunky
    ifd[317] = 2  # horizontal differencing
    if channels == 4:
        ifd[338] = (2,)  # unassociated alpha
    for tag in (256, 257, 273, 278, 279):
        ifd.tagtype[tag] = TiffTags.LONG


def _with_strip_offsets(blob: bytes, blob_offset: int, offsets: list[int]) -> bytes:
    """Put the real strip offsets into a serialised IFD.

    Pillow's serialiser assumes strips follow the IFD and shifts StripOffsets by the IFD
    size; ours precede it (so strips can stream to disk), hence the values are rewritten.
    """
    out = bytearray(blob)
    (count,) = struct.unpack("<H", out[:2])
    for entry in range(2, 2 + 12 * count, 12):
        tag, _typ, n = struct.unpack("<HHI", out[entry : entry + 8])
        if tag != 273:
            continue
        values = struct.pack(f"<{n}I", *offsets)
        if n == 1:
            out[entry + 8 : entry + 12] = values
        else:
            (where,) = struct.unpack("<I", out[entry + 8 : entry + 12])
            out[where - blob_offset : where - blob_offset + 4 * n] = values
        return bytes(out)
    raise Problem("internal error: TIFF strip table missing")


def write_tiff(
    fh: BinaryIO, samples: np.ndarray, ifd: TiffImagePlugin.ImageFileDirectory_v2
) -> None:
    """Write a little-endian baseline TIFF; ifd already holds the metadata tags."""
    start = fh.tell()
    fh.write(b"II*\x00\x00\x00\x00\x00")  # IFD offset patched below
    strips = _write_strips(fh, samples)
    if fh.tell() % 2:
        fh.write(b"\x00")
    ifd_offset = fh.tell() - start
    if ifd_offset > _TIFF_LIMIT - (1 << 24):
        raise Problem("the TIFF would exceed 4 GB; write PNG or a smaller image")
    _layout_tags(ifd, samples, strips)
    fh.write(_with_strip_offsets(ifd.tobytes(ifd_offset), ifd_offset, strips[0]))
    end = fh.tell()
    fh.seek(start + 4)
    fh.write(struct.pack("<I", ifd_offset))
    fh.seek(end)
