"""The held-out rule for real photos: stable, about half of night_real, same clean split as
training, and no torch needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ultrais_core.holdout import (
    hash_unit,
    heldout_clean,
    heldout_night_real,
    is_heldout,
    is_heldout_clean,
    is_heldout_night,
)

ROOT = Path(__file__).resolve().parent.parent


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "night_real").mkdir(parents=True)
    (root / "clean" / "sub").mkdir(parents=True)
    for i in range(40):
        (root / "night_real" / f"n{i}.png").write_bytes(b"x")
        (root / "clean" / "sub" / f"c{i}.jpg").write_bytes(b"x")
    (root / "night_real" / "SOURCE.md").write_text("not a photo")
    return root


def test_the_hash_is_fixed_across_runs_and_machines():
    # sha256-based: a change here would silently move photos between training and evaluation
    assert hash_unit("zdce_real_126.png", "night-holdout") == hash_unit(
        "zdce_real_126.png", "night-holdout"
    )
    assert 0.0 <= hash_unit("a", "b") < 1.0
    assert is_heldout_night("zdce_real_126.png")
    assert not is_heldout_night("zdce_real_1021.png")


def test_about_half_of_night_real_is_held_out_by_file_name(tmp_path):
    root = make_root(tmp_path)
    held = heldout_night_real(root)
    assert 10 <= len(held) <= 30
    assert all(is_heldout_night(p.name) and p.suffix == ".png" for p in held)
    assert held == sorted(held)
    moved = tmp_path / "elsewhere" / held[0].name
    assert is_heldout(moved, root)  # the name decides, not the folder


def test_clean_photos_follow_the_training_validation_split(tmp_path):
    from ultrais_core.training.data import is_validation_clean

    root = make_root(tmp_path)
    keys = [f"sub/c{i}.jpg" for i in range(40)] + [f"k{i}.png" for i in range(500)]
    assert [is_heldout_clean(k) for k in keys] == [is_validation_clean(k) for k in keys]
    held = heldout_clean(root)
    assert all(is_heldout_clean(p.relative_to(root / "clean").as_posix()) for p in held)
    for path in (root / "clean" / "sub").iterdir():
        assert is_heldout(path, root) == is_heldout_clean(f"sub/{path.name}")


def test_holdout_and_night_metrics_need_no_torch():
    code = (
        "import sys, ultrais_core.holdout, ultrais_core.night_metrics, ultrais_core.tone;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
