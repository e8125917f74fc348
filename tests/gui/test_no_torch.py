"""The GUI never imports torch: every app module, a window, a photo enhanced by a fake engine.

Runs in a fresh interpreter, because in a full test run other suites import torch into this
process and the check would mean nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib, pkgutil, sys
from pathlib import Path
import numpy as np
from PIL import Image

import app
for info in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(info.name)

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from app.main_window import MainWindow

class Fake:
    device_name = "fake"
    def enhance(self, image, scale, *, progress=None, cancel=None, out_dtype=np.uint16):
        return (np.repeat(np.repeat(image, scale, 0), scale, 1) * 65535).astype(np.uint16)

tmp = Path(sys.argv[1])
photo = tmp / "p.png"
Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(photo)
qapp = QApplication([])
window = MainWindow(
    settings_path=tmp / "s.json", engine_factory=lambda o: Fake(), open_sample=False
)
window.show()
window.open_paths([photo])
# A timer-polled event loop: PySide6 6.12 processEvents() loops leak None references.
loop = QEventLoop()
poll = QTimer()
poll.timeout.connect(
    lambda: loop.quit() if window.current_photo and 2 in window.current_photo.results else None
)
poll.start(5)
QTimer.singleShot(20000, loop.quit)
loop.exec()
assert 2 in window.current_photo.results, "the fake job did not finish"
window.compare_view.repaint()
window.close()
leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
assert not leaked, leaked
assert "ultrais_core.engine" not in sys.modules
print("ok")
"""


def test_gui_never_imports_torch(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ULTRAIS_SETTINGS=str(tmp_path / "s.json"))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


RUN_APP = r"""
import sys
from pathlib import Path
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import app.main_window as main_window

class Fake:
    device_name = "fake"
    def enhance(self, image, scale, *, progress=None, cancel=None, out_dtype=np.uint16):
        return (image.repeat(scale, 0).repeat(scale, 1) * 65535).astype(np.uint16)

main_window.default_engine_factory = lambda options: Fake()
qapp = QApplication(sys.argv[:1])
shown = []

def close_when_ready():
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, main_window.MainWindow)]
    photo = windows[0].current_photo if windows else None
    if photo is not None and 2 in photo.results:  # the sample, enhanced at first start
        shown.append(photo.name)
        windows[0].close()
        qapp.quit()

timer = QTimer()
timer.timeout.connect(close_when_ready)
timer.start(20)
QTimer.singleShot(30000, qapp.quit)
code = main_window.run_app(["ultrais"])
assert code == 0 and shown == ["night_street.jpg"], (code, shown)
assert "torch" not in sys.modules
print("ok")
"""


def test_run_app_shows_the_sample_on_first_start(tmp_path):
    """`python main.py` calls run_app: it opens the window with the sample and exits cleanly."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ULTRAIS_SETTINGS=str(tmp_path / "s.json"))
    result = subprocess.run(
        [sys.executable, "-c", RUN_APP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    assert (tmp_path / "s.json").exists()  # settings written on close
