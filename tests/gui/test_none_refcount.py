"""Slider moves must not drop references to None (PySide6 6.12.0 on Python < 3.12).

PySide6-Essentials 6.12.0 drops one reference to None on every call of a Qt method that
returns nothing (QWidget.update, QPainter.drawLine, QSlider.setValue, QLabel.setText...). On
Python 3.11 None is an ordinary object, so its count falls with every slider move (about 50
references a move in the app) until Python aborts with "none_dealloc" (a few hundred moves).
pyproject.toml excludes that release; this test drives the real slider path in the main window
and fails if the installed PySide6 leaks again. Python 3.12 made None immortal (PEP 683): its
count no longer moves, so there is nothing to measure there.
"""

from __future__ import annotations

import ctypes
import gc
import sys

import pytest
from PySide6.QtWidgets import QApplication

WAIT_MS = 10_000
MOVES = 200
# Caches and the undo history may take or give back a few; 6.12.0 loses ~100 a move here.
TOLERANCE = 100

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None is immortal on Python 3.12+ (PEP 683)"
)


def _move_sliders(window, moves: int) -> None:
    rows = window.controls.rows
    for i in range(moves):
        row = rows["exposure"] if i % 2 else rows["saturation"]
        step = row.slider.singleStep()
        row.slider.setValue(row.slider.minimum() + step * (i % 40 + 1))
        QApplication.processEvents()
        window.compare_view.repaint()  # the paint path: QPainter calls, as on screen


def test_slider_moves_keep_none_references(qtbot, window, photo_files):
    window.open_paths([photo_files[0]])
    qtbot.waitUntil(
        lambda: window.current_photo and 2 in window.current_photo.results, timeout=WAIT_MS
    )
    _move_sliders(window, 20)  # warm up: first renders, caches, lazily made objects
    # A leaking build would take None's count through zero (and abort the whole run) well
    # before the end: hold enough references meanwhile, and give back what was lost after.
    padding = [None] * 1_000_000
    gc.collect()
    before = sys.getrefcount(None)
    _move_sliders(window, MOVES)
    gc.collect()
    lost = before - sys.getrefcount(None)
    for _ in range(max(lost, 0)):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    del padding
    assert lost <= TOLERANCE, (
        f"{MOVES} slider moves dropped {lost} references to None "
        f"({lost / MOVES:.1f} a move); PySide6 6.12.0 has this bug, see pyproject.toml"
    )
