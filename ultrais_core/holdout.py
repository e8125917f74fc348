"""Which real photos are kept out of training and out of the choice between checkpoints.

The rule (issue 14, item 6), fixed so every session and machine draws the same photos:

* **night_real** (``<data>/night_real/``, real night photos with no reference): a photo is
  held out for evaluation when ``hash_unit(file name, "night-holdout") < 0.5``, where
  ``hash_unit`` is the first 8 bytes of sha256("night-holdout\\0" + name) read as a number in
  [0, 1). The file name alone is the key, so moving the folder does not change the draw, and
  about half the photos are held out: there are few of them, and the night figures need
  enough held-out photos to mean anything. Training and checkpoint choice must skip these.
* **well-exposed photos**: the clean validation split that training already keeps out
  (``ultrais_core.training.data.is_validation_clean``: ``hash_unit(path relative to clean/,
  "clean") < 0.10``). It is repeated here so this module stays free of torch (the training
  data module imports it); a test checks the two agree.

Photos of any other folder (``night_more``, a user's own) are never held out by this rule:
``evaluate --night DIR --heldout`` keeps the held-out files of DIR by the night rule, or by
the clean rule when DIR lies under ``<data>/clean``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

NIGHT_SALT = "night-holdout"
NIGHT_HELDOUT_FRACTION = 0.5
# Same salt and fraction as ultrais_core.training.data (CLEAN_VAL_FRACTION, "clean").
CLEAN_SALT = "clean"
CLEAN_HELDOUT_FRACTION = 0.10
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})


def hash_unit(key: str, salt: str) -> float:
    """A stable number in [0, 1) for ``key``; sha256 because Python's hash() is salted per run."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def is_heldout_night(name: str) -> bool:
    """Whether the night photo with this file name (no folder) is held out for evaluation."""
    return hash_unit(name, NIGHT_SALT) < NIGHT_HELDOUT_FRACTION


def is_heldout_clean(relative_path: str) -> bool:
    """Whether a clean photo (path relative to ``clean/``, '/'-separated) is held out."""
    return hash_unit(relative_path, CLEAN_SALT) < CLEAN_HELDOUT_FRACTION


def _images(folder: Path, *, recursive: bool) -> list[Path]:
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def heldout_night_real(data_root: str | Path) -> list[Path]:
    """The night_real photos held out from training and checkpoint choice, sorted."""
    return [
        p
        for p in _images(Path(data_root) / "night_real", recursive=False)
        if is_heldout_night(p.name)
    ]


def heldout_clean(data_root: str | Path) -> list[Path]:
    """The well-exposed (clean) photos held out from training and checkpoint choice, sorted."""
    clean = Path(data_root) / "clean"
    return [
        p
        for p in _images(clean, recursive=True)
        if is_heldout_clean(p.relative_to(clean).as_posix())
    ]


def is_heldout(path: str | Path, data_root: str | Path) -> bool:
    """Whether one photo is held out: by the clean rule under ``<data>/clean``, else by the
    night rule on its file name."""
    path = Path(path).resolve()
    clean = (Path(data_root) / "clean").resolve()
    try:
        relative = path.relative_to(clean)
    except ValueError:
        return is_heldout_night(path.name)
    return is_heldout_clean(relative.as_posix())
