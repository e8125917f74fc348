"""Running a batch's photos on Ray actors (`--ray auto|ADDRESS`).

Ray schedules, places and restarts; this module only adapts it to the driver in `runner`,
which still plans, owns the manifest and records every result, retry and failure:

* one actor per GPU of the cluster, or per CPU when it has none (or `--workers N` actors);
  each loads the engine once (`work.PhotoProcessor`);
* actors are threaded (max_concurrency = PIPELINE_DEPTH) so, as in a local worker, the next
  photo is decoded and the previous one written while one is in the network;
* tasks carry paths, not pixels: every node reads the photo and writes the result itself, so
  SRC, DST and the weights must be on storage all nodes see at the same paths;
* an actor that dies is restarted once by Ray; the photos it held fail with the reason (the
  next run retries them).

Ray is optional (`pip install ray`); it is imported only when a batch asks for it.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any, TextIO

import ultrais_core
from ultrais_core.batch.runner import BatchError, BatchOptions, engine_config
from ultrais_core.batch.work import PIPELINE_DEPTH, EngineConfig, PhotoProcessor, Result, Task

ACTOR_START_TIMEOUT_S = 600
PROJECT_ROOT = Path(ultrais_core.__file__).resolve().parent.parent


class BatchActor:
    """A Ray actor holding one engine (wrapped by ray.remote in RayExecutor)."""

    def __init__(self, config: EngineConfig, index: int) -> None:
        name = f"ray/{socket.gethostname()}/a{index}"
        self.processor = PhotoProcessor(config, name)

    def ready(self) -> tuple[str, str]:
        return self.processor.name, self.processor.device_name

    def process(self, task: Task) -> Result:
        return self.processor.process(task)


def connect(address: str) -> None:
    """Join the cluster at `address`, or with "auto" the local one, starting it if none runs."""
    import ray

    # Actors import ultrais_core: on this machine from the project folder, elsewhere from the
    # installed package (every node needs UltraIS and its dependencies installed).
    env = {"env_vars": {"PYTHONPATH": str(PROJECT_ROOT)}}
    if address == "auto":
        try:
            ray.init(address="auto", runtime_env=env, log_to_driver=False)
        except ConnectionError:
            ray.init(runtime_env=env, include_dashboard=False, log_to_driver=False)
        return
    try:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    except ConnectionError as error:
        raise BatchError(f"cannot reach the Ray cluster at {address}: {error}") from None


class RayExecutor:
    def __init__(self, options: BatchOptions, stream: TextIO) -> None:
        try:
            import ray
        except ImportError:
            raise BatchError(
                "--ray needs Ray, which is not installed: pip install ray (or .[ray])"
            ) from None
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            connect(options.ray or "auto")
            self._owns_ray = True
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if options.device in ("auto", "cuda") else 0
        cpus = max(1, int(resources.get("CPU", 1)))
        count = options.workers or (gpus or cpus)
        if gpus:
            shares = {"num_gpus": min(1.0, gpus / count), "num_cpus": min(1.0, cpus / count)}
        else:
            shares = {"num_cpus": min(1.0, cpus / count)}
        remote = ray.remote(BatchActor)
        # Weights as an absolute file path: the default folder is relative to the driver's copy.
        config = engine_config(options)
        self._actors: list[Any] = [
            remote.options(
                max_restarts=1, max_task_retries=0, max_concurrency=PIPELINE_DEPTH, **shares
            ).remote(config, index)
            for index in range(count)
        ]
        try:
            ready = ray.get([a.ready.remote() for a in self._actors], timeout=ACTOR_START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            self.abort()
            raise BatchError(
                f"the Ray actors did not start within {ACTOR_START_TIMEOUT_S} s "
                "(not enough free CPUs or GPUs in the cluster?)"
            ) from None
        except ray.exceptions.RayError as error:
            self.abort()
            raise BatchError(f"the engine could not start on Ray: {_ray_reason(error)}") from None
        self.names = [name for name, _ in ready]
        self._in_flight: dict[str, dict[Any, Task]] = {name: {} for name in self.names}
        self._by_name = dict(zip(self.names, self._actors, strict=True))
        self._deaths: dict[str, int] = dict.fromkeys(self.names, 0)
        self._owner: dict[Any, str] = {}
        devices = sorted({device for _, device in ready})
        stream.write(f"batch: {count} Ray actor(s) on {', '.join(devices)}\n")

    def free_worker(self) -> str | None:
        live = [n for n in self.names if len(self._in_flight[n]) < PIPELINE_DEPTH]
        if not live:
            return None
        return min(live, key=lambda n: len(self._in_flight[n]))

    def submit(self, task: Task, worker: str) -> None:
        ref = self._by_name[worker].process.remote(task)
        self._in_flight[worker][ref] = task
        self._owner[ref] = worker

    def poll(self, timeout: float) -> list[Result]:
        refs = list(self._owner)
        if not refs:
            return []
        ray = self._ray
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        results = []
        for ref in ready:
            worker = self._owner.pop(ref)
            task = self._in_flight[worker].pop(ref)
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayActorError as error:
                self._deaths[worker] += 1
                results.append(
                    Result(
                        rel=task.rel,
                        ok=False,
                        worker=worker,
                        reason=f"the Ray actor died while this photo was in flight: "
                        f"{_ray_reason(error)}",
                    )
                )
            except ray.exceptions.RayError as error:
                results.append(
                    Result(rel=task.rel, ok=False, worker=worker, reason=_ray_reason(error))
                )
        for worker, deaths in list(self._deaths.items()):
            if deaths > 1 and worker in self.names and not self._in_flight[worker]:
                self.names.remove(worker)  # restarted once already: Ray gives up on it
        if not self.names:
            raise BatchError("every Ray actor died; see the Ray logs")
        return results

    def close(self) -> None:
        self.abort()

    def abort(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(Exception):  # already dead, or Ray is gone
                self._ray.kill(actor)
        if self._owns_ray:
            self._ray.shutdown()
            self._owns_ray = False


def _ray_reason(error: BaseException) -> str:
    cause = getattr(error, "cause", None)
    text = str(cause) if cause is not None else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:500]
