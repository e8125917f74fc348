"""Export: files of the right size, never the original, ask before replacing, the queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.dialogs.export_dialog import ExportDialog
from app.export.export_options import ExportOptions
from app.export.export_queue import DONE, FAILED

WAIT_MS = 10_000


@pytest.fixture
def accept_export_dialog(monkeypatch, batch_weights):
    """The export dialogs accept their pre-filled options (from settings) without showing."""
    from app.dialogs.batch_dialog import BatchExportDialog

    monkeypatch.setattr(ExportDialog, "exec", lambda self: ExportDialog.DialogCode.Accepted)
    monkeypatch.setattr(
        BatchExportDialog, "exec", lambda self: BatchExportDialog.DialogCode.Accepted
    )


def enhanced_window(qtbot, window, path: Path, scale: int = 2):
    window._set_scale(scale)
    window.open_paths([path])
    qtbot.waitUntil(
        lambda: window.current_photo is not None and scale in window.current_photo.results,
        timeout=WAIT_MS,
    )
    return window.current_photo


def wait_done(qtbot, window, count: int) -> None:
    qtbot.waitUntil(
        lambda: len(window.export_queue.items) == count and not window.export_queue.is_busy(),
        timeout=WAIT_MS,
    )


@pytest.mark.parametrize(("fmt", "suffix"), [("jpeg", ".jpg"), ("tiff16", ".tif")])
def test_export_writes_a_file_of_the_right_size(
    qtbot, window, photo_files, tmp_path, accept_export_dialog, fmt, suffix
):
    out = tmp_path / "out"
    window.settings.output_folder = str(out)
    window.settings.output_format = fmt
    enhanced_window(qtbot, window, photo_files[0], scale=2)
    window.controls.rows["exposure"].slider.setValue(50)  # sliders apply to the export
    window.export_action.trigger()
    wait_done(qtbot, window, 1)
    item = window.export_queue.items[0]
    assert item.state == DONE, item.message
    target = out / f"street_ultrais_x2{suffix}"
    assert item.target == target and target.exists()
    if fmt == "tiff16":
        tifffile = pytest.importorskip("tifffile")
        pixels = tifffile.imread(target)
        assert pixels.shape == (64, 96, 3) and pixels.dtype.name == "uint16"
    else:
        with Image.open(target) as written:
            assert written.size == (96, 64)  # 48 x 32 input at x2


def test_export_dialog_refuses_the_original(qtbot, photo_files):
    options = ExportOptions(format="png", folder="", pattern="{name}")
    dialog = ExportDialog(options, [photo_files[0]])
    qtbot.addWidget(dialog)
    assert "original" in (dialog.problem() or "")
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.pattern_edit.setText("{name}_night")
    assert dialog.problem() is None and ok.isEnabled()
    dialog.pattern_edit.setText("{bogus}")
    assert "Unknown field" in dialog.problem()


def test_export_asks_before_replacing(
    qtbot, window, photo_files, tmp_path, accept_export_dialog, dialogs
):
    from PySide6.QtWidgets import QMessageBox

    out = tmp_path / "out"
    out.mkdir()
    target = out / "street_ultrais_x2.jpg"
    target.write_bytes(b"older export")
    window.settings.output_folder = str(out)
    enhanced_window(qtbot, window, photo_files[0])

    dialogs.answer = QMessageBox.StandardButton.No
    window.export_action.trigger()
    assert dialogs.of_kind("question") and not window.export_queue.items
    assert target.read_bytes() == b"older export"

    dialogs.answer = QMessageBox.StandardButton.Yes
    window.export_action.trigger()
    wait_done(qtbot, window, 1)
    assert window.export_queue.items[0].state == DONE
    with Image.open(target) as written:
        assert written.size == (96, 64)


def test_export_all_queue_reports_failures_and_retries(
    qtbot, window, photo_files, tmp_path, accept_export_dialog, fake_engine, dialogs
):
    out = tmp_path / "out"
    window.settings.output_folder = str(out)
    window.settings.output_format = "png"
    window.open_paths(photo_files)
    qtbot.waitUntil(lambda: all(p.loaded for p in window.store), timeout=WAIT_MS)
    # The second photo (40 px wide) fails in the engine, for the export only.
    fake_engine.fail_when = lambda shape, scale: "out of memory" if shape[1] == 40 else None

    window.export_all_action.trigger()
    assert window.export_dock.isVisible()
    wait_done(qtbot, window, 2)
    states = {i.photo.name: (i.state, i.message) for i in window.export_queue.items}
    assert states["street.png"][0] == DONE
    assert states["bridge.png"] == (FAILED, "out of memory")
    rows = dict(window.export_panel.row_texts())
    assert rows["bridge.png"] == "Failed: out of memory" and rows["street.png"] == "Done"
    assert not dialogs.of_kind("critical")  # batch failures stay in their rows
    assert window.export_panel.retry_button.isEnabled()

    fake_engine.fail_when = None
    window.export_panel.retry_button.click()
    wait_done(qtbot, window, 2)
    assert all(i.state == DONE for i in window.export_queue.items)
    with Image.open(out / "bridge_ultrais_x2.png") as written:
        assert written.size == (80, 60)
    assert window.export_queue.output_folder() == out


def test_export_all_can_be_cancelled(
    qtbot, window, photo_files, tmp_path, accept_export_dialog, fake_engine
):
    import threading

    window.settings.output_folder = str(tmp_path / "out")
    fake_engine.gate = threading.Event()
    window.open_paths(photo_files)
    qtbot.waitUntil(lambda: all(p.loaded for p in window.store), timeout=WAIT_MS)
    window.export_all_action.trigger()
    qtbot.waitUntil(lambda: window.export_queue.active is not None, timeout=WAIT_MS)
    window.export_panel.cancel_button.click()
    qtbot.waitUntil(lambda: not window.export_queue.is_busy(), timeout=WAIT_MS)
    assert all(i.state in ("cancelled", "done") for i in window.export_queue.items)
    fake_engine.gate.set()
