"""A result arrives with its first frame ready: rendered, overlaid and counted on the worker.

Rendering a x4 result for the screen, its clipping overlay and its histogram took tens of
milliseconds on the GUI thread at the end of every job (the window's longest stall); the job
now does them before it reports, for the frame the view posted (app/views/frames.py).
"""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np

from app.develop import histogram as histogram_module
from app.develop.adjustments import Adjustments
from app.develop.histogram import compute_histogram
from app.views import frames, photo_view
from app.views.clipping import clipping_overlay
from app.views.frames import FrameBoard, FrameSpec, prepare_frame
from app.views.qimage import rgb8_from_qimage
from app.views.render import RegionCache, render_after
from app.views.viewport import Rect

WAIT_MS = 10_000


def _spec(photo, *, clipping: bool, adjustments: Adjustments | None = None) -> FrameSpec:
    w, h = photo.size
    scale = next(iter(photo.results))
    return FrameSpec(
        photo.id, scale, adjustments or Adjustments(), Rect(0, 0, w, h), 61, 45, clipping
    )


def test_a_prepared_frame_is_what_the_gui_thread_would_render(loaded_photo):
    photo = loaded_photo(scale=4)
    result = photo.results[4]
    for clipping in (False, True):
        for adjustments in (Adjustments(), Adjustments(strength=0.5, exposure=0.7, detail=0.4)):
            spec = _spec(photo, clipping=clipping, adjustments=adjustments)
            frame = prepare_frame(spec, photo.rgb, result)
            expected = render_after(photo.rgb, result, adjustments, spec.source, 61, 45)
            assert np.array_equal(frame.pixels, expected)
            shown = clipping_overlay(expected) if clipping else expected
            assert np.array_equal(rgb8_from_qimage(frame.image), shown)
            assert np.array_equal(frame.histogram.luma, compute_histogram(expected).luma)
            # The samples it made serve the next render on the GUI thread.
            cache = RegionCache()
            cache.adopt(frame.samples)
            assert len(cache.entries()) == len(frame.samples) > 0


def test_the_board_hands_each_frame_once_and_only_for_its_result(loaded_photo):
    photo = loaded_photo(scale=2)
    result = photo.results[2]
    board = FrameBoard()
    view_a, view_b = object(), object()
    spec = _spec(photo, clipping=False)
    board.post(view_a, spec)
    board.post(view_b, spec)  # two views, same frame: prepared once
    board.post(object(), FrameSpec(photo.id, 4, Adjustments(), spec.source, 61, 45, False))
    assert board.specs_for(photo.id, 2) == [spec]
    board.post(view_a, None)
    board.post(view_b, None)
    assert board.specs_for(photo.id, 2) == []

    frame = prepare_frame(spec, photo.rgb, result)
    board.deliver([frame])
    other = loaded_photo(scale=2).results[2]  # the same spec, another run's result
    assert board.take(spec, other) is None
    assert board.take(spec, result) is frame
    assert board.take(spec, result) is None  # once
    board.deliver([frame])
    board.deliver([])  # a later job's delivery drops frames nobody took
    assert board.take(spec, result) is None


def test_a_frame_nobody_took_does_not_keep_its_result_alive(loaded_photo):
    photo = loaded_photo(scale=2)
    spec = _spec(photo, clipping=False)
    board = FrameBoard()
    board.deliver([prepare_frame(spec, photo.rgb, photo.results[2])])
    freed = weakref.ref(photo.results[2])
    photo.results.clear()  # evicted while its frame waits on the board
    gc.collect()
    assert freed() is None


def test_the_end_of_a_job_renders_nothing_on_the_gui_thread(
    qtbot, window, photo_files, fake_engine, monkeypatch
):
    gui_thread = threading.get_ident()
    calls: list[tuple[str, bool]] = []  # (function, called on the GUI thread)

    def recorded(name, function):
        def call(*args, **kwargs):
            calls.append((name, threading.get_ident() == gui_thread))
            return function(*args, **kwargs)

        return call

    for module in (frames, photo_view, histogram_module):
        for name in ("render_after", "clipping_overlay", "compute_histogram"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, recorded(name, getattr(module, name)))

    window.develop_actions.clipping_action.trigger()  # J: the overlay is part of the frame
    assert window.compare_view.clipping
    fake_engine.gate = threading.Event()  # hold the job until the view has posted its frame
    window.open_paths([photo_files[0]])
    view = window.compare_view
    qtbot.waitUntil(fake_engine.started.is_set, timeout=WAIT_MS)
    view.repaint()  # the original under a veil; posts what it will draw of the x2 result
    photo = view.photo
    assert [s.scale for s in window.jobs.frames.specs_for(photo.id, 2)] == [2]
    fake_engine.gate.set()
    qtbot.waitUntil(lambda: 2 in photo.results, timeout=WAIT_MS)
    view.repaint()

    assert view.last_result is not None
    assert {name for name, _ in calls} == {"render_after", "clipping_overlay", "compute_histogram"}
    assert [name for name, on_gui in calls if on_gui] == []
    # The same pixels, overlay and counts the GUI thread would have made.
    placement = view.placement()
    _, _, w, h = placement.target
    expected = render_after(photo.rgb, photo.results[2], Adjustments(), placement.source, w, h)
    assert np.array_equal(view.last_result, expected)
    assert np.array_equal(rgb8_from_qimage(view._after[1].toImage()), clipping_overlay(expected))
    shown_histogram = window.controls.histogram.histogram
    assert shown_histogram is not None
    assert np.array_equal(shown_histogram.luma, compute_histogram(expected).luma)
    assert window.jobs.frames.specs_for(photo.id, 2) == []  # drawn: nothing is waited for

    # A slider move is rendered where it always was, on the GUI thread, within its budget.
    calls.clear()
    window.controls.rows["exposure"].slider.setValue(100)
    view.repaint()
    assert ("render_after", True) in calls


def test_the_scales_view_panes_get_their_frames_from_the_jobs(
    qtbot, window, photo_files, fake_engine, monkeypatch
):
    gui_thread = threading.get_ident()
    on_gui: list[str] = []

    def recorded(function):
        def call(*args, **kwargs):
            if threading.get_ident() == gui_thread:
                on_gui.append(function.__name__)
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(photo_view, "render_after", recorded(photo_view.render_after))
    monkeypatch.setattr(photo_view, "compute_histogram", recorded(photo_view.compute_histogram))
    window._apply_view_mode("scales")
    fake_engine.gate = threading.Event()
    window.open_paths([photo_files[0]])
    panes = window.scales_view.panes
    qtbot.waitUntil(fake_engine.started.is_set, timeout=WAIT_MS)
    for pane in panes.values():
        pane.repaint()  # each posts the frame of its own scale
    photo = panes[2].photo
    assert [len(window.jobs.frames.specs_for(photo.id, s)) for s in (1, 2, 4)] == [1, 1, 1]
    fake_engine.gate.set()
    qtbot.waitUntil(lambda: set(photo.results) == {1, 2, 4}, timeout=WAIT_MS)
    for pane in panes.values():
        pane.repaint()
        assert pane.last_result is not None
    assert on_gui == []
    # The histogram follows the pane of the photo's scale, with the count its job made.
    shown = window.controls.histogram.histogram
    assert shown is not None
    assert np.array_equal(shown.luma, compute_histogram(panes[2].last_result).luma)
