"""Export all as a resumable batch: the GUI's photos mapped onto `ultrais_core.batch`; no Qt.

The batch command keys its manifest (DST/.ultrais-batch.sqlite) by each photo's path relative
to SRC and names each result `<sub-folder>/<stem>_ultrais_x<scale>.<fmt>` under DST (with the
source extension in the stem when photos of one folder share a stem: `ultrais_core.naming`).
The GUI's list of photos maps onto that like this:

* SRC is the deepest folder that holds all of them; photos in its sub-folders make the batch a
  `--recursive` one. The command run on SRC then plans the same keys (and the rest of SRC too,
  which is what "resume this folder" means to it; the GUI only ever touches its own rows).
* Names come from `planner.plan` run on each photo's own folder, so two sources that would
  collide (photo.jpg next to photo.png) get the very names the command gives them, even when
  only one of them is open. Photos the command would not plan (hidden, without a photo
  extension, or inside DST) are refused with a reason: no key could be shared.
* The settings JSON is the command's (`planner.batch_settings`: scale, format, JPEG quality,
  precision, weights hash) and, only when a slider is off its default, the slider values
  under "adjustments". The command applies no sliders: with neutral sliders the two write the
  same thing and each resumes the other; with sliders set, the JSON differs, so each side
  redoes the other's photos (`runner.reconcile` treats a settings change as "redo") and a
  folder never mixes adjusted and unadjusted results under one set of settings.
* Each photo keeps its own scale and sliders (`BatchSpec.photo_settings`): photos that share
  them are planned and reconciled together, each group under its own settings JSON, within
  the one batch (one lock, one manifest).
* Per photo the protocol is the command's driver's (`runner.run_batch` and `runner.drive`):
  the driver lock for the whole batch, stale `running` rows and temporary files cleaned at the
  start, `running` before anything is written, then done or failed through `runner.record`.

Every function here that touches the manifest opens its own connection (sqlite3 connections
belong to the thread that made them) and is meant to run on one worker thread, in order.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.develop.adjustments import Adjustments
from ultrais_core.batch import planner
from ultrais_core.batch.manifest import Manifest, driver_lock, wait_for_old_workers
from ultrais_core.batch.runner import BatchError, BatchOptions, Summary, reconcile, record
from ultrais_core.batch.work import Result, Task

# (batch format, label) as the export-all dialog offers them; 16-bit exactly when the
# source is 16-bit, as the command writes them.
BATCH_FORMATS: tuple[tuple[str, str], ...] = (
    ("jpg", "JPEG"),
    ("png", "PNG (16-bit for 16-bit sources)"),
    ("tif", "TIFF (16-bit for 16-bit sources)"),
)
WORKER_NAME = f"gui/{socket.gethostname()}"


class BatchSetupError(ValueError):
    """The photos or the folder cannot form a batch; one line for the user."""


@dataclass(frozen=True)
class BatchSpec:
    """One export-all batch: what the command line would say, plus the GUI's sliders."""

    src: Path
    dst: Path
    scale: int
    fmt: str
    quality: int = 95
    precision: str = "auto"
    adjustments: Adjustments = field(default_factory=Adjustments)
    recursive: bool = False
    weights: Path | None = None
    # Each photo's own (scale, sliders) by resolved path; photos not in it use the above.
    photo_settings: dict[Path, tuple[int, Adjustments]] = field(default_factory=dict)

    def for_photo(self, path: Path) -> BatchSpec:
        """The batch as it applies to one photo: its own scale and sliders."""
        own = self.photo_settings.get(path.resolve(), (self.scale, self.adjustments))
        return replace(self, scale=own[0], adjustments=own[1], photo_settings={})

    def groups(self, paths: list[Path]) -> list[tuple[BatchSpec, list[Path]]]:
        """The photos split by their (scale, sliders), each group with its spec."""
        found: dict[tuple[int, Adjustments], tuple[BatchSpec, list[Path]]] = {}
        for path in paths:
            spec = self.for_photo(path)
            found.setdefault((spec.scale, spec.adjustments), (spec, []))[1].append(path)
        return list(found.values())

    def is_the_commands(self) -> bool:
        """True when `command()` describes every photo: one scale and neutral sliders."""
        own = [*self.photo_settings.values(), (self.scale, self.adjustments)]
        return all(scale == self.scale and adj.is_identity() for scale, adj in own)

    def settings(self) -> dict:
        settings = planner.batch_settings(
            scale=self.scale,
            fmt=self.fmt,
            weights=self.weights,
            precision=self.precision,
            quality=self.quality,
        )
        if not self.adjustments.is_identity():
            settings["adjustments"] = self.adjustments.as_dict()
        return settings

    def settings_json(self) -> str:
        return planner.settings_json(self.settings())

    def bit_depth(self, source_bit_depth: int) -> int:
        """The command's rule: 16-bit sources stay 16-bit in PNG and TIFF."""
        return 16 if source_bit_depth == 16 and self.fmt in planner.DEEP_FORMATS else 8

    def command(self) -> str:
        """The command line that resumes this batch (or that this batch resumes)."""
        words = ["python", "main.py", "batch", str(self.src), "-o", str(self.dst)]
        words += ["--scale", str(self.scale), "--format", self.fmt]
        if self.recursive:
            words.append("--recursive")
        if self.fmt == "jpg":
            words += ["--quality", str(self.quality)]
        if self.precision != "auto":
            words += ["--precision", self.precision]
        if self.weights is not None:
            words += ["--weights", str(self.weights)]
        return shlex.join(words)

    def options(self, *, overwrite: bool = False, retry_failed: bool = False) -> BatchOptions:
        return BatchOptions(
            src=self.src,
            dst=self.dst,
            scale=self.scale,
            fmt=self.fmt,
            recursive=self.recursive,
            weights=self.weights,
            precision=self.precision,
            quality=self.quality,
            overwrite=overwrite,
            retry_failed=retry_failed,
        )


def source_root(paths: list[Path]) -> Path:
    """The deepest folder holding every photo."""
    if not paths:
        raise BatchSetupError("There are no photos to export.")
    try:
        return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    except ValueError:  # different drives on Windows
        raise BatchSetupError(
            "These photos are on different drives; export each drive's photos on its own."
        ) from None


def make_spec(
    paths: list[Path],
    dst: Path,
    *,
    scale: int,
    fmt: str,
    quality: int,
    precision: str = "auto",
    adjustments: Adjustments | None = None,
    weights: Path | None = None,
    photo_settings: dict[Path, tuple[int, Adjustments]] | None = None,
) -> BatchSpec:
    """The batch for these photos into `dst`; BatchSetupError when they cannot form one."""
    if fmt not in planner.OUTPUT_FORMATS:
        raise BatchSetupError(f"A batch writes {', '.join(planner.OUTPUT_FORMATS)}, not {fmt}.")
    src = source_root(paths)
    dst = Path(dst).expanduser().resolve()
    if dst == src:
        raise BatchSetupError(
            "Choose an output folder other than the photos' own folder "
            f"({src}): the batch mirrors its sub-folders there."
        )
    recursive = any(p.resolve().parent != src for p in paths)
    return BatchSpec(
        src=src,
        dst=dst,
        scale=scale,
        fmt=fmt,
        quality=quality,
        precision=precision,
        adjustments=adjustments or Adjustments(),
        recursive=recursive,
        weights=weights,
        photo_settings={Path(p).resolve(): own for p, own in (photo_settings or {}).items()},
    )


@dataclass
class Planned:
    photos: dict[Path, planner.PlannedPhoto] = field(default_factory=dict)
    refused: dict[Path, str] = field(default_factory=dict)  # path -> why it is not in a batch


def plan_photos(spec: BatchSpec, paths: list[Path]) -> Planned:
    """Each photo's manifest key and output name, as the command on SRC computes them."""
    result = Planned()
    by_folder: dict[Path, list[Path]] = {}
    for path in paths:
        resolved = path.resolve()
        by_folder.setdefault(resolved.parent, []).append(resolved)
    for folder, members in by_folder.items():
        if planner.is_inside(folder, spec.dst):
            for path in members:
                result.refused[path] = "it lies inside the output folder"
            continue
        sub = folder.relative_to(spec.src).as_posix()
        planned = {
            p.source: p
            for p in planner.plan(folder, spec.dst, scale=spec.scale, fmt=spec.fmt, recursive=False)
        }
        for path in members:
            photo = planned.get(path)
            if photo is None:
                result.refused[path] = (
                    "a batch only takes visible files with a photo extension; "
                    "rename it or export it on its own (Export…)"
                )
            else:
                result.photos[path] = _under(photo, sub)
    return result


def _under(photo: planner.PlannedPhoto, sub: str) -> planner.PlannedPhoto:
    if sub in ("", "."):
        return photo
    return replace(photo, rel=f"{sub}/{photo.rel}", output_rel=f"{sub}/{photo.output_rel}")


# --- the manifest (each call on the batch's own worker thread) ------------------------------


def open_batch(spec: BatchSpec) -> contextlib.ExitStack:
    """Take the output folder as the command's driver does; close the stack to let go.

    Raises LockBusy (a ManifestError) while another batch runs into the folder, and
    BatchError while workers of a killed run still hold it.
    """
    spec.dst.mkdir(parents=True, exist_ok=True)
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(driver_lock(spec.dst))
        if not wait_for_old_workers(spec.dst, timeout=10.0):
            raise BatchError("workers of an earlier run still hold the output folder")
        planner.clean_temp_files(spec.dst)
        with Manifest.open(spec.dst) as manifest:
            manifest.set_meta("source_root", str(spec.src))
            manifest.reset_running()
    except BaseException:
        stack.close()
        raise
    return stack


@dataclass
class Reconciled:
    """What the manifest says about each photo asked for."""

    tasks: dict[Path, Task] = field(default_factory=dict)  # to run now
    skipped: set[Path] = field(default_factory=set)  # done before with these settings
    failed: dict[Path, str] = field(default_factory=dict)  # cannot run; why
    conflicts: set[Path] = field(default_factory=set)  # only because a foreign file is there
    rels: dict[Path, str] = field(default_factory=dict)  # every planned photo's key
    targets: dict[Path, Path] = field(default_factory=dict)  # and its output file


def reconcile_photos(
    spec: BatchSpec, paths: list[Path], *, overwrite: bool = False, retry_failed: bool = False
) -> Reconciled:
    """Plan these photos and reconcile them with the manifest, each group of photos that
    share a scale and sliders under its own settings (`BatchSpec.groups`)."""
    result = Reconciled()
    for group, members in spec.groups(paths):
        part = _reconcile_group(group, members, overwrite=overwrite, retry_failed=retry_failed)
        result.tasks.update(part.tasks)
        result.skipped |= part.skipped
        result.failed.update(part.failed)
        result.conflicts |= part.conflicts
        result.rels.update(part.rels)
        result.targets.update(part.targets)
    return result


def _reconcile_group(
    spec: BatchSpec, paths: list[Path], *, overwrite: bool, retry_failed: bool
) -> Reconciled:
    """Plan photos of one scale and sliders and reconcile them (`runner.reconcile`)."""
    planned = plan_photos(spec, paths)
    result = Reconciled(failed=dict(planned.refused))
    photos = list(planned.photos.values())
    by_rel = {photo.rel: path for path, photo in planned.photos.items()}
    result.rels = {path: photo.rel for path, photo in planned.photos.items()}
    result.targets = {path: spec.dst / photo.output_rel for path, photo in planned.photos.items()}
    summary = Summary()
    options = spec.options(overwrite=overwrite, retry_failed=retry_failed)
    with Manifest.open(spec.dst) as manifest:
        tasks = reconcile(manifest, photos, spec.settings_json(), options, summary)
    for task in tasks:
        result.tasks[by_rel[task.rel]] = task
    for rel, reason in summary.failed:
        path = by_rel[rel]
        output = planned.photos[path].output_rel
        if os.path.lexists(spec.dst / output):
            result.conflicts.add(path)
            reason = f"{output} already exists in {spec.dst} and was not written by this batch"
        result.failed[path] = reason
    for rel, reason in summary.not_retried:
        result.failed[by_rel[rel]] = f"failed twice before ({reason}); Retry failed tries again"
    result.skipped = set(planned.photos) - set(result.tasks) - set(result.failed)
    return result


def mark_running(spec: BatchSpec, rel: str) -> None:
    with Manifest.open(spec.dst) as manifest:
        manifest.mark_running(rel, worker=WORKER_NAME)


def record_result(spec: BatchSpec, result: Result) -> None:
    with Manifest.open(spec.dst) as manifest:
        record(manifest, result, Summary())


def reset_running(spec: BatchSpec) -> None:
    """A cancelled photo goes back to pending, as the command does on Ctrl-C."""
    with Manifest.open(spec.dst) as manifest:
        manifest.reset_running()
