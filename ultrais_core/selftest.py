"""`UltraIS --self-test` / `python main.py --self-test`: a headless check of an installation.

Enhances the bundled sample night photo at x2 with the shipped weights, checks the output size
and that the result is not just an enlargement, and prints the device used. Exit code 0 on
success, 1 with the reason otherwise. Installers run it after building.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SAMPLE_FOLDER = Path(__file__).resolve().parent.parent / "resources" / "sample"


def sample_photo(folder: Path = SAMPLE_FOLDER) -> Path:
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        raise FileNotFoundError(f"no sample photo in {folder}")
    return photos[0]


def run_self_test(scale: int = 2) -> int:
    import cv2
    import numpy as np

    from ultrais_core.engine import Engine
    from ultrais_core.errors import UltraISError
    from ultrais_core.imageio import read_image

    try:
        photo = sample_photo()
        image = read_image(photo).pixels
        engine = Engine()
        started = time.perf_counter()
        result = engine.enhance(image, scale)
        seconds = time.perf_counter() - started
    except (UltraISError, FileNotFoundError) as error:
        sys.stderr.write(f"self-test FAILED: {error}\n")
        return 1
    height, width = image.shape[:2]
    expected = (height * scale, width * scale, 3)
    if result.shape != expected:
        sys.stderr.write(f"self-test FAILED: output {result.shape}, expected {expected}\n")
        return 1
    enlarged = cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    difference = float(np.abs(result - enlarged).mean())
    if difference < 0.01:
        sys.stderr.write(f"self-test FAILED: output is a plain enlargement ({difference:.4f})\n")
        return 1
    sys.stdout.write(
        f"self-test passed: {photo.name} {width}x{height} -> {expected[1]}x{expected[0]} "
        f"at x{scale} on {engine.device_name} in {seconds:.1f} s; mean brightness "
        f"{image.mean():.3f} -> {result.mean():.3f}; mean difference from bicubic "
        f"{difference:.3f}\n"
    )
    return 0
