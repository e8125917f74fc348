"""`batch --ray`: a local Ray instance with 2 CPU actors gives the same files as one machine.

Needs Ray (`pip install ray`, or `make test-ray`); skipped when it is not installed.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from test_batch import add_corrupt, expected_output, make_folder, outputs, rows

ray = pytest.importorskip("ray")

from ultrais_core.batch.runner import BatchOptions, run_batch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def local_ray() -> object:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    yield ray
    ray.shutdown()


def test_two_local_ray_actors_write_the_same_files_as_one_machine(
    tmp_path: Path, weights_dir: Path, local_ray: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the same torch threads as a 1-CPU actor
    src = tmp_path / "src"
    rels = make_folder(src, 16)
    add_corrupt(src)

    def run(dst: Path, **changes: object) -> object:
        options = BatchOptions(src=src, dst=dst, scale=2, recursive=True, weights=weights_dir)
        for key, value in changes.items():
            setattr(options, key, value)
        return run_batch(options, io.StringIO())

    local = run(tmp_path / "local", workers=1)
    on_ray = run(tmp_path / "ray", ray="auto", workers=2)
    assert local.done == on_ray.done == 16 and len(on_ray.failed) == 3
    assert len(on_ray.workers) == 2
    expected = {expected_output(rel) for rel in rels}
    assert outputs(tmp_path / "local") == outputs(tmp_path / "ray") == expected
    for name in expected:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    manifest = rows(tmp_path / "ray")
    assert {r["worker"] for r in manifest.values() if r["state"] == "done"} == set(on_ray.workers)
    failed = [r for r in manifest.values() if r["state"] == "failed"]
    assert len(failed) == 3 and all(r["reason"] for r in failed)

    again = run(tmp_path / "ray", ray="auto", workers=2)  # resume: only the failed ones again
    assert (again.done, again.skipped, len(again.failed)) == (0, 16, 3)
