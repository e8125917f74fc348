"""`python main.py batch`: planning, the manifest, resume after SIGKILL, retries, the CLI.

The end-to-end runs use tiny random-weight networks (conftest's `weights_dir`) and tiny photos;
subprocesses run with OMP_NUM_THREADS=1 so two of them fit a busy 2-core machine.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ultrais_core.batch import planner
from ultrais_core.batch.manifest import (
    DONE,
    FAILED,
    MANIFEST_NAME,
    LockBusy,
    Manifest,
    driver_lock,
)
from ultrais_core.batch.runner import BatchOptions, Summary, run_batch
from ultrais_core.errors import OutOfMemoryError

ROOT = Path(__file__).resolve().parent.parent
CORRUPT = {
    "s0/truncated.jpg": b"\xff\xd8\xff\xe0 truncated",
    "s1/t1/noise.png": bytes(range(256)) * 4,
    "empty.jpg": b"",
}


def make_folder(src: Path, count: int, *, width: int = 24, height: int = 16) -> list[str]:
    """`count` dark JPEG/PNG photos in nested sub-folders; returns their relative paths."""
    rng = np.random.default_rng(1)
    rels = []
    for i in range(count):
        folder = f"s{i % 4}/" + (f"t{i % 3}/" if i % 2 else "")
        suffix = ".png" if i % 5 == 0 else ".jpg"
        rel = f"{folder}p{i:03d}{suffix}"
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random((height, width, 3)) * 40).astype(np.uint8)).save(path)
        rels.append(rel)
    return rels


def add_corrupt(src: Path) -> None:
    for rel, data in CORRUPT.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)


def expected_output(rel: str, scale: int = 2, fmt: str = "png") -> str:
    parent, name = os.path.split(rel)
    out = f"{Path(name).stem}_ultrais_x{scale}.{fmt}"
    return f"{parent}/{out}" if parent else out


def rows(dst: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(f"file:{dst / MANIFEST_NAME}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return {r["rel"]: r for r in db.execute("SELECT * FROM photos")}
    finally:
        db.close()


def outputs(dst: Path) -> set[str]:
    return {
        p.relative_to(dst).as_posix()
        for p in dst.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def temp_files(dst: Path) -> list[Path]:
    return [p for p in dst.rglob("*") if p.name.endswith(planner.TEMP_SUFFIX)]


def batch_command(src: Path, dst: Path, weights: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "main.py",
        "batch",
        str(src),
        "-o",
        str(dst),
        "--scale",
        "2",
        "--recursive",
        "--weights",
        str(weights),
        *extra,
    ]


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def inline(src: Path, dst: Path, weights: Path, **changes: object) -> Summary:
    """A batch in this process (workers=0): no spawn, so monkeypatches apply."""
    options = BatchOptions(
        src=src, dst=dst, scale=2, recursive=True, weights=weights, workers=0, tile=None
    )
    for key, value in changes.items():
        setattr(options, key, value)
    return run_batch(options, io.StringIO())


# --- the 200-photo folder ------------------------------------------------------------------------


def test_200_photos_complete_with_a_failure_row_per_corrupt_file(
    tmp_path: Path, weights_dir: Path
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 200)
    add_corrupt(src)
    run = subprocess.run(
        batch_command(src, dst, weights_dir, "--workers", "2"),
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 1, run.stderr
    assert outputs(dst) == {expected_output(rel) for rel in rels}
    with Image.open(dst / expected_output(rels[7])) as result:
        assert result.size == (48, 32)
    manifest = rows(dst)
    assert len(manifest) == 203
    assert all(manifest[rel]["state"] == DONE for rel in rels)
    for rel in CORRUPT:
        row = manifest[rel]
        assert row["state"] == FAILED and row["failures"] == 1
        assert Path(rel).name in row["reason"]
        assert f"failed: {rel}: " in run.stderr
    done = manifest[rels[0]]
    assert done["hash"] and done["size"] == (src / rels[0]).stat().st_size
    assert done["attempts"] == 1 and done["output"] == expected_output(rels[0])
    assert done["enhance_s"] > 0 and done["worker"].startswith("local/w")
    assert '"scale":2' in done["settings"] and "blake2b" in done["settings"]
    assert "ETA" in run.stderr
    assert "200 done, 0 skipped (already done), 3 failed" in run.stderr
    assert not temp_files(dst)


# --- SIGKILL and resume --------------------------------------------------------------------------


def test_sigkill_mid_run_then_rerun_redoes_nothing_done_and_leaves_no_partial_files(
    tmp_path: Path, weights_dir: Path
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 80, width=64, height=48)
    command = batch_command(src, dst, weights_dir, "--workers", "1")
    process = subprocess.Popen(
        command, cwd=ROOT, env=subprocess_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    done_before: dict[str, tuple[int, int]] = {}
    while time.monotonic() < deadline and process.poll() is None:
        if (dst / MANIFEST_NAME).exists():
            try:
                done_rows = [r for r in rows(dst).values() if r["state"] == DONE]
            except sqlite3.OperationalError:
                done_rows = []  # the schema is still being created
            if len(done_rows) >= 5:
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    killed = rows(dst)
    for rel, row in killed.items():
        if row["state"] == DONE:
            done_before[rel] = (row["attempts"], (dst / row["output"]).stat().st_mtime_ns)
    assert 5 <= len(done_before) < len(rels)
    for name in outputs(dst):  # whatever is there is a whole photo
        with Image.open(dst / name) as image:
            image.load()
    stale = dst / "s0" / f".p000_ultrais_x2.png.deadbeef{planner.TEMP_SUFFIX}"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a png")

    rerun = subprocess.run(
        command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=240
    )
    assert rerun.returncode == 0, rerun.stderr
    final = rows(dst)
    assert all(row["state"] == DONE for row in final.values())
    assert set(final) == set(rels)
    for rel, (attempts, mtime_ns) in done_before.items():
        assert final[rel]["attempts"] == attempts
        assert (dst / final[rel]["output"]).stat().st_mtime_ns == mtime_ns
    assert f"{len(done_before)} skipped (already done)" in rerun.stderr
    assert outputs(dst) == {expected_output(rel) for rel in rels}
    assert not temp_files(dst)


def test_a_worker_that_dies_fails_its_photos_and_a_new_one_takes_over(
    tmp_path: Path, weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ultrais_core.batch.runner import ProcessPool, engine_config
    from ultrais_core.batch.work import Task

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 3)
    dst.mkdir()
    options = BatchOptions(src=src, dst=dst, scale=2, weights=weights_dir)
    pool = ProcessPool(engine_config(options, threads=1), dst, 1)
    tasks = [Task(rel, str(src / rel), str(dst / expected_output(rel))) for rel in rels]
    try:
        victim = pool._workers[0].process
        os.kill(victim.pid, signal.SIGKILL)  # as the kernel's OOM killer or a segfault would
        victim.join(timeout=30)
        for task in tasks[:2]:
            pool.submit(task, pool.free_worker())
        results = []
        # A hang guard, not a speed check: the replacement worker imports torch and loads the
        # weights, which took over a minute on a 2-core machine busy training.
        deadline = time.monotonic() + 240
        while len(results) < 2 and time.monotonic() < deadline:
            results += pool.poll(0.5)
        assert sorted(r.rel for r in results) == sorted(rels[:2])
        assert all(not r.ok and "worker process died (signal 9)" in r.reason for r in results)
        pool.submit(tasks[2], pool.free_worker())
        while not results[2:] and time.monotonic() < deadline:
            results += pool.poll(0.5)
        assert results[2].ok and (dst / expected_output(rels[2])).is_file()
    finally:
        pool.close()


# --- resume rules (in this process) --------------------------------------------------------------


def test_changed_input_is_redone_touched_or_unchanged_ones_are_skipped(
    tmp_path: Path, weights_dir: Path
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 6)
    first = inline(src, dst, weights_dir)
    assert (first.done, first.skipped, first.exit_code) == (6, 0, 0)

    changed, touched, deleted = src / rels[1], src / rels[2], dst / expected_output(rels[3])
    Image.fromarray(np.full((16, 24, 3), 200, np.uint8)).save(changed)
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    deleted.unlink()
    before = rows(dst)
    second = inline(src, dst, weights_dir)
    assert (second.done, second.skipped, second.exit_code) == (2, 4, 0)
    after = rows(dst)
    assert after[rels[1]]["attempts"] == 2 and after[rels[1]]["hash"] != before[rels[1]]["hash"]
    assert after[rels[3]]["attempts"] == 2 and deleted.is_file()
    assert after[rels[2]]["attempts"] == 1  # same content: not redone, new mtime remembered
    assert after[rels[2]]["mtime_ns"] == touched.stat().st_mtime_ns


def test_changed_settings_redo_everything_and_replace_own_outputs(
    tmp_path: Path, weights_dir: Path, tiny_config: dict
) -> None:
    import torch

    from ultrais_core.model import DualStreamNet
    from ultrais_core.weights import save_weights

    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 4)
    inline(src, dst, weights_dir)
    old = (dst / expected_output(rels[0])).read_bytes()
    torch.manual_seed(123)
    save_weights(DualStreamNet(scale=2, **tiny_config), weights_dir / "ultrais_x2.safetensors")
    retrained = inline(src, dst, weights_dir)
    assert (retrained.done, retrained.skipped, retrained.exit_code) == (4, 0, 0)
    assert (dst / expected_output(rels[0])).read_bytes() != old
    as_jpeg = inline(src, dst, weights_dir, fmt="jpg")
    assert (as_jpeg.done, as_jpeg.skipped) == (4, 0)
    assert (dst / expected_output(rels[0], fmt="jpg")).is_file()
    assert rows(dst)[rels[0]]["attempts"] == 3
    again = inline(src, dst, weights_dir, fmt="jpg")
    assert (again.done, again.skipped) == (0, 4)


def test_a_failed_photo_is_retried_once_with_a_smaller_tile(
    tmp_path: Path, weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ultrais_core.engine import Engine

    src, dst = tmp_path / "src", tmp_path / "dst"
    make_folder(src, 3)
    cursed = src / "cursed.jpg"
    Image.fromarray(np.zeros((12, 20, 3), np.uint8)).save(cursed)
    original = Engine.enhance
    tiles_seen: list[int] = []

    def flaky(self: Engine, image: np.ndarray, scale: int, **kwargs: object) -> np.ndarray:
        if image.shape[:2] == (12, 20):
            tiles_seen.append(self.tile)
            if self.tile >= limit:
                raise OutOfMemoryError("fake: out of memory")
        return original(self, image, scale, **kwargs)

    monkeypatch.setattr(Engine, "enhance", flaky)
    limit = 128
    first = inline(src, dst, weights_dir, tile=128)
    assert first.exit_code == 1 and first.failed == [("cursed.jpg", "fake: out of memory")]
    assert rows(dst)["cursed.jpg"]["tile"] == 128
    retried = inline(src, dst, weights_dir, tile=128)
    assert (retried.done, retried.skipped, retried.exit_code) == (1, 3, 0)
    row = rows(dst)["cursed.jpg"]
    assert (row["state"], row["tile"], row["attempts"]) == (DONE, 64, 2)
    assert tiles_seen == [128, 64]

    # Failing on the retry too: left failed, not retried again unless asked.
    cursed.write_bytes(cursed.read_bytes() + b"\0")  # a change starts it afresh
    limit = 0
    assert inline(src, dst, weights_dir, tile=128).exit_code == 1
    assert inline(src, dst, weights_dir, tile=128).exit_code == 1
    third = inline(src, dst, weights_dir, tile=128)
    assert third.failed == [] and third.not_retried == [("cursed.jpg", "fake: out of memory")]
    assert tiles_seen[2:] == [128, 64]
    limit = 10_000
    forced = inline(src, dst, weights_dir, tile=128, retry_failed=True)
    assert forced.exit_code == 0 and tiles_seen[-1] == 64  # cannot go below the minimum tile


def test_cancel_leaves_the_rest_pending_and_on_result_sees_each_photo(
    tmp_path: Path, weights_dir: Path
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    make_folder(src, 12)
    seen = []
    options = BatchOptions(src=src, dst=dst, scale=2, recursive=True, weights=weights_dir)
    options.workers = 0
    summary = run_batch(
        options, io.StringIO(), on_result=seen.append, cancel=lambda: len(seen) >= 2
    )
    assert summary.cancelled and summary.exit_code == 130
    states = [row["state"] for row in rows(dst).values()]
    assert states.count(DONE) == len(seen) >= 2 and "running" not in states
    assert states.count("pending") == 12 - len(seen)
    rest = inline(src, dst, weights_dir)
    assert (rest.done, rest.skipped, rest.exit_code) == (12 - len(seen), len(seen), 0)


def test_a_file_not_written_by_the_batch_is_not_overwritten(
    tmp_path: Path, weights_dir: Path
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    rels = make_folder(src, 2)
    foreign = dst / expected_output(rels[0])
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"the user's own file")
    summary = inline(src, dst, weights_dir)
    assert summary.exit_code == 1 and "--overwrite" in summary.failed[0][1]
    assert foreign.read_bytes() == b"the user's own file"
    assert inline(src, dst, weights_dir, overwrite=True).exit_code == 0
    with Image.open(foreign) as image:
        assert image.size == (48, 32)


def test_sixteen_bit_sources_stay_sixteen_bit_in_png_and_tif_and_exif_is_kept(
    tmp_path: Path, weights_dir: Path
) -> None:
    import cv2

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    deep = (np.random.default_rng(0).random((16, 24, 3)) * 8000).astype(np.uint16)
    cv2.imwrite(str(src / "deep.png"), deep)
    exif = Image.Exif()
    exif[0x010F] = "NightCam"  # Make
    Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(src / "flat.jpg", exif=exif)
    inline(src, dst, weights_dir, fmt="tif")
    inline(src, dst / "png", weights_dir)
    assert cv2.imread(str(dst / "deep_ultrais_x2.tif"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert cv2.imread(str(dst / "png" / "deep_ultrais_x2.png"), cv2.IMREAD_UNCHANGED).dtype == (
        np.uint16
    )
    assert cv2.imread(str(dst / "png" / "flat_ultrais_x2.png"), cv2.IMREAD_UNCHANGED).dtype == (
        np.uint8
    )
    with Image.open(dst / "flat_ultrais_x2.tif") as result:  # metadata carried over
        assert result.getexif().get(0x010F) == "NightCam"


# --- planner, manifest, CLI ----------------------------------------------------------------------


def test_plan_keeps_sub_folders_and_names_like_the_gui_export(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for rel in ["a.jpg", "x/b.PNG", "x/y/c.tif", "twin.jpg", "twin.png", ".hidden.jpg"]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"not decoded while planning")
    (src / ".cache").mkdir()
    (src / ".cache" / "d.jpg").write_bytes(b"")
    (src / "notes.txt").write_text("not a photo")
    (src / "out").mkdir()
    (src / "out" / "old_ultrais_x4.png").write_bytes(b"")  # DST inside SRC is not walked

    plan = planner.plan(src, src / "out", scale=4, fmt="jpg", recursive=True)
    assert {p.rel: p.output_rel for p in plan} == {
        "a.jpg": "a_ultrais_x4.jpg",
        "twin.jpg": "twin_jpg_ultrais_x4.jpg",
        "twin.png": "twin_png_ultrais_x4.jpg",
        "x/b.PNG": "x/b_ultrais_x4.jpg",
        "x/y/c.tif": "x/y/c_ultrais_x4.jpg",
    }
    flat = planner.plan(src, tmp_path / "dst", scale=2, fmt="png", recursive=False)
    assert [p.rel for p in flat] == ["a.jpg", "twin.jpg", "twin.png"]
    with pytest.raises(planner.PlanError):
        planner.plan(src, src, scale=2, fmt="png", recursive=True)


def write_triplet(folder: Path, stem: str = "IMG_0001") -> list[str]:
    """One photo saved as JPEG, PNG and TIFF under one stem (a camera's RAW+JPEG habit)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    pixels = (rng.random((16, 24, 3)) * 40).astype(np.uint8)
    names = [f"{stem}.jpg", f"{stem}.png", f"{stem}.tif"]
    for name in names:
        Image.fromarray(pixels).save(folder / name)
    return names


def test_same_stem_photos_get_distinct_outputs_and_a_rerun_redoes_none(
    tmp_path: Path, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI, one worker process: IMG_0001.jpg/.png/.tif give three results, named after
    their sources' extensions, which the manifest records; the rerun finds them all."""
    from ultrais_core.cli import main

    src, dst = tmp_path / "src", tmp_path / "dst"
    write_triplet(src)
    write_triplet(src / "sub")
    Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(src / "sub" / "solo.png")
    args = ["batch", str(src), "-o", str(dst), "--scale", "2", "--recursive"]
    args += ["--weights", str(weights_dir), "--workers", "1"]
    assert main(args) == 0
    expected = {
        "IMG_0001.jpg": "IMG_0001_jpg_ultrais_x2.png",
        "IMG_0001.png": "IMG_0001_png_ultrais_x2.png",
        "IMG_0001.tif": "IMG_0001_tif_ultrais_x2.png",
        "sub/IMG_0001.jpg": "sub/IMG_0001_jpg_ultrais_x2.png",
        "sub/IMG_0001.png": "sub/IMG_0001_png_ultrais_x2.png",
        "sub/IMG_0001.tif": "sub/IMG_0001_tif_ultrais_x2.png",
        "sub/solo.png": "sub/solo_ultrais_x2.png",  # a stem of its own keeps the plain name
    }
    assert outputs(dst) == set(expected.values())
    first = rows(dst)
    assert {rel: row["output"] for rel, row in first.items()} == expected
    assert {row["state"] for row in first.values()} == {DONE}
    written = {name: (dst / name).stat().st_mtime_ns for name in expected.values()}
    capsys.readouterr()

    assert main(args) == 0
    again = rows(dst)
    assert {rel: row["attempts"] for rel, row in again.items()} == dict.fromkeys(expected, 1)
    assert {name: (dst / name).stat().st_mtime_ns for name in expected.values()} == written


def test_case_only_twins_both_run_and_an_old_collision_row_is_picked_up(
    tmp_path: Path, weights_dir: Path
) -> None:
    """IMG_0001.JPG and img_0001.jpg (one file on macOS, two on Linux) get distinct names even
    ignoring case; a row an older planner failed as a name collision (output NULL) is run."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    for name in ("IMG_0001.JPG", "img_0001.jpg"):
        Image.fromarray(np.full((16, 24, 3), 20, np.uint8)).save(src / name)
    with Manifest.open(dst) as manifest:  # what the old planner recorded for the second one
        manifest.plan_photo(
            "img_0001.jpg",
            source=str(src / "img_0001.jpg"),
            size=1,
            mtime_ns=1,
            settings="{}",
            output=None,
            fresh=True,
        )
        manifest.fail_now("img_0001.jpg", "its output name collides with that of IMG_0001.JPG")
    summary = inline(src, dst, weights_dir, recursive=False)
    assert (summary.done, summary.failed, summary.exit_code) == (2, [], 0)
    assert {rel: row["output"] for rel, row in rows(dst).items()} == {
        "IMG_0001.JPG": "IMG_0001_jpg_ultrais_x2.png",
        "img_0001.jpg": "img_0001_jpg-2_ultrais_x2.png",
    }
    rerun = inline(src, dst, weights_dir)
    assert (rerun.done, rerun.skipped) == (0, 2)


def test_default_weights_folder_matches_the_engine() -> None:
    from ultrais_core.engine import DEFAULT_WEIGHTS_DIR

    assert planner.DEFAULT_WEIGHTS_DIR == DEFAULT_WEIGHTS_DIR


def test_manifest_is_wal_and_a_killed_runs_rows_go_back_to_pending(tmp_path: Path) -> None:
    with Manifest.open(tmp_path / "dst") as manifest:
        manifest.plan_photo(
            "a.jpg", source="/a.jpg", size=1, mtime_ns=2, settings="{}", output="a.png", fresh=True
        )
        manifest.mark_running("a.jpg", worker="w0")
        assert manifest.row("a.jpg").state == "running" and manifest.row("a.jpg").owns_output
    db = sqlite3.connect(tmp_path / "dst" / MANIFEST_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    with Manifest.open(tmp_path / "dst") as manifest:
        assert manifest.reset_running() == 1
        row = manifest.row("a.jpg")
        assert (row.state, row.attempts) == ("pending", 1)


def test_cli_errors_and_a_second_batch_into_the_same_folder(
    tmp_path: Path, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ultrais_core.cli import main

    src, dst = tmp_path / "src", tmp_path / "dst"
    make_folder(src, 1)
    args = ["batch", str(src), "-o", str(dst), "--scale", "2", "--weights", str(weights_dir)]
    assert main(["batch", str(tmp_path / "missing"), *args[2:]]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main([*args[:-1], str(tmp_path / "nowhere")]) == 2
    assert "weights file not found" in capsys.readouterr().err
    dst.mkdir()
    with driver_lock(dst):
        assert main(args) == 2
    assert "another batch is running" in capsys.readouterr().err
    with pytest.raises(LockBusy), driver_lock(dst), driver_lock(dst):
        pass
    with pytest.raises(SystemExit):
        main([*args, "--workers", "0"])
