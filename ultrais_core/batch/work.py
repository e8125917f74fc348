"""The per-photo pipeline, shared by the worker processes (`runner`) and the Ray actors.

A `PhotoProcessor` loads the engine once and runs `process(task)` from several threads at a
time: hashing and decoding, and encoding and writing, run outside the engine's lock, so while
one photo is inferred the next is decoded and the previous one written (the GIL is released by
torch, the decoders, zlib and the hash). The driver keeps PIPELINE_DEPTH photos in flight per
worker, which is the prefetch queue: one decoding, one in the network, one being written.

torch is imported only when a processor is built, never at import.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ultrais_core.batch.planner import DEEP_FORMATS, hash_file
from ultrais_core.errors import OutputExistsError, UltraISError

log = logging.getLogger(__name__)

PIPELINE_DEPTH = 3


@dataclass(frozen=True)
class EngineConfig:
    """How every worker of a batch builds its engine and writes its results.

    threads: torch CPU threads per worker; None takes OMP_NUM_THREADS when it is set (Ray sets
        it to the actor's CPUs), else the engine's default (every core).
    exposure: stops applied to each result by ultrais_core.tone's no-clip curve (0: none).
    """

    scale: int
    fmt: str
    weights: str | None = None
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    quality: int = 95
    threads: int | None = None
    exposure: float = 0.0


@dataclass(frozen=True)
class Task:
    """One photo to process. shrink_from: a retry after a failure with this tile side, so use
    a smaller one."""

    rel: str
    source: str
    target: str
    overwrite: bool = False
    shrink_from: int | None = None


@dataclass(frozen=True)
class Result:
    rel: str
    ok: bool
    worker: str
    reason: str | None = None
    tile: int | None = None
    size: int | None = None
    mtime_ns: int | None = None
    hash: str | None = None
    read_s: float = 0.0
    enhance_s: float = 0.0
    write_s: float = 0.0


def describe(error: BaseException) -> str:
    """One line for a failure: UltraIS errors say it themselves; others get their type."""
    if isinstance(error, OutputExistsError):  # in the batch command's words, not the API's
        text = (
            f"{error.path.name} appeared in the output folder while the batch ran and was left "
            "alone; move it away or rerun with --overwrite"
        )
    elif isinstance(error, UltraISError):
        text = str(error)
    elif isinstance(error, MemoryError):
        text = "out of memory"
    else:
        text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())[:500] or type(error).__name__


class PhotoProcessor:
    """The engine of one worker and the steps of one photo; `process` is thread-safe."""

    def __init__(self, config: EngineConfig, name: str | None = None) -> None:
        from ultrais_core.engine import MIN_TILE, Engine

        self.config = config
        self.engine = Engine(
            config.weights, device=config.device, precision=config.precision, tile=config.tile
        )
        threads = config.threads or _env_threads()
        if threads and self.engine.device.type == "cpu":
            self.engine.set_cpu_threads(threads)  # the engine took every core; share them
        _, self.descriptor = self.engine.model_for(config.scale)  # fail now, not per photo
        self._min_tile = max(MIN_TILE, self.descriptor.size_multiple)
        self._lock = threading.Lock()
        self.name = name or f"{socket.gethostname()}/{os.getpid()}"
        self.device_name = self.engine.device_name

    def tile_for(self, task: Task) -> int:
        """The tile side for this attempt: half the failed one on a retry."""
        if task.shrink_from:
            multiple = self.descriptor.size_multiple
            tile = max(self._min_tile, task.shrink_from // 2)
            return max(self._min_tile, tile - tile % multiple)
        return self.config.tile or self.engine.auto_tile(self.descriptor)

    def process(self, task: Task) -> Result:
        from ultrais_core.imageio import read_image, write_image
        from ultrais_core.tone import apply_exposure

        times = [0.0, 0.0, 0.0]
        tile = None
        stat = None
        digest = None
        try:
            tile = self.tile_for(task)
            start = time.perf_counter()
            stat = os.stat(task.source)
            digest = hash_file(Path(task.source))
            loaded = read_image(task.source)
            times[0] = time.perf_counter() - start
            start = time.perf_counter()
            with self._lock:
                self.engine.tile = tile
                pixels = self.engine.enhance(loaded.pixels, self.config.scale)
                if self.engine.last_run is not None:
                    tile = self.engine.last_run.tile  # smaller if it backed off on memory
            times[1] = time.perf_counter() - start
            start = time.perf_counter()
            if self.config.exposure:  # outside the lock: the next photo is inferred meanwhile
                pixels = apply_exposure(pixels, self.config.exposure)
            target = Path(task.target)
            target.parent.mkdir(parents=True, exist_ok=True)
            deep = loaded.bit_depth == 16 and self.config.fmt in DEEP_FORMATS
            write_image(
                target,
                pixels,
                source=loaded,
                bit_depth=16 if deep else 8,
                quality=self.config.quality,
                overwrite=task.overwrite,
            )
            times[2] = time.perf_counter() - start
        except Exception as error:
            if not isinstance(error, UltraISError):
                log.exception("unexpected failure on %s", task.source)
            return Result(
                rel=task.rel,
                ok=False,
                worker=self.name,
                reason=describe(error),
                tile=tile,
                size=None if stat is None else stat.st_size,
                mtime_ns=None if stat is None else stat.st_mtime_ns,
                hash=digest,
                read_s=times[0],
                enhance_s=times[1],
                write_s=times[2],
            )
        return Result(
            rel=task.rel,
            ok=True,
            worker=self.name,
            tile=tile,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            hash=digest,
            read_s=times[0],
            enhance_s=times[1],
            write_s=times[2],
        )


def _env_threads() -> int | None:
    try:
        value = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return value if value > 0 else None


# --- the worker process ------------------------------------------------------------------------


def _exit_with_parent() -> None:
    """A worker must not outlive its driver (killed with SIGKILL, it cannot tell us): a thread
    waits on the parent's sentinel and ends the process at once when the parent is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(70)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def worker_main(
    conn: multiprocessing.connection.Connection,
    config: EngineConfig,
    dst: str,
    cuda_device: str | None,
    name: str,
) -> None:
    """Entry point of a spawned worker: load the engine once, then process the tasks the
    driver sends (None ends it), PIPELINE_DEPTH at a time, sending back each Result.

    Messages to the driver: ("ready", device name), ("fatal", reason), ("result", Result).
    """
    if cuda_device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = cuda_device  # before torch is imported
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _exit_with_parent()
    from ultrais_core.batch.manifest import hold_worker_lock

    lock_fd = hold_worker_lock(Path(dst))
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:
            conn.send(message)

    try:
        processor = PhotoProcessor(config, name)
    except BaseException as error:
        send(("fatal", describe(error)))
        return
    send(("ready", processor.device_name))

    def finished(future: Future[Result]) -> None:
        send(("result", future.result()))

    with ThreadPoolExecutor(PIPELINE_DEPTH, thread_name_prefix="photo") as pool:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            pool.submit(processor.process, task).add_done_callback(finished)
    if lock_fd is not None:
        os.close(lock_fd)
