"""Build the held-out photo sets the night figures in the model card are measured on.

    python scripts/make_night_evalsets.py ../shared/data OUT_DIR

OUT_DIR/dark: the held-out night_real photos plus the first 20 of night_more in a hash order
(night_more is never trained on); OUT_DIR/bright: the first 20 held-out clean photos in a hash
order; OUT_DIR/select: the photos for choosing between checkpoints or weight blends, which
must not be the held-out ones: the night_real photos holdout.py does not hold out and the rest
of night_more. Each is reduced to at most 512 px on its long side (area averaging) and written
as PNG, so `main.py evaluate --night OUT_DIR/dark --max-side 512` runs in minutes on a 2-core CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from ultrais_core.holdout import (
    _images,
    hash_unit,
    heldout_clean,
    heldout_night_real,
    is_heldout_night,
)

MAX_SIDE = 512


def reduce_to(source: Path, target: Path) -> None:
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {source}")
    factor = MAX_SIDE / max(image.shape[:2])
    if factor < 1:
        size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    target.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(target.with_suffix(".png")), image)


def main(data: Path, out: Path) -> None:
    more = sorted(
        _images(data / "night_more", recursive=False),
        key=lambda p: hash_unit(p.name, "night-eval-more"),
    )
    for path in heldout_night_real(data) + more[:20]:
        reduce_to(path, out / "dark" / path.name)
    real = _images(data / "night_real", recursive=False)
    for path in [p for p in real if not is_heldout_night(p.name)] + more[20:]:
        reduce_to(path, out / "select" / path.name)
    clean = data / "clean"
    bright = sorted(
        heldout_clean(data), key=lambda p: hash_unit(p.relative_to(clean).as_posix(), "bright-eval")
    )[:20]
    for path in bright:
        reduce_to(path, out / "bright" / path.relative_to(clean).as_posix().replace("/", "_"))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
