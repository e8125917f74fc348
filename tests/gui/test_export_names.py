"""Export and Export all name same-stem photos (RAW+JPEG pairs) apart, as the CLI does.

IMG_0001.jpg, IMG_0001.png and IMG_0001.tif in one folder: each export carries its source's
extension (`ultrais_core.naming`), nothing asks to replace anything, and the batch command
resumes an Export all of them without redoing one.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.dialogs.batch_dialog import BatchExportDialog
from app.dialogs.export_dialog import ExportDialog
from app.export.export_options import ExportOptions, output_path
from app.export.export_queue import DONE
from ultrais_core.batch import planner
from ultrais_core.batch.runner import BatchOptions, run_batch

WAIT_MS = 10_000
TRIPLET = ("IMG_0001.jpg", "IMG_0001.png", "IMG_0001.tif")


@pytest.fixture
def accept_dialogs(monkeypatch):
    monkeypatch.setattr(ExportDialog, "exec", lambda self: ExportDialog.DialogCode.Accepted)
    monkeypatch.setattr(
        BatchExportDialog, "exec", lambda self: BatchExportDialog.DialogCode.Accepted
    )


@pytest.fixture
def triplet(tmp_path, new_photo) -> Path:
    folder = tmp_path / "camera"
    folder.mkdir()
    for index, name in enumerate(TRIPLET):
        new_photo(folder / name, 24, 16, seed=index)
    new_photo(folder / "IMG_0002.jpg", 24, 16, seed=9)
    return folder


def wait_idle(qtbot, window, count: int) -> None:
    queue = window.export_queue
    qtbot.waitUntil(lambda: len(queue.items) == count and not queue.is_busy(), timeout=WAIT_MS)


def test_export_names_follow_the_photos_folder(triplet):
    options = ExportOptions(format="png", folder="/out", scale=4)
    assert output_path(triplet / "IMG_0001.tif", options) == Path(
        "/out/IMG_0001_tif_ultrais_x4.png"
    )
    assert output_path(triplet / "IMG_0002.jpg", options) == Path("/out/IMG_0002_ultrais_x4.png")
    custom = ExportOptions(format="jpeg", folder="/out", pattern="night-{name}")
    assert output_path(triplet / "IMG_0001.jpg", custom) == Path("/out/night-IMG_0001_jpg.jpg")


def test_export_one_by_one_writes_distinct_files_without_asking(
    qtbot, window, triplet, tmp_path, accept_dialogs, batch_weights, dialogs
):
    out = tmp_path / "out"
    window.settings.output_folder = str(out)
    window.settings.output_format = "jpeg"
    window._set_scale(2)
    for count, name in enumerate(TRIPLET, start=1):
        window.open_paths([triplet / name])
        qtbot.waitUntil(
            lambda name=name: (
                window.current_photo is not None
                and window.current_photo.name == name
                and 2 in window.current_photo.results
            ),
            timeout=WAIT_MS,
        )
        window.export_action.trigger()
        wait_idle(qtbot, window, count)
    assert [item.state for item in window.export_queue.items] == [DONE] * 3
    assert sorted(p.name for p in out.iterdir()) == [
        "IMG_0001_jpg_ultrais_x2.jpg",
        "IMG_0001_png_ultrais_x2.jpg",
        "IMG_0001_tif_ultrais_x2.jpg",
    ]
    assert not dialogs.of_kind("question")  # no "Replace file?"


def test_export_all_writes_distinct_files_the_command_then_resumes(
    qtbot, window, triplet, tmp_path, weights_dir, monkeypatch, accept_dialogs
):
    monkeypatch.setattr(planner, "DEFAULT_WEIGHTS_DIR", weights_dir)  # tiny real networks
    dst = tmp_path / "out"
    window.open_paths([triplet])
    qtbot.waitUntil(lambda: len(window.store.photos()) == 4, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: all(p.loaded for p in window.store.photos()), timeout=WAIT_MS)
    window.settings.batch_folder = str(dst)
    window.settings.batch_format = "png"
    window._set_scale(2)
    window.export_all_action.trigger()
    wait_idle(qtbot, window, 4)
    for session in window.export_queue.sessions:
        assert session.wait(WAIT_MS)
    items = window.export_queue.items
    assert [item.state for item in items] == [DONE] * 4, [item.message for item in items]
    assert sorted(p.name for p in dst.iterdir() if not p.name.startswith(".")) == [
        "IMG_0001_jpg_ultrais_x2.png",
        "IMG_0001_png_ultrais_x2.png",
        "IMG_0001_tif_ultrais_x2.png",
        "IMG_0002_ultrais_x2.png",
    ]
    options = BatchOptions(src=triplet, dst=dst, scale=2, fmt="png", weights=weights_dir, workers=0)
    summary = run_batch(options, io.StringIO())
    assert (summary.skipped, summary.done, summary.exit_code) == (4, 0, 0)
