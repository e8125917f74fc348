"""The small widgets: thumbnail strip, job status, preferences, slider row."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from app.develop.adjustments import SLIDER_BY_NAME
from app.develop.slider_row import SliderRow
from app.dialogs.preferences_dialog import PreferencesDialog
from app.settings import Settings
from app.window.job_status import JobStatus, format_eta
from app.window.photo_strip import PhotoStrip


def test_photo_strip_selection_and_thumbnails(qtbot):
    strip = PhotoStrip()
    qtbot.addWidget(strip)
    strip.add_photo(7, "a.jpg")
    strip.add_photo(9, "b.jpg")
    strip.set_thumbnail(9, np.zeros((20, 30, 3), np.uint8))
    strip.set_failed(7, "corrupt")
    assert strip.ids() == [7, 9]
    with qtbot.waitSignal(strip.photo_selected, timeout=1000) as blocker:
        strip.select(9)
    assert blocker.args == [9] and strip.current_id() == 9
    assert "corrupt" in strip.item(0).toolTip()
    strip.remove_photo(7)
    assert strip.ids() == [9]


def test_job_status_shows_progress_eta_and_cancels(qtbot):
    status = JobStatus()
    qtbot.addWidget(status)
    status.show()
    status.show_job("Enhancing a.jpg at x4", 0.25, 90)
    assert status.isVisible() and status.bar.value() == 250
    assert status.eta.text() == "1 min 30 s left"
    with qtbot.waitSignal(status.cancel_requested, timeout=1000):
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    status.clear()
    assert not status.isVisible()


def test_format_eta():
    assert format_eta(None) == "estimating…"
    assert format_eta(12.4) == "12 s left"
    assert format_eta(3 * 3600 + 120) == "3 h 02 min left"


def test_preferences_dialog_round_trip(qtbot):
    dialog = PreferencesDialog(Settings(device="cuda", tile=None, precision="fp16"))
    qtbot.addWidget(dialog)
    assert not dialog.tile_spin.isEnabled()
    dialog.tile_auto.setChecked(False)
    dialog.tile_spin.setValue(384)
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.pattern_edit.setText("{name}_{bad}")
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.pattern_edit.setText("{name}_night")
    assert ok.isEnabled()
    result = dialog.result_settings()
    assert (result.device, result.tile, result.precision) == ("cpu", 384, "fp16")
    assert result.name_pattern == "{name}_night"


def test_slider_row_double_click_resets(qtbot):
    row = SliderRow(SLIDER_BY_NAME["saturation"])
    qtbot.addWidget(row)
    row.slider.setValue(150)
    assert row.value() == 1.5 and row.value_label.text() == "1.50×"
    qtbot.mouseDClick(row.slider, Qt.MouseButton.LeftButton)
    assert row.value() == 1.0
