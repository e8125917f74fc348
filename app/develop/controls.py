"""The side panel: scale, the tone sliders with their resets, the histogram, export buttons.

The panel shows one photo's settings (`show_settings`, which emits nothing) and reports what
the user does: `slider_edited` with the slider's gesture number (for merging undo steps),
`adjustments_edited` for a reset of all sliders, `scale_changed` for the scale buttons.
`adjustments_changed` carries the resulting values after any of them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.develop.adjustments import SLIDERS, Adjustments
from app.develop.histogram import HistogramWidget
from app.develop.slider_row import SliderRow
from app.icons import icon

SCALES = (1, 2, 4)
# Wide enough for sliders that can be set to a hundredth; the dock is sized from the panel's
# minimum (see MainWindow._build_docks), so nothing is cut off at the right edge.
PANEL_MIN_WIDTH = 250


class ControlsPanel(QWidget):
    scale_changed = Signal(int)
    adjustments_changed = Signal(object)  # Adjustments
    slider_edited = Signal(str, float, int)  # name, value, gesture
    adjustments_edited = Signal(object, str)  # Adjustments, what was done (for the undo text)
    export_requested = Signal()
    export_all_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controlsPanel")
        self.setMinimumWidth(PANEL_MIN_WIDTH)
        self._adjustments = Adjustments()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)

        scale_box = QGroupBox("Scale", self)
        scale_layout = QHBoxLayout(scale_box)
        self.scale_group = QButtonGroup(self)
        self.scale_group.setExclusive(True)
        self.scale_buttons: dict[int, QToolButton] = {}
        for scale in SCALES:
            button = QToolButton(scale_box)
            button.setText(f"x{scale}")
            button.setCheckable(True)
            button.setToolTip(f"Enhance at x{scale} ({scale})")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # NOTE: the buttons share the box's width instead of each claiming a fixed one,
            # so the row never grows past the dock (the x4 button used to be cut off).
            button.setMinimumWidth(40)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.scale_group.addButton(button, scale)
            self.scale_buttons[scale] = button
            scale_layout.addWidget(button)
        self.scale_group.idClicked.connect(self.scale_changed)
        layout.addWidget(scale_box)

        tone_box = QGroupBox("Adjust", self)
        tone_layout = QVBoxLayout(tone_box)
        self.rows: dict[str, SliderRow] = {}
        for spec in SLIDERS:
            row = SliderRow(spec, tone_box)
            row.value_changed.connect(self._on_value)
            tone_layout.addWidget(row)
            self.rows[spec.name] = row
        self.reset_all_button = QPushButton(icon("backup-restore"), "Reset all", tone_box)
        self.reset_all_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reset_all_button.clicked.connect(self.reset_all)
        tone_layout.addWidget(self.reset_all_button)
        layout.addWidget(tone_box)

        histogram_box = QGroupBox("Histogram", self)
        histogram_layout = QVBoxLayout(histogram_box)
        self.histogram = HistogramWidget(histogram_box)
        histogram_layout.addWidget(self.histogram)
        layout.addWidget(histogram_box)

        self.export_button = QPushButton(icon("export"), "Export…", self)
        self.export_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.export_button.clicked.connect(self.export_requested)
        self.export_all_button = QPushButton(icon("image-multiple-outline"), "Export all…", self)
        self.export_all_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.export_all_button.clicked.connect(self.export_all_requested)
        layout.addWidget(self.export_button)
        layout.addWidget(self.export_all_button)
        layout.addStretch(1)
        self.set_scale(2)

    @property
    def adjustments(self) -> Adjustments:
        return self._adjustments

    def scale(self) -> int:
        return self.scale_group.checkedId()

    def set_scale(self, scale: int) -> None:
        """Reflect the scale without emitting scale_changed."""
        self.scale_buttons[scale].setChecked(True)

    def show_adjustments(self, adjustments: Adjustments) -> None:
        """Show these values (another photo's, or an undo) without emitting anything."""
        self._adjustments = adjustments
        for name, row in self.rows.items():
            value = getattr(adjustments, name)
            if row.value() != value:  # NOTE: the row being dragged already shows its value
                row.set_value(value)

    def set_adjustments(self, adjustments: Adjustments) -> None:
        self.show_adjustments(adjustments)
        self.adjustments_changed.emit(adjustments)

    def reset_all(self) -> None:
        if not self._adjustments.is_identity():
            self.set_adjustments(Adjustments())
            self.adjustments_edited.emit(self._adjustments, "Reset all")

    def _on_value(self, name: str, value: float) -> None:
        self._adjustments = self._adjustments.with_value(name, value)
        self.slider_edited.emit(name, value, self.rows[name].gesture)
        self.adjustments_changed.emit(self._adjustments)
