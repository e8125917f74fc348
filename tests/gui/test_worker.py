"""Workers: finish, cancel, fail; the job queue runs each (photo, scale) once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.jobs.job_queue import EXPORT, VIEW, JobQueue
from app.jobs.worker import (
    EngineOptions,
    EngineProvider,
    EnhanceWorker,
    TaskRunner,
    default_engine_factory,
)
from app.photos import Photo
from ultrais_core.errors import UltraISError, WeightsError

WAIT_MS = 10_000


@pytest.fixture
def image() -> np.ndarray:
    return np.full((8, 10, 3), 0.1, dtype=np.float32)


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner(1)
    yield runner
    runner.cancel_all()
    assert runner.wait(WAIT_MS)


def make_photo(image: np.ndarray, photo_id: int = 1) -> Photo:
    photo = Photo(path=Path(f"/p/{photo_id}.png"), id=photo_id)
    photo.image = type("Img", (), {"pixels": image})()
    photo.rgb = image
    return photo


def test_worker_finishes_with_the_result(qtbot, runner, fake_engine, image):
    worker = EnhanceWorker(EngineProvider(lambda _o: fake_engine), image, 2, image)
    progress: list[tuple[int, int]] = []
    worker.signals.progress.connect(lambda d, t: progress.append((d, t)))
    with qtbot.waitSignals([worker.signals.started, worker.signals.finished], timeout=WAIT_MS):
        runner.start(worker)
    qtbot.waitUntil(lambda: len(progress) == fake_engine.tiles, timeout=WAIT_MS)
    assert progress[-1] == (4, 4)
    assert worker.enhanced is not None and worker.enhanced.shape == (16, 20)
    # Cached as uint16, asked of the engine as such: no float32 copy of the full result.
    assert fake_engine.out_dtypes == [np.dtype(np.uint16)]
    assert worker.enhanced.pixels.dtype == np.uint16 and worker.enhanced.reduced.dtype == np.uint16
    assert worker.enhanced.gain == pytest.approx(4.0, rel=1e-3)  # fake engine: input x4


def test_worker_cancels_between_tiles(qtbot, runner, fake_engine, image):
    import threading

    fake_engine.gate = threading.Event()  # hold the job at its first tile
    worker = EnhanceWorker(EngineProvider(lambda _o: fake_engine), image, 4, image)
    with qtbot.waitSignal(worker.signals.started, timeout=WAIT_MS):
        runner.start(worker)
    finished: list[object] = []
    worker.signals.finished.connect(finished.append)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=WAIT_MS):
        worker.cancel()
    assert not finished
    assert runner.wait(WAIT_MS)


def test_engine_error_becomes_failed_message(qtbot, runner, fake_engine, image):
    fake_engine.error = WeightsError("weights file ultrais_x2.safetensors is missing")
    worker = EnhanceWorker(EngineProvider(lambda _o: fake_engine), image, 2, image)
    with qtbot.waitSignal(worker.signals.failed, timeout=WAIT_MS) as blocker:
        runner.start(worker)
    assert blocker.args == ["weights file ultrais_x2.safetensors is missing"]


def test_unexpected_exceptions_also_fail_cleanly(qtbot, runner, image):
    def broken_factory(_options):
        raise RuntimeError("no such device")

    worker = EnhanceWorker(EngineProvider(broken_factory), image, 2, image)
    with qtbot.waitSignal(worker.signals.failed, timeout=WAIT_MS) as blocker:
        runner.start(worker)
    assert "RuntimeError" in blocker.args[0] and "no such device" in blocker.args[0]


def test_provider_rebuilds_after_options_change(fake_engine):
    made: list[EngineOptions] = []

    def factory(options):
        made.append(options)
        return fake_engine

    provider = EngineProvider(factory)
    assert provider.device_name is None
    provider.get()
    provider.get()
    provider.set_options(EngineOptions(device="cpu"))
    provider.get()
    assert [o.device for o in made] == ["auto", "cpu"]
    assert provider.device_name == "Fake CPU"


def test_job_queue_runs_each_photo_and_scale_once(qtbot, fake_engine, image):
    queue = JobQueue(EngineProvider(lambda _o: fake_engine))
    photo = make_photo(image)
    assert queue.request(photo, 2, VIEW)
    assert queue.request(photo, 2, EXPORT)  # same job, one more purpose
    with qtbot.waitSignal(queue.result_ready, timeout=WAIT_MS):
        pass
    assert 2 in photo.results and photo.results[2].pixels.shape == (16, 20, 3)
    assert not queue.request(photo, 2, VIEW)  # cached now
    assert len(fake_engine.calls) == 1
    assert queue.shutdown(WAIT_MS)


def test_withdraw_cancels_only_orphaned_jobs(qtbot, fake_engine, image):
    import threading

    fake_engine.gate = threading.Event()
    queue = JobQueue(EngineProvider(lambda _o: fake_engine))
    first, second = make_photo(image, 1), make_photo(image, 2)
    queue.request(first, 2, VIEW)
    queue.request(second, 2, VIEW)
    queue.request(second, 4, EXPORT)
    qtbot.waitUntil(lambda: queue.current is not None and queue.current.worker is not None)
    with qtbot.waitSignal(queue.job_cancelled, timeout=WAIT_MS):
        queue.withdraw(VIEW, keep=second)  # first's running job is cancelled
    remaining = [(j.photo.id, j.scale) for j in queue.jobs()]
    assert (1, 2) not in remaining and (2, 2) in remaining and (2, 4) in remaining
    fake_engine.gate.set()
    qtbot.waitUntil(lambda: not queue.is_busy(), timeout=WAIT_MS)
    assert set(second.results) == {2, 4} and not first.results


@pytest.mark.parametrize("outcome", ["cancelled", "failed", "finished"])
def test_a_worker_that_outlives_its_signals_ends_quietly(outcome):
    """Closing the app while a job runs past the close time-out deletes the signals object
    before the worker reports; the pool thread must end without a traceback."""
    import shiboken6

    from app.jobs.worker import Worker
    from ultrais_core.errors import Cancelled, UltraISError

    class Late(Worker):
        def work(self):
            self.report(1, 2)
            if outcome == "cancelled":
                raise Cancelled("cancelled")
            if outcome == "failed":
                raise UltraISError("no engine")
            return 42

    worker = Late()
    shiboken6.delete(worker.signals)
    worker.run()  # raised RuntimeError: Signal source has been deleted
    assert worker.is_done()


def test_a_saved_preference_the_machine_cannot_meet_falls_back_to_automatic() -> None:
    """fp16 on the CPU is refused by the engine itself; the GUI's factory then builds the
    automatic engine instead of failing every job until the preference is found."""
    from ultrais_core.engine import Engine

    with pytest.raises(UltraISError, match="fp16"):
        Engine(device="cpu", precision="fp16")
    engine = default_engine_factory(EngineOptions(device="cpu", precision="fp16"))
    assert not (engine.device.type == "cpu" and "16" in str(engine.dtype))
