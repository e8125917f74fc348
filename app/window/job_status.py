"""Status-bar widget for the running network job: what, a progress bar, time left, Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from app.icons import icon


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s left"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min left"


class JobStatus(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.eta = QLabel(self)
        self.eta.setObjectName("dimLabel")
        self.eta.setMinimumWidth(110)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setIcon(icon("close-circle-outline"))
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel_requested)
        for widget in (self.label, self.bar, self.eta, self.cancel_button):
            layout.addWidget(widget)
        self.setVisible(False)

    def show_job(self, text: str, fraction: float, eta_s: float | None) -> None:
        self.label.setText(text)
        self.bar.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        self.eta.setText(format_eta(eta_s))
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)
