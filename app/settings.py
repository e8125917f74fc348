"""Everything the app remembers, as one typed, versioned object persisted as JSON; no Qt.

The file lives in the user's config folder; `ULTRAIS_SETTINGS` (or an explicit path) redirects
it, which is how tests keep their hands off a real user's settings. Loading never fails: a
missing, corrupt or foreign file gives defaults, and a bad value resets just that field.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.export.export_options import DEFAULT_PATTERN, FORMAT_BY_KEY, ExportOptions

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
ENV_VAR = "ULTRAIS_SETTINGS"
MAX_RECENT = 10

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
SCALES = (1, 2, 4)
VIEW_MODES = ("compare", "scales")


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    # Engine
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None  # None: the engine picks
    # Viewing
    scale: int = 2
    view_mode: str = "compare"
    first_run: bool = True
    cache_budget_mb: int = 4096
    # Output defaults
    output_format: str = "jpeg"
    jpeg_quality: int = 92
    output_folder: str = ""  # empty: next to each original
    name_pattern: str = DEFAULT_PATTERN
    batch_format: str = "png"  # Export all: jpg, png or tif, as the batch command writes them
    batch_folder: str = ""  # Export all's output folder
    # History and window
    recent_files: list[str] = field(default_factory=list)
    last_open_folder: str = ""
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState()

    def export_options(self, scale: int | None = None) -> ExportOptions:
        return ExportOptions(
            format=self.output_format,
            quality=self.jpeg_quality,
            folder=self.output_folder,
            pattern=self.name_pattern,
            scale=self.scale if scale is None else scale,
        )

    def add_recent(self, path: str | Path) -> None:
        text = str(path)
        self.recent_files = [text, *[p for p in self.recent_files if p != text]][:MAX_RECENT]


# One check per field: a hand-edited or older file must not put a wrong type into the app.
_VALIDATORS: dict[str, Any] = {
    "version": lambda v: isinstance(v, int),
    "device": lambda v: v in DEVICES,
    "precision": lambda v: v in PRECISIONS,
    "tile": lambda v: v is None or (_is_int(v) and 64 <= v <= 8192),
    "scale": lambda v: v in SCALES,
    "view_mode": lambda v: v in VIEW_MODES,
    "first_run": lambda v: isinstance(v, bool),
    "cache_budget_mb": lambda v: _is_int(v) and 256 <= v <= 1 << 20,
    "output_format": lambda v: v in FORMAT_BY_KEY,
    "jpeg_quality": lambda v: _is_int(v) and 1 <= v <= 100,
    "output_folder": lambda v: isinstance(v, str),
    "name_pattern": lambda v: isinstance(v, str) and bool(v.strip()),
    "batch_format": lambda v: v in ("jpg", "png", "tif"),
    "batch_folder": lambda v: isinstance(v, str),
    "recent_files": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    "last_open_folder": lambda v: isinstance(v, str),
    "window_geometry": lambda v: isinstance(v, str),
    "window_state": lambda v: isinstance(v, str),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def default_path() -> Path:
    """$ULTRAIS_SETTINGS, else the platform's per-user config folder."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "UltraIS" / "settings.json"


def load(path: Path | None = None) -> Settings:
    path = path or default_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings %s unreadable (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    return from_dict(raw)


def from_dict(raw: dict[str, Any]) -> Settings:
    raw = _migrate(dict(raw))
    settings = Settings()
    for f in fields(Settings):
        if f.name not in raw or f.name == "version":
            continue
        value = raw[f.name]
        if _VALIDATORS[f.name](value):
            setattr(settings, f.name, list(value) if isinstance(value, list) else value)
        else:
            log.warning("settings: ignoring bad value for %s: %r", f.name, value)
    settings.recent_files = settings.recent_files[:MAX_RECENT]
    return settings


def _migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file up to SETTINGS_VERSION; nothing to do yet at version 1."""
    version = raw.get("version", SETTINGS_VERSION)
    if not _is_int(version) or version > SETTINGS_VERSION:
        # Written by a newer app: read what we recognise and leave the rest alone.
        log.info("settings version %r is newer than %d", version, SETTINGS_VERSION)
    return raw


def save(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    path = path or default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(settings)
    data["version"] = SETTINGS_VERSION
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
