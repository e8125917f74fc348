"""Colour management: bring pixels from an embedded ICC profile to sRGB and back.

Why this exists instead of calling Pillow's ImageCms everywhere: ImageCms only transforms
8-bit Pillow images, and Pillow cannot even hold 16-bit RGB. Converting a 16-bit photo
through 8 bits would throw away the precision the issue asks us to keep, and for
ultra-dark photos even 8-bit -> 8-bit conversion crushes the few shadow levels there
are. Nearly every RGB or grey profile a camera or editor embeds (Display P3, Adobe RGB,
ProPhoto, sRGB, Gray Gamma 2.2...) is a "matrix/TRC" profile: three tone curves and a
3x3 matrix. Those we evaluate ourselves in float32, exactly, in both directions. Anything
else (CMYK, LUT-based profiles) goes through LittleCMS via ImageCms in 8 bits, which is
what those profiles need anyway.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

_log = logging.getLogger(__name__)

# Rows are converted in slices of about this many pixels so a 100-megapixel photo never
# needs several full-size float temporaries at once.
_CHUNK_PIXELS = 1 << 20

_LUT_TAGS = (b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2", b"D2B0", b"B2D0")


@dataclass(frozen=True)
class Piecewise:
    """y = s * max(a*x + b, 0)^g + e where x >= d, else c*x + f.

    Every curve here has this shape: all ICC parametric curves, their inverses, and the
    sRGB curve both ways. One evaluator, working in place on float32, keeps the cost of
    converting a 24-megapixel photo to a couple of passes per channel.
    """

    s: float
    a: float
    b: float
    g: float
    e: float
    d: float
    c: float
    f: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate on float32 samples; returns a new float32 array."""
        x = np.asarray(x, dtype=np.float32)
        low = x < self.d
        low_values = x[low] * np.float32(self.c) + np.float32(self.f)
        out = x * np.float32(self.a)
        out += np.float32(self.b)
        np.maximum(out, np.float32(0.0), out=out)
        np.power(out, np.float32(self.g), out=out)
        out *= np.float32(self.s)
        out += np.float32(self.e)
        out[low] = low_values
        return out

    def inverted(self) -> Piecewise:
        """The inverse function (both pieces are monotone, so it exists on the range)."""
        if self.a == 0 or self.s == 0:
            raise ValueError("flat tone curve")
        y_at_d = self.s * max(self.a * self.d + self.b, 0.0) ** self.g + self.e
        c, f = (1.0 / self.c, -self.f / self.c) if self.c else (0.0, 0.0)
        return Piecewise(
            s=(1.0 / self.s) ** (1.0 / self.g) / self.a,
            a=1.0,
            b=-self.e,
            g=1.0 / self.g,
            e=-self.b / self.a,
            d=y_at_d if self.d > 0 else -np.inf,
            c=c,
            f=f,
        )


SRGB_DECODE = Piecewise(1.0, 1 / 1.055, 0.055 / 1.055, 2.4, 0.0, 0.04045, 1 / 12.92, 0.0)
SRGB_ENCODE = Piecewise(1.055, 1.0, 0.0, 1 / 2.4, -0.055, 0.0031308, 12.92, 0.0)


@dataclass(frozen=True)
class ToneCurve:
    """One ICC tone curve (device value -> linear light), invertible.

    A parametric curve is kept as a Piecewise so both directions are exact; a sampled
    curve is kept as its table and inverted by interpolation on the monotone envelope.
    """

    piecewise: Piecewise | None = None
    table: np.ndarray | None = None  # samples on [0, 1], already scaled to [0, 1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Device-encoded value -> linear light."""
        if self.piecewise is not None:
            return self.piecewise(x)
        assert self.table is not None
        grid = np.linspace(0.0, 1.0, self.table.size, dtype=np.float32)
        return np.interp(x, grid, self.table).astype(np.float32)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Linear light -> device-encoded value (clipped to [0, 1])."""
        if self.piecewise is not None:
            out = self.piecewise.inverted()(y)
        else:
            assert self.table is not None
            grid = np.linspace(0.0, 1.0, self.table.size, dtype=np.float32)
            envelope = np.maximum.accumulate(self.table)
            out = np.interp(y, envelope, grid).astype(np.float32)
        return np.clip(out, 0.0, 1.0, out=out)

    def samples(self, n: int = 256) -> np.ndarray:
        """The curve evaluated on an even grid, used to compare profiles."""
        return self.forward(np.linspace(0.0, 1.0, n, dtype=np.float32))


@dataclass(frozen=True)
class MatrixShaper:
    """A matrix/TRC profile: per-channel tone curves then a 3x3 matrix to PCS XYZ (D50)."""

    curves: tuple[ToneCurve, ...]  # three for RGB, one for grey
    to_xyz: np.ndarray | None  # 3x3, columns are the red, green and blue colorants

    @property
    def is_gray(self) -> bool:
        """True for a grey (kTRC) profile."""
        return self.to_xyz is None


@dataclass(frozen=True)
class ProfileInfo:
    """What we learnt from an embedded profile."""

    colour_space: str  # "RGB", "GRAY", "CMYK", "LAB", ... (ICC header, stripped)
    shaper: MatrixShaper | None  # set when we can transform it exactly in float
    is_srgb: bool  # equivalent to sRGB: no conversion needed in either direction


# --------------------------------------------------------------------------- parsing


def _s15(raw: bytes) -> float:
    """ICC s15Fixed16Number."""
    return struct.unpack(">i", raw)[0] / 65536.0


def _tag_table(icc: bytes) -> dict[bytes, bytes]:
    """Tag signature -> tag bytes; raises ValueError on a malformed table."""
    if len(icc) < 132 or icc[36:40] != b"acsp":
        raise ValueError("not an ICC profile")
    (count,) = struct.unpack(">I", icc[128:132])
    if count > 1000 or 132 + 12 * count > len(icc):
        raise ValueError("bad ICC tag table")
    tags: dict[bytes, bytes] = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
        if offset + size > len(icc):
            raise ValueError(f"ICC tag {sig!r} runs past the end of the profile")
        tags[sig] = icc[offset : offset + size]
    return tags


def _parse_xyz(tag: bytes) -> np.ndarray:
    """An XYZType tag -> (X, Y, Z)."""
    if tag[:4] != b"XYZ " or len(tag) < 20:
        raise ValueError("bad XYZ tag")
    return np.array([_s15(tag[8 + 4 * i : 12 + 4 * i]) for i in range(3)], dtype=np.float64)


_PARA_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


def _para_to_piecewise(kind: int, p: list[float]) -> Piecewise:
    """Any ICC parametric curve (types 0-4) as a Piecewise."""
    if kind == 0:
        return Piecewise(1.0, 1.0, 0.0, p[0], 0.0, -np.inf, 0.0, 0.0)
    if kind in (1, 2):
        g, a, b = p[0], p[1], p[2]
        offset = p[3] if kind == 2 else 0.0
        d = -b / a if a else 0.0
        return Piecewise(1.0, a, b, g, offset, d, 0.0, offset)
    if kind == 3:
        return Piecewise(1.0, p[1], p[2], p[0], 0.0, p[4], p[3], 0.0)
    return Piecewise(1.0, p[1], p[2], p[0], p[5], p[4], p[3], p[6])


def _parse_curve(tag: bytes) -> ToneCurve:
    """A curveType ('curv') or parametricCurveType ('para') tag."""
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack(">I", tag[8:12])
        if n == 0:
            return ToneCurve(piecewise=_para_to_piecewise(0, [1.0]))
        if n == 1:
            gamma = struct.unpack(">H", tag[12:14])[0] / 256.0
            if gamma <= 0:
                raise ValueError("non-positive curve exponent")
            return ToneCurve(piecewise=_para_to_piecewise(0, [gamma]))
        if len(tag) < 12 + 2 * n:
            raise ValueError("short curv table")
        table = np.frombuffer(tag[12 : 12 + 2 * n], dtype=">u2").astype(np.float32) / 65535.0
        return ToneCurve(table=table)
    if kind == b"para":
        (ftype,) = struct.unpack(">H", tag[8:10])
        count = _PARA_COUNTS.get(ftype)
        if count is None or len(tag) < 12 + 4 * count:
            raise ValueError(f"unsupported parametric curve type {ftype}")
        params = [_s15(tag[12 + 4 * i : 16 + 4 * i]) for i in range(count)]
        if params[0] <= 0 or params[0] > 100 or (ftype > 0 and params[1] == 0):
            raise ValueError("degenerate parametric curve")
        return ToneCurve(piecewise=_para_to_piecewise(ftype, params))
    raise ValueError(f"unsupported curve type {kind!r}")


def _checked(curve: ToneCurve) -> ToneCurve:
    """Refuse curves that a damaged profile can encode but no real device has.

    A real tone curve is finite and non-decreasing on [0, 1] and ends near 1; anything
    else would turn into NaN or wild values, so such a profile is ignored instead.
    """
    with np.errstate(all="ignore"):
        samples = curve.samples(1024)
    sane = (
        bool(np.isfinite(samples).all())
        and float(samples.min()) >= -1e-3
        and 0.5 <= float(samples[-1]) <= 1.5
        and float(np.diff(samples).min()) >= -1e-3
    )
    if not sane:
        raise ValueError("implausible tone curve")
    return curve


def _parse_shaper(colour_space: str, tags: dict[bytes, bytes]) -> MatrixShaper | None:
    """A MatrixShaper when the profile is a pure matrix/TRC one, else None."""
    if any(sig in tags for sig in _LUT_TAGS):
        return None  # LittleCMS would prefer the LUTs; so do we, to agree with it
    if colour_space == "GRAY" and b"kTRC" in tags:
        return MatrixShaper(curves=(_checked(_parse_curve(tags[b"kTRC"])),), to_xyz=None)
    needed = (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")
    if colour_space != "RGB" or not all(sig in tags for sig in needed):
        return None
    columns = [_parse_xyz(tags[sig]) for sig in (b"rXYZ", b"gXYZ", b"bXYZ")]
    matrix = np.stack(columns, axis=1)
    if abs(np.linalg.det(matrix)) < 1e-6 or np.abs(matrix).max() > 10:
        raise ValueError("implausible colorant matrix")
    curves = tuple(_checked(_parse_curve(tags[sig])) for sig in (b"rTRC", b"gTRC", b"bTRC"))
    return MatrixShaper(curves=curves, to_xyz=matrix)


@lru_cache(maxsize=1)
def srgb_profile_bytes() -> bytes:
    """LittleCMS's built-in sRGB profile, embedded when pixels stay in sRGB."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@lru_cache(maxsize=1)
def _srgb_shaper() -> MatrixShaper:
    """sRGB as a MatrixShaper, parsed from the same bytes LittleCMS uses."""
    shaper = _parse_shaper("RGB", _tag_table(srgb_profile_bytes()))
    assert shaper is not None and shaper.to_xyz is not None
    return shaper


def _matches_srgb(shaper: MatrixShaper) -> bool:
    """True when converting through this profile would be an identity (to 8/16-bit noise)."""
    reference = srgb_encode_inverse(np.linspace(0.0, 1.0, 256, dtype=np.float32))
    if any(np.max(np.abs(c.samples() - reference)) > 2e-3 for c in shaper.curves):
        return False
    if shaper.is_gray:
        return True
    assert shaper.to_xyz is not None
    return bool(np.max(np.abs(shaper.to_xyz - _srgb_shaper().to_xyz)) < 2e-3)


@lru_cache(maxsize=16)
def inspect_profile(icc: bytes) -> ProfileInfo | None:
    """Parse an embedded profile; None when it is unreadable (it is then ignored)."""
    try:
        tags = _tag_table(icc)
        colour_space = icc[16:20].decode("ascii", "replace").strip().upper()
        shaper = _parse_shaper(colour_space, tags)
        if shaper is None:
            ImageCms.ImageCmsProfile(io.BytesIO(icc))  # must at least load in LittleCMS
    except (ValueError, struct.error, OSError, ImageCms.PyCMSError) as exc:
        _log.warning("Ignoring an unreadable ICC profile: %s", exc)
        return None
    is_srgb = shaper is not None and _matches_srgb(shaper)
    return ProfileInfo(colour_space=colour_space, shaper=shaper, is_srgb=is_srgb)


# --------------------------------------------------------------------------- sRGB curve


def srgb_encode_inverse(v: np.ndarray) -> np.ndarray:
    """sRGB-encoded -> linear (IEC 61966-2-1)."""
    return SRGB_DECODE(v)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear -> sRGB-encoded, clipped to [0, 1]."""
    out = SRGB_ENCODE(np.clip(linear, 0.0, 1.0))
    return np.clip(out, 0.0, 1.0, out=out)


# --------------------------------------------------------------------------- float transforms


def _row_slices(height: int, width: int) -> list[slice]:
    """Row ranges of about _CHUNK_PIXELS pixels each."""
    rows = max(1, _CHUNK_PIXELS // max(1, width))
    return [slice(top, min(height, top + rows)) for top in range(0, height, rows)]


def _samples_to_float(samples: np.ndarray) -> np.ndarray:
    """Integer or float samples -> float32 in [0, 1]."""
    if samples.dtype.kind == "u":
        return samples.astype(np.float32) / np.float32(np.iinfo(samples.dtype).max)
    return np.clip(samples, 0.0, 1.0).astype(np.float32, copy=False)


def _linearise(samples: np.ndarray, curve: ToneCurve, lut: np.ndarray | None) -> np.ndarray:
    """One channel of device samples -> linear light (a table lookup for integer codes)."""
    if lut is not None:
        return lut[samples]
    return curve.forward(_samples_to_float(samples))


def _code_luts(dtype: np.dtype, shaper: MatrixShaper) -> list[np.ndarray | None]:
    """Per-channel tables for every integer code: 256 or 65536 evaluations, not millions."""
    if dtype not in (np.uint8, np.uint16):
        return [None] * len(shaper.curves)
    top = np.iinfo(dtype).max
    codes = np.arange(top + 1, dtype=np.float32) / np.float32(top)
    return [curve.forward(codes) for curve in shaper.curves]


def _encode_into(linear: np.ndarray, out: np.ndarray) -> None:
    """sRGB-encode linear values into out."""
    out[...] = srgb_encode(linear)


def _mix(channels: list[np.ndarray], row: np.ndarray) -> np.ndarray:
    """One output channel of a 3x3 matrix product, without an (N, 3) temporary."""
    mixed = channels[0] * np.float32(row[0])
    mixed += channels[1] * np.float32(row[1])
    mixed += channels[2] * np.float32(row[2])
    return mixed


def to_srgb(array: np.ndarray, shaper: MatrixShaper) -> np.ndarray:
    """Device samples (uint8, uint16 or float; HxW, HxWx3, HxWx4) -> float32 sRGB.

    Works through the image in slices of rows and one channel at a time, so the only
    full-size allocation is the result; integer inputs are linearised by table lookup.
    """
    out = np.empty(array.shape, dtype=np.float32)
    luts = _code_luts(array.dtype, shaper)
    matrix = np.linalg.inv(_srgb_shaper().to_xyz) @ shaper.to_xyz if not shaper.is_gray else None
    for rows in _row_slices(array.shape[0], array.shape[1]):
        block = array[rows]
        if matrix is None:
            _encode_into(_linearise(block, shaper.curves[0], luts[0]), out[rows])
            continue
        linear = [_linearise(block[..., i], shaper.curves[i], luts[i]) for i in range(3)]
        scratch = np.empty(block.shape[:2], dtype=np.float32)
        for channel in range(3):
            _encode_into(_mix(linear, matrix[channel]), scratch)
            out[rows, :, channel] = scratch
        if array.shape[2] == 4:
            out[rows, :, 3] = _samples_to_float(block[..., 3])
    return out


def from_srgb(pixels: np.ndarray, shaper: MatrixShaper) -> np.ndarray:
    """Float sRGB pixels -> float device values of the profile (alpha untouched)."""
    out = np.array(pixels, dtype=np.float32, copy=True)
    matrix = np.linalg.inv(shaper.to_xyz) @ _srgb_shaper().to_xyz if not shaper.is_gray else None
    for rows in _row_slices(pixels.shape[0], pixels.shape[1]):
        if matrix is None:
            out[rows] = shaper.curves[0].inverse(srgb_encode_inverse(out[rows]))
            continue
        linear = [srgb_encode_inverse(out[rows, :, i]) for i in range(3)]
        for channel in range(3):
            out[rows, :, channel] = shaper.curves[channel].inverse(_mix(linear, matrix[channel]))
    return out


def shaper_fits(shaper: MatrixShaper, pixels: np.ndarray) -> bool:
    """A grey profile only fits HxW pixels and an RGB profile only colour ones."""
    return shaper.is_gray == (pixels.ndim == 2)


# --------------------------------------------------------------------------- LittleCMS path


def lcms_to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """8-bit fallback for profiles we cannot evaluate in float (CMYK, LUT-based).

    Returns an "RGB" or "RGBA" image (alpha carried over untouched); raises
    ImageCms.PyCMSError or ValueError when the profile does not fit the image.
    """
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    colour_mode = {"RGBA": "RGB", "LA": "L"}.get(image.mode, image.mode)
    base = image.convert(colour_mode) if colour_mode != image.mode else image
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    target = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    out = ImageCms.profileToProfile(
        base, source, target, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB"
    )
    assert out is not None
    if alpha is not None:
        out.putalpha(alpha)
    return out


def lab_to_srgb(image: Image.Image) -> Image.Image:
    """A Pillow "LAB" image (CIELAB D50) -> sRGB."""
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    out = ImageCms.profileToProfile(image, lab, srgb, outputMode="RGB")
    assert out is not None
    return out
