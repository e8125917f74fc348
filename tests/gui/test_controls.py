"""Controls: sliders emit adjustments and gestures; resets; the panel fits the dock."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QWidget

from app.develop.adjustments import Adjustments
from app.develop.controls import ControlsPanel


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


def test_a_drag_is_one_gesture_and_a_reset_another(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    seen = []
    panel.slider_edited.connect(lambda name, value, gesture: seen.append((name, value, gesture)))
    row = panel.rows["shadows"]
    row.slider.setSliderDown(True)
    row.slider.setValue(10)
    row.slider.setValue(40)
    row.slider.setSliderDown(False)
    row.slider.setSliderDown(True)
    row.slider.setValue(50)
    row.slider.setSliderDown(False)
    row.reset()
    gestures = [g for _n, _v, g in seen]
    assert [v for _n, v, _g in seen] == [0.1, 0.4, 0.5, 0.0]
    assert gestures[0] == gestures[1] and len(set(gestures)) == 3


def test_show_adjustments_emits_nothing(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    with (
        qtbot.assertNotEmitted(panel.adjustments_changed),
        qtbot.assertNotEmitted(panel.slider_edited),
    ):
        panel.show_adjustments(Adjustments(exposure=-1.0))
    assert panel.rows["exposure"].value() == -1.0 and panel.adjustments.exposure == -1.0


@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)])
def test_the_panel_fits_the_dock_at_laptop_sizes(qtbot, make_window, size):
    """Nothing in the controls panel is cut off: the x4 button and the reset icons were."""
    window = make_window()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0], timeout=5000)
    scroll = window.controls_dock.widget()
    viewport = scroll.viewport()
    visible = viewport.rect()
    children = [c for c in window.controls.findChildren(QWidget) if c.isVisibleTo(window)]
    assert len(children) > 20
    for child in children:
        rect = QRect(child.mapTo(viewport, QPoint(0, 0)), child.size())
        assert visible.contains(rect), (type(child).__name__, child.objectName(), rect, visible)
    assert window.controls.scale_buttons[4].isVisible()
    assert not scroll.verticalScrollBar().isVisible()  # all of it fits without scrolling
