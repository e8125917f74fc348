"""Workers for photo files: decoding one (with its thumbnail), and rendering plus writing one.

Both run on the I/O pool, so a slow disk or a big PNG never blocks the window or the engine.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.develop.adjustments import Adjustments
from app.jobs.worker import Worker
from app.photos import Enhanced, as_rgb, make_thumbnail
from app.views.render import render_full
from ultrais_core.errors import ImageWriteError, UltraISError


@dataclass(frozen=True)
class Loaded:
    image: Any  # LoadedImage
    rgb: np.ndarray
    thumbnail: np.ndarray
    stat: tuple[int, int] | None = None  # (size, mtime_ns) of the file just before decoding


def file_stat(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


class LoadWorker(Worker):
    """Decode one file and make its thumbnail; `finished` carries a `Loaded`.

    Whatever the file (empty, truncated, corrupt, misnamed, unsupported, or a header claiming
    more pixels than the reader's cap), `read_image` raises ImageReadError with one line, and
    that line is what `failed` carries.
    """

    memory_message = "Not enough memory to open this photo; close other photos or programs."

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def work(self) -> Loaded:
        from ultrais_core.imageio import read_image  # decoders load on first use

        try:
            stat = file_stat(self.path)
        except OSError:
            stat = None  # read_image says what is wrong with the path
        image = read_image(self.path)
        rgb = as_rgb(image.pixels)
        return Loaded(image, rgb, make_thumbnail(rgb), stat)


class SourceChanged(UltraISError):
    """The photo's file changed after it was decoded: its result no longer matches it."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote; for a batch also the source as the manifest records it."""

    path: Path
    size: int | None = None
    mtime_ns: int | None = None
    hash: str | None = None
    seconds: float = 0.0


class ExportWorker(Worker):
    """Apply the sliders to a full-resolution result and write it; `finished` carries an
    `Exported`.

    The sliders are applied strip by strip into a canvas of the written bit depth (uint8, or
    uint16 for 16-bit PNG/TIFF), which `write_image` takes as it is. `for_manifest`: first
    check that the source file is as it was when decoded (`loaded_stat`, its size and mtime)
    and hash it, for the batch manifest.
    """

    def __init__(
        self,
        image: Any,
        enhanced: Enhanced,
        adjustments: Adjustments,
        target: Path,
        *,
        bit_depth: int,
        quality: int,
        overwrite: bool,
        for_manifest: bool = False,
        loaded_stat: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.for_manifest = for_manifest
        self.loaded_stat = loaded_stat
        self.image = image
        self.enhanced = enhanced
        self.adjustments = adjustments
        self.target = target
        self.bit_depth = bit_depth
        self.quality = quality
        self.overwrite = overwrite

    def work(self) -> Exported:
        from ultrais_core.imageio import write_image

        start = time.perf_counter()
        source = self._check_source() if self.for_manifest else Exported(self.target)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(
                f"Cannot create the folder {self.target.parent}: {exc.strerror or exc}"
            ) from exc

        pixels = render_full(
            self.image.pixels,
            self.enhanced,
            self.adjustments,
            out_dtype=np.uint16 if self.bit_depth == 16 else np.uint8,
            progress=self.report,
            cancel=self.is_cancelled,
        )
        path = write_image(
            self.target,
            pixels,
            source=self.image,
            bit_depth=self.bit_depth,
            quality=self.quality,
            overwrite=self.overwrite,
        )
        seconds = time.perf_counter() - start
        return Exported(Path(path), source.size, source.mtime_ns, source.hash, seconds)

    def _check_source(self) -> Exported:
        from ultrais_core.batch.planner import hash_file

        path = Path(self.image.source_path)
        try:
            stat = file_stat(path)
            if self.loaded_stat is not None and stat != self.loaded_stat:
                raise SourceChanged(
                    f"{path.name} changed on disk after it was opened; it is read again, "
                    "then Retry failed exports it"
                )
            digest = hash_file(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SourceChanged(f"{path.name} can no longer be read: {reason}") from exc
        return Exported(self.target, stat[0], stat[1], digest)
