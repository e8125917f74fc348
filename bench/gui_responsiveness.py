"""How responsive the window stays: event-loop stalls while the network runs, slider latency.

    .venv/bin/python bench/gui_responsiveness.py            # fake engine unless weights exist
    .venv/bin/python bench/gui_responsiveness.py --engine fake --scale 4 --seconds 8

Runs the real MainWindow offscreen on the sample photo. While a job runs, and until its result
is drawn (plus 0.3 s), a 10 ms QTimer records the gaps between its ticks: the longest gap is
the longest the window could not react to input ("at the result": the longest from the
result's arrival on). The fake engine burns CPU on one thread per core with numpy operations
that release the GIL (as torch's do), tile by tile, so the GUI thread competes for the CPU as
it would with the real model. --same-priority turns off the app's lowering of the engine
thread's priority, to see what that buys. Then, with the result cached, every
slider is moved and the time until the view has repainted is taken ("preview latency"),
at Fit and at 100 % of the x4 result.

Prints a table and writes JSON to bench/results/gui_responsiveness.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ULTRAIS_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.json"))
# A fresh photo library too: a stored scale for the sample would change what is measured.
os.environ.setdefault("ULTRAIS_LIBRARY", str(Path(os.environ["ULTRAIS_SETTINGS"]).parent / "l.db"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app import theme  # noqa: E402
from app.develop.adjustments import SLIDERS  # noqa: E402
from app.main_window import SAMPLE_PHOTO, MainWindow  # noqa: E402
from ultrais_core.errors import Cancelled  # noqa: E402

TICK_MS = 10
SETTLE_S = 0.3  # ticks recorded after the result is on screen


class BurnEngine:
    """A stand-in that costs real CPU: `tiles` tiles of about `tile_s` of work each.

    Like torch, it spreads each tile over one thread per core with numpy operations that
    release the GIL, and (like torch's intra-op pool) its threads are created from the
    engine's thread on first use, so they share that thread's OS priority.
    """

    device_name = "fake (CPU burn, all cores)"

    def __init__(self, seconds: float, tiles: int = 24) -> None:
        self.tiles = tiles
        self.tile_s = seconds / tiles
        self.threads = os.cpu_count() or 1
        self._pool: ThreadPoolExecutor | None = None
        rng = np.random.default_rng(0)
        self.block = rng.random((256, 1024), dtype=np.float32)

    def _burn(self, end: float) -> None:
        acc = self.block.copy()
        while time.perf_counter() < end:
            np.tanh(acc, out=acc)
            np.multiply(acc, 1.5, out=acc)

    def enhance(
        self,
        image: np.ndarray,
        scale: int,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        out_dtype: type = np.float32,
    ) -> np.ndarray:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads)
        for tile in range(self.tiles):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            end = time.perf_counter() + self.tile_s
            list(self._pool.map(self._burn, [end] * self.threads))
            if progress is not None:
                progress(tile + 1, self.tiles)
        # cv2, not np.repeat: np.repeat holds the GIL for the whole copy (~300 ms at x4), a
        # stall the real engine (torch ops release the GIL) would not cause.
        h, w = image.shape[:2]
        out = cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
        out *= 6.0
        np.clip(out, 0.0, 1.0, out=out)
        if np.dtype(out_dtype) == np.float32:
            return out
        out *= float(np.iinfo(out_dtype).max)
        out += 0.5
        return out.astype(out_dtype)  # like the engine's canvas of that type


def weights_present() -> bool:
    return any((ROOT / "resources" / "weights").glob("*.safetensors"))


def wait_until(app: QApplication, predicate: Callable[[], object], timeout_s: float) -> None:
    """Run the event loop until predicate() holds.

    A QEventLoop polled by a timer, not a processEvents() loop: PySide6 6.12 on Python 3.11
    drops a reference to None on every processEvents() call and aborts after a few thousand.
    """
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    timed_out = [False]

    def poll() -> None:
        if predicate():
            loop.quit()
        elif time.perf_counter() > deadline:
            timed_out[0] = True
            loop.quit()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(poll)
    timer.start()
    poll()
    if not predicate() and not timed_out[0]:
        loop.exec()
    timer.stop()
    if timed_out[0]:
        raise TimeoutError("condition not met in time")


def measure_stalls(app: QApplication, window: MainWindow, scale: int, timeout_s: float) -> dict:
    photo = window.current_photo
    gaps: list[float] = []
    ends: list[float] = []  # when each gap ended
    # CPU time the GUI thread itself used in each gap: unlike the gap, it does not grow when
    # other processes take the cores, so it compares runs made on a loaded machine.
    cpu: list[float] = []
    last = [time.perf_counter(), time.thread_time()]
    arrived: list[float] = []

    def tick() -> None:
        now, now_cpu = time.perf_counter(), time.thread_time()
        gaps.append((now - last[0]) * 1000.0)
        cpu.append((now_cpu - last[1]) * 1000.0)
        ends.append(now)
        last[0], last[1] = now, now_cpu

    def on_result(_photo: object, _scale: int) -> None:
        arrived.append(time.perf_counter())

    window.jobs.result_ready.connect(on_result)

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    start = time.perf_counter()
    timer.start()
    last[0], last[1] = time.perf_counter(), time.thread_time()
    view = window.compare_view
    view.last_regions.pop("after", None)  # set again once the view has drawn the result
    window._set_scale(scale)  # queues the job on the worker thread
    wait_until(app, lambda: scale in photo.results, timeout_s)
    job_s = time.perf_counter() - start
    # NOTE: the end of a job is where the window stalled (rendering the result for the first
    # time, its histogram, the overlay), so the ticks go on until the view has drawn the result,
    # and a little longer, for whatever that paint set off.
    wait_until(app, lambda: "after" in view.last_regions, timeout_s)
    settle_until = time.perf_counter() + SETTLE_S
    wait_until(app, lambda: time.perf_counter() >= settle_until, SETTLE_S + 5)
    timer.stop()
    window.jobs.result_ready.disconnect(on_result)
    # The gaps that ended after the result arrived: the one it arrived in and what followed.
    after = [i for i, end in enumerate(ends) if arrived and end >= arrived[0]]
    gaps_sorted = sorted(gaps)
    return {
        "scale": scale,
        "job_seconds": round(job_s, 2),
        "ticks": len(gaps),
        "max_stall_ms": round(max(gaps), 1),
        "end_of_job_stall_ms": round(max((gaps[i] for i in after), default=0.0), 1),
        "max_gui_cpu_in_a_gap_ms": round(max(cpu), 1),
        "end_of_job_gui_cpu_ms": round(max((cpu[i] for i in after), default=0.0), 1),
        "p99_gap_ms": round(gaps_sorted[int(0.99 * (len(gaps) - 1))], 1),
        "median_gap_ms": round(statistics.median(gaps), 1),
        "gaps_over_100ms": sum(g > 100 for g in gaps),
    }


def measure_preview(window: MainWindow, zoom: str) -> dict:
    view = window.compare_view
    if zoom == "fit":
        view.fit()
    else:
        view.actual_pixels()
    view.repaint()
    latencies: list[float] = []
    per_slider: dict[str, float] = {}
    for spec in SLIDERS:
        row = window.controls.rows[spec.name]
        for fraction in (0.25, 0.75, 0.5, 0.3, 0.7):
            value = spec.minimum + fraction * (spec.maximum - spec.minimum)
            start = time.perf_counter()
            row.slider.setValue(round(value * 10**spec.decimals))
            view.repaint()  # synchronous: returns once the new frame is painted
            latencies.append((time.perf_counter() - start) * 1000.0)
            per_slider[spec.name] = round(max(per_slider.get(spec.name, 0.0), latencies[-1]), 1)
        row.reset()
    placement = view.placement()
    w, h = (placement.target[2], placement.target[3]) if placement else (0, 0)
    return {
        "zoom": zoom,
        "rendered_px": f"{w}x{h}",
        "changes": len(latencies),
        "median_ms": round(statistics.median(latencies), 1),
        "max_ms": round(max(latencies), 1),
        "max_ms_per_slider": per_slider,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("auto", "fake", "real"), default="auto")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--seconds", type=float, default=6.0, help="fake job length")
    parser.add_argument("--size", default="1400x900", help="window size")
    parser.add_argument("--repeats", type=int, default=3, help="jobs measured; the worst is shown")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--same-priority", action="store_true", help="do not lower the engine thread's priority"
    )
    args = parser.parse_args()
    if args.same_priority:
        import app.jobs.worker

        app.jobs.worker.lower_thread_priority = lambda increment=5: None

    use_real = args.engine == "real" or (args.engine == "auto" and weights_present())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app)
    factory = None if use_real else (lambda _o, s=args.seconds: BurnEngine(s))
    window = MainWindow(
        settings_path=Path(os.environ["ULTRAIS_SETTINGS"]),
        engine_factory=factory,
        open_sample=False,
    )
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    window._set_scale(1, request=False)
    window.open_paths([SAMPLE_PHOTO], remember=False)
    wait_until(app, lambda: window.current_photo is not None and window.current_photo.loaded, 30)
    # The x1 job first (not measured), so the engine exists and the x4 run is a steady state.
    wait_until(app, lambda: 1 in window.current_photo.results, 600)

    runs = []
    for _ in range(args.repeats):
        window.current_photo.results.pop(args.scale, None)  # run the network again
        window._set_scale(1, request=False)
        runs.append(measure_stalls(app, window, args.scale, timeout_s=1800))
    stalls = max(runs, key=lambda r: r["max_stall_ms"])
    previews = [measure_preview(window, "fit"), measure_preview(window, "100%")]
    window.close()

    result = {
        "engine": "real" if use_real else f"fake CPU burn, {args.seconds:.0f} s per job",
        "device": window.provider.device_name,
        "photo": f"{SAMPLE_PHOTO.name} 1024x683",
        "window": args.size,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
        "engine_thread_priority": "same as GUI" if args.same_priority else "lowered (nice +5)",
        "stalls_while_job_runs": stalls,
        "stalls_per_run": runs,
        "preview_latency": previews,
        "command": "python " + " ".join(sys.argv),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = (
        "gui_responsiveness_same_priority.json" if args.same_priority else "gui_responsiveness.json"
    )
    (args.out / name).write_text(json.dumps(result, indent=2) + "\n")

    print(f"engine: {result['engine']}   device: {result['device']}   cpus: {os.cpu_count()}")
    print()
    print("while the job runs       | value")
    print("-------------------------|---------")
    print(f"job (x{stalls['scale']}) seconds          | {stalls['job_seconds']}")
    print(f"timer ticks (10 ms)      | {stalls['ticks']}")
    print(f"median gap               | {stalls['median_gap_ms']} ms")
    print(f"p99 gap                  | {stalls['p99_gap_ms']} ms")
    print(f"longest stall            | {stalls['max_stall_ms']} ms (worst of {len(runs)} jobs)")
    print(f"gaps over 100 ms         | {stalls['gaps_over_100ms']}")
    print(f"longest stall per job    | {', '.join(str(r['max_stall_ms']) for r in runs)} ms")
    ends = ", ".join(str(r["end_of_job_stall_ms"]) for r in runs)
    print(f"at the result, per job   | {ends} ms (longest gap from the result's arrival on)")
    ends_cpu = ", ".join(str(r["end_of_job_gui_cpu_ms"]) for r in runs)
    print(f"GUI CPU at the result    | {ends_cpu} ms (most GUI-thread CPU in one of those gaps)")
    most_cpu = ", ".join(str(r["max_gui_cpu_in_a_gap_ms"]) for r in runs)
    print(f"GUI CPU, any gap         | {most_cpu} ms (most GUI-thread CPU in one gap, per job)")
    print()
    print("slider -> repainted | rendered   | median    | max")
    print("--------------------|------------|-----------|---------")
    for p in previews:
        size, median, worst = p["rendered_px"], p["median_ms"], p["max_ms"]
        print(f"at {p['zoom']:<16} | {size:<10} | {median:>6} ms | {worst} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
