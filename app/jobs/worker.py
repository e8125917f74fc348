"""What runs off the GUI thread, and the only module that touches the engine.

Each worker is a QRunnable that owns a `WorkerSignals` object; the signals object is created in
the GUI thread, so its signals reach GUI slots through queued connections. Workers emit numpy
arrays, never QPixmap. Cancellation is cooperative: `cancel()` sets a flag that the engine
polls between tiles (and export between strips).

`ultrais_core.engine` (and with it torch) is imported inside `default_engine_factory`, which
runs on a worker thread the first time a photo is enhanced, never when the GUI starts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

from app.photos import RESULT_DTYPE, Enhanced, make_enhanced
from app.views.frames import FrameSpec, PreparedFrame, prepare_frame
from ultrais_core.errors import Cancelled, UltraISError

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    started = Signal()
    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # the result, usually an ndarray
    failed = Signal(str)  # one line a user can read
    cancelled = Signal()


class Worker(QRunnable):
    """Runs `work()` on a pool thread and reports the outcome through `signals`."""

    memory_message = (
        "Not enough memory for this photo at this scale. Try a smaller scale or tile size."
    )
    # Besides UltraISError, exceptions whose message is meant for the user as it is.
    expected_errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        super().__init__()
        # Python owns the object: Qt must not delete it while our references still point to it.
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.elapsed_s = 0.0
        self.error: Exception | None = None  # what ended it, when it failed
        self._cancel = threading.Event()
        self._done = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def is_done(self) -> bool:
        return self._done.is_set()

    def report(self, done: int, total: int) -> None:
        self._emit("progress", int(done), int(total))

    def _emit(self, name: str, *args: object) -> None:
        """Emit `signals.<name>`, unless the signals object is gone: the app quit while this
        ran past the close time-out, and nobody is left to listen."""
        try:
            getattr(self.signals, name).emit(*args)
        except RuntimeError:  # "Signal source has been deleted"
            log.debug("%s: %s after the app closed; not reported", type(self).__name__, name)

    def work(self) -> Any:
        raise NotImplementedError

    def run(self) -> None:
        start = time.perf_counter()
        try:
            if self.is_cancelled():
                raise Cancelled("cancelled before it started")
            self._emit("started")
            result = self.work()
        except Cancelled:
            self.elapsed_s = time.perf_counter() - start
            self._emit("cancelled")
        except (UltraISError, *self.expected_errors) as exc:
            self.elapsed_s = time.perf_counter() - start
            self.error = exc
            self._emit("failed", str(exc) or type(exc).__name__)
        except MemoryError as exc:
            self.elapsed_s = time.perf_counter() - start
            self.error = exc
            self._emit("failed", self.memory_message)
        except Exception as exc:  # any bug must become a dialog, not a dead thread
            log.exception("worker %s failed", type(self).__name__)
            self.elapsed_s = time.perf_counter() - start
            self.error = exc
            self._emit("failed", f"Unexpected error ({type(exc).__name__}): {exc}")
        else:
            self.elapsed_s = time.perf_counter() - start
            self._emit("finished", result)
        finally:
            self._done.set()


class CallWorker(Worker):
    """Runs one function; `finished` carries what it returns. For short jobs such as a
    manifest update, which must not run on the GUI thread."""

    def __init__(
        self, function: Callable[[], Any], expected: tuple[type[Exception], ...] = ()
    ) -> None:
        super().__init__()
        self.function = function
        self.expected_errors = expected

    def work(self) -> Any:
        return self.function()


# --- the engine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineOptions:
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    weights: str | None = None


EngineFactory = Callable[[EngineOptions], Any]


def default_engine_factory(options: EngineOptions) -> Any:
    """Build the real engine; runs on a worker thread (importing torch takes seconds)."""
    from ultrais_core.engine import Engine

    try:
        return Engine(
            options.weights, device=options.device, precision=options.precision, tile=options.tile
        )
    except UltraISError as error:
        if (options.device, options.precision) == ("auto", "auto"):
            raise
        # A saved preference this machine or this bundle cannot meet (CUDA chosen on another
        # computer, bf16 in the CPU bundle's ONNX Runtime): run with the automatic choice
        # rather than fail every job until the user finds the setting.
        log.warning("%s; using the automatic device and precision instead", error)
        return Engine(options.weights, tile=options.tile)


class EngineProvider:
    """Creates the engine on first use and again after the preferences change.

    The GUI thread only swaps options under the lock; the slow construction happens on the
    worker thread outside it, so changing a preference can never stall the window.
    """

    def __init__(
        self, factory: EngineFactory = default_engine_factory, options: EngineOptions | None = None
    ) -> None:
        self._factory = factory
        self._options = options or EngineOptions()
        self._engine: Any = None
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def options(self) -> EngineOptions:
        return self._options

    def set_options(self, options: EngineOptions) -> None:
        with self._lock:
            if options != self._options:
                self._options = options
                self._engine = None
                self._generation += 1

    def get(self) -> Any:
        with self._lock:
            engine, options, generation = self._engine, self._options, self._generation
        if engine is not None:
            return engine
        engine = self._factory(options)
        with self._lock:
            if generation == self._generation:
                self._engine = engine
        return engine

    @property
    def device_name(self) -> str | None:
        """The engine's device, or None before the first photo has been enhanced."""
        engine = self._engine
        return None if engine is None else str(getattr(engine, "device_name", "unknown"))


_thread_state = threading.local()


def lower_thread_priority(increment: int = 5) -> None:
    """Let the GUI thread win when it competes with the model for the CPU.

    Called on the engine's thread before the first run. On Linux the nice value is per thread
    and inherited by threads it creates, so torch's intra-op pool (created on first use from
    this thread) runs niced too. Elsewhere Qt's thread priority does the same job.
    """
    if getattr(_thread_state, "lowered", False):
        return
    _thread_state.lowered = True
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
        except OSError:
            log.debug("could not lower the worker thread's priority", exc_info=True)
    else:
        thread = QThread.currentThread()
        if thread is not None:
            thread.setPriority(QThread.Priority.LowPriority)


class EnhanceWorker(Worker):
    """One engine run: `finished` carries the result array (scale*H x scale*W, same layout),
    uint16: the engine writes its tiles straight into a uint16 canvas, half the memory of
    float32, and every later use converts only the region or strip it needs.

    The cached form of the result (`enhanced`: reduced copy, exposure gain, seconds taken) is
    also made here, because resampling a x4 result takes a while; so are the first frames the
    views will draw of it (`prepared`, for the specs `frame_specs` returns once the engine is
    done): rendering them on the GUI thread stalled the window at the end of every job.
    """

    def __init__(
        self,
        provider: EngineProvider,
        pixels: np.ndarray,
        scale: int,
        input_rgb: np.ndarray,
        frame_specs: Callable[[], list[FrameSpec]] | None = None,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.pixels = pixels
        self.scale = scale
        self.input_rgb = input_rgb
        self.frame_specs = frame_specs
        self.enhanced: Enhanced | None = None
        self.prepared: list[PreparedFrame] = []

    def work(self) -> np.ndarray:
        lower_thread_priority()
        engine = self.provider.get()
        # Timed from here: the label says how long this scale took, not how long torch loaded.
        start = time.perf_counter()
        out = engine.enhance(
            self.pixels,
            self.scale,
            progress=self.report,
            cancel=self.is_cancelled,
            out_dtype=RESULT_DTYPE,
        )
        seconds = time.perf_counter() - start
        self.enhanced = make_enhanced(self.scale, out, self.input_rgb, seconds)
        self.prepared = self._prepare_frames(self.enhanced)
        return out

    def _prepare_frames(self, enhanced: Enhanced) -> list[PreparedFrame]:
        """The frames the views wait for; read only now, so they match what is on screen."""
        if self.frame_specs is None:
            return []
        frames = []
        for spec in self.frame_specs():
            try:
                frames.append(prepare_frame(spec, self.input_rgb, enhanced))
            except Exception:  # an optimisation only: the view renders it itself instead
                log.exception("could not prepare a frame for %s", spec)
        return frames


# --- running them ---------------------------------------------------------------------------


class TaskRunner(QObject):
    """A thread pool plus strong references to its running workers.

    The references matter: a QRunnable whose Python wrapper is collected mid-run crashes, and
    on close the window must be able to cancel and await every worker still going.
    """

    def __init__(self, max_threads: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        self._running.add(worker)
        for signal in (worker.signals.finished, worker.signals.failed, worker.signals.cancelled):
            signal.connect(partial(self._forget, worker))
        self.pool.start(worker)
        return worker

    @Slot()
    def _forget(self, worker: Worker, *_args: object) -> None:
        self._running.discard(worker)

    def running(self) -> list[Worker]:
        return [w for w in self._running if not w.is_done()]

    def cancel_all(self) -> None:
        for worker in list(self._running):
            worker.cancel()

    def wait(self, timeout_ms: int) -> bool:
        """Block until every worker ended or the time-out passed; True when all ended."""
        return bool(self.pool.waitForDone(timeout_ms))
