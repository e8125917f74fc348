"""Bad files dropped on the window: a one-line reason each, no crash, the rest still loads."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import paths
from app.jobs.loader import short_reason

WAIT_MS = 10_000


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def bad_files(folder: Path) -> dict[str, Path]:
    """name -> file, each broken in its own way (made here, not shipped)."""
    folder.mkdir(exist_ok=True)
    jpeg = folder / "whole.jpg"
    Image.fromarray(np.full((40, 60, 3), 30, np.uint8)).save(jpeg, quality=90)
    data = jpeg.read_bytes()
    jpeg.unlink()
    files = {
        "truncated.jpg": data[: len(data) // 2],
        "random.png": np.random.default_rng(3).integers(0, 256, 4096, np.uint8).tobytes(),
        "empty.jpg": b"",
        "huge.png": b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b""),
        "notes.txt": b"not a photo at all\n",
    }
    out = {}
    for name, content in files.items():
        (folder / name).write_bytes(content)
        out[name] = folder / name
    gif = folder / "anim.gif"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(gif)
    out["anim.gif"] = gif
    return out


def test_a_drop_of_bad_files_gives_reasons_and_loads_the_rest(
    qtbot, window, tmp_path, dialogs, drop, new_photo
):
    bad = bad_files(tmp_path / "bad")
    good = new_photo(tmp_path / "good.png")
    misnamed = tmp_path / "misnamed.jpg"  # a PNG named .jpg: opens as the PNG it is
    Image.open(good).save(misnamed, format="PNG")
    drop(window.compare_view, [*bad.values(), good, misnamed])

    expected = len(bad) + 2
    qtbot.waitUntil(lambda: len(window.store) == expected, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: all(p.loaded or p.error for p in window.store) and bool(dialogs.calls),
        timeout=WAIT_MS,
    )
    photos = {p.name: p for p in window.store}
    assert photos["good.png"].loaded and photos["misnamed.jpg"].loaded
    assert all(photos[name].error for name in bad)
    reasons = {name: photos[name].error for name in bad}
    assert "truncated" in reasons["truncated.jpg"]
    assert "empty" in reasons["empty.jpg"]
    assert "100000 x 100000" in reasons["huge.png"]
    assert "GIF" in reasons["anim.gif"]
    assert "not an image" in reasons["random.png"] and "not an image" in reasons["notes.txt"]
    for reason in reasons.values():
        assert "\n" not in reason and len(reason) < 200  # one line a user can read
        assert "Traceback" not in reason

    # One dialog (the errors of one drop are gathered), one line per file naming it.
    qtbot.waitUntil(lambda: not window._errors and not window._error_flush_pending)
    critical = dialogs.of_kind("critical")
    assert len(critical) == 1
    text = critical[0][2]
    for name in bad:
        assert f"{name}: {reasons[name]}" in text
    # The strip marks each failed one and says why on hover.
    for name in bad:
        item = window.photo_strip._item(photos[name].id)
        assert reasons[name] in item.toolTip()
    assert window.isVisible()


def test_a_failed_photo_shows_its_reason_and_is_not_retried_on_click(
    qtbot, window, tmp_path, dialogs, new_photo
):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    good = new_photo(tmp_path / "good.png")
    window.open_paths([empty, good])
    qtbot.waitUntil(lambda: bool(dialogs.of_kind("critical")), timeout=WAIT_MS)
    failed = window.store.find(empty)
    assert failed.placeholder().startswith("Could not open empty.jpg")
    window.show_photo(window.store.find(good).id)
    window.show_photo(failed.id)
    assert not window.loader.is_loading(failed)  # selecting it again does not loop on errors
    window.compare_view.repaint()


def test_short_reason_drops_the_path_the_gui_shows_anyway(tmp_path):
    path = tmp_path / "x.jpg"
    assert short_reason(f"Cannot read '{path}': the file is empty (0 bytes)", path) == (
        "the file is empty (0 bytes)"
    )
    assert short_reason("Unexpected error (ValueError): bad\nthing", path) == (
        "Unexpected error (ValueError): bad thing"
    )


def test_dropping_a_folder_opens_its_sub_folders_too(qtbot, window, tmp_path, drop, new_photo):
    root = tmp_path / "night"
    (root / "2024" / "june").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    new_photo(root / "a.png")
    new_photo(root / "2024" / "b.png")
    new_photo(root / "2024" / "june" / "c.png")
    new_photo(root / ".thumbnails" / "hidden.png")
    (root / "2024" / "readme.txt").write_text("in a folder, non-photos are left out")
    drop(window, [root])
    qtbot.waitUntil(lambda: len(window.store) == 3, timeout=WAIT_MS)
    assert [p.name for p in window.store] == ["a.png", "b.png", "c.png"]
    qtbot.waitUntil(lambda: all(p.loaded for p in window.store), timeout=WAIT_MS)


def test_expand_caps_a_huge_drop_and_reports_missing_paths(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.jpg").write_bytes(b"x")
    found = paths.expand([tmp_path, tmp_path / "gone.jpg"], limit=3)
    assert [p.name for p in found.images] == ["0.jpg", "1.jpg", "2.jpg"]
    assert found.left_out == 2 and found.missing == [tmp_path / "gone.jpg"]


@pytest.mark.skipif(not hasattr(Path, "chmod"), reason="needs permissions")
def test_an_unreadable_sub_folder_is_skipped(tmp_path):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who reads any folder")
        found = paths.expand([tmp_path])
    finally:
        locked.chmod(0o755)
    assert [p.name for p in found.images] == ["b.jpg"]


def test_dragging_files_over_the_window_highlights_it(qtbot, window, photo_files, drop):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent
    from PySide6.QtWidgets import QApplication

    def enter(mime: QMimeData) -> QDragEnterEvent:
        event = QDragEnterEvent(
            QPoint(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(window, event)
        return event

    text_only = QMimeData()
    text_only.setText("just some text")
    assert not enter(text_only).isAccepted()
    assert not window.drop_overlay.isVisible()

    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(p)) for p in photo_files])
    assert enter(files).isAccepted()
    assert window.drop_overlay.isVisible()
    assert window.drop_overlay.message == "Drop to open 2 files"
    assert window.drop_overlay.geometry() == window.rect()
    window.drop_overlay.repaint()
    QApplication.sendEvent(window, QDragLeaveEvent())
    assert not window.drop_overlay.isVisible()

    drop(window.compare_view, [photo_files[0].parent])  # enter, then drop: shown, then gone
    assert not window.drop_overlay.isVisible()
    qtbot.waitUntil(lambda: len(window.store) == 2, timeout=WAIT_MS)
