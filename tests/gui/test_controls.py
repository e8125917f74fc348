"""Controls: sliders emit adjustments; each resets alone, and all at once."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.adjustments import Adjustments
from app.controls import ControlsPanel


def test_slider_emits_adjustments_and_resets(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    row = panel.rows["exposure"]
    with qtbot.waitSignal(panel.adjustments_changed, timeout=1000) as blocker:
        row.slider.setValue(150)
    assert blocker.args[0].exposure == 1.5
    assert row.value_label.text() == "+1.50 EV"
    assert row.reset_button.isEnabled()
    qtbot.mouseClick(row.reset_button, Qt.MouseButton.LeftButton)
    assert panel.adjustments.exposure == 0.0 and not row.reset_button.isEnabled()


def test_reset_all(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.rows["saturation"].slider.setValue(50)
    panel.rows["detail"].slider.setValue(-40)
    assert panel.adjustments == Adjustments(saturation=0.5, detail=-0.4)
    with qtbot.waitSignal(panel.adjustments_changed, timeout=1000) as blocker:
        qtbot.mouseClick(panel.reset_all_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == Adjustments()
    assert panel.rows["saturation"].value() == 1.0


def test_scale_buttons(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.scale_changed, timeout=1000) as blocker:
        qtbot.mouseClick(panel.scale_buttons[4], Qt.MouseButton.LeftButton)
    assert blocker.args == [4] and panel.scale() == 4
