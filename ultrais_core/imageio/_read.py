"""Reading photos: every supported format to one float32 sRGB array plus metadata.

The order of work is chosen for safety: the file is checked (exists, regular, not
empty), its real format is recognised from the content, the header is parsed and the
pixel count is checked against max_pixels, and only then is anything decoded. Every
failure, from the OS, Pillow, OpenCV, libheif or LibRaw, leaves as ImageReadError with
one line naming the file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import stat
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import (
    BmpImagePlugin,
    Image,
    ImageCms,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from ..errors import ImageReadError
from . import _backends, _icc, _meta
from ._meta import quiet_pillow
from ._sniff import read_head, sniff_format, tiff_with_orientation_reset
from ._types import LoadedImage, Problem

_log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 200_000_000

# Pillow's plugin classes are used directly rather than Image.open(): the content is
# already identified, and Image.open() applies Pillow's process-wide pixel limit, which
# would override the caller's max_pixels. Our own check runs on the header instead.
_PILLOW_CLASSES: dict[str, Callable[[BinaryIO], ImageFile.ImageFile]] = {
    "JPEG": JpegImagePlugin.JpegImageFile,
    "PNG": PngImagePlugin.PngImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
}

# --------------------------------------------------------------------------- file access


def _stat_problem(exc: OSError) -> Problem:
    """A readable reason for an OS error met while opening the file."""
    if isinstance(exc, FileNotFoundError):
        return Problem("no such file")
    if isinstance(exc, PermissionError):
        return Problem("permission denied")
    if isinstance(exc, IsADirectoryError):
        return Problem("it is a folder, not a file")
    return Problem(exc.strerror or str(exc))


@contextlib.contextmanager
def open_source(path: Path) -> Iterator[BinaryIO]:
    """Open a photo for reading after checking it is a non-empty regular file.

    Checking first turns directories, FIFOs and devices (which could block forever)
    and empty files into clear reasons instead of decoder errors.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise _stat_problem(exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise Problem("it is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise Problem("it is not a regular file")
    if info.st_size == 0:
        raise Problem("the file is empty (0 bytes)")
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise _stat_problem(exc) from exc
    with fh:
        yield fh


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """The decompression-bomb guard, run on header values before any decoding."""
    if width <= 0 or height <= 0:
        raise Problem(f"the header gives an empty size ({width} x {height})")
    pixels = width * height
    if pixels > max_pixels:
        raise Problem(
            f"the image is {width} x {height} = {pixels:,} pixels, above the limit of "
            f"{max_pixels:,} pixels (max_pixels); refusing to decode it"
        )


# --------------------------------------------------------------------------- arrays


def to_float(array: np.ndarray) -> np.ndarray:
    """Decoded samples -> float32 in [0, 1]."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:
        return array.astype(np.float32) / np.float32(65535.0)
    if array.dtype.kind == "f":
        return np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    return np.clip(array, 0, 65535).astype(np.float32) / np.float32(65535.0)


def _to_8bit(array: np.ndarray) -> np.ndarray:
    """Any decoded samples -> uint8, for the 8-bit colour-management fallback."""
    return np.round(to_float(array) * 255.0).astype(np.uint8)


def _lcms_array(array: np.ndarray, icc: bytes) -> np.ndarray:
    """Convert through LittleCMS in 8 bits; grey stays grey."""
    if array.dtype != np.uint8:
        _log.warning("This ICC profile is converted in 8 bits; finer precision is lost")
        array = _to_8bit(array)
    converted = np.asarray(_icc.lcms_to_srgb(Image.fromarray(array), icc))
    return converted[..., 0].copy() if array.ndim == 2 else converted


def to_srgb_float(array: np.ndarray, icc: bytes | None) -> np.ndarray:
    """Device samples with an optional embedded profile -> float32 sRGB."""
    profile = _icc.inspect_profile(icc) if icc else None
    if profile is None or profile.is_srgb:
        return to_float(array)
    if profile.shaper is not None and _icc.shaper_fits(profile.shaper, array):
        if array.dtype not in (np.uint8, np.uint16, np.float32):
            array = to_float(array)
        return _icc.to_srgb(array, profile.shaper)
    assert icc is not None
    try:
        return to_float(_lcms_array(array, icc))
    except (ValueError, OSError, ImageCms.PyCMSError) as exc:
        _log.warning("Ignoring an ICC profile that does not fit the image: %s", exc)
        return to_float(array)


def _unpremultiply(array: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA (HEIF can store it) -> straight alpha, as the contract promises."""
    scale = float(np.iinfo(array.dtype).max)
    rgb = array[..., :3].astype(np.float32)
    alpha = array[..., 3:4].astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(alpha > 0, np.clip(rgb * scale / alpha, 0, scale), 0)
    out = array.copy()
    out[..., :3] = np.round(straight).astype(array.dtype)
    return out


# --------------------------------------------------------------------------- Pillow formats


def _mode_for_processing(image: Image.Image) -> Image.Image:
    """Bring Pillow's many modes down to L, RGB, RGBA, or a 16-bit/float grey mode."""
    mode = image.mode
    if mode == "P":
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if mode in ("PA", "LA", "La", "RGBa"):
        return image.convert("RGBA")
    if mode == "1":
        return image.convert("L")
    if mode in ("RGBX", "YCbCr", "HSV"):
        return image.convert("RGB")
    return image


def _cmyk_to_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """CMYK -> RGB, through the embedded CMYK profile when there is one."""
    profile = _icc.inspect_profile(icc) if icc else None
    if icc and profile is not None and profile.colour_space == "CMYK":
        try:
            return _icc.lcms_to_srgb(image, icc)
        except (ValueError, OSError, ImageCms.PyCMSError) as exc:
            _log.warning("CMYK profile unusable, converting naively: %s", exc)
    return image.convert("RGB")


def _pillow_array(image: Image.Image, icc: bytes | None) -> tuple[np.ndarray, int, bool]:
    """(samples, bit depth, colour already sRGB) from a loaded Pillow image."""
    colour_done = False
    if image.mode == "CMYK":
        image, colour_done = _cmyk_to_rgb(image, icc), True
    elif image.mode == "LAB":
        image, colour_done = _icc.lab_to_srgb(image), True
    image = _mode_for_processing(image)
    array = np.asarray(image)
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:
        array = array.astype(np.uint16, copy=False)  # big-endian I;16B -> native
    high = image.mode.startswith("I") or image.mode == "F"
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise Problem(f"unsupported pixel layout (Pillow mode {image.mode})")
    return array, (16 if high else 8), colour_done


def _needs_opencv(fmt: str, image: ImageFile.ImageFile, head: bytes) -> bool:
    """True for colour images with more than 8 bits, which Pillow would cut to 8 bits."""
    if fmt == "PNG":
        return len(head) > 25 and head[24] == 16 and head[25] in (2, 4, 6)
    if fmt == "TIFF":
        tags = getattr(image, "tag_v2", {})
        bits = tags.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) > 8 and int(tags.get(277, 1)) >= 2
    return False


def standard_layout(array: np.ndarray) -> np.ndarray:
    """Any decoder's RGB-ordered output -> HxW, HxWx3 or HxWx4 (grey+alpha -> RGBA)."""
    if array.ndim == 2 and array.size:
        return array
    if array.ndim != 3 or not array.size:
        raise Problem(f"unsupported pixel layout (shape {array.shape})")
    channels = array.shape[2]
    if channels == 1:
        return array[..., 0]
    if channels == 2:
        grey, alpha = array[..., 0], array[..., 1]
        return np.stack([grey, grey, grey, alpha], axis=-1)
    if channels in (3, 4):
        return array
    raise Problem(f"unsupported number of channels ({channels})")


def _opencv_channels(array: np.ndarray) -> np.ndarray:
    """OpenCV's BGR(A) order -> RGB(A); grey and grey+alpha have no order to fix."""
    if array.ndim == 3 and array.shape[2] == 3:
        return np.ascontiguousarray(array[..., ::-1])
    if array.ndim == 3 and array.shape[2] == 4:
        return np.ascontiguousarray(array[..., [2, 1, 0, 3]])
    return standard_layout(array)


def _decode_opencv(fh: BinaryIO, size: tuple[int, int]) -> np.ndarray:
    """Decode a 16-bit colour PNG/TIFF at full precision, as stored (not rotated)."""
    cv2 = _backends.cv2()
    fh.seek(0)
    data = np.frombuffer(tiff_with_orientation_reset(fh.read()), dtype=np.uint8)
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None:
        raise Problem("the image data is damaged or truncated")
    if array.shape[:2] != (size[1], size[0]):
        raise Problem("the decoded size does not match the header")
    if array.dtype not in (np.uint8, np.uint16, np.float32):
        raise Problem(f"unsupported sample type ({array.dtype})")
    return _opencv_channels(array)


def _stored_size(fmt: str, image: ImageFile.ImageFile) -> tuple[int, int]:
    """(width, height) as stored, before any rotation.

    Recent Pillow reports a TIFF's size already turned by its orientation tag (and turns
    the pixels while loading); the tags themselves always give the stored size.
    """
    if fmt == "TIFF":
        tags = image.tag_v2  # type: ignore[attr-defined]
        return int(tags[256]), int(tags[257])
    return image.size


def _pillow_metadata(fmt: str, image: ImageFile.ImageFile) -> tuple[bytes | None, int]:
    """(EXIF block, orientation still to apply) wherever this format keeps EXIF.

    Called after decoding: a Pillow that turns TIFFs itself also drops the tag then, so
    whatever orientation is left here is exactly what remains to be done.
    """
    if fmt == "TIFF":
        exif = _meta.exif_from_tiff_tags(image.getexif())
    else:
        exif = _meta.normalise_exif(_meta.as_bytes(image.info.get("exif")))
    return exif, _meta.orientation_of(_meta.parse_exif(exif))


def _read_pillow(fh: BinaryIO, path: Path, fmt: str, max_pixels: int) -> LoadedImage:
    """JPEG, PNG, TIFF, WebP and BMP."""
    head = read_head(fh)
    with quiet_pillow(str(path)):
        image = _PILLOW_CLASSES[fmt](fh)
        check_pixels(image.size[0], image.size[1], max_pixels)
        icc = _meta.read_icc(image.info)
        if _needs_opencv(fmt, image, head):
            array, bit_depth, colour_done = _decode_opencv(fh, _stored_size(fmt, image)), 16, False
        else:
            image.load()
            array, bit_depth, colour_done = _pillow_array(image, icc)
        exif, orientation = _pillow_metadata(fmt, image)
        info = dict(image.info)
    array = _meta.apply_orientation(array, orientation)
    pixels = to_float(array) if colour_done else to_srgb_float(array, icc)
    return LoadedImage(
        pixels=pixels,
        bit_depth=bit_depth,
        source_path=path,
        format=fmt,
        exif=exif,
        icc_profile=icc,
        xmp=_meta.read_xmp(info),
        dpi=_meta.read_dpi(info),
    )


# --------------------------------------------------------------------------- HEIF and RAW


def _read_heif(fh: BinaryIO, path: Path, max_pixels: int) -> LoadedImage:
    """HEIC/HEIF through pillow-heif; libheif has already applied the stored rotation."""
    heif_file = _backends.heif().open_heif(fh, convert_hdr_to_8bit=False)
    check_pixels(heif_file.size[0], heif_file.size[1], max_pixels)
    array = np.asarray(heif_file)
    if heif_file.has_alpha and heif_file.premultiplied_alpha:
        array = _unpremultiply(array)
    array = standard_layout(array)
    info: dict[str, Any] = heif_file.info
    icc = _meta.read_icc(info)
    return LoadedImage(
        pixels=to_srgb_float(array, icc),
        bit_depth=16 if array.dtype == np.uint16 else 8,
        source_path=path,
        format="HEIF",
        exif=_meta.normalise_exif(_meta.as_bytes(info.get("exif"))),
        icc_profile=icc,
        xmp=_meta.read_xmp(info),
        dpi=None,
    )


def _raw_metadata(data: bytes) -> tuple[bytes | None, bytes | None]:
    """(EXIF, XMP) of a TIFF-based RAW (DNG, CR2, NEF, ARW...); LibRaw does not give them."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None, None
    with quiet_pillow("RAW metadata"):
        ifd0 = _meta.parse_exif(data)
        if ifd0 is None:
            return None, None
        return _meta.exif_from_tiff_tags(ifd0), _meta.as_bytes(ifd0.get(_meta.TAG_XMP))


def _read_raw(fh: BinaryIO, path: Path, max_pixels: int) -> LoadedImage:
    """Camera RAW through LibRaw: camera white balance, sRGB, 16 bits, no auto-brightening.

    Auto-brightening is off on purpose: the model is trained on sensor-like darkness,
    and brightening a night shot before it sees it would defeat the point.
    """
    rawpy = _backends.rawpy()
    fh.seek(0)
    data = fh.read()
    with rawpy.imread(io.BytesIO(data)) as raw:
        check_pixels(raw.sizes.width, raw.sizes.height, max_pixels)
        rgb = raw.postprocess(
            use_camera_wb=True,
            output_bps=16,
            no_auto_bright=True,
            gamma=(2.4, 12.92),
            output_color=rawpy.ColorSpace.sRGB,
        )
    exif, xmp = _raw_metadata(data)
    return LoadedImage(
        pixels=to_float(standard_layout(rgb)),
        bit_depth=16,
        source_path=path,
        format="RAW",
        exif=exif,
        icc_profile=None,
        xmp=xmp,
        dpi=None,
    )


# --------------------------------------------------------------------------- probing


def _probe_pillow(fh: BinaryIO, path: Path, fmt: str) -> tuple[int, int]:
    """Size from the header; orientation only from EXIF that sits in the header too."""
    with quiet_pillow(str(path)):
        image = _PILLOW_CLASSES[fmt](fh)
        width, height = _stored_size(fmt, image)
        if fmt == "TIFF":
            orientation = _meta.orientation_of(image.getexif())
        else:
            raw = _meta.normalise_exif(_meta.as_bytes(image.info.get("exif")))
            orientation = _meta.orientation_of(_meta.parse_exif(raw))
    return _meta.oriented_size(width, height, orientation)


def _probe_raw(fh: BinaryIO) -> tuple[int, int]:
    """Size of the developed RAW: LibRaw flips 5 and 6 turn it by 90 degrees."""
    with _backends.rawpy().imread(fh) as raw:
        width, height, flip = raw.sizes.width, raw.sizes.height, raw.sizes.flip
    return (height, width) if flip in (5, 6) else (width, height)


def probe(path: Path) -> tuple[int, int]:
    """(width, height) of the upright image without decoding pixels."""
    with open_source(path) as fh:
        fmt = sniff_format(fh, path.suffix)
        if fmt == "HEIF":
            return tuple(_backends.heif().open_heif(fh).size)  # type: ignore[return-value]
        if fmt == "RAW":
            return _probe_raw(fh)
        return _probe_pillow(fh, path, fmt)


# --------------------------------------------------------------------------- entry points


def read(path: Path, max_pixels: int) -> LoadedImage:
    """Recognise the content and hand it to the matching decoder."""
    with open_source(path) as fh:
        fmt = sniff_format(fh, path.suffix)
        _note_misnamed(path, fmt)
        if fmt == "HEIF":
            return _read_heif(fh, path, max_pixels)
        if fmt == "RAW":
            return _read_raw(fh, path, max_pixels)
        return _read_pillow(fh, path, fmt, max_pixels)


_SUFFIX_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".heic": "HEIF",
    ".heif": "HEIF",
    ".hif": "HEIF",
}


def _note_misnamed(path: Path, fmt: str) -> None:
    """Log (not fail) when the extension names another format than the content."""
    named = _SUFFIX_FORMATS.get(path.suffix.lower())
    if named is not None and named != fmt:
        _log.info("%s is named like %s but contains %s; reading it as %s", path, named, fmt, fmt)


def _exception_text(exc: BaseException) -> str:
    """The exception's message on one short line (LibRaw's come as bytes)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(exc)
    return " ".join(text.split())[:200]


def describe(exc: BaseException) -> str:
    """One line for a decoder's exception, without its traceback."""
    text = _exception_text(exc)
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        return "not enough memory to decode it"
    if isinstance(exc, Image.DecompressionBombError):
        return f"it is larger than the decoder's own safety limit ({text})"
    if isinstance(exc, (EOFError, struct.error)) or "truncated" in text.lower():
        return "the file is truncated: it ends before the image data does"
    if name.startswith("LibRaw"):
        return f"the RAW file could not be decoded ({name.removeprefix('LibRaw')}: {text})"
    if isinstance(exc, SyntaxError):
        return f"the file is damaged or not a valid image ({text})"
    return f"the image data is damaged or unsupported ({name}: {text})" if text else name


def public_read(path: Any, max_pixels: int) -> LoadedImage:
    """read() with the error contract of the public API."""
    shown = _shown(path)
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
        raise ImageReadError(f"Cannot read {shown}: max_pixels must be a positive integer")
    try:
        return read(Path(path), max_pixels)
    except ImageReadError:
        raise
    except Problem as exc:
        raise ImageReadError(f"Cannot read {shown}: {exc}") from exc
    except Exception as exc:  # every decoder failure becomes the one documented error
        raise ImageReadError(f"Cannot read {shown}: {describe(exc)}") from exc


def public_probe(path: Any) -> tuple[int, int]:
    """probe() with the error contract of the public API."""
    shown = _shown(path)
    try:
        return probe(Path(path))
    except Problem as exc:
        raise ImageReadError(f"Cannot read {shown}: {exc}") from exc
    except Exception as exc:
        raise ImageReadError(f"Cannot read {shown}: {describe(exc)}") from exc


def _shown(path: Any) -> str:
    """The path as a user would recognise it, quoted, on one line."""
    try:
        text = str(Path(path))
    except TypeError:
        text = repr(path)
    return "'" + " ".join(text.splitlines()) + "'"
