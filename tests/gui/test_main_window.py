"""The main window end to end with the fake engine: drop, enhance, cancel, errors, shortcuts."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from app.develop.adjustments import Adjustments
from app.dialogs.about_dialog import AboutDialog
from app.main_window import SAMPLE_PHOTO
from app.settings import Settings
from ultrais_core.errors import WeightsError

WAIT_MS = 10_000


def test_drop_loads_photos_and_enhances_the_first(qtbot, window, photo_files, fake_engine, drop):
    # Dropped on the image view, which passes drops up to the window: "anywhere" works.
    drop(window.compare_view, [photo_files[0], photo_files[1].parent])  # a file and its folder
    qtbot.waitUntil(lambda: window.photo_strip.count() == 2, timeout=WAIT_MS)
    photo = window.current_photo
    assert photo is not None and photo.path == photo_files[0].resolve()
    qtbot.waitUntil(lambda: 2 in photo.results, timeout=WAIT_MS)
    assert photo.results[2].pixels.shape == (64, 96, 3)
    assert photo.results[2].pixels.dtype == np.uint16
    assert window.compare_view.photo is photo
    window.compare_view.repaint()
    assert window.compare_view.last_regions["after"] == window.compare_view.last_regions["before"]
    # The thumbnail strip got real thumbnails.
    qtbot.waitUntil(lambda: all(p.thumbnail is not None for p in window.store), timeout=WAIT_MS)


def test_clicking_a_thumbnail_shows_that_photo(qtbot, window, photo_files):
    window.open_paths(photo_files)
    qtbot.waitUntil(lambda: window.photo_strip.count() == 2, timeout=WAIT_MS)
    second = window.photo_strip.item(1)
    rect = window.photo_strip.visualItemRect(second)
    qtbot.mouseClick(window.photo_strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_photo.path == photo_files[1].resolve()
    qtbot.waitUntil(lambda: 2 in window.current_photo.results, timeout=WAIT_MS)


def test_engine_error_reaches_a_dialog(qtbot, window, photo_files, fake_engine, dialogs):
    fake_engine.error = WeightsError("weights ultrais_x2.safetensors are missing")
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(lambda: bool(dialogs.of_kind("critical")), timeout=WAIT_MS)
    _kind, title, text = dialogs.of_kind("critical")[0]
    assert "enhance" in title.lower()
    assert "weights ultrais_x2.safetensors are missing" in text and "street.png" in text
    assert "Failed" in window.compare_view._status
    assert window.isVisible()  # no crash


def test_unreadable_file_reaches_a_dialog(qtbot, window, tmp_path, dialogs):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    window.open_paths([bad])
    qtbot.waitUntil(lambda: bool(dialogs.of_kind("critical")), timeout=WAIT_MS)
    assert "broken.jpg" in dialogs.of_kind("critical")[0][2]


def test_cancel_from_the_status_bar_and_enhance_again(qtbot, window, photo_files, fake_engine):
    import threading

    fake_engine.gate = threading.Event()
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(
        lambda: window.jobs.current is not None and fake_engine.started.is_set(), timeout=WAIT_MS
    )
    # `started` reaches the GUI thread through the event queue: wait for it, do not assume it.
    qtbot.waitUntil(window.job_status.isVisible, timeout=WAIT_MS)
    with qtbot.waitSignal(window.jobs.job_cancelled, timeout=WAIT_MS):
        qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    assert "Cancelled" in window.compare_view._status
    qtbot.waitUntil(lambda: not window.job_status.isVisible(), timeout=WAIT_MS)

    fake_engine.gate.set()
    window.enhance_action.trigger()
    qtbot.waitUntil(lambda: 2 in window.current_photo.results, timeout=WAIT_MS)


def test_sliders_redraw_from_the_cache(qtbot, window, photo_files, fake_engine):
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(
        lambda: window.current_photo and 2 in window.current_photo.results, timeout=WAIT_MS
    )
    calls = len(fake_engine.calls)
    window.controls.rows["exposure"].slider.setValue(100)
    assert window.compare_view._adjustments == Adjustments(exposure=1.0)
    window.compare_view.repaint()
    assert len(fake_engine.calls) == calls  # no new network run


def test_shortcuts(qtbot, window, photo_files):
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(lambda: window.current_photo and window.current_photo.loaded, timeout=WAIT_MS)
    view = window.compare_view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_4)
    assert window.settings.scale == 4 and window.controls.scale() == 4
    qtbot.waitUntil(lambda: 4 in window.current_photo.results, timeout=WAIT_MS)
    qtbot.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.relative_zoom() == 1.0 and not view.is_fitted
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.is_fitted
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.mode == "before"
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.mode == "split"
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert window.stack.currentWidget() is window.scales_view
    # The scales view asks for every scale.
    qtbot.waitUntil(lambda: set(window.current_photo.results) == {1, 2, 4}, timeout=WAIT_MS)
    assert window.scales_view.panes[1].label().startswith("x1 · 48 × 32 px · ")


def test_split_drag_in_the_window(qtbot, window, photo_files):
    window.open_paths([photo_files[0]])
    view = window.compare_view
    qtbot.waitUntil(lambda: view.photo is not None and view.photo.loaded, timeout=WAIT_MS)
    x = view.split_x()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(x, 100))
    qtbot.mouseMove(view, QPoint(x + 120, 100))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(x + 120, 100))
    assert view.split_x() == x + 120


def test_first_start_shows_the_sample(qtbot, make_window):
    window = make_window(open_sample=True)
    qtbot.waitUntil(lambda: len(window.store) == 1, timeout=WAIT_MS)
    assert window.current_photo.path == SAMPLE_PHOTO
    qtbot.waitUntil(lambda: window.current_photo.loaded, timeout=WAIT_MS)
    assert window.current_photo.size == (1024, 683)
    window.close()
    again = make_window(open_sample=True)
    assert len(again.store) == 0  # only on the first start


def test_preferences_reach_the_engine(window):
    new = Settings(device="cpu", precision="fp32", tile=256)
    window.apply_settings(new)
    options = window.provider.options
    assert (options.device, options.precision, options.tile) == ("cpu", "fp32", 256)


def test_about_lists_versions_and_device(qtbot):
    dialog = AboutDialog("Fake CPU")
    qtbot.addWidget(dialog)
    text = dialog.details.text()
    assert "Fake CPU" in text and "PySide6" in text and "NumPy" in text


def test_failures_arriving_together_share_one_dialog(
    qtbot, window, photo_files, fake_engine, dialogs
):
    fake_engine.error = WeightsError("no weights")
    window._apply_view_mode("scales")  # asks for x1, x2 and x4 at once
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(
        lambda: not window.jobs.is_busy() and bool(dialogs.of_kind("critical")), timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: not window._error_flush_pending, timeout=WAIT_MS)
    critical = dialogs.of_kind("critical")
    assert len(critical) == 1
    assert all(f"x{s}: no weights" in critical[0][2] for s in (1, 2, 4))


def test_closing_cancels_and_awaits_a_running_job(qtbot, window, photo_files, fake_engine):
    import threading

    fake_engine.gate = threading.Event()  # the job would never end on its own
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(fake_engine.started.is_set, timeout=WAIT_MS)
    assert window.jobs.runner.running()
    window.close()  # cancels, then waits (bounded) for the worker
    assert window.jobs.runner.pool.activeThreadCount() == 0
    assert not window.jobs.runner.running()
