"""scripts/check_qt_deps.py: `make run` names the missing xcb libraries instead of Qt's abort."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_qt_deps.py"

# What `ldd libqxcb.so` printed on a Debian 12 without libxcb-icccm4 and libxcb-keysyms1.
LDD_DEBIAN_MINIMAL = """\
	linux-vdso.so.1 (0x00007ffd5a1f0000)
	libQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f9a30789000)
	libxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f9a30726000)
	libxcb-icccm.so.4 => not found
	libxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f9a2fb71000)
	libxcb-keysyms.so.1 => not found
	libxcb-icccm.so.4 => not found
	libxcb-keysyms.so.1 => not found
	libEGL.so.1 => /lib/x86_64-linux-gnu/libEGL.so.1 (0x00007f9a2f20a000)
"""


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_qt_deps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_libraries_are_read_from_ldd_once_each(check):
    assert check.missing_in_ldd(LDD_DEBIAN_MINIMAL) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert check.missing_in_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_one_install_line_for_the_distribution(check):
    missing = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"]
    assert check.install_commands(missing, "debian") == [
        "sudo apt install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0"
    ]
    assert check.install_commands(missing, "fedora") == [
        "sudo dnf install xcb-util-wm xcb-util-keysyms xcb-util-cursor"
    ]
    both = check.install_commands(missing, "")
    assert len(both) == 2 and both[0].startswith("sudo apt") and both[1].startswith("sudo dnf")
    # Several sonames from one package name it once.
    assert check.install_commands(["libxcb-randr.so.0", "libxcb-shape.so.0"], "fedora") == [
        "sudo dnf install libxcb"
    ]
    assert check.install_commands(["libunknown.so.3"], "debian") == []


def test_distribution_from_os_release(check):
    assert check.distro_family('ID=debian\nVERSION_ID="12"\n') == "debian"
    assert check.distro_family("ID=ubuntu\nID_LIKE=debian\n") == "debian"
    assert check.distro_family('ID=linuxmint\nID_LIKE="ubuntu debian"\n') == "debian"
    assert check.distro_family("ID=fedora\nVERSION_ID=40\n") == "fedora"
    assert check.distro_family('ID="rocky"\nID_LIKE="rhel centos fedora"\n') == "fedora"
    assert check.distro_family("ID=arch\n") == ""


def test_checks_only_where_qt_would_load_xcb(check):
    assert check.should_check({"DISPLAY": ":0"}, "linux")
    assert check.should_check({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux")
    assert check.should_check({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert check.should_check({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, "linux")
    assert not check.should_check({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not check.should_check({}, "linux")  # no display at all
    assert not check.should_check({"DISPLAY": ":0"}, "darwin")
    assert not check.should_check({"DISPLAY": ":0"}, "win32")


def test_every_xcb_library_the_bundle_should_carry_has_packages(check):
    rules_spec = importlib.util.spec_from_file_location(
        "bundle_rules_for_qt_deps", ROOT / "packaging" / "bundle_rules.py"
    )
    assert rules_spec is not None and rules_spec.loader is not None
    rules = importlib.util.module_from_spec(rules_spec)
    rules_spec.loader.exec_module(rules)
    assert set(rules.XCB_LIBRARIES) <= set(check.PACKAGES)


def test_report_names_libraries_and_command(check):
    text = check.report(["libxcb-icccm.so.4"], "debian")
    assert "libxcb-icccm.so.4" in text
    assert "    sudo apt install libxcb-icccm4\n" in text


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    base.pop("QT_QPA_PLATFORM", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_script_stays_quiet_without_a_display_or_offscreen():
    assert run_script().returncode == 0
    offscreen = run_script(DISPLAY=":99", QT_QPA_PLATFORM="offscreen")
    assert offscreen.returncode == 0 and offscreen.stderr == ""


def test_main_prints_the_install_line_and_fails(check, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(check, "find_missing", lambda plugin: ["libxcb-keysyms.so.1"])
    assert check.main(["--plugin", str(tmp_path / "libqxcb.so")]) == 1
    err = capsys.readouterr().err
    assert "libxcb-keysyms.so.1" in err
    assert "libxcb-keysyms1" in err or "xcb-util-keysyms" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd and .so files")
def test_script_fails_for_a_plugin_whose_library_is_missing(tmp_path):
    """A stand-in plugin linked against a library no system has: ldd says "not found", and the
    script exits 1 with a message where Qt would abort."""
    import shutil

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to make a stand-in plugin")
    soname = "libxcb-ultrais-test.so.0"
    stub = tmp_path / "libstub.so"
    source = tmp_path / "stub.c"
    source.write_text("int stub(void) { return 0; }\n")
    needed = tmp_path / soname
    compile_ = [compiler, "-shared", "-fPIC", str(source)]
    subprocess.run([*compile_, f"-Wl,-soname,{soname}", "-o", str(needed)], check=True)
    link = ["-Wl,--no-as-needed", f"-L{tmp_path}", f"-l:{soname}"]
    subprocess.run([*compile_, "-o", str(stub), *link], check=True)
    needed.unlink()  # now "not found" for ldd
    result = run_script("--plugin", str(stub), DISPLAY=":99")
    assert result.returncode == 1
    assert soname in result.stderr and "Install the packages that provide them" in result.stderr
    assert "Traceback" not in result.stderr
