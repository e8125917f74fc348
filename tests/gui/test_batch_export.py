"""Export all is a batch: the same manifest as `python main.py batch`, resumable both ways.

The GUI side runs the fake engine; the command side runs `run_batch` in this process
(workers=0) with tiny random-weight networks (the suite's `weights_dir`), the ones the GUI's
batch settings name.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from app.dialogs.batch_dialog import BatchExportDialog
from app.export.batch_plan import make_spec, plan_photos
from app.export.export_queue import CANCELLED, DONE, FAILED, SKIPPED
from ultrais_core.batch import planner
from ultrais_core.batch.manifest import MANIFEST_NAME, LockBusy, driver_lock
from ultrais_core.batch.runner import BatchOptions, run_batch

WAIT_MS = 10_000


@pytest.fixture
def accept_batch_dialog(monkeypatch):
    monkeypatch.setattr(
        BatchExportDialog, "exec", lambda self: BatchExportDialog.DialogCode.Accepted
    )


@pytest.fixture
def real_weights(weights_dir, monkeypatch) -> Path:
    """Tiny real networks, where the GUI's batch settings look for the default weights."""
    monkeypatch.setattr(planner, "DEFAULT_WEIGHTS_DIR", weights_dir)
    return weights_dir


@pytest.fixture
def night(tmp_path, new_photo) -> Path:
    folder = tmp_path / "night"
    folder.mkdir()
    for index, name in enumerate(("a.png", "b.png", "c.png")):
        new_photo(folder / name, 24, 16, seed=index)
    return folder


def manifest_rows(dst: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(f"file:{dst / MANIFEST_NAME}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return {r["rel"]: r for r in db.execute("SELECT * FROM photos")}
    finally:
        db.close()


def command(src: Path, dst: Path, weights: Path, **changes: object):
    """`python main.py batch SRC -o DST --scale 2 --format png`, in this process."""
    options = BatchOptions(src=src, dst=dst, scale=2, fmt="png", weights=weights, workers=0)
    for key, value in changes.items():
        setattr(options, key, value)
    return run_batch(options, io.StringIO())


def export_all(qtbot, window, dst: Path, *, stop_after: int | None = None) -> None:
    """Export all into `dst` (png, x2); with stop_after, cancel once that many are done."""
    window.settings.batch_folder = str(dst)
    window.settings.batch_format = "png"
    window.settings.scale = 2
    queue = window.export_queue
    if stop_after is not None:

        def stop(item) -> None:
            if sum(i.state == DONE for i in queue.items) >= stop_after:
                queue.cancel()

        queue.item_finished.connect(stop)
    before = len(queue.items)
    window.export_all_action.trigger()
    qtbot.waitUntil(lambda: len(queue.items) > before and not queue.is_busy(), timeout=WAIT_MS)
    for session in queue.sessions:
        assert session.wait(WAIT_MS)  # the folder is let go of before anyone else may run
    if stop_after is not None:
        queue.item_finished.disconnect(stop)


def open_all(qtbot, window, folder: Path) -> None:
    window.open_paths([folder])
    qtbot.waitUntil(lambda: all(p.loaded for p in window.store), timeout=WAIT_MS)


def states(window) -> dict[str, str]:
    return {i.photo.name: i.state for i in window.export_queue.items}


def test_the_command_resumes_what_the_gui_started(
    qtbot, window, night, tmp_path, real_weights, accept_batch_dialog
):
    dst = tmp_path / "out"
    open_all(qtbot, window, night)
    export_all(qtbot, window, dst, stop_after=1)
    assert sorted(states(window).values()) == [CANCELLED, CANCELLED, DONE]
    rows = manifest_rows(dst)
    assert sorted(r["state"] for r in rows.values()) == ["done", "pending", "pending"]
    done = next(r for r in rows.values() if r["state"] == "done")
    assert done["hash"] == planner.hash_file(night / done["rel"]) and done["owns_output"] == 1
    assert (dst / done["output"]).is_file()

    summary = command(night, dst, real_weights)
    assert (summary.skipped, summary.done, summary.exit_code) == (1, 2, 0)
    assert {r["state"] for r in manifest_rows(dst).values()} == {"done"}


def test_the_gui_resumes_what_the_command_started(
    qtbot, window, night, tmp_path, real_weights, accept_batch_dialog, fake_engine
):
    dst = tmp_path / "out"
    seen = []
    options = BatchOptions(src=night, dst=dst, scale=2, fmt="png", weights=real_weights, workers=0)
    first = run_batch(options, io.StringIO(), on_result=seen.append, cancel=lambda: bool(seen))
    assert first.cancelled and first.done == len(seen) >= 1
    done_rel = seen[0].rel
    written = (dst / manifest_rows(dst)[done_rel]["output"]).stat().st_mtime_ns

    open_all(qtbot, window, night)
    export_all(qtbot, window, dst)
    assert states(window)[done_rel] == SKIPPED
    assert all(s == DONE for n, s in states(window).items() if n != done_rel)
    assert (dst / manifest_rows(dst)[done_rel]["output"]).stat().st_mtime_ns == written
    rows = manifest_rows(dst)
    assert {r["state"] for r in rows.values()} == {"done"}
    assert len({r["settings"] for r in rows.values()}) == 1  # the GUI wrote the command's

    again = command(night, dst, real_weights)
    assert (again.skipped, again.done) == (3, 0)


def test_sliders_make_a_batch_the_command_redoes_rather_than_resumes(
    qtbot, window, night, tmp_path, real_weights, accept_batch_dialog
):
    dst = tmp_path / "out"
    open_all(qtbot, window, night)
    assert window.current_photo.name == "a.png"
    window.controls.rows["exposure"].slider.setValue(50)  # a.png's own sliders
    export_all(qtbot, window, dst)
    rows = manifest_rows(dst)
    assert {r["state"] for r in rows.values()} == {"done"}
    settings = json.loads(rows["a.png"]["settings"])
    assert settings["adjustments"]["exposure"] == pytest.approx(0.5)
    neutral = planner.settings_json(
        planner.batch_settings(
            scale=2, fmt="png", weights=real_weights, precision="auto", quality=95
        )
    )
    assert rows["a.png"]["settings"] != neutral
    assert rows["b.png"]["settings"] == rows["c.png"]["settings"] == neutral

    summary = command(night, dst, real_weights)
    assert (summary.skipped, summary.done) == (2, 1)  # a.png redone, never taken as its own


def test_export_all_waits_its_turn_for_a_folder_the_command_holds(
    qtbot, window, night, tmp_path, batch_weights, accept_batch_dialog, dialogs
):
    dst = tmp_path / "out"
    dst.mkdir()
    open_all(qtbot, window, night)
    with driver_lock(dst):
        export_all(qtbot, window, dst)
    assert set(states(window).values()) == {FAILED}
    assert "another batch is running" in window.export_queue.items[0].message
    qtbot.waitUntil(lambda: bool(dialogs.of_kind("critical")), timeout=WAIT_MS)
    assert "another batch is running" in dialogs.of_kind("critical")[0][2]

    window.export_panel.retry_button.click()  # the folder is free now
    qtbot.waitUntil(lambda: set(states(window).values()) == {DONE}, timeout=WAIT_MS)


def test_the_command_cannot_run_into_a_folder_the_gui_holds(
    qtbot, window, night, tmp_path, batch_weights, accept_batch_dialog, fake_engine
):
    import threading

    dst = tmp_path / "out"
    open_all(qtbot, window, night)
    fake_engine.gate = threading.Event()
    window.settings.batch_folder = str(dst)
    window.export_all_action.trigger()
    queue = window.export_queue
    qtbot.waitUntil(lambda: queue.active is not None, timeout=WAIT_MS)
    with pytest.raises(LockBusy):
        command(night, dst, batch_weights)
    rel = queue.active.rel
    qtbot.waitUntil(lambda: manifest_rows(dst)[rel]["state"] == "running", timeout=WAIT_MS)
    window.export_panel.cancel_button.click()
    fake_engine.gate.set()
    qtbot.waitUntil(lambda: not queue.is_busy(), timeout=WAIT_MS)
    assert queue.sessions[0].wait(WAIT_MS)
    assert "running" not in {r["state"] for r in manifest_rows(dst).values()}


@pytest.mark.parametrize("replace", [False, True])
def test_a_file_the_batch_did_not_write_is_replaced_only_when_asked(
    qtbot, window, night, tmp_path, batch_weights, accept_batch_dialog, dialogs, replace
):
    from PySide6.QtWidgets import QMessageBox

    dst = tmp_path / "out"
    dst.mkdir()
    foreign = dst / "a_ultrais_x2.png"
    foreign.write_bytes(b"the user's own file")
    dialogs.answer = QMessageBox.StandardButton.Yes if replace else QMessageBox.StandardButton.No
    open_all(qtbot, window, night)
    export_all(qtbot, window, dst)
    assert dialogs.of_kind("question")
    if replace:
        assert set(states(window).values()) == {DONE}
        with Image.open(foreign) as image:
            assert image.size == (48, 32)
    else:
        assert states(window)["a.png"] == FAILED and "not replaced" in (
            window.export_queue.items[0].message
        )
        assert foreign.read_bytes() == b"the user's own file"


def test_photos_map_onto_the_commands_keys_and_names(tmp_path, batch_weights):
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    for rel in ("twin.jpg", "twin.png", "x/b.png", ".hidden.jpg", "x/odd.dat"):
        (src / rel).write_bytes(b"not decoded while planning")
    photos = [src / "twin.jpg", src / "x" / "b.png", src / ".hidden.jpg", src / "x" / "odd.dat"]
    spec = make_spec(photos, tmp_path / "dst", scale=4, fmt="jpg", quality=90)
    assert spec.src == src.resolve() and spec.recursive
    plan = plan_photos(spec, photos)
    by_name = {p.name: v for p, v in plan.photos.items()}
    # Named as the command names them with twin.png beside it, though only twin.jpg is open.
    assert by_name["twin.jpg"].output_rel == "twin_jpg_ultrais_x4.jpg"
    assert (by_name["b.png"].rel, by_name["b.png"].output_rel) == ("x/b.png", "x/b_ultrais_x4.jpg")
    assert {p.name for p in plan.refused} == {".hidden.jpg", "odd.dat"}
    commanded = {
        p.rel: p.output_rel for p in planner.plan(src, spec.dst, scale=4, fmt="jpg", recursive=True)
    }
    for photo in plan.photos.values():
        assert commanded[photo.rel] == photo.output_rel
    assert spec.command().endswith("--recursive --quality 90")


def test_the_dialog_needs_another_folder_and_shows_the_command(qtbot, night):
    from app.develop.adjustments import Adjustments

    photos = sorted(night.iterdir())
    dialog = BatchExportDialog(
        sources=photos, fmt="png", quality=92, scale=2, folder="", adjustments=Adjustments()
    )
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled() and "output folder" in dialog.problem()
    dialog.folder_edit.setText(str(night))
    assert not ok.isEnabled() and "other than" in dialog.problem()
    dialog.folder_edit.setText(str(night.parent / "out"))
    assert ok.isEnabled()
    assert "main.py batch" in dialog.command_label.text()
    assert "--scale 2 --format png" in dialog.command_label.text()
    assert dialog.spec().quality == 92
