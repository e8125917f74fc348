"""Per-photo develop settings in the window: own sliders and scale per photo, copy/paste/sync,
undo/redo, the library across restarts (and a corrupt one), and exports using them."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from app.develop.adjustments import Adjustments
from app.develop.develop_settings import DevelopSettings
from app.dialogs.export_dialog import ExportDialog
from app.export.export_queue import DONE
from ultrais_core.batch.manifest import MANIFEST_NAME

WAIT_MS = 10_000


def open_loaded(qtbot, window, paths):
    window.open_paths(paths)
    qtbot.waitUntil(
        lambda: len(window.store) == len(paths) and all(p.loaded for p in window.store),
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(
        lambda: all(window.develop.hash_of(p.id) for p in window.store), timeout=WAIT_MS
    )
    return window.store.photos()


def drag(row, *values: int) -> None:
    """A mouse drag of one slider through `values`, as press, moves and release."""
    row.slider.setSliderDown(True)
    for value in values:
        row.slider.setValue(value)
    row.slider.setSliderDown(False)


def select(window, *photos) -> None:
    strip = window.photo_strip
    strip.clearSelection()
    for photo in photos:
        item = strip._item(photo.id)
        strip.selectionModel().select(
            strip.indexFromItem(item), QItemSelectionModel.SelectionFlag.Select
        )


def test_each_photo_keeps_its_own_sliders_and_scale(qtbot, window, photo_files):
    street, bridge = open_loaded(qtbot, window, photo_files)
    assert window.current_photo is street
    drag(window.controls.rows["exposure"], 20, 60, 100)
    window._set_scale(4)
    assert window.develop.get(street) == DevelopSettings(4, Adjustments(exposure=1.0))
    assert window.compare_view._adjustments == Adjustments(exposure=1.0)
    qtbot.waitUntil(lambda: 4 in street.results, timeout=WAIT_MS)  # its own scale is enhanced

    window.show_photo(bridge.id)
    assert window.develop.get(bridge) == DevelopSettings(2, Adjustments())
    assert window.controls.rows["exposure"].value() == 0.0
    assert window.controls.scale() == 2 and window.compare_view.scale == 2
    assert window.compare_view._adjustments == Adjustments()
    window.controls.rows["saturation"].slider.setValue(150)

    window.show_photo(street.id)
    assert window.controls.rows["exposure"].value() == 1.0
    assert window.controls.rows["saturation"].value() == 1.0
    assert window.controls.scale() == 4 and window.settings.scale == 4
    assert window.develop.get(bridge).adjustments == Adjustments(saturation=1.5)


def test_undo_and_redo_every_change_a_drag_being_one_step(qtbot, window, photo_files):
    street, bridge = open_loaded(qtbot, window, photo_files)
    stack = window.develop.undo_stack
    exposure = window.controls.rows["exposure"]
    drag(exposure, 10, 30, 50)  # one step
    drag(exposure, 70, 80)  # another drag of the same slider: a step of its own
    window.controls.rows["shadows"].slider.setValue(20)
    window._set_scale(1)
    assert stack.count() == 4
    assert [stack.text(i) for i in range(4)] == ["Exposure", "Exposure", "Shadows", "Scale x1"]

    window.develop_actions.undo_action.trigger()  # scale
    assert window.develop.get(street).scale == 2 and window.controls.scale() == 2
    qtbot.keyClick(window.compare_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.develop.get(street).adjustments == Adjustments(exposure=0.8)
    assert window.controls.rows["shadows"].value() == 0.0
    window.develop_actions.undo_action.trigger()
    assert exposure.value() == 0.5 and window.compare_view._adjustments.exposure == 0.5
    window.develop_actions.undo_action.trigger()
    assert window.develop.get(street) == DevelopSettings(2, Adjustments())
    assert not stack.canUndo()

    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.compare_view, Qt.Key.Key_Z, shift_ctrl)
    assert exposure.value() == 0.5
    window.develop_actions.redo_action.trigger()
    window.develop_actions.redo_action.trigger()
    assert window.develop.get(street).adjustments == Adjustments(exposure=0.8, shadows=0.2)
    assert "Redone: Shadows" in window.statusBar().currentMessage()

    # A drag that ends where it started leaves no step (it still drops the redo of the scale,
    # as any new change does); a reset is a step of its own.
    before = stack.index()
    drag(window.controls.rows["detail"], 30, 0)
    assert stack.index() == stack.count() == before
    exposure.reset()
    assert stack.index() == before + 1 and stack.undoText() == "Exposure"
    window.controls.reset_all()
    assert stack.undoText() == "Reset all" and window.develop.get(street).adjustments.is_identity()
    window.develop_actions.undo_action.trigger()
    assert window.develop.get(street).adjustments == Adjustments(shadows=0.2)
    assert window.develop.get(bridge) == DevelopSettings(2, Adjustments())  # never touched


def test_undo_of_another_photos_change_leaves_the_one_on_screen(qtbot, window, photo_files):
    street, bridge = open_loaded(qtbot, window, photo_files)
    window.controls.rows["exposure"].slider.setValue(100)
    window.show_photo(bridge.id)
    window.develop_actions.undo_action.trigger()
    assert window.develop.get(street).adjustments.is_identity()
    assert window.current_photo is bridge and window.controls.rows["exposure"].value() == 0.0


def test_copy_paste_and_sync_to_selected(qtbot, window, tmp_path, new_photo):
    folder = tmp_path / "night"
    folder.mkdir()
    paths = [new_photo(folder / f"{n}.png", 32, 24, seed=i) for i, n in enumerate("abcd")]
    a, b, c, d = open_loaded(qtbot, window, paths)
    window.controls.rows["exposure"].slider.setValue(150)
    window.controls.rows["saturation"].slider.setValue(50)
    window._set_scale(4)
    wanted = DevelopSettings(4, Adjustments(exposure=1.5, saturation=0.5))
    assert window.develop.get(a) == wanted
    assert not window.develop_actions.paste_action.isEnabled()
    window.develop_actions.copy_action.trigger()
    assert window.develop_actions.paste_action.isEnabled()

    select(window, b, c)
    steps = window.develop.undo_stack.count()
    window.develop_actions.paste_action.trigger()
    assert window.develop.get(b) == window.develop.get(c) == wanted
    assert window.develop.get(d) == DevelopSettings()
    assert window.develop.undo_stack.count() == steps + 1  # one step for both
    window.develop_actions.undo_action.trigger()
    assert window.develop.get(b) == window.develop.get(c) == DevelopSettings()

    # Sync: the photo on screen's settings onto the others selected (here: all, Ctrl+A).
    window.show_photo(d.id)
    window.controls.rows["shadows"].slider.setValue(-40)
    qtbot.keyClick(window.compare_view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert window.photo_strip.selected_ids() == [a.id, b.id, c.id, d.id]
    window.develop_actions.sync_action.trigger()
    synced = DevelopSettings(2, Adjustments(shadows=-0.4))
    assert all(window.develop.get(p) == synced for p in (a, b, c, d))
    assert window.develop.undo_stack.undoText() == "Sync settings"
    window.show_photo(a.id)
    assert window.controls.rows["shadows"].value() == -0.4 and window.controls.scale() == 2


def test_settings_persist_across_a_restart_by_content(qtbot, make_window, photo_files, tmp_path):
    first = make_window()
    open_loaded(qtbot, first, photo_files)
    first.controls.rows["highlights"].slider.setValue(-70)
    first._set_scale(1)
    first.close()

    # The same photo, moved and renamed, in a new window with the same library.
    moved = tmp_path / "elsewhere" / "renamed.png"
    moved.parent.mkdir()
    shutil.move(photo_files[0], moved)
    second = make_window()
    (photo,) = open_loaded(qtbot, second, [moved])
    qtbot.waitUntil(lambda: second.develop.get(photo).scale == 1, timeout=WAIT_MS)
    assert second.develop.get(photo).adjustments == Adjustments(highlights=-0.7)
    assert second.controls.rows["highlights"].value() == -0.7
    assert second.controls.scale() == 1 and second.compare_view.scale == 1
    assert not second.develop.undo_stack.canUndo()  # loading is not an edit
    qtbot.waitUntil(lambda: 1 in photo.results, timeout=WAIT_MS)


def test_edits_made_before_the_hash_is_known_are_kept_and_saved(
    qtbot, make_window, photo_files, library_path
):
    from app.develop.photo_library import PhotoLibrary, hash_file

    digest = hash_file(photo_files[0])
    library = PhotoLibrary(library_path)
    library.put_many({digest: ({"scale": 4, "adjustments": {"exposure": -1.0}}, "old")})
    library.close()
    window = make_window()
    window.develop._hasher = None  # the hash arrives when the test says so
    window.open_paths([photo_files[0]])
    photo = window.current_photo
    window.controls.rows["exposure"].slider.setValue(200)
    window.develop.set_hash(photo.id, digest)
    assert window.develop.get(photo) == DevelopSettings(2, Adjustments(exposure=2.0))
    window.develop.flush()
    assert window.library.get(digest) == DevelopSettings(2, Adjustments(exposure=2.0)).as_dict()


def test_a_corrupt_library_starts_fresh_and_says_so_once(
    qtbot, make_window, photo_files, library_path, dialogs
):
    library_path.parent.mkdir(parents=True)
    library_path.write_bytes(b"\x00garbage" * 512)
    window = make_window()
    qtbot.waitUntil(lambda: bool(dialogs.of_kind("warning")), timeout=WAIT_MS)
    ((_kind, title, text),) = dialogs.of_kind("warning")
    assert title == "Photo library" and "could not be read" in text
    aside = window.library.recovered_from
    assert aside is not None and aside.exists() and str(aside) in text
    photo = open_loaded(qtbot, window, [photo_files[0]])[0]
    window.controls.rows["exposure"].slider.setValue(50)
    window.close()

    again = make_window()
    photo = open_loaded(qtbot, again, [photo_files[0]])[0]
    qtbot.waitUntil(lambda: again.develop.get(photo).adjustments.exposure == 0.5, timeout=WAIT_MS)
    assert len(dialogs.of_kind("warning")) == 1  # the new library is fine: no second warning


@pytest.fixture
def accept_dialogs(monkeypatch, batch_weights):
    from app.dialogs.batch_dialog import BatchExportDialog

    monkeypatch.setattr(ExportDialog, "exec", lambda self: ExportDialog.DialogCode.Accepted)
    monkeypatch.setattr(
        BatchExportDialog, "exec", lambda self: BatchExportDialog.DialogCode.Accepted
    )


def test_export_and_export_all_use_each_photos_own_settings(
    qtbot, window, photo_files, tmp_path, accept_dialogs
):
    from PIL import Image

    street, bridge = open_loaded(qtbot, window, photo_files)
    window.controls.rows["exposure"].slider.setValue(-300)  # street: black
    window.show_photo(bridge.id)
    window._set_scale(4)  # bridge: x4, neutral

    out = tmp_path / "single"
    window.settings.output_folder = str(out)
    window.settings.output_format = "png"
    window.show_photo(street.id)
    window.export_action.trigger()
    qtbot.waitUntil(
        lambda: window.export_queue.items and window.export_queue.items[-1].state == DONE,
        timeout=WAIT_MS,
    )
    item = window.export_queue.items[-1]
    assert item.adjustments == Adjustments(exposure=-3.0) and item.scale == 2

    dst = tmp_path / "all"
    window.settings.batch_folder = str(dst)
    window.settings.batch_format = "png"
    before = len(window.export_queue.items)
    window.export_all_action.trigger()
    queue = window.export_queue
    qtbot.waitUntil(lambda: len(queue.items) == before + 2 and not queue.is_busy(), timeout=WAIT_MS)
    for session in queue.sessions:
        assert session.wait(WAIT_MS)
    items = {i.photo.name: i for i in queue.items[before:]}
    assert all(i.state == DONE for i in items.values()), [i.message for i in items.values()]
    assert items["street.png"].target.name == "street_ultrais_x2.png"
    assert items["bridge.png"].target.name == "bridge_ultrais_x4.png"
    assert items["street.png"].adjustments == Adjustments(exposure=-3.0)
    assert items["bridge.png"].adjustments == Adjustments()
    # The batch wrote what Export wrote for the same photo and settings.
    single = np.asarray(Image.open(item.target))
    assert np.array_equal(np.asarray(Image.open(items["street.png"].target)), single)
    assert np.asarray(Image.open(items["bridge.png"].target)).shape[:2] == (120, 160)
    rows = sqlite3.connect(dst / MANIFEST_NAME).execute("SELECT rel, settings FROM photos")
    settings = {rel: json.loads(text) for rel, text in rows}
    assert settings["street.png"]["adjustments"]["exposure"] == -3.0
    assert settings["street.png"]["scale"] == 2 and settings["bridge.png"]["scale"] == 4
    assert "adjustments" not in settings["bridge.png"]
