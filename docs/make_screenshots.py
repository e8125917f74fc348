"""Real screenshots of the app for the README, taken under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Writes docs/screenshot_main.png (a photo loaded, split view), docs/screenshot_split_drag.png
(the split line mid-drag, zoomed in), docs/screenshot_scales.png (x1/x2/x4 side by side),
docs/screenshot_drop.png (files dragged over the window), docs/screenshot_export_all.png
(Export all as a resumable batch, one photo of which an earlier run had done),
docs/screenshot_clipping.png (clipping warnings and the histogram, Exposure pushed up) and
docs/screenshot_settings_menu.png (the Edit menu: undo, copy/paste/sync of settings).
`--only NAME...` writes just those files (and stops once they are written); `--weights PATH`
uses those weights instead of resources/weights/.
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
# A fresh photo library too: settings stored for the sample would change the screenshots.
os.environ.setdefault("ULTRAIS_LIBRARY", str(Path(os.environ["ULTRAIS_SETTINGS"]).parent / "l.db"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QMimeData, QPoint, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app import theme  # noqa: E402
from app.export.batch_plan import make_spec  # noqa: E402
from app.export.batch_session import BatchSession  # noqa: E402
from app.export.export_options import BATCH_TO_EXPORT_FORMAT, ExportOptions  # noqa: E402
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
        out_dtype: type = np.float32,
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
        out = np.clip(out, 0, 1)
        if np.dtype(out_dtype) == np.float32:
            return out.astype(np.float32)
        return (out * np.iinfo(out_dtype).max + 0.5).astype(out_dtype)


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


ONLY: set[str] = set()  # --only: the screenshots to write; empty: all of them


def save(window: MainWindow, name: str) -> Path:
    settle()
    path = DOCS / name
    if not ONLY or name in ONLY:
        window.grab().save(str(path))
    return path


def save_screen(window: MainWindow, name: str) -> Path:
    """The window's part of the screen: unlike `grab`, it includes open menus."""
    settle()
    path = DOCS / name
    if not ONLY or name in ONLY:
        frame = window.frameGeometry()
        shot = window.screen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
        shot.save(str(path))
    return path


def develop_shots(window: MainWindow) -> list[Path]:
    """Clipping warnings with the histogram, then the Edit menu with settings actions."""
    view = window.compare_view
    view.fit()
    row = window.controls.rows["exposure"]
    row.slider.setSliderDown(True)  # one drag: one undo step, "Undo Exposure"
    row.slider.setValue(150)
    row.slider.setSliderDown(False)
    window.develop_actions.clipping_action.trigger()
    shots = [save(window, "screenshot_clipping.png")]
    window.develop_actions.clipping_action.trigger()
    window.develop_actions.copy_action.trigger()
    window.develop_actions.select_all_action.trigger()
    edit_menu = window.menuBar().actions()[1].menu()
    QTimer.singleShot(0, lambda: edit_menu.popup(window.mapToGlobal(QPoint(48, 22))))
    settle(600)
    shots.append(save_screen(window, "screenshot_settings_menu.png"))
    edit_menu.hide()
    row.reset()
    window.photo_strip.select(window.store.photos()[0].id)
    return shots


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


def drag_over(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDragEnterEvent(
        QPoint(window.width() // 2, window.height() // 2),  # QPoint: PySide6 6.11 takes no QPointF
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, event)


def export_all(window: MainWindow, dst: Path, photos: list) -> None:
    """What File > Export all does once its dialog is accepted (PNG, x2, into `dst`)."""
    spec = make_spec([p.path for p in photos], dst, scale=2, fmt="png", quality=92)
    options = ExportOptions(format=BATCH_TO_EXPORT_FORMAT["png"], folder=str(dst), scale=2)
    session = BatchSession(spec, window)
    window.export_queue.add_batch(session, photos, options, window.controls.adjustments)
    window.export_dock.show()
    wait_until(lambda: not window.export_queue.is_busy())
    session.wait(60_000)


def main() -> int:
    args = sys.argv[1:]
    weights = None
    if "--weights" in args:
        at = args.index("--weights")
        weights = args[at + 1]
        del args[at : at + 2]
    if args and args[0] == "--only":
        ONLY.update(args[1:])
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
    if weights is not None:
        from dataclasses import replace

        window.provider.set_options(replace(window.provider.options, weights=weights))
    window.resize(*WINDOW_SIZE)
    window.show()
    window._set_scale(2, request=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "night"
        folder.mkdir()
        sample = folder / SAMPLE_PHOTO.name
        sample.write_bytes(SAMPLE_PHOTO.read_bytes())  # one folder: one batch source below
        window.open_paths([sample, *extra_photos(folder)], remember=False)
        window.show_photo(window.store.photos()[0].id)
        photo = window.current_photo
        wait_until(lambda: photo.loaded and 2 in photo.results)
        window.controls.rows["shadows"].slider.setValue(20)
        shots = [save(window, "screenshot_main.png")]
        shots += develop_shots(window)
        if ONLY and ONLY.issubset(shot.name for shot in shots):
            window.close()
            for shot in shots:
                if shot.name in ONLY:
                    print(f"wrote {shot.relative_to(ROOT)}")  # noqa: T201
            return 0

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

        # Files dragged over the window: the whole window says it will take them.
        window._apply_view_mode("compare")
        window.fit()
        drag_over(window, [folder / "a.jpg", folder / "b.jpg", folder])
        shots.append(save(window, "screenshot_drop.png"))
        QApplication.sendEvent(window, QDragLeaveEvent())

        # Export all as a batch, into a folder where an earlier run already did one photo.
        window.controls.rows["shadows"].reset()
        if not has_weights:  # the batch settings name the weights; here they name the stand-in
            from ultrais_core.batch import planner

            planner.DEFAULT_WEIGHTS_DIR = Path(tmp) / "stand-in"
            planner.DEFAULT_WEIGHTS_DIR.mkdir()
            for scale in (1, 2, 4):
                (planner.DEFAULT_WEIGHTS_DIR / f"ultrais_x{scale}.safetensors").write_text("-")
        out = Path(tmp) / "enhanced"
        export_all(window, out, window.store.photos()[:1])
        window.export_queue.clear_finished()
        window.export_panel._clear_finished()
        export_all(window, out, window.store.photos())
        shots.append(save(window, "screenshot_export_all.png"))
        window.close()
    for shot in shots:
        print(f"wrote {shot.relative_to(ROOT)}")  # noqa: T201 - a script reporting its output
    return 0


if __name__ == "__main__":
    sys.exit(main())
