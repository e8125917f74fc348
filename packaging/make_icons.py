"""Render the SVG app icon into the raster icons the platforms need.

    python packaging/make_icons.py [SVG] [OUT_FOLDER]

Writes `ultrais.png` (512 px, Linux .desktop and AppImage), `ultrais.ico` (16-256 px, Windows
executables and installer) and `ultrais.icns` (16-1024 px, macOS .app) into OUT_FOLDER (default
build/icons). Needs PySide6 (QtSvg renders the SVG) and Pillow (writes ICO and ICNS); runs
headless.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SVG = ROOT / "resources" / "icons" / "ultrais.svg"
DEFAULT_OUT = ROOT / "build" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIDE = 1024
PNG_SIDE = 512


def render(svg: Path, side: int) -> bytes:
    """The SVG rendered as a `side` x `side` PNG with a transparent background."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    image = QImage(side, side, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def make_icons(svg: Path = DEFAULT_SVG, out: Path = DEFAULT_OUT) -> list[Path]:
    import io

    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    application = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    out.mkdir(parents=True, exist_ok=True)
    large = Image.open(io.BytesIO(render(svg, ICNS_SIDE))).convert("RGBA")
    png = out / "ultrais.png"
    Image.open(io.BytesIO(render(svg, PNG_SIDE))).save(png)
    ico = out / "ultrais.ico"
    # Each ICO size rendered from the vector, not scaled down from the large bitmap.
    small = [Image.open(io.BytesIO(render(svg, side))).convert("RGBA") for side in ICO_SIZES]
    small[-1].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=small)
    icns = out / "ultrais.icns"
    large.save(icns, format="ICNS")
    del application
    return [png, ico, icns]


def main(argv: list[str]) -> int:
    svg = Path(argv[0]) if argv else DEFAULT_SVG
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    for path in make_icons(svg, out):
        sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
