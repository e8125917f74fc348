"""Writing results: validate, colour-manage back, encode, and publish atomically.

The one promise of this module is that a user never loses a file. The output is encoded
into a temporary file in the destination folder, flushed and fsynced, and only then
renamed to its final name; on any error the temporary file is deleted. The final name
therefore holds either the previous file or the complete new one, even if the process is
killed (a kill can leave a hidden "*.ultrais-tmp" file, never a partial photo). The
source photo is never opened for writing and never replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from ..errors import ImageWriteError, OutputExistsError
from . import _backends, _icc, _meta
from ._containers import OutputMeta, write_png, write_tiff
from ._read import describe, to_float
from ._types import LoadedImage, Problem

_log = logging.getLogger(__name__)

TEMP_SUFFIX = ".ultrais-tmp"

_BASE_WRITE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
_HEIF_WRITE_FORMATS = {".heic": "HEIF", ".heif": "HEIF"}
_DEEP_FORMATS = frozenset({"PNG", "TIFF"})


def write_formats() -> dict[str, str]:
    """Output suffix -> format for this installation."""
    formats = dict(_BASE_WRITE_FORMATS)
    if _backends.heif_writable():
        formats.update(_HEIF_WRITE_FORMATS)
    return formats


# --------------------------------------------------------------------------- validation


def _row_chunks(array: np.ndarray) -> list[slice]:
    """Row slices of about 4 M samples each: full-size temporaries become chunk-size ones."""
    step = max(1, (1 << 22) // max(1, array[0].size))
    return [slice(top, top + step) for top in range(0, len(array), step)]


def _all_finite(array: np.ndarray) -> bool:
    """np.isfinite(...).all() without a full-size boolean temporary."""
    return all(bool(np.isfinite(array[rows]).all()) for rows in _row_chunks(array))


def _validated(pixels: Any) -> np.ndarray:
    """The caller's pixels as HxW, HxWx3 or HxWx4 uint8, uint16 or float (NaN refused)."""
    if not isinstance(pixels, np.ndarray):
        raise Problem(f"pixels must be a numpy array, not {type(pixels).__name__}")
    array = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise Problem(f"pixels must be HxW, HxWx3 or HxWx4, not shape {pixels.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise Problem(f"the image is empty (shape {pixels.shape})")
    if array.dtype in (np.uint8, np.uint16):
        return array
    if array.dtype.kind != "f":
        raise Problem(
            f"unsupported pixel type {array.dtype}; use float32 in [0, 1], uint8 or uint16"
        )
    if not _all_finite(array):
        raise Problem("pixels contain NaN or infinite values")
    return array


def _as_float(array: np.ndarray) -> np.ndarray:
    """Validated pixels -> float32 in [0, 1]."""
    if array.dtype in (np.uint8, np.uint16):
        return to_float(array)
    return np.clip(array, 0.0, 1.0).astype(np.float32, copy=False)


def _check_options(bit_depth: Any, quality: Any, source: Any) -> None:
    """Reject bad keyword arguments with a readable reason."""
    if isinstance(bit_depth, bool) or bit_depth not in (8, 16):
        raise Problem(f"bit_depth must be 8 or 16, not {bit_depth!r}")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise Problem(f"quality must be an integer from 1 to 100, not {quality!r}")
    if source is not None and not isinstance(source, LoadedImage):
        raise Problem("source must be the LoadedImage the pixels came from, or None")


def _same_file(a: Path, b: Path) -> bool:
    """True when two paths name one file (symlinks, hard links, case, '..' included)."""
    with contextlib.suppress(OSError, RuntimeError):
        if a.resolve() == b.resolve():
            return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class _Exists(Problem):
    """The destination exists; the public API raises OutputExistsError for it."""


def _check_destination(dest: Path, source: LoadedImage | None, overwrite: bool) -> None:
    """Refuse the source photo, folders, missing folders and (unless asked) existing files."""
    if not dest.parent.is_dir():
        raise Problem(f"the folder '{dest.parent}' does not exist")
    if dest.is_dir():
        raise Problem("it is a folder")
    if source is not None and _same_file(dest, source.source_path):
        raise Problem("it is the source photo; UltraIS never writes over an original")
    if os.path.lexists(dest) and not overwrite:
        raise _Exists("a file with that name already exists (pass overwrite=True to replace it)")


# --------------------------------------------------------------------------- colour & metadata


def _output_profile(
    pixels: np.ndarray, source: LoadedImage | None
) -> tuple[bytes | None, _icc.MatrixShaper | None]:
    """The ICC profile the output will embed, and the shaper to convert sRGB pixels into it
    (None when they are written as they are).

    When the source profile is matrix/TRC (Display P3, Adobe RGB, sRGB...), the pixels
    are converted back into it and the ORIGINAL profile bytes are embedded, so the output
    carries the photographer's profile and colours stay right in any colour-managed
    viewer. Otherwise (CMYK, LUT-based or unreadable profiles) the pixels stay sRGB and
    an sRGB profile is embedded, which is exactly what they are.
    """
    if source is None or not source.icc_profile:
        return None, None
    profile = _icc.inspect_profile(source.icc_profile)
    shaper = profile.shaper if profile is not None else None
    if shaper is not None and _icc.shaper_fits(shaper, pixels):
        return source.icc_profile, (None if profile is not None and profile.is_srgb else shaper)
    return (_icc.srgb_profile_bytes() if pixels.ndim == 3 else None), None


def _samples(
    array: np.ndarray, fmt: str, depth: int, convert: _icc.MatrixShaper | None
) -> np.ndarray:
    """Validated pixels -> the samples to encode, converted from sRGB with `convert` if given.

    NOTE: uint8/uint16 canvases (what the engine writes) are re-quantised in integers when
    nothing else needs float maths: a 96 MP x4 result then never exists as a float32 copy
    (1.1 GB), only as its samples.
    """
    flatten = fmt == "JPEG" and array.ndim == 3 and array.shape[2] == 4
    if array.dtype.kind == "u" and convert is None and not flatten:
        return _requantise(array, depth)
    floats = _as_float(array)
    if flatten:
        floats = _flatten_alpha(floats)
    if convert is not None:
        floats = _icc.from_srgb(floats, convert)
    return _quantise(floats, depth)


def _output_meta(
    fmt: str, source: LoadedImage | None, icc: bytes | None, size: tuple[int, int]
) -> OutputMeta:
    """EXIF, XMP and DPI from the source, rewritten for an output of this size."""
    if source is None:
        return OutputMeta(icc=icc)
    width, height = size
    if fmt == "JPEG":
        exif = _meta.jpeg_exif_for_output(source.exif, width, height)
    else:
        exif = _meta.exif_for_output(source.exif, width, height, drop_maker_note=False)
    return OutputMeta(
        exif=exif,
        xmp=_meta.xmp_for_output(source.xmp, width, height),
        icc=icc,
        dpi=source.dpi,
    )


def _quantise(pixels: np.ndarray, depth: int) -> np.ndarray:
    """float [0, 1] -> uint8 or uint16, rounding to nearest."""
    scale, dtype = (255.0, np.uint8) if depth == 8 else (65535.0, np.uint16)
    scaled = np.clip(pixels, 0.0, 1.0) * np.float32(scale)
    scaled += np.float32(0.5)  # non-negative, so truncation below rounds to nearest
    return scaled.astype(dtype)


def _requantise(samples: np.ndarray, depth: int) -> np.ndarray:
    """uint8 <-> uint16 exactly as through float with rounding to nearest, in row chunks."""
    dtype = np.uint8 if depth == 8 else np.uint16
    if samples.dtype == dtype:
        return samples
    if dtype == np.uint16:
        return samples.astype(np.uint16) * np.uint16(257)  # 255 * 257 == 65535
    out = np.empty(samples.shape, dtype=np.uint8)
    for rows in _row_chunks(samples):
        wide = samples[rows].astype(np.uint32)
        # round(v * 255 / 65535) == floor((v * 255 + 32767) / 65535), in integers
        out[rows] = (wide * 255 + 32767) // 65535
    return out


def _flatten_alpha(pixels: np.ndarray) -> np.ndarray:
    """RGBA over white, for formats without alpha (JPEG)."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[..., 3:4]
        return pixels[..., :3] * alpha + (1.0 - alpha)
    return pixels


# --------------------------------------------------------------------------- encoders


def _pillow_metadata(meta: OutputMeta) -> dict[str, bytes]:
    """EXIF, ICC and XMP as the save() keywords shared by Pillow's JPEG/WebP and pillow-heif."""
    named = {"exif": meta.exif, "icc_profile": meta.icc, "xmp": meta.xmp}
    return {key: value for key, value in named.items() if value}


def _encode_jpeg(fh: BinaryIO, samples: np.ndarray, meta: OutputMeta, quality: int) -> None:
    """Baseline JPEG through Pillow; no chroma subsampling at high quality."""
    options: dict[str, Any] = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    options.update(_pillow_metadata(meta))
    if meta.dpi:
        options["dpi"] = tuple(round(v) for v in meta.dpi)
    Image.fromarray(samples).save(fh, format="JPEG", **options)


def _encode_webp(fh: BinaryIO, samples: np.ndarray, meta: OutputMeta, quality: int) -> None:
    """Lossy WebP through Pillow (grey is stored as RGB; WebP has no grey mode)."""
    if samples.ndim == 2:
        samples = np.stack([samples] * 3, axis=-1)
    options: dict[str, Any] = {"quality": quality, "method": 4, "exact": True}
    options.update(_pillow_metadata(meta))
    Image.fromarray(samples).save(fh, format="WEBP", **options)


def _encode_png(fh: BinaryIO, samples: np.ndarray, meta: OutputMeta, quality: int) -> None:
    """PNG, 8 or 16 bits (quality does not apply: PNG is lossless)."""
    write_png(fh, samples, meta)


def _encode_tiff(fh: BinaryIO, samples: np.ndarray, meta: OutputMeta, quality: int) -> None:
    """Deflate-compressed TIFF, 8 or 16 bits (lossless)."""
    ifd = _meta.tiff_ifd_for_metadata(meta.exif, meta.xmp, meta.icc, meta.dpi)
    write_tiff(fh, samples, ifd)


def _encode_heif(fh: BinaryIO, samples: np.ndarray, meta: OutputMeta, quality: int) -> None:
    """HEIC through pillow-heif (8 bits)."""
    if samples.ndim == 2:
        samples = np.stack([samples] * 3, axis=-1)
    mode = "RGB" if samples.shape[2] == 3 else "RGBA"
    heif_file = _backends.heif().from_bytes(
        mode=mode, size=(samples.shape[1], samples.shape[0]), data=samples.tobytes()
    )
    options: dict[str, Any] = {"quality": quality, **_pillow_metadata(meta)}
    heif_file.save(fh, **options)


_ENCODERS: dict[str, Callable[[BinaryIO, np.ndarray, OutputMeta, int], None]] = {
    "JPEG": _encode_jpeg,
    "PNG": _encode_png,
    "TIFF": _encode_tiff,
    "WEBP": _encode_webp,
    "HEIF": _encode_heif,
}


# --------------------------------------------------------------------------- atomic publish


def _create_temp(dest: Path) -> tuple[Path, int]:
    """A new, exclusive temporary file next to dest (same filesystem, so rename is atomic).

    os.open with 0o666 lets the user's umask decide the permissions, like any new file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _attempt in range(16):
        temp = dest.with_name(f".{dest.name[:80]}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
    raise Problem("could not create a temporary file in the destination folder")


def _keep_permissions(temp: Path, dest: Path) -> None:
    """A replaced file keeps its permission bits."""
    with contextlib.suppress(OSError):
        os.chmod(temp, stat.S_IMODE(os.stat(dest).st_mode))


def _publish(temp: Path, dest: Path, overwrite: bool) -> None:
    """Give the finished temporary file its final name.

    Without overwrite, a hard link creates the name only if it does not exist (atomic,
    no race with another writer); filesystems without hard links fall back to a check
    followed by a rename.
    """
    if overwrite:
        _keep_permissions(temp, dest)
        os.replace(temp, dest)
        return
    try:
        os.link(temp, dest)
    except FileExistsError as exc:
        raise _Exists("a file with that name appeared while writing; it was left alone") from exc
    except (OSError, NotImplementedError):
        if os.path.lexists(dest):
            raise _Exists(
                "a file with that name appeared while writing; it was left alone"
            ) from None
        os.replace(temp, dest)
        return
    with contextlib.suppress(OSError):
        os.unlink(temp)


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename itself survives a power cut (POSIX only)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(dest: Path, encode: Callable[[BinaryIO], None], overwrite: bool) -> None:
    """Encode into a temporary file, fsync it, then publish it under dest."""
    temp, fd = _create_temp(dest)
    try:
        with os.fdopen(fd, "wb") as fh:
            encode(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _publish(temp, dest, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(dest.parent)


# --------------------------------------------------------------------------- entry point


def write(
    dest: Path,
    pixels: Any,
    source: LoadedImage | None,
    bit_depth: int,
    quality: int,
    overwrite: bool,
) -> Path:
    """Validate everything, prepare samples and metadata, then write atomically."""
    formats = write_formats()
    fmt = formats.get(dest.suffix.lower())
    if fmt is None:
        choices = ", ".join(sorted(formats))
        raise Problem(f"cannot write {dest.suffix or 'files without an extension'}; use {choices}")
    _check_options(bit_depth, quality, source)
    array = _validated(pixels)
    _check_destination(dest, source, overwrite)
    icc, convert = _output_profile(array, source)
    samples = _samples(array, fmt, bit_depth if fmt in _DEEP_FORMATS else 8, convert)
    with _meta.quiet_pillow(str(dest)):
        meta = _output_meta(fmt, source, icc, (samples.shape[1], samples.shape[0]))
    encoder = _ENCODERS[fmt]
    atomic_write(dest, lambda fh: encoder(fh, samples, meta, quality), overwrite)
    return dest


def public_write(
    path: Any,
    pixels: Any,
    source: LoadedImage | None,
    bit_depth: int,
    quality: int,
    overwrite: bool,
) -> Path:
    """write() with the error contract of the public API."""
    try:
        dest = Path(path).absolute()
    except TypeError:
        raise ImageWriteError(f"Cannot write {path!r}: not a file path") from None
    shown = "'" + " ".join(str(dest).splitlines()) + "'"
    try:
        return write(dest, pixels, source, bit_depth, quality, overwrite)
    except _Exists as exc:
        raise OutputExistsError(f"Cannot write {shown}: {exc}", dest) from exc
    except Problem as exc:
        raise ImageWriteError(f"Cannot write {shown}: {exc}") from exc
    except MemoryError as exc:
        raise ImageWriteError(f"Cannot write {shown}: not enough memory") from exc
    except OSError as exc:
        reason = exc.strerror or describe(exc)
        raise ImageWriteError(f"Cannot write {shown}: {reason}") from exc
    except Exception as exc:  # every encoder failure becomes the one documented error
        raise ImageWriteError(f"Cannot write {shown}: {describe_write(exc)}") from exc


def describe_write(exc: BaseException) -> str:
    """One line for an encoder's exception."""
    text = " ".join(str(exc).split())[:200]
    return f"the encoder failed ({type(exc).__name__}: {text})"
