"""What an export writes and where: formats, the name pattern, target paths; no Qt.

`{name}` in the pattern is the photo's stem, with its extension added when another photo in
its folder shares the stem (IMG_0001_cr2 beside IMG_0001_jpg): the naming rule of
`ultrais_core.naming`, so Export names a photo as Export all and the batch command do.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from ultrais_core.batch.planner import scan
from ultrais_core.naming import unique_stems

DEFAULT_PATTERN = "{name}_ultrais_x{scale}"
PATTERN_FIELDS = ("name", "scale", "format")


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    suffix: str
    bit_depth: int
    has_quality: bool


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("jpeg", "JPEG", ".jpg", 8, True),
    ExportFormat("png", "PNG (8-bit, lossless)", ".png", 8, False),
    ExportFormat("png16", "PNG (16-bit, lossless)", ".png", 16, False),
    ExportFormat("tiff16", "TIFF (16-bit)", ".tif", 16, False),
    ExportFormat("webp", "WebP", ".webp", 8, True),
)
FORMAT_BY_KEY: dict[str, ExportFormat] = {f.key: f for f in FORMATS}
# Export all writes the batch command's formats; the nearest single-export format of each.
BATCH_TO_EXPORT_FORMAT = {"jpg": "jpeg", "png": "png", "tif": "tiff16"}


@dataclass(frozen=True)
class ExportOptions:
    format: str = "jpeg"
    quality: int = 92
    folder: str = ""  # empty: next to each original
    pattern: str = DEFAULT_PATTERN
    scale: int = 2

    @property
    def export_format(self) -> ExportFormat:
        return FORMAT_BY_KEY.get(self.format, FORMATS[0])


class PatternError(ValueError):
    """The name pattern cannot produce a file name; the message says why."""


def check_pattern(pattern: str) -> None:
    """Raise PatternError unless `pattern` uses only known fields and names a file."""
    if not pattern.strip():
        raise PatternError("The name pattern is empty.")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise PatternError(f"The name pattern has unbalanced braces: {exc}.") from exc
    for _literal, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in PATTERN_FIELDS:
            known = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
            raise PatternError(f"Unknown field {{{field_name}}}; use {known}.")
        if spec or conversion:
            raise PatternError(f"Field {{{field_name}}} takes no format options.")
    if any(sep in pattern for sep in ("/", "\\")):
        raise PatternError("The name pattern may not contain a folder separator.")


def output_path(source: Path, options: ExportOptions) -> Path:
    """Where the export of `source` goes under `options` (the pattern must be valid)."""
    fmt = options.export_format
    check_pattern(options.pattern)
    name = export_stem(source)
    stem = options.pattern.format(name=name, scale=options.scale, format=fmt.key)
    stem = _safe_stem(stem) or f"{name}_ultrais"
    folder = Path(options.folder).expanduser() if options.folder else source.parent
    return folder / f"{stem}{fmt.suffix}"


def export_stem(source: Path) -> str:
    """The `{name}` of `source`: its stem, made unique among the photos of its folder."""
    folder = source.parent
    beside = {path.name for path in scan(folder, folder, recursive=False)}
    return unique_stems(beside | {source.name})[source.name]


def is_original(target: Path, source: Path) -> bool:
    """True when writing `target` would replace the photo itself (never allowed)."""
    try:
        if target.exists() and source.exists():
            return target.samefile(source)
    except OSError:
        pass
    return target.resolve() == source.resolve()


def _safe_stem(stem: str) -> str:
    # Characters Windows refuses in names; a photo named "a:b.jpg" on Linux still exports there.
    cleaned = "".join("_" if ch in '<>:"|?*' or ord(ch) < 32 else ch for ch in stem)
    return cleaned.strip().rstrip(".")
