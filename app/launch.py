"""Starting the desktop app: `python main.py [PHOTO_OR_FOLDER...]`, or the bundle's `UltraIS`.

Photos reach the window from four places, all through `MainWindow.open_paths` (the path a drop
takes): the command line, a second launch (app/single_instance.py), macOS's file-open events
(Finder's "Open With", a drop on the Dock icon), and drag and drop itself.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication, QWidget

from app import settings as settings_io
from app import single_instance, theme
from app.icons import app_icon
from app.main_window import MainWindow
from app.photos import Photo

log = logging.getLogger(__name__)

QUIT_WAIT_MS = 300_000  # --quit-after-load: how long the workers may take to end


class FileOpenFilter(QObject):
    """Turns macOS's QFileOpenEvents into `files_opened(list[Path])`, one signal per burst.

    Finder sends one event per file when several are opened at once; they are gathered for a
    moment so that the window opens them together (one strip update, one error dialog).
    """

    files_opened = Signal(list)

    def __init__(self, parent: QObject | None = None, gather_ms: int = 50) -> None:
        super().__init__(parent)
        self._pending: list[Path] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(gather_ms)
        self._timer.timeout.connect(self._flush)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            name = event.file() or event.url().toLocalFile()
            if name:
                self._pending.append(Path(name))
                self._timer.start()
                return True
        return super().eventFilter(watched, event)

    def _flush(self) -> None:
        paths, self._pending = self._pending, []
        if paths:
            self.files_opened.emit(paths)


def bring_to_front(window: QWidget) -> None:
    """Un-minimise, raise and activate (window managers may only flash it in the task bar)."""
    window.setWindowState(
        (window.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
    )
    window.show()
    window.raise_()
    window.activateWindow()


def opener(window: QWidget, open_paths: Callable[[list[Path]], object]) -> Callable[[list], None]:
    """What a second launch or a file-open event calls: open the photos, show the window."""

    def receive(paths: list) -> None:
        if paths:
            open_paths([Path(p) for p in paths])
        bring_to_front(window)

    return receive


def quit_when_loaded(window: MainWindow, photos: Sequence[Photo], app: QApplication) -> None:
    """`--quit-after-load` (tests): close once every photo decoded or failed, printing one line
    per photo on stdout; exit 0 only if there were photos and all decoded."""
    loader = window.loader

    def check(*_args: object) -> None:
        if any(not photo.loaded and photo.error is None for photo in photos):
            return
        for photo in photos:
            status = "loaded" if photo.loaded else f"failed ({photo.error})"
            sys.stdout.write(f"{status}: {photo.path}\n")
        sys.stdout.flush()
        loader.loaded.disconnect(check)
        loader.failed.disconnect(check)
        # The view has started enhancing the photo: wait for that worker (cancelled, it ends
        # at its next tile, or once torch has loaded) rather than the 5 s a user's close
        # waits, so that the process never exits under a running thread.
        window.shutdown(QUIT_WAIT_MS)
        window.close()
        app.exit(0 if photos and all(photo.loaded for photo in photos) else 1)

    loader.loaded.connect(check)
    loader.failed.connect(check)
    QTimer.singleShot(0, check)


def run_gui(
    argv: Sequence[str], *, paths: Sequence[Path] | None = None, quit_after_load: bool = False
) -> int:
    """Start the app with `paths` open, or else the photos and folders in argv[1:] (Qt's own
    options are removed by QApplication). Returns the exit code; 0 at once when an UltraIS
    already running took the photos."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    app.setApplicationName("UltraIS")
    app.setOrganizationName("UltraIS")
    if paths is None:
        given = argv[1:] if existing is not None else app.arguments()[1:]
        paths = [Path(a) for a in given if not a.startswith("-")]
    files = [Path(p).absolute() for p in paths]

    server = None
    if not quit_after_load:  # a test run is an app of its own
        name = single_instance.server_name(settings_io.default_path())
        server = single_instance.hand_off_or_listen(name, files, app)
        if server is None:
            log.info("handed %d path(s) to the UltraIS already running", len(files))
            return 0

    app.setWindowIcon(app_icon())
    theme.apply(app)
    window = MainWindow(open_sample=not files)
    receive = opener(window, window.open_paths)
    # NOTE: an application-wide filter sees every event of every widget, in Python; Qt sends
    # QFileOpenEvent only on macOS, so only there is it worth that.
    file_events = FileOpenFilter(app)
    file_events.files_opened.connect(receive)
    if sys.platform == "darwin":
        app.installEventFilter(file_events)
    if server is not None:
        server.paths_received.connect(receive)
    window.show()
    added = window.open_paths(files) if files else []
    if quit_after_load:
        quit_when_loaded(window, added, app)
    try:
        return int(app.exec())
    finally:
        if sys.platform == "darwin":
            app.removeEventFilter(file_events)
        if server is not None:
            server.close()
