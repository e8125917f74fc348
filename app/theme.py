"""The dark theme: Fusion with a dark palette, plus a few style-sheet touches.

Night photos are judged on a dark surround: a bright window frame makes shadows look darker
than they are, so the chrome stays dark and neutral (no tinted greys).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1b1b1d"
SURFACE = "#242427"
SURFACE_RAISED = "#2e2e32"
BORDER = "#3a3a3f"
TEXT = "#e6e6e6"
TEXT_DIM = "#9a9aa0"
ACCENT = "#e0a34a"  # warm, like street lights
ERROR = "#e06c5a"
OK = "#7fbf7f"

_STYLE = f"""
QToolBar {{ border: none; spacing: 4px; padding: 2px; background: {SURFACE}; }}
QStatusBar {{ background: {SURFACE}; color: {TEXT_DIM}; }}
QStatusBar::item {{ border: none; }}
QDockWidget::title {{ background: {SURFACE}; padding: 4px; }}
QListWidget#photoStrip {{ background: {BACKGROUND}; border: none; }}
QListWidget#photoStrip::item {{ color: {TEXT_DIM}; }}
QListWidget#photoStrip::item:selected {{ background: {SURFACE_RAISED}; border: 1px solid {ACCENT};
    border-radius: 3px; color: {TEXT}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 4px; margin-top: 1.2em; padding-top: 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {TEXT_DIM}; }}
QProgressBar {{ border: 1px solid {BORDER}; border-radius: 3px; background: {BACKGROUND};
    text-align: center; height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: #8a6a3a; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 12px; margin: -5px 0;
    border-radius: 6px; }}
QToolButton:checked {{ background: {SURFACE_RAISED}; border: 1px solid {ACCENT};
    border-radius: 3px; }}
QLabel#dimLabel {{ color: {TEXT_DIM}; }}
"""


def palette() -> QPalette:
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: SURFACE,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BACKGROUND,
        QPalette.ColorRole.AlternateBase: SURFACE_RAISED,
        QPalette.ColorRole.ToolTipBase: SURFACE_RAISED,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: TEXT_DIM,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: SURFACE_RAISED,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#111111",
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, colour in colours.items():
        pal.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6a70"))
    return pal


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(palette())
    app.setStyleSheet(_STYLE)
