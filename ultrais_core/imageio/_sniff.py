"""Recognise what a file really is from its first bytes, never from its name.

Users rename files, cameras and phones use odd extensions, and a web download can be a
PNG called photo.jpg. Trusting the extension would either fail on such files or hand
them to the wrong decoder and produce confusing errors. So the content decides. The
extension is consulted for one thing only: NEF, ARW, DNG and friends are TIFF files
underneath, and a TIFF named .nef must go to the RAW decoder.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from ._types import Problem

HEAD_BYTES = 256

RAW_SUFFIXES = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"}
)
# Further TIFF-based RAW extensions: routed to the RAW decoder when seen, not advertised.
_MORE_TIFF_RAW_SUFFIXES = frozenset(
    {".srf", ".sr2", ".3fr", ".erf", ".kdc", ".dcr", ".mos", ".iiq", ".rwl", ".mef"}
)

_TAG_DNG_VERSION = 50706

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Formats we recognise but do not open, so the user gets a name rather than "unknown".
_UNSUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"8BPS", "a Photoshop document (PSD)"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image"),
    (b"\x76\x2f\x31\x01", "an OpenEXR image"),
    (b"#?RADIANCE", "a Radiance HDR image"),
    (b"\x00\x00\x01\x00", "a Windows icon"),
    (b"PK\x03\x04", "a ZIP archive"),
)

_RAW_MAGIC: tuple[bytes, ...] = (
    b"IIRO",  # Olympus ORF
    b"IIRS",  # Olympus ORF
    b"MMOR",  # Olympus ORF
    b"IIU\x00",  # Panasonic RW2
    b"FUJIFILMCCD-RAW",  # Fujifilm RAF
    b"FOVb",  # Sigma X3F
    b"\x00MRM",  # Minolta MRW
)


def read_head(fh: BinaryIO) -> bytes:
    """The first bytes of the file, leaving the position at the start."""
    fh.seek(0)
    head = fh.read(HEAD_BYTES)
    fh.seek(0)
    return head


def _ftyp_brands(head: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF 'ftyp' box (HEIF, CR3, AVIF, MP4)."""
    (size,) = struct.unpack(">I", head[:4])
    end = min(max(size, 16), len(head))
    brands = {head[8:12]}
    brands.update(head[i : i + 4] for i in range(16, end - 3, 4))
    return brands


def _bmff_format(head: bytes) -> str:
    """Classify an ISO-BMFF file by its brands."""
    brands = _ftyp_brands(head)
    if b"crx " in brands:
        return "RAW"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    if brands & _AVIF_BRANDS:
        raise Problem("it is an AVIF image, which UltraIS does not open")
    if brands & _GENERIC_HEIF_BRANDS:
        return "HEIF"
    raise Problem("it is a video or other media file, not a photo")


def _tiff_ifd0_tags(fh: BinaryIO, head: bytes) -> set[int]:
    """Tag numbers in a classic TIFF's first IFD (empty when it cannot be read)."""
    endian = "<" if head[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(endian + "I", head[4:8])
        fh.seek(offset)
        (count,) = struct.unpack(endian + "H", fh.read(2))
        entries = fh.read(12 * min(count, 4096))
        return {
            struct.unpack(endian + "H", entries[i : i + 2])[0]
            for i in range(0, len(entries) - 11, 12)
        }
    except (struct.error, OSError, ValueError):
        return set()
    finally:
        fh.seek(0)


def tiff_with_orientation_reset(data: bytes) -> bytes:
    """A copy of a classic TIFF whose first IFD says Orientation = 1.

    OpenCV's TIFF decoder applies the orientation tag itself whatever flags it is given,
    while every other path here leaves that to apply_orientation(). Resetting the tag in
    the bytes OpenCV sees keeps the rotation in one place, so it happens exactly once.
    """
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return data
    endian = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(endian + "I", data[4:8])
        (count,) = struct.unpack(endian + "H", data[offset : offset + 2])
        for entry in range(offset + 2, offset + 2 + 12 * count, 12):
            tag, kind = struct.unpack(endian + "HH", data[entry : entry + 4])
            if tag == 0x0112 and kind == 3:
                patched = bytearray(data)
                patched[entry + 8 : entry + 10] = struct.pack(endian + "H", 1)
                return bytes(patched)
    except struct.error:
        pass
    return data


def _tiff_family_format(fh: BinaryIO, head: bytes, suffix: str) -> str:
    """TIFF, or one of the RAW formats that are TIFF files underneath."""
    if head[8:10] == b"CR":  # Canon CR2 marks itself right after the header
        return "RAW"
    if suffix in RAW_SUFFIXES or suffix in _MORE_TIFF_RAW_SUFFIXES:
        return "RAW"
    if head[2:4] in (b"*\x00", b"\x00*") and _TAG_DNG_VERSION in _tiff_ifd0_tags(fh, head):
        return "RAW"  # a DNG, whatever its name
    return "TIFF"


def sniff_format(fh: BinaryIO, suffix: str) -> str:
    """One of JPEG, PNG, TIFF, WEBP, BMP, HEIF, RAW; raises Problem for anything else."""
    head = read_head(fh)
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_SIGNATURE):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_family_format(fh, head, suffix.lower())
    if head.startswith(_RAW_MAGIC):
        return "RAW"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return _bmff_format(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP"
    if head.startswith(b"II\x1a\x00\x00\x00HEAPCCDR"):
        return "RAW"  # old Canon CRW
    for magic, name in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            raise Problem(f"it is {name}, which UltraIS does not open")
    raise Problem("it is not an image UltraIS recognises (unknown or damaged content)")
