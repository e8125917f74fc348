"""Settings: one typed, versioned object; tolerant loading; persisted between two windows."""

from __future__ import annotations

import json

from app import settings as settings_io
from app.settings import SETTINGS_VERSION, Settings


def test_round_trip(tmp_path):
    path = tmp_path / "s.json"
    original = Settings(device="cpu", tile=256, scale=4, jpeg_quality=80, name_pattern="{name}_x")
    original.add_recent("/a.jpg")
    settings_io.save(original, path)
    loaded = settings_io.load(path)
    assert loaded == original
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION


def test_missing_corrupt_and_foreign_files_give_defaults(tmp_path):
    assert settings_io.load(tmp_path / "none.json") == Settings()
    corrupt = tmp_path / "bad.json"
    corrupt.write_text("{not json")
    assert settings_io.load(corrupt) == Settings()
    corrupt.write_text("[1, 2]")
    assert settings_io.load(corrupt) == Settings()


def test_bad_values_reset_only_their_field(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "device": "tpu",
                "scale": 3,
                "tile": 128,
                "first_run": "no",
                "recent_files": ["/x.jpg", 5],
                "jpeg_quality": 77,
                "extra": 1,
            }
        )
    )
    loaded = settings_io.load(path)
    assert loaded.device == "auto" and loaded.scale == 2 and loaded.first_run is True
    assert loaded.recent_files == []
    assert loaded.tile == 128 and loaded.jpeg_quality == 77


def test_recent_files_are_unique_newest_first_and_capped():
    s = Settings()
    for i in range(15):
        s.add_recent(f"/p/{i}.jpg")
    s.add_recent("/p/3.jpg")
    assert s.recent_files[0] == "/p/3.jpg"
    assert len(s.recent_files) == settings_io.MAX_RECENT
    assert len(set(s.recent_files)) == len(s.recent_files)


def test_env_var_redirects_the_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv(settings_io.ENV_VAR, str(tmp_path / "here.json"))
    assert settings_io.default_path() == tmp_path / "here.json"


def test_settings_persist_between_two_windows(make_window, settings_path, photo_files, qtbot):
    first = make_window()
    first._set_scale(4)
    first._apply_view_mode("scales")
    first.open_paths([photo_files[0]])
    first.resize(900, 640)
    first.close()
    assert settings_path.exists()

    second = make_window()
    assert second.settings.scale == 4
    assert second.controls.scale() == 4
    assert second.settings.view_mode == "scales"
    assert second.stack.currentWidget() is second.scales_view
    assert second.settings.recent_files[0] == str(photo_files[0].resolve())
    assert second.settings.first_run is False
    assert second.settings.window_geometry  # restored from the first window's state
