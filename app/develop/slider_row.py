"""One labelled slider with its value and a reset button, for a float range.

`gesture` numbers the user's gestures on the slider, so that the undo history can make one
step of each: one drag (press to release), or a run of wheel notches or arrow keys that
follow each other within `MERGE_WINDOW_S`. A reset is always a gesture of its own.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QToolButton, QWidget

from app.develop.adjustments import SliderSpec
from app.icons import icon

MERGE_WINDOW_S = 1.0


class _Slider(QSlider):
    """A slider that resets on double click, the habit of most photo editors."""

    double_clicked = Signal()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.double_clicked.emit()
        event.accept()


class SliderRow(QWidget):
    value_changed = Signal(str, float)  # name, value

    def __init__(self, spec: SliderSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._factor = 10**spec.decimals
        self.gesture = 0
        self._gesture_open = False  # the next change may continue the current gesture
        self._last_change = 0.0
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setHorizontalSpacing(6)
        layout.setVerticalSpacing(0)

        self.label = QLabel(spec.label, self)
        self.value_label = QLabel(self)
        self.value_label.setObjectName("dimLabel")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setMinimumWidth(56)
        self.reset_button = QToolButton(self)
        self.reset_button.setIcon(icon("restore"))
        self.reset_button.setToolTip(f"Reset {spec.label.lower()}")
        self.reset_button.setAutoRaise(True)
        # Buttons must not take keyboard focus, or Space would press them instead of flipping
        # the before/after view.
        self.reset_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider = _Slider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(self._to_int(spec.minimum), self._to_int(spec.maximum))
        self.slider.setSingleStep(max(1, self._factor // 100))
        self.slider.setPageStep(max(1, self._factor // 10))
        self.slider.setToolTip(spec.tooltip)
        self.slider.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        layout.addWidget(self.label, 0, 0)
        layout.addWidget(self.value_label, 0, 1)
        layout.addWidget(self.reset_button, 0, 2, 2, 1)
        layout.addWidget(self.slider, 1, 0, 1, 2)

        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(self._start_gesture)
        self.slider.sliderReleased.connect(self._end_gesture)
        self.slider.double_clicked.connect(self.reset)
        self.reset_button.clicked.connect(self.reset)
        self.set_value(spec.default)

    def _to_int(self, value: float) -> int:
        return round(value * self._factor)

    def value(self) -> float:
        return self.slider.value() / self._factor

    def set_value(self, value: float) -> None:
        """Set without emitting value_changed (used to restore or reset many at once)."""
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_int(value))
        self.slider.blockSignals(False)
        self._show_value()
        self._gesture_open = False

    def reset(self) -> None:
        if self.value() != self.spec.default:
            self._gesture_open = False
            self.slider.setValue(self._to_int(self.spec.default))
            self._gesture_open = False

    def _start_gesture(self) -> None:
        self.gesture += 1
        self._gesture_open = True

    def _end_gesture(self) -> None:
        self._gesture_open = False

    def _on_slider(self, _raw: int) -> None:
        now = time.monotonic()
        if not self.slider.isSliderDown() and (
            not self._gesture_open or now - self._last_change > MERGE_WINDOW_S
        ):
            self.gesture += 1
            self._gesture_open = True
        self._last_change = now
        self._show_value()
        self.value_changed.emit(self.spec.name, self.value())

    def _show_value(self) -> None:
        value = self.value()
        sign = "+" if self.spec.minimum < 0 and value > 0 else ""
        self.value_label.setText(f"{sign}{value:.{self.spec.decimals}f}{self.spec.suffix}")
        self.reset_button.setEnabled(value != self.spec.default)
