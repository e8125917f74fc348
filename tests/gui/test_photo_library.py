"""The photo library: settings by content hash, its schema version, and a corrupt file."""

from __future__ import annotations

import hashlib
import sqlite3

from app.develop import photo_library
from app.develop.photo_library import SCHEMA_VERSION, PhotoLibrary, hash_file


def test_settings_round_trip_and_survive_reopening(tmp_path):
    path = tmp_path / "data" / "library.sqlite"
    library = PhotoLibrary(path)
    assert library.schema_version() == SCHEMA_VERSION and library.count() == 0
    library.put_many({"abc": ({"scale": 4, "adjustments": {"exposure": 1.0}}, "/p/a.jpg")})
    library.put_many({"abc": ({"scale": 1}, "/moved/a.jpg")})  # one row per hash
    library.close()

    again = PhotoLibrary(path)
    assert again.recovered_from is None and again.read_only_reason is None
    assert again.get("abc") == {"scale": 1}
    assert again.get("nothing") is None
    assert again.count() == 1
    row = sqlite3.connect(path).execute("SELECT last_path FROM develop").fetchone()
    assert row == ("/moved/a.jpg",)


def test_a_corrupt_file_is_moved_aside_and_a_new_library_started(tmp_path):
    path = tmp_path / "library.sqlite"
    garbage = b"this is not a database, just bytes " * 100
    path.write_bytes(garbage)
    library = PhotoLibrary(path)
    assert library.recovered_from is not None
    assert library.recovered_from.parent == tmp_path
    assert library.recovered_from.name.startswith("library.sqlite.corrupt-")
    assert library.recovered_from.read_bytes() == garbage  # kept for the user, untouched
    library.put_many({"h": ({"scale": 2}, "x")})
    assert library.get("h") == {"scale": 2}
    library.close()
    assert PhotoLibrary(path).recovered_from is None  # told once: the next start is clean


def test_a_library_from_a_newer_version_is_left_alone(tmp_path):
    path = tmp_path / "library.sqlite"
    PhotoLibrary(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    before = path.read_bytes()
    library = PhotoLibrary(path)
    assert library.read_only_reason and "newer" in library.read_only_reason
    assert library.recovered_from is None
    library.put_many({"h": ({"scale": 2}, "x")})  # in memory only
    assert library.get("h") == {"scale": 2}
    library.close()
    assert path.read_bytes() == before


def test_env_var_redirects_the_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv(photo_library.ENV_VAR, str(tmp_path / "lib.sqlite"))
    assert photo_library.default_path() == tmp_path / "lib.sqlite"


def test_hash_file_is_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "photo.jpg"
    data = bytes(range(256)) * 5000  # more than one read chunk
    path.write_bytes(data)
    assert hash_file(path) == hashlib.sha256(data).hexdigest()
