"""Image files of the training and evaluation data, read as stored pixels.

Training and evaluation must see a file's pixels the same way, so both read through here. Unlike
:mod:`ultrais_core.imageio` (for users' photos) nothing is turned by EXIF or converted by an ICC
profile: the data sets are plain sRGB files whose low and high frames must stay pixel-aligned.
No torch here, so evaluation stays importable without it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ultrais_core.errors import UltraISError


def decode_rgb8(data: bytes | np.ndarray, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes to uint8 RGB (H x W x 3).

    16-bit files are reduced to 8 bits: the training targets and every input are 8-bit, and
    uint8 keeps the in-memory training cache four times smaller than float32.
    """
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    # OpenCV asserts (cv2.error) on an empty buffer instead of returning None.
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH) if buf.size else None
    if img is None:
        raise UltraISError(f"could not decode {name}")
    if img.dtype == np.uint16:
        img = np.round(img / 257.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise UltraISError(f"unsupported pixel type {img.dtype} in {name}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_rgb8(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 RGB."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UltraISError(f"could not read {path}: {exc.strerror or exc}") from exc
    return decode_rgb8(data, str(path))


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as float32 RGB in [0, 1]."""
    return to_float(read_rgb8(path))


def to_float(img8: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1]."""
    return img8.astype(np.float32) / np.float32(255.0)
