"""About: versions of everything that matters for a bug report, and the processing device."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

import app
import ultrais_core


def _dist_version(name: str) -> str:
    # Read from package metadata: importing torch just to print its version would cost
    # seconds and break the rule that the GUI never imports it.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_rows(device: str | None) -> list[tuple[str, str]]:
    return [
        ("UltraIS", app.__version__),
        ("Core", ultrais_core.__version__),
        ("Processing device", device or "not started yet (starts with the first photo)"),
        ("Python", platform.python_version()),
        ("Qt / PySide6", f"{qVersion()} / {pyside_version}"),
        ("PyTorch", _dist_version("torch")),
        # The Linux CPU bundle runs the network with ONNX Runtime instead of torch.
        ("ONNX Runtime", _dist_version("onnxruntime")),
        ("NumPy", _dist_version("numpy")),
        ("OpenCV", _dist_version("opencv-python-headless")),
        ("Pillow", _dist_version("pillow")),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


class AboutDialog(QDialog):
    def __init__(self, device: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About UltraIS")
        layout = QVBoxLayout(self)
        title = QLabel(
            "<h2>UltraIS</h2><p>Illuminates and super-resolves ultra-dark night photos.</p>"
        )
        layout.addWidget(title)
        rows = "".join(
            f"<tr><td style='padding-right:12px'><b>{k}</b></td><td>{v}</td></tr>"
            for k, v in version_rows(device)
        )
        self.details = QLabel(f"<table>{rows}</table>", self)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
