"""One window per user: a second launch hands its photos to the window already running.

The first UltraIS to start listens on a QLocalServer (a Unix socket in the temporary folder,
a named pipe on Windows) whose name is derived from the user and the settings file. A later
launch connects, sends the absolute paths as one line of JSON (`{"paths": [...]}`), waits
for the running app's `ok` and exits; the running window opens the photos and comes to the
front. When nobody answers in time (no app running, or a socket left behind by a crash),
the later launch becomes the running app itself.

NOTE: the settings file is part of the name so that tests, which redirect it with
ULTRAIS_SETTINGS, never hand their photos to a real user's window, and a user who keeps two
settings files gets two independent apps.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QDir, QEventLoop, QLockFile, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

ACK = b"ok\n"
CONNECT_TIMEOUT_MS = 1000
ACK_TIMEOUT_MS = 5000  # the running app answers from its event loop; a photo may be decoding
LOCK_TIMEOUT_MS = 10_000  # another launch checking at the same moment
MAX_MESSAGE_BYTES = 4 << 20  # thousands of long paths; anything larger is not ours


def server_name(settings_path: Path, user: str | None = None) -> str:
    """The local server's name for this user and settings file (short, filename-safe)."""
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name in the environment or the password database
            user = "user"
    key = f"{user}\0{settings_path.expanduser().absolute()}"
    return "UltraIS-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def encode_paths(paths: Sequence[Path]) -> bytes:
    return json.dumps({"paths": [str(Path(p).absolute()) for p in paths]}).encode() + b"\n"


def decode_paths(message: bytes) -> list[Path]:
    """The paths of one message; ValueError for anything that is not one."""
    data = json.loads(message.decode("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("paths"), list):
        raise ValueError("not a paths message")
    paths = data["paths"]
    if not all(isinstance(p, str) and Path(p).is_absolute() for p in paths):
        raise ValueError("paths must be absolute path strings")
    return [Path(p) for p in paths]


def send_to_running(
    name: str,
    paths: Sequence[Path],
    *,
    connect_timeout_ms: int = CONNECT_TIMEOUT_MS,
    ack_timeout_ms: int = ACK_TIMEOUT_MS,
) -> bool:
    """Hand `paths` (possibly none: just come to the front) to the app listening on `name`.

    True when it acknowledged them; False when no app answered, so this one should run.
    Runs a local event loop (a QCoreApplication must exist) until the answer, a refusal or the
    time-out.

    NOTE: not QLocalSocket's blocking waitFor*(): PySide6 keeps the GIL during them, so a
    server in the same process (the tests) could not answer until they timed out.
    """
    socket = QLocalSocket()
    loop = QEventLoop()
    reply = bytearray()
    outcome: list[bool] = []

    def finish(ok: bool) -> None:
        if not outcome:
            outcome.append(ok)
            loop.quit()

    def read() -> None:
        reply.extend(socket.readAll().data())
        if b"\n" in reply:
            finish(bytes(reply) == ACK)

    def failed(*_error: object) -> None:
        # No server, a stale socket file (refused), or a hang-up: whatever came first counts.
        if socket.bytesAvailable():
            read()
        finish(False)

    def timed_out() -> None:
        if not outcome:
            state = (
                "answer" if socket.state() == socket.LocalSocketState.ConnectedState else "connect"
            )
            log.warning("the running UltraIS did not %s in time; this one runs instead", state)
        finish(False)

    socket.connected.connect(lambda: socket.write(encode_paths(paths)))
    socket.readyRead.connect(read)
    socket.errorOccurred.connect(failed)
    socket.disconnected.connect(failed)
    QTimer.singleShot(connect_timeout_ms + ack_timeout_ms, loop, timed_out)
    socket.connectToServer(name)  # may report "not found" at once
    if not outcome:
        loop.exec()
    socket.abort()
    return outcome[0]


class InstanceServer(QObject):
    """Listens for later launches; `paths_received` carries each one's paths (list[Path])."""

    paths_received = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening; a socket file left by a crashed run is removed first if in the way.

        Call only after `send_to_running` found nobody answering on the name.
        """
        if self._server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            return True
        log.warning(
            "cannot listen on %s (%s): later launches will open windows of their own",
            self.name,
            self._server.errorString(),
        )
        return False

    def is_listening(self) -> bool:
        return self._server.isListening()

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._drop(s))

    def _read(self, socket: QLocalSocket) -> None:
        if socket not in self._buffers:
            return
        buffer = self._buffers[socket] + bytes(socket.readAll().data())
        if b"\n" not in buffer:
            if len(buffer) > MAX_MESSAGE_BYTES:
                log.warning("a message on %s is too long; dropped", self.name)
                socket.abort()
            else:
                self._buffers[socket] = buffer
            return
        del self._buffers[socket]
        line = buffer.split(b"\n", 1)[0]
        try:
            paths = decode_paths(line)
        except (ValueError, UnicodeDecodeError) as error:
            log.warning("ignored a message on %s: %s", self.name, error)
            socket.abort()
            return
        socket.write(ACK)
        socket.flush()
        socket.disconnectFromServer()
        self.paths_received.emit(paths)

    def _drop(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()


def hand_off_or_listen(
    name: str, paths: Sequence[Path], parent: QObject | None = None
) -> InstanceServer | None:
    """None when an UltraIS already running took `paths` (this launch should exit); otherwise
    the server this app now listens on (listening failed only if `is_listening()` is False).

    Explorer starts one process per selected file: a lock file makes their checks take turns,
    so the first becomes the running app and the others hand their photo to it.
    """
    lock = QLockFile(str(Path(QDir.tempPath()) / f"{name}.lock"))
    locked = lock.tryLock(LOCK_TIMEOUT_MS)  # a lock left by a killed process is taken over
    try:
        if send_to_running(name, paths):
            return None
        server = InstanceServer(name, parent)
        server.listen()
        return server
    finally:
        if locked:
            lock.unlock()
