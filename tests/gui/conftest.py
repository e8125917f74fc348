"""GUI test set-up: offscreen Qt, redirected settings, a fake engine, non-blocking dialogs."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

# `pytest` run bare (not `python -m pytest`) does not put the repository on sys.path.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Before anything imports Qt: no display is needed, and a test run never reads or writes the
# settings of the person running it.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TEST_HOME = Path(tempfile.mkdtemp(prefix="ultrais-test-"))
os.environ.setdefault("ULTRAIS_SETTINGS", str(_TEST_HOME / "settings.json"))
os.environ.setdefault("ULTRAIS_LIBRARY", str(_TEST_HOME / "library.sqlite"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from ultrais_core.errors import Cancelled, UltraISError  # noqa: E402

WAIT_MS = 10_000  # generous: CI machines are slow, and waits end as soon as the signal comes


class FakeEngine:
    """Stands in for ultrais_core.engine.Engine: nearest-neighbour upscale, brightened x4.

    `gate`: when given, every tile waits for it (polling cancel meanwhile), so a test can hold a
    job "running" as long as it needs without sleeping. `error`: raised at the first tile.
    """

    device_name = "Fake CPU"

    def __init__(self, tiles: int = 4) -> None:
        self.tiles = tiles
        self.gate: threading.Event | None = None
        self.error: Exception | None = None
        self.fail_when = None  # callable (shape, scale) -> message or None, to fail one photo
        self.calls: list[tuple[tuple[int, ...], int]] = []
        self.out_dtypes: list[np.dtype] = []
        self.started = threading.Event()

    def enhance(self, image, scale, *, progress=None, cancel=None, out_dtype=np.float32):
        self.calls.append((image.shape, scale))
        self.out_dtypes.append(np.dtype(out_dtype))
        self.started.set()
        for tile in range(self.tiles):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            if self.gate is not None:
                while not self.gate.wait(0.005):
                    if cancel is not None and cancel():
                        raise Cancelled("cancelled")
            if self.error is not None:
                raise self.error
            if self.fail_when is not None and (message := self.fail_when(image.shape, scale)):
                raise UltraISError(message)
            if progress is not None:
                progress(tile + 1, self.tiles)
        out = np.clip(np.repeat(np.repeat(image, scale, axis=0), scale, axis=1) * 4.0, 0.0, 1.0)
        if np.dtype(out_dtype) == np.float32:
            return out.astype(np.float32)
        peak = np.iinfo(out_dtype).max
        return (out * peak + 0.5).astype(out_dtype)  # as the real engine's canvas


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def engine_factory(fake_engine):
    return lambda _options: fake_engine


def _loaded_photo(width: int = 80, height: int = 60, scale: int = 2):
    """A decoded photo with one cached result at `scale` (the fake engine's x4-bright upscale)."""
    from app.photos import Photo, make_enhanced

    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 0.2, (height, width, 3)).astype(np.float32)
    photo = Photo(Path("/p/a.png"), 1)
    photo.image = type("Img", (), {"pixels": rgb})()
    photo.rgb = rgb
    up = np.clip(np.repeat(np.repeat(rgb, scale, 0), scale, 1) * 4, 0, 1)
    photo.add_result(make_enhanced(scale, up.astype(np.float32), rgb, 0.5))
    return photo


@pytest.fixture
def loaded_photo():
    return _loaded_photo


def _wheel(widget, pos, notches: int) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


@pytest.fixture
def wheel():
    """Send `notches` wheel notches at `pos` (a QPointF in widget coordinates)."""
    return _wheel


@pytest.fixture
def settings_path(tmp_path) -> Path:
    return tmp_path / "config" / "settings.json"


def write_photo(path: Path, width: int = 48, height: int = 32, seed: int = 0) -> Path:
    """A small dark photo with some structure, written with Pillow (not the code under test)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx / width, yy / height, (xx + yy) / (width + height)], axis=2) * 0.15
    noisy = np.clip(base + rng.normal(0, 0.01, base.shape), 0, 1)
    Image.fromarray((noisy * 255 + 0.5).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def batch_weights(tmp_path, monkeypatch) -> Path:
    """Stand-in weights files where the batch planner looks for them by default: the batch
    settings hash the file, and the fake engine never loads it."""
    from ultrais_core.batch import planner

    folder = tmp_path / "weights"
    folder.mkdir()
    for scale in (1, 2, 4):
        (folder / f"ultrais_x{scale}.safetensors").write_bytes(f"fake x{scale}".encode())
    monkeypatch.setattr(planner, "DEFAULT_WEIGHTS_DIR", folder)
    return folder


@pytest.fixture
def new_photo():
    """`new_photo(path, width=48, height=32, seed=0)` writes a small dark photo."""
    return write_photo


@pytest.fixture
def photo_files(tmp_path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    return [
        write_photo(folder / "street.png", 48, 32, seed=1),
        write_photo(folder / "bridge.png", 40, 30, seed=2),
    ]


def _drop(target, paths: list[Path]) -> None:
    """A drag-and-drop of files onto `target`, as a file manager would send it."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    # NOTE: QDragEnterEvent takes a QPoint (PySide6 6.11; 6.12 also took a QPointF),
    # QDropEvent a QPointF.
    centre = QPoint(target.width() // 2, target.height() // 2)
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(target, QDragEnterEvent(centre, action, mime, buttons, mods))
    QApplication.sendEvent(target, QDropEvent(QPointF(centre), action, mime, buttons, mods))


@pytest.fixture
def drop():
    """Drop `paths` onto a widget (drag enter, then drop)."""
    return _drop


class DialogRecorder:
    """Replaces QMessageBox's static functions: records them, answers `answer`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = None

    def install(self, monkeypatch) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.answer = QMessageBox.StandardButton.Yes

        def make(kind: str, default):
            def fake(_parent, title, text, *args, **kwargs):
                self.calls.append((kind, title, text))
                return self.answer if kind == "question" else default

            return fake

        ok = QMessageBox.StandardButton.Ok
        monkeypatch.setattr(QMessageBox, "critical", make("critical", ok))
        monkeypatch.setattr(QMessageBox, "warning", make("warning", ok))
        monkeypatch.setattr(QMessageBox, "information", make("information", ok))
        monkeypatch.setattr(QMessageBox, "question", make("question", ok))

    def of_kind(self, kind: str) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[0] == kind]


@pytest.fixture(autouse=True)
def dialogs(monkeypatch) -> DialogRecorder:
    """Every test: a message box never blocks, and tests can read what it would have said."""
    recorder = DialogRecorder()
    recorder.install(monkeypatch)
    return recorder


@pytest.fixture
def library_path(tmp_path) -> Path:
    """Each test's own photo library: photos made from one seed share a content hash."""
    return tmp_path / "data" / "library.sqlite"


@pytest.fixture
def make_window(qtbot, settings_path, library_path, engine_factory):
    """Factory for main windows with the fake engine; each is closed (and awaited) at the end."""
    from app.main_window import MainWindow

    windows = []

    def make(**kwargs):
        kwargs.setdefault("settings_path", settings_path)
        kwargs.setdefault("library_path", library_path)
        kwargs.setdefault("engine_factory", engine_factory)
        kwargs.setdefault("open_sample", False)
        window = MainWindow(**kwargs)
        qtbot.addWidget(window)
        window.resize(1000, 700)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown(WAIT_MS)


@pytest.fixture
def window(make_window):
    return make_window()
