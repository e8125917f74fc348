"""Real screenshots of the app for the README, taken under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Writes docs/screenshot_main.png (a photo loaded, split view), docs/screenshot_split_drag.png
(the split line mid-drag, zoomed in) and docs/screenshot_scales.png (x1/x2/x4 side by side).
Uses the real engine when resources/weights/ holds weights; otherwise a classical stand-in
(auto exposure, light denoising, Lanczos upscale) so that the pictures show the GUI with a
plausible result. The stand-in is named in the status bar; it is not the network.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "resources" / "sample"))
os.environ.setdefault("ULTRAIS_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.json"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app import theme  # noqa: E402
from app.icons import app_icon  # noqa: E402
from app.main_window import SAMPLE_PHOTO, MainWindow  # noqa: E402

DOCS = ROOT / "docs"
WINDOW_SIZE = (1440, 900)


class ClassicalStandIn:
    """Auto exposure + bilateral denoise + Lanczos: what the GUI shows when no weights exist."""

    device_name = "classical stand-in (no weights found)"

    def enhance(
        self,
        image: np.ndarray,
        scale: int,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        # A night-time exposure (mean 5 % linear), not daylight; then non-local means on the
        # brightened 8-bit image, which is what a careful manual edit would do.
        linear = np.power(np.clip(image, 0, 1), 2.2)
        gain = float(np.clip(0.05 / max(float(np.mean(linear)), 1e-5), 1.0, 64.0))
        bright = np.power(np.clip(linear * gain, 0, 1), 1 / 2.2)
        as_u8 = (bright * 255 + 0.5).astype(np.uint8)
        denoised = cv2.fastNlMeansDenoisingColored(as_u8, None, 18, 24, 7, 21)
        h, w = image.shape[:2]
        out = cv2.resize(
            denoised.astype(np.float32) / 255.0,
            (w * scale, h * scale),
            interpolation=cv2.INTER_LANCZOS4,
        )
        if progress is not None:
            progress(1, 1)
        return np.clip(out, 0, 1).astype(np.float32)


def wait_until(predicate: Callable[[], object], timeout_s: float = 600) -> None:
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    timer = QTimer()
    timer.timeout.connect(
        lambda: loop.quit() if predicate() or time.perf_counter() > deadline else None
    )
    timer.start(10)
    if not predicate():
        loop.exec()
    timer.stop()
    if not predicate():
        raise TimeoutError("screenshot precondition not met")


def settle(ms: int = 300) -> None:
    """Let pending paints and layout happen."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def extra_photos(folder: Path) -> list[Path]:
    """Two more procedural night scenes for the thumbnail strip (other random seeds)."""
    import make_sample
    from PIL import Image

    paths = []
    for seed in (11, 23):
        rng = np.random.default_rng(seed)
        pixels = make_sample.underexpose(make_sample.draw_scene(rng), rng)
        path = folder / f"night_{seed}.jpg"
        Image.fromarray((pixels * 255 + 0.5).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths


def save(window: MainWindow, name: str) -> Path:
    settle()
    path = DOCS / name
    window.grab().save(str(path))
    return path


def mouse(widget: object, kind: QMouseEvent.Type, pos: QPoint) -> None:
    buttons = (
        Qt.MouseButton.NoButton
        if kind == QMouseEvent.Type.MouseButtonRelease
        else (Qt.MouseButton.LeftButton)
    )
    event = QMouseEvent(
        kind,
        pos,
        widget.mapToGlobal(pos),
        Qt.MouseButton.LeftButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("UltraIS")
    app.setWindowIcon(app_icon())
    theme.apply(app)
    has_weights = any((ROOT / "resources" / "weights").glob("*.safetensors"))
    factory = None if has_weights else (lambda _options: ClassicalStandIn())
    window = MainWindow(
        settings_path=Path(os.environ["ULTRAIS_SETTINGS"]),
        engine_factory=factory,
        open_sample=False,
    )
    window.resize(*WINDOW_SIZE)
    window.show()
    window._set_scale(2, request=False)
    with tempfile.TemporaryDirectory() as tmp:
        window.open_paths([SAMPLE_PHOTO, *extra_photos(Path(tmp))], remember=False)
        window.show_photo(window.store.photos()[0].id)
        photo = window.current_photo
        wait_until(lambda: photo.loaded and 2 in photo.results)
        window.controls.rows["shadows"].slider.setValue(20)
        shots = [save(window, "screenshot_main.png")]

        # Split view mid-drag, zoomed to 100 % on the street lamps and their reflections.
        view = window.compare_view
        view.actual_pixels()
        view.pan(-(430 - photo.size[0] / 2) * view.viewport.zoom, -(40) * view.viewport.zoom)
        start = QPoint(view.split_x(), view.height() // 2)
        target = QPoint(int(view.width() * 0.36), view.height() // 2)
        mouse(view, QMouseEvent.Type.MouseButtonPress, start)
        mouse(view, QMouseEvent.Type.MouseMove, target)
        shots.append(save(window, "screenshot_split_drag.png"))
        mouse(view, QMouseEvent.Type.MouseButtonRelease, target)

        # Scales side by side, zoomed on one lamp so x1, x2 and x4 differ visibly.
        window._apply_view_mode("scales")
        wait_until(lambda: {1, 2, 4} <= set(photo.results))
        pane = window.scales_view.panes[4]
        pane.set_zoom(3.0)
        centre = pane.viewport
        pane.pan((centre.cx - 430) * 3.0, (centre.cy - 330) * 3.0)
        shots.append(save(window, "screenshot_scales.png"))
        window.close()
    for shot in shots:
        print(f"wrote {shot.relative_to(ROOT)}")  # noqa: T201 - a script reporting its output
    return 0


if __name__ == "__main__":
    sys.exit(main())
