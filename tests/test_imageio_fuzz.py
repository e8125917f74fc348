"""Property-based fuzzing of ultrais_core.imageio.

Reading: random bytes and mutated valid files (every format the loader knows, made here)
either load as a well-formed LoadedImage or raise ImageReadError, never anything else.
Writing: random arrays and options either produce a readable file or raise
ImageWriteError, and in both cases leave no partial or temporary file behind.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from ultrais_core.errors import ImageReadError, ImageWriteError
from ultrais_core.imageio import LoadedImage, probe_image, read_image, write_image

SUFFIXES = [".jpg", ".png", ".tif", ".webp", ".bmp", ".heic", ".dng", ".nef", ".cr3", ".bin"]

FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("ULTRAIS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def _gradient(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], -1
    ).astype(np.uint8)


def _encode(fmt: str, image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _seed_files() -> dict[str, bytes]:
    """Small valid files of every kind, each a starting point for mutations."""
    rgb = Image.fromarray(_gradient(12, 16))
    exif = Image.Exif()
    exif[0x0112] = 6
    seeds = {
        "jpeg": _encode("JPEG", rgb, quality=80, exif=exif.tobytes()),
        "png": _encode("PNG", rgb),
        "png16": _encode("PNG", Image.fromarray(_gradient(12, 16)[..., 0].astype(np.uint16) * 257)),
        "palette": _encode("PNG", rgb.convert("P"), transparency=0),
        "tiff": _encode("TIFF", rgb, compression="tiff_lzw"),
        "webp": _encode("WEBP", rgb, quality=70),
        "bmp": _encode("BMP", rgb),
        "cmyk": _encode("JPEG", rgb.convert("CMYK")),
    }
    import cv2

    ok, png16 = cv2.imencode(".png", _gradient(12, 16).astype(np.uint16) * 257)
    if ok:
        seeds["png16rgb"] = png16.tobytes()
    try:
        import pillow_heif

        heif = pillow_heif.from_bytes(mode="RGB", size=(16, 12), data=_gradient(12, 16).tobytes())
        buffer = io.BytesIO()
        heif.save(buffer, quality=60)
        seeds["heic"] = buffer.getvalue()
    except ImportError:
        pass
    try:
        import tifffile

        buffer = io.BytesIO()
        cfa = (_gradient(32, 32)[..., 0].astype(np.uint16) * 8) + 64  # LibRaw wants >= 22 px
        tags = [
            (50706, "B", 4, (1, 4, 0, 0), True),
            (50707, "B", 4, (1, 1, 0, 0), True),
            (50708, "s", 0, "Fuzz Cam", True),
            (33421, "H", 2, (2, 2), True),
            (33422, "B", 4, (0, 1, 1, 2), True),
            (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True),
            (50717, "H", 1, 4095, True),
        ]
        tifffile.imwrite(buffer, cfa, photometric=32803, extratags=tags, metadata=None)
        seeds["dng"] = buffer.getvalue()
    except ImportError:
        pass
    return seeds


SEEDS = _seed_files()


def _check_loaded(image: LoadedImage) -> None:
    """What every successful read must look like, whatever the input was."""
    pixels = image.pixels
    assert pixels.dtype == np.float32
    assert pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))
    assert pixels.size > 0 and np.isfinite(pixels).all()
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    assert image.bit_depth in (8, 16)
    assert image.format in {"JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF", "RAW"}


def _read_only_clean_errors(data: bytes, suffix: str) -> None:
    """Load or refuse with ImageReadError; no other exception and no warning escapes."""
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("error")
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            _check_loaded(read_image(path, max_pixels=4_000_000))
        except ImageReadError as error:
            assert "\n" not in str(error) and path.name in str(error)
        try:
            width, height = probe_image(path)
            assert width > 0 and height > 0
        except ImageReadError:
            pass


@FUZZ_SETTINGS
@given(data=st.binary(min_size=0, max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_raise_only_image_read_error(data: bytes, suffix: str) -> None:
    _read_only_clean_errors(data, suffix)


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid seed with bytes flipped, cut, inserted or overwritten."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "stamp", "zero_run"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif action == "stamp":  # big numbers where sizes and offsets live
            data[position : position + 4] = draw(
                st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"])
            )
        else:
            data[position : position + 32] = bytes(min(32, len(data) - position))
        if not data:
            break
    suffix = draw(st.sampled_from(SUFFIXES))
    return bytes(data), suffix


@FUZZ_SETTINGS
@given(case=mutated_files())
def test_mutated_files_raise_only_image_read_error(case: tuple[bytes, str]) -> None:
    data, suffix = case
    _read_only_clean_errors(data, suffix)


def test_every_seed_is_readable() -> None:
    """The fuzz seeds themselves are valid, so mutations start from real files."""
    for name, data in SEEDS.items():
        suffix = ".dng" if name == "dng" else ".img"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"seed{suffix}"
            path.write_bytes(data)
            _check_loaded(read_image(path))


_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@FUZZ_SETTINGS
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(_SRGB_PROFILE) - 1), st.integers(1, 255)), max_size=8
    ),
    grey=st.booleans(),
)
def test_damaged_icc_profiles_never_produce_bad_pixels(
    flips: list[tuple[int, int]], grey: bool
) -> None:
    """A profile with random bytes changed: ignored, converted, or the read refused; no NaN."""
    profile = bytearray(_SRGB_PROFILE)
    for position, mask in flips:
        profile[position] ^= mask
    pixels = _gradient(12, 16)
    image = Image.fromarray(pixels[..., 0] if grey else pixels)
    data = _encode("PNG", image, icc_profile=bytes(profile))
    _read_only_clean_errors(data, ".png")


_DTYPES = [np.float32, np.float64, np.float16, np.uint8, np.uint16, np.int16, np.int32, np.bool_]


@st.composite
def write_requests(draw: st.DrawFn) -> dict:
    """Arrays of many shapes and types (valid or not), values and options."""
    height = draw(st.integers(0, 12))
    width = draw(st.integers(0, 12))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4, 5]))
    shape = (height, width) if channels is None else (height, width, channels)
    dtype = draw(st.sampled_from(_DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.random(shape) * draw(st.sampled_from([1.0, 2.0, 255.0, 65535.0])) - draw(
        st.sampled_from([0.0, 0.5])
    )
    if draw(st.booleans()) and values.size:
        values.flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e30]))
    with np.errstate(invalid="ignore", over="ignore"):
        pixels = values.astype(dtype)
    return {
        "pixels": pixels,
        "suffix": draw(st.sampled_from([".png", ".tif", ".jpg", ".webp", ".heic", ".gif", ""])),
        "bit_depth": draw(st.sampled_from([8, 16, 12, 0])),
        "quality": draw(st.sampled_from([95, 1, 100, 0, 101])),
    }


@FUZZ_SETTINGS
@given(request=write_requests())
def test_write_never_leaves_partial_files(request: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"out{request['suffix']}"
        try:
            written = write_image(
                target,
                request["pixels"],
                bit_depth=request["bit_depth"],
                quality=request["quality"],
            )
        except ImageWriteError as error:
            assert "\n" not in str(error)
            assert list(Path(folder).iterdir()) == []
            return
        assert written == target
        assert [p.name for p in Path(folder).iterdir()] == [target.name]
        _check_loaded(read_image(written))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_truncation_of_each_seed(name: str) -> None:
    """Exhaustive, deterministic companion to the random cuts: many cut points per seed."""
    data = SEEDS[name]
    step = max(1, len(data) // 40)
    for cut in range(1, len(data), step):
        _read_only_clean_errors(data[:cut], ".img")
