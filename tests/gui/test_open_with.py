"""Open with UltraIS (issue 16): photos from the command line, from a second launch and from
macOS file-open events reach the window the way a drop does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import QDir, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

import main
from app import launch, single_instance

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 10_000
COMMANDS = frozenset({"enhance", "info", "batch", "train"})


def unique_name() -> str:
    return f"UltraIS-test-{uuid.uuid4().hex[:12]}"


# --- the command line ------------------------------------------------------------------------


def test_parse_launch_tells_commands_options_and_paths_apart():
    parse = main.parse_launch
    assert parse([], COMMANDS) == main.Launch("gui", [])
    assert parse(["enhance", "a.jpg", "-o", "out"], COMMANDS).kind == "cli"
    assert parse(["info"], COMMANDS) == main.Launch("cli", ["info"])
    assert parse(["--help"], COMMANDS).kind == "cli"
    assert parse(["--version"], COMMANDS).kind == "cli"
    assert parse(["--self-test"], COMMANDS).kind == "self-test"
    assert parse(["photo.jpg", "folder"], COMMANDS) == main.Launch("gui", ["photo.jpg", "folder"])
    # A typo of a command is a path to the parser (main() then says it is neither).
    assert parse(["enhnace", "a.jpg"], COMMANDS) == main.Launch("gui", ["enhnace", "a.jpg"])
    # `--` ends the options: a photo named like an option or a command.
    assert parse(["--", "-dark.jpg", "info"], COMMANDS) == main.Launch("gui", ["-dark.jpg", "info"])
    assert parse(["--quit-after-load", "a.jpg"], COMMANDS) == main.Launch("gui", ["a.jpg"], True)
    # Old macOS Finder adds a process serial number.
    assert parse(["-psn_0_12345", "a.jpg"], COMMANDS) == main.Launch("gui", ["a.jpg"])
    assert parse(["-psn_0_12345"], COMMANDS) == main.Launch("gui", [])


def test_command_names_come_from_the_cli_parser():
    names = main.command_names()
    assert {"enhance", "info", "batch", "train", "evaluate"} <= names


def test_open_problem_accepts_photos_and_folders_only(tmp_path, new_photo):
    photo = new_photo(tmp_path / "night.png")
    odd_name = tmp_path / "night.data"  # recognised from its content, as on a drop
    odd_name.write_bytes(photo.read_bytes())
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    assert main.open_problem(photo) is None
    assert main.open_problem(odd_name) is None
    assert main.open_problem(tmp_path) is None
    assert main.open_problem(tmp_path / "gone.jpg") == "no such photo or folder"
    problem = main.open_problem(text)
    assert problem is not None and "\n" not in problem and str(text) not in problem


def test_a_bad_path_is_a_message_and_exit_2_not_a_traceback(tmp_path, new_photo, capsys):
    photo = new_photo(tmp_path / "night.png")
    code = main.main([str(photo), str(tmp_path / "missing.jpg")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot open {tmp_path / 'missing.jpg'}: no such photo or folder" in err
    assert "usage: ultrais [PHOTO_OR_FOLDER ...]" in err
    assert "Traceback" not in err and "night.png" not in err
    # A mistyped command is named as such.
    assert main.main(["enhnace", str(photo)]) == 2
    err = capsys.readouterr().err
    assert "cannot open enhnace" in err and "not a command either: batch, enhance" in err


def test_bad_path_from_a_real_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "main.py", str(tmp_path / "nope.jpg")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot open" in result.stderr and "Traceback" not in result.stderr


# In a process of its own: the app's exec()/exit() would leave this process's Qt unable to run
# the nested event loops later tests wait in.
OPEN_FROM_COMMAND_LINE = r"""
import json, sys
import numpy as np
import app.main_window as main_window
import main

class Fake:
    device_name = "fake"
    def enhance(self, image, scale, *, progress=None, cancel=None, out_dtype=np.uint16):
        return (image.repeat(scale, 0).repeat(scale, 1) * 65535).astype(np.uint16)

main_window.default_engine_factory = lambda options: Fake()
opened = []
original = main_window.MainWindow.open_paths
def spy(self, given, **kwargs):
    opened.extend(str(p) for p in given)
    return original(self, given, **kwargs)
main_window.MainWindow.open_paths = spy
code = main.main(sys.argv[1:])
print(json.dumps({"code": code, "opened": opened}))
"""


def test_command_line_photos_open_in_the_window(tmp_path, new_photo):
    """`python main.py --quit-after-load PHOTO FOLDER`: the window opens them as a drop would,
    then (the hidden test option) closes with 0 once they are decoded."""
    photo = new_photo(tmp_path / "night.png")
    folder = tmp_path / "more"
    folder.mkdir()
    new_photo(folder / "a.png", seed=1)
    new_photo(folder / "b.png", seed=2)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ULTRAIS_SETTINGS=str(tmp_path / "s.json"))
    result = subprocess.run(
        [sys.executable, "-c", OPEN_FROM_COMMAND_LINE, "--quit-after-load", "night.png", "more"],
        cwd=tmp_path,  # relative paths, as a shell passes them
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    *lines, summary = result.stdout.strip().splitlines()
    assert json.loads(summary) == {"code": 0, "opened": [str(photo), str(folder)]}
    assert sorted(lines) == [
        f"loaded: {(folder / 'a.png').resolve()}",
        f"loaded: {(folder / 'b.png').resolve()}",
        f"loaded: {photo.resolve()}",
    ]


# --- a second launch -------------------------------------------------------------------------


def test_server_name_is_per_user_and_settings_file(tmp_path):
    a = single_instance.server_name(tmp_path / "a.json", user="ann")
    assert a == single_instance.server_name(tmp_path / "a.json", user="ann")
    assert a != single_instance.server_name(tmp_path / "a.json", user="bob")
    assert a != single_instance.server_name(tmp_path / "b.json", user="ann")
    assert a.startswith("UltraIS-") and len(a) < 40 and a.replace("-", "").isalnum()


def test_messages_round_trip_and_junk_is_refused(tmp_path):
    paths = [tmp_path / "a b.jpg", tmp_path / "ü.png"]
    assert single_instance.decode_paths(single_instance.encode_paths(paths).strip()) == paths
    for junk in (b"[]", b'{"paths": "x"}', b'{"paths": ["relative.jpg"]}', b'{"paths": [1]}'):
        with pytest.raises(ValueError):
            single_instance.decode_paths(junk)


def test_second_launch_hands_its_photos_to_the_running_window(qtbot, window, photo_files):
    server = single_instance.InstanceServer(unique_name())
    assert server.listen()
    try:
        server.paths_received.connect(launch.opener(window, window.open_paths))
        window.showMinimized()
        # Both ends in this thread: the sender's local event loop also runs the server.
        assert single_instance.send_to_running(server.name, photo_files) is True
        qtbot.waitUntil(lambda: window.photo_strip.count() == 2, timeout=WAIT_MS)
        assert [p.path for p in window.store] == [p.resolve() for p in photo_files]
        assert not window.isMinimized()  # brought to the front
        # A second launch without photos only brings the window forward.
        assert single_instance.send_to_running(server.name, []) is True
        assert window.photo_strip.count() == 2
    finally:
        server.close()


def test_the_first_launch_listens_and_the_next_hands_off(qtbot, tmp_path):
    name = unique_name()
    first = single_instance.hand_off_or_listen(name, [])
    assert first is not None and first.is_listening()
    received: list[list] = []
    first.paths_received.connect(received.append)
    try:
        assert single_instance.hand_off_or_listen(name, [tmp_path / "a.jpg"]) is None
        assert received == [[tmp_path / "a.jpg"]]
    finally:
        first.close()


def test_without_a_running_app_the_launch_runs_itself(qtbot):
    assert single_instance.send_to_running(unique_name(), [], connect_timeout_ms=200) is False


def test_junk_on_the_socket_gets_no_ack_and_opens_nothing(qtbot):
    from PySide6.QtNetwork import QLocalSocket

    server = single_instance.InstanceServer(unique_name())
    assert server.listen()
    received: list[list] = []
    server.paths_received.connect(received.append)
    client = QLocalSocket()
    client.connectToServer(server.name)
    with qtbot.waitSignal(client.disconnected, timeout=WAIT_MS):
        client.write(b"GET / HTTP/1.0\n")
    assert bytes(client.readAll().data()) == b"" and received == []
    server.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files")
def test_a_stale_socket_from_a_crash_does_not_stop_the_next_launch(qtbot):
    name = unique_name()
    stale = Path(QDir.tempPath()) / name
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))  # bound, never listening: what a killed app leaves behind
    leftover.close()
    try:
        assert stale.exists()
        assert single_instance.send_to_running(name, [], connect_timeout_ms=500) is False
        server = single_instance.InstanceServer(name)
        assert server.listen()
        assert single_instance.send_to_running(name, []) is True
        server.close()
    finally:
        stale.unlink(missing_ok=True)


def test_second_process_hands_off_and_exits_0(qtbot, window, tmp_path, new_photo):
    """A real second `python main.py PHOTO` with the same settings file: it exits 0 at once and
    the photo opens in this process's window."""
    settings = tmp_path / "second" / "settings.json"
    server = single_instance.InstanceServer(single_instance.server_name(settings))
    assert server.listen()
    server.paths_received.connect(launch.opener(window, window.open_paths))
    photo = new_photo(tmp_path / "night.png")
    env = dict(os.environ, ULTRAIS_SETTINGS=str(settings), QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen(
        [sys.executable, "main.py", str(photo)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        qtbot.waitUntil(lambda: process.poll() is not None, timeout=60_000)
        _out, err = process.communicate()
        assert process.returncode == 0, err
        assert "handed 1 path(s)" in err
        qtbot.waitUntil(lambda: window.photo_strip.count() == 1, timeout=WAIT_MS)
        assert window.store.find(photo) is not None
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        server.close()


# --- macOS file-open events ------------------------------------------------------------------


def test_file_open_events_reach_the_window_together(qtbot, qapp, window, photo_files):
    events = launch.FileOpenFilter(gather_ms=20)
    events.files_opened.connect(launch.opener(window, window.open_paths))
    qapp.installEventFilter(events)
    try:
        with qtbot.waitSignal(events.files_opened, timeout=WAIT_MS) as signal:
            QApplication.sendEvent(qapp, QFileOpenEvent(str(photo_files[0])))
            QApplication.sendEvent(qapp, QFileOpenEvent(QUrl.fromLocalFile(str(photo_files[1]))))
        assert signal.args == [photo_files]
        qtbot.waitUntil(lambda: window.photo_strip.count() == 2, timeout=WAIT_MS)
    finally:
        qapp.removeEventFilter(events)
