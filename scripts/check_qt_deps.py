"""Before `make run` opens a window: are the system libraries Qt's X11 plugin needs installed?

Without them Qt aborts with "could not load the Qt platform plugin xcb" and a core dump; this
names the missing libraries and prints the one command that installs them, then exits 1.
It looks only when a display is set (DISPLAY or WAYLAND_DISPLAY) and Qt is not told to use
another platform (QT_QPA_PLATFORM=offscreen, ...); elsewhere, and on Windows and macOS, it
exits 0 at once. Standard library only; it imports PySide6's package, not Qt.

    python scripts/check_qt_deps.py [--plugin PATH] [--verbose]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package). What Qt 6's xcb plugin and its Qt
# libraries link against; a minimal Debian lacks the first three even where X11 runs.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def should_check(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Linux with a display, and Qt free to pick xcb."""
    if not platform.startswith("linux"):
        return False
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return False  # no display: Qt fails differently (or the app runs offscreen)
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    return not chosen or "xcb" in chosen


def missing_in_ldd(output: str) -> list[str]:
    """Sonames that `ldd` reports as "not found", each once, in order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(output)))


def missing_by_loading(sonames: Iterable[str]) -> list[str]:
    """Without ldd: the sonames the dynamic loader cannot open."""
    missing = []
    for soname in sonames:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def distro_family(os_release: str) -> str:
    """ "debian", "fedora" or "" from the text of /etc/os-release."""
    fields = {}
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip().strip('"').lower()
    names = {fields.get("ID", "")} | set(fields.get("ID_LIKE", "").split())
    if names & {"debian", "ubuntu"}:
        return "debian"
    if names & {"fedora", "rhel", "centos"}:
        return "fedora"
    return ""


def install_commands(missing: Iterable[str], family: str) -> list[str]:
    """The install command(s) for the packages that provide `missing` sonames: one line for a
    known distribution, both otherwise. Empty when no soname is known."""
    known = [PACKAGES[soname] for soname in missing if soname in PACKAGES]
    if not known:
        return []
    apt = "sudo apt install " + " ".join(dict.fromkeys(debian for debian, _ in known))
    dnf = "sudo dnf install " + " ".join(dict.fromkeys(fedora for _, fedora in known))
    if family == "debian":
        return [apt]
    if family == "fedora":
        return [dnf]
    return [f"{apt}    (Debian, Ubuntu)", f"{dnf}    (Fedora)"]


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, found without importing Qt itself."""
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def find_missing(plugin: Path) -> list[str]:
    ldd = shutil.which("ldd")
    if ldd is not None:
        result = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, check=False)
        return missing_in_ldd(result.stdout + result.stderr)
    return missing_by_loading(PACKAGES)


def report(missing: list[str], family: str) -> str:
    commands = install_commands(missing, family)
    how = "Install them with:" if commands else "Install the packages that provide them,"
    lines = [
        "Qt cannot open a window on this display: the system lacks "
        + ", ".join(missing)
        + f" (libraries of Qt's xcb plugin). {how}",
        *(f"    {command}" for command in commands),
        "then run `make run` again. (QT_QPA_PLATFORM=offscreen skips this check.)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugin", type=Path, default=None, help="libqxcb.so to check")
    parser.add_argument("--verbose", action="store_true", help="say what was checked")
    args = parser.parse_args(argv)
    if not should_check(os.environ):
        if args.verbose:
            sys.stdout.write("no X11/Wayland display for Qt's xcb plugin: nothing to check\n")
        return 0
    plugin = args.plugin or xcb_plugin()
    if plugin is None:
        return 0  # PySide6 missing: pip's error will say so
    missing = find_missing(plugin)
    if not missing:
        if args.verbose:
            sys.stdout.write(f"{plugin.name}: every library found\n")
        return 0
    try:
        os_release = Path("/etc/os-release").read_text()
    except OSError:
        os_release = ""
    sys.stderr.write(report(missing, distro_family(os_release)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
