"""The batch driver and the one-machine worker pool.

The driver (this process) plans, owns the manifest (its only writer), hands photos to workers
and records what comes back. Workers are separate processes started with `spawn`:

* one per CUDA GPU (each sees only its own through CUDA_VISIBLE_DEVICES), because torch
  releases the GIL in kernels but the tiling, blending and decoding around them are Python and
  numpy, which one process per GPU keeps from serialising;
* a crash in a decoder or a driver (segfault, killed for memory) takes down one worker, not
  the batch: the photos it held are marked failed with the reason and a new worker starts;
* on a CPU, torch already spreads one photo over every core, so `auto` is one worker, and
  more only on machines with many cores (cores // 8, at most 4), each with its share of the
  threads: the serial Python between the kernels then stops being the limit.

Inside a worker, threads overlap decoding and writing with inference (see `work`).

`workers=0` (API only) runs the pipeline in this process, for tests and debugging.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from ultrais_core.batch import planner
from ultrais_core.batch.manifest import (
    DONE,
    FAILED,
    Manifest,
    driver_lock,
    wait_for_old_workers,
)
from ultrais_core.batch.work import PIPELINE_DEPTH, EngineConfig, PhotoProcessor, Result, Task

WORKER_START_TIMEOUT_S = 600


class BatchError(RuntimeError):
    """The batch cannot go on (no engine, workers keep dying...); one line for the user."""


@dataclass
class BatchOptions:
    src: Path
    dst: Path
    scale: int
    fmt: str = "png"
    recursive: bool = False
    workers: int | None = None  # None: auto; 0: in this process (API only)
    ray: str | None = None  # None: one machine; "auto" or a Ray address
    weights: Path | None = None
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    quality: int = 95
    overwrite: bool = False
    retry_failed: bool = False
    exposure: float = 0.0  # stops, through ultrais_core.tone.exposure_curve


@dataclass
class Summary:
    total: int = 0
    done: int = 0  # done in this run
    skipped: int = 0  # already done, unchanged
    failed: list[tuple[str, str]] = field(default_factory=list)  # failed in this run
    not_retried: list[tuple[str, str]] = field(default_factory=list)  # failed twice before
    workers: list[str] = field(default_factory=list)
    reset: int = 0  # rows a killed run had left running
    elapsed_s: float = 0.0
    processing_s: float = 0.0  # from the first photo handed out to the last one back
    cancelled: bool = False

    @property
    def exit_code(self) -> int:
        if self.cancelled:
            return 130
        return 1 if self.failed or self.not_retried else 0

    @property
    def photos_per_second(self) -> float:
        finished = self.done + len(self.failed)
        return finished / self.processing_s if self.processing_s > 0 else 0.0


class Executor(Protocol):
    """Where photos run: a process pool, threads in this process, or Ray actors."""

    names: list[str]

    def free_worker(self) -> str | None:
        """The worker that takes the next task, or None while all are full."""

    def submit(self, task: Task, worker: str) -> None: ...

    def poll(self, timeout: float) -> list[Result]:
        """Results that came back (failed ones for photos lost with a dead worker)."""

    def close(self) -> None:
        """Let the workers finish and stop them."""

    def abort(self) -> None:
        """Stop the workers now; photos in flight are lost."""


# --- planning against the manifest -------------------------------------------------------------


def reconcile(
    manifest: Manifest,
    photos: list[planner.PlannedPhoto],
    settings: str,
    options: BatchOptions,
    summary: Summary,
) -> list[Task]:
    """Compare the plan with the manifest; return the photos to run, record the rest.

    Done, unchanged (input by size and mtime, or by content hash when those or the source
    folder changed; settings; output still there): skipped. Failed once: retried with a
    smaller tile. Failed twice: left failed unless --retry-failed. New or changed: run from
    scratch.
    """
    dst = options.dst
    rows = manifest.rows()
    tasks = []
    with manifest.transaction():
        for photo in photos:
            row = rows.get(photo.rel)
            source = str(photo.source)
            fresh = row is None or row.settings != settings or row.output != photo.output_rel
            moved = not fresh and row.source != source  # SRC moved or another SRC: check
            if not fresh and (moved or (row.size, row.mtime_ns) != (photo.size, photo.mtime_ns)):
                if row.hash is not None and row.hash == _hash_or_none(photo.source):
                    manifest.update_input(
                        photo.rel, source=source, size=photo.size, mtime_ns=photo.mtime_ns
                    )
                else:
                    fresh = True
            if not fresh and row.state == DONE:
                if (dst / photo.output_rel).is_file():
                    summary.skipped += 1
                    continue
                fresh = True  # the result was deleted: make it again
            stuck = not fresh and row.state == FAILED and row.failures >= 2
            if stuck and not options.retry_failed:
                summary.not_retried.append((photo.rel, row.reason or "failed"))
                continue
            manifest.plan_photo(
                photo.rel,
                source=source,
                size=photo.size,
                mtime_ns=photo.mtime_ns,
                settings=settings,
                output=photo.output_rel,
                fresh=fresh,
                tile=None if fresh else row.tile,
            )
            target = dst / photo.output_rel
            owns = row is not None and row.owns_output and row.output == photo.output_rel
            overwrite = options.overwrite or owns
            if not overwrite and os.path.lexists(target):
                reason = (
                    f"{photo.output_rel} already exists in the output folder and was not "
                    "written by this batch; move it away or rerun with --overwrite"
                )
                manifest.fail_now(photo.rel, reason, count=False)
                summary.failed.append((photo.rel, reason))
                continue
            retry = not fresh and row.failures >= 1
            tasks.append(
                Task(
                    rel=photo.rel,
                    source=source,
                    target=str(target),
                    overwrite=overwrite,
                    shrink_from=row.tile if retry else None,
                )
            )
    return tasks


def _hash_or_none(path: Path) -> str | None:
    try:
        return planner.hash_file(path)
    except OSError:
        return None


# --- progress ----------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """One line on stderr: redrawn in place on a terminal, every `interval` s in a log."""

    def __init__(self, total: int, stream: TextIO, interval: float = 10.0) -> None:
        self.total = total
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = 0.25 if self.tty else interval
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._width = 0

    def add(self, result: Result) -> None:
        if result.ok:
            self.done += 1
        else:
            self.failed += 1

    def line(self) -> str:
        finished = self.done + self.failed
        elapsed = time.monotonic() - self.started
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = _clock((self.total - finished) / rate) if rate > 0 else "--:--:--"
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"batch: {finished}/{self.total}{failed} | {rate:.2f} photos/s | "
            f"elapsed {_clock(elapsed)} | ETA {eta}"
        )

    def tick(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        text = self.line()
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        self.tick(force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# --- the driver --------------------------------------------------------------------------------


def with_exposure(settings: dict, exposure: float) -> dict:
    """The settings with --exposure in them when it is not 0: another exposure redoes the
    photos, while manifests written without the option (or by the GUI) keep matching."""
    return {**settings, "exposure": exposure} if exposure else settings


def engine_config(options: BatchOptions, threads: int | None = None) -> EngineConfig:
    return EngineConfig(
        scale=options.scale,
        fmt=options.fmt,
        # an absolute file: workers elsewhere (Ray) must not resolve the default themselves
        weights=str(planner.weights_file(options.weights, options.scale).resolve()),
        device=options.device,
        precision=options.precision,
        tile=options.tile,
        quality=options.quality,
        threads=threads,
        exposure=options.exposure,
    )


def run_batch(
    options: BatchOptions,
    stream: TextIO | None = None,
    *,
    on_result: Callable[[Result], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Summary:
    """Plan, reconcile with the manifest, run what is left, and return the summary.

    stream: where progress lines go (stderr by default). on_result: called in this thread
    with each photo's Result once the manifest has it (for a GUI). cancel: polled a few times
    a second; when it returns True the workers are stopped, the photos in flight go back to
    pending and the summary comes back with `cancelled` set.

    Raises planner.PlanError, manifest.ManifestError or BatchError when the batch cannot start
    or go on (the manifest is left consistent: photos in flight go back to pending).
    """
    stream = stream if stream is not None else sys.stderr
    began = time.monotonic()
    options.src = Path(options.src).resolve()
    options.dst = Path(options.dst).resolve()
    summary = Summary()
    settings = planner.settings_json(
        with_exposure(
            planner.batch_settings(
                scale=options.scale,
                fmt=options.fmt,
                weights=options.weights,
                precision=options.precision,
                quality=options.quality,
            ),
            options.exposure,
        )
    )
    photos = planner.plan(
        options.src, options.dst, scale=options.scale, fmt=options.fmt, recursive=options.recursive
    )
    summary.total = len(photos)
    options.dst.mkdir(parents=True, exist_ok=True)
    with driver_lock(options.dst), Manifest.open(options.dst) as manifest:
        if not wait_for_old_workers(options.dst):
            raise BatchError("workers of an earlier run still hold the output folder")
        removed = planner.clean_temp_files(options.dst)
        if removed:
            stream.write(f"batch: removed {removed} temporary file(s) left by a killed run\n")
        manifest.set_meta("source_root", str(options.src))
        summary.reset = manifest.reset_running()
        tasks = reconcile(manifest, photos, settings, options, summary)
        stream.write(
            f"batch: {len(photos)} photos in {options.src}: {summary.skipped} already done, "
            f"{len(tasks)} to process"
            + (f" ({summary.reset} interrupted by a killed run)" if summary.reset else "")
            + "\n"
        )
        if tasks:
            executor = make_executor(options, len(tasks), stream)
            summary.workers = list(executor.names)
            drive(executor, manifest, tasks, summary, stream, on_result=on_result, cancel=cancel)
    summary.elapsed_s = time.monotonic() - began
    return summary


def drive(
    executor: Executor,
    manifest: Manifest,
    tasks: list[Task],
    summary: Summary,
    stream: TextIO,
    *,
    on_result: Callable[[Result], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> None:
    """Hand out the tasks as workers free up and record each result as it comes back."""
    queue = deque(tasks)
    in_flight: dict[str, Task] = {}
    progress = Progress(len(tasks), stream)
    try:
        while queue or in_flight:
            if cancel is not None and cancel():
                summary.cancelled = True
                executor.abort()
                manifest.reset_running()
                return
            while queue and (worker := executor.free_worker()) is not None:
                task = queue.popleft()
                # Running (and owning its output) before the worker can write anything.
                manifest.mark_running(task.rel, worker=worker)
                executor.submit(task, worker)
                in_flight[task.rel] = task
            for result in executor.poll(timeout=0.2):
                if in_flight.pop(result.rel, None) is None:
                    continue
                record(manifest, result, summary)
                progress.add(result)
                if on_result is not None:
                    on_result(result)
            progress.tick()
        executor.close()
    except BaseException:
        executor.abort()
        manifest.reset_running()  # the photos in flight go back to pending
        raise
    finally:
        summary.processing_s = time.monotonic() - progress.started
        progress.end()


def record(manifest: Manifest, result: Result, summary: Summary) -> None:
    if result.ok:
        manifest.mark_done(
            result.rel,
            size=result.size or 0,
            mtime_ns=result.mtime_ns or 0,
            hash=result.hash or "",
            tile=result.tile,
            worker=result.worker,
            read_s=result.read_s,
            enhance_s=result.enhance_s,
            write_s=result.write_s,
        )
        summary.done += 1
    else:
        reason = result.reason or "failed"
        manifest.mark_failed(
            result.rel,
            reason,
            size=result.size,
            mtime_ns=result.mtime_ns,
            hash=result.hash,
            tile=result.tile,
            worker=result.worker,
            read_s=result.read_s,
            enhance_s=result.enhance_s,
            write_s=result.write_s,
        )
        summary.failed.append((result.rel, reason))


def write_summary(summary: Summary, stream: TextIO, *, limit: int = 20) -> None:
    failed = summary.failed + summary.not_retried
    stream.write(
        f"batch: {summary.done} done, {summary.skipped} skipped (already done), "
        f"{len(failed)} failed, of {summary.total} photos in {_clock(summary.elapsed_s)}"
        + (
            f"; {summary.photos_per_second:.2f} photos/s on {len(summary.workers)} worker(s)"
            if summary.done + len(summary.failed)
            else ""
        )
        + "\n"
    )
    for rel, reason in summary.failed[:limit]:
        stream.write(f"failed: {rel}: {reason}\n")
    for rel, reason in summary.not_retried[: max(0, limit - len(summary.failed))]:
        stream.write(f"failed (twice, not retried; --retry-failed to try again): {rel}: {reason}\n")
    if len(failed) > limit:
        stream.write(f"... and {len(failed) - limit} more failures: see the manifest\n")


# --- executors ---------------------------------------------------------------------------------


def cuda_devices(device: str) -> list[str]:
    """The CUDA devices a batch can use, as CUDA_VISIBLE_DEVICES entries (imports torch)."""
    if device not in ("auto", "cuda"):
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [v.strip() for v in visible.split(",") if v.strip()][:count]
    return [str(i) for i in range(count)]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def auto_cpu_workers(cores: int) -> int:
    """One process uses every core through torch; only many-core machines get more."""
    return max(1, min(4, cores // 8))


def make_executor(options: BatchOptions, tasks: int, stream: TextIO) -> Executor:
    if options.ray is not None:
        from ultrais_core.batch.ray_runner import RayExecutor

        return RayExecutor(options, stream)
    if options.workers == 0:
        return InlineExecutor(engine_config(options))
    gpus = cuda_devices(options.device)
    cores = cpu_count()
    if options.workers is None:
        workers = len(gpus) if gpus else auto_cpu_workers(cores)
    else:
        workers = options.workers
    workers = max(1, min(workers, tasks))
    threads = planner_threads(cores, workers)
    stream.write(f"batch: starting {workers} worker process(es)\n")
    stream.flush()
    pool = ProcessPool(engine_config(options, threads), options.dst, workers, gpus)
    stream.write(f"batch: {workers} worker process(es) on {', '.join(pool.devices)}\n")
    return pool


def planner_threads(cores: int, workers: int) -> int:
    """torch threads per worker: OMP_NUM_THREADS when set, else a fair share of the cores."""
    try:
        explicit = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        explicit = 0
    return explicit if explicit > 0 else max(1, cores // workers)


class InlineExecutor:
    """The pipeline in this process, on threads (tests, debugging)."""

    def __init__(self, config: EngineConfig) -> None:
        self.processor = PhotoProcessor(config, "inline")
        self.names = ["inline"]
        self._pool = ThreadPoolExecutor(PIPELINE_DEPTH, thread_name_prefix="photo")
        self._futures: set[Future[Result]] = set()

    def free_worker(self) -> str | None:
        return "inline" if len(self._futures) < PIPELINE_DEPTH else None

    def submit(self, task: Task, worker: str) -> None:
        self._futures.add(self._pool.submit(self.processor.process, task))

    def poll(self, timeout: float) -> list[Result]:
        if not self._futures:
            return []
        finished, self._futures = wait(self._futures, timeout, return_when=FIRST_COMPLETED)
        return [f.result() for f in finished]

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(eq=False)
class _Worker:
    name: str
    cuda_device: str | None
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    in_flight: dict[str, Task] = field(default_factory=dict)
    alive: bool = True
    device: str | None = None


class ProcessPool:
    """Spawned worker processes, each with its engine, talking over a pipe."""

    def __init__(
        self, config: EngineConfig, dst: Path, workers: int, gpus: list[str] | None = None
    ) -> None:
        self.config = config
        self.dst = dst
        self._context = multiprocessing.get_context("spawn")
        self._gpus = gpus or []
        self._workers: list[_Worker] = []
        self._restarts = 0
        self._max_restarts = 2 * workers + 2
        for index in range(workers):
            self._start(index)
        self.names = [w.name for w in self._workers]
        self._wait_ready(WORKER_START_TIMEOUT_S)

    def _wait_ready(self, timeout: float) -> None:
        """Every worker has loaded its engine (so timings exclude start-up), or BatchError."""
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            while worker.device is None:
                left = deadline - time.monotonic()
                ready = multiprocessing.connection.wait(
                    [worker.conn, worker.process.sentinel], max(0.0, left)
                )
                message: tuple = ("dead",)
                if worker.conn.poll():
                    with contextlib.suppress(EOFError, OSError):
                        message = worker.conn.recv()
                elif not ready:
                    self.abort()
                    raise BatchError(f"the workers did not start within {timeout:.0f} s")
                if message[0] == "ready":
                    worker.device = message[1]
                    continue
                self.abort()
                if message[0] == "fatal":
                    raise BatchError(f"the engine could not start: {message[1]}")
                worker.process.join(timeout=5)
                raise BatchError(
                    f"a worker process died while starting (exit code {worker.process.exitcode})"
                )

    @property
    def devices(self) -> list[str]:
        return sorted({w.device for w in self._workers if w.device})

    def _start(self, index: int) -> _Worker:
        gpu = self._gpus[index % len(self._gpus)] if self._gpus else None
        name = f"local/w{index}" + (f"/gpu{gpu}" if gpu is not None else "")
        parent, child = self._context.Pipe(duplex=True)
        from ultrais_core.batch.work import worker_main

        process = self._context.Process(
            target=worker_main,
            args=(child, self.config, str(self.dst), gpu, name),
            name=f"ultrais-batch-{name}",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(name, gpu, process, parent)
        self._workers.append(worker)
        return worker

    def free_worker(self) -> str | None:
        live = [w for w in self._workers if w.alive and len(w.in_flight) < PIPELINE_DEPTH]
        if not live:
            return None
        return min(live, key=lambda w: len(w.in_flight)).name

    def submit(self, task: Task, worker: str) -> None:
        for w in self._workers:
            if w.name == worker and w.alive:
                w.in_flight[task.rel] = task
                with contextlib.suppress(OSError):  # if it died, poll() reports the loss
                    w.conn.send(task)
                return
        raise BatchError(f"no live worker named {worker}")

    def poll(self, timeout: float) -> list[Result]:
        live = [w for w in self._workers if w.alive]
        if not live:
            raise BatchError("no worker left")
        handles: list = [w.conn for w in live] + [w.process.sentinel for w in live]
        ready = multiprocessing.connection.wait(handles, timeout)
        results: list[Result] = []
        for worker in live:
            if worker.conn in ready or worker.process.sentinel in ready:
                results.extend(self._drain(worker))
        return results

    def _drain(self, worker: _Worker) -> list[Result]:
        results = []
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                kind = message[0]
                if kind == "result":
                    result: Result = message[1]
                    worker.in_flight.pop(result.rel, None)
                    results.append(result)
                elif kind == "ready":
                    worker.device = message[1]
                elif kind == "fatal":
                    raise BatchError(f"the engine could not start: {message[1]}")
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            results.extend(self._lost(worker))
        return results

    def _lost(self, worker: _Worker) -> list[Result]:
        """A worker died: its photos fail with the reason, and a replacement starts."""
        worker.alive = False
        code = worker.process.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        lost = [
            Result(
                rel=task.rel,
                ok=False,
                worker=worker.name,
                reason=f"the worker process died ({how}) while this photo was in flight",
            )
            for task in worker.in_flight.values()
        ]
        worker.in_flight.clear()
        with contextlib.suppress(OSError):
            worker.conn.close()
        self._restarts += 1
        if self._restarts > self._max_restarts:
            raise BatchError(f"worker processes keep dying ({how}); see the log above")
        index = self._workers.index(worker)
        self._workers.remove(worker)
        replacement = self._start(index)
        # keep the order (and so the name -> GPU mapping) stable
        self._workers.remove(replacement)
        self._workers.insert(index, replacement)
        return lost

    def close(self) -> None:
        for worker in self._workers:
            if worker.alive:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=30)
        self.abort()

    def abort(self) -> None:
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            with contextlib.suppress(OSError):
                worker.conn.close()
            worker.alive = False
