"""Build the UltraIS desktop bundle (PyInstaller, onedir) and, on Linux, its tar.gz.

    python packaging/build.py --variant cpu                 # CPU torch (Linux, Windows, macOS)
    python packaging/build.py --variant cuda                # CUDA torch (Linux, Windows)
    python packaging/build.py --variant cpu --self-test     # ...then run the bundle's self-test
    python packaging/build.py --variant cpu --runtime torch # torch instead of ONNX Runtime

Which Python builds the bundle (its torch is the one that ships):
  * cpu, default: the interpreter running this script, e.g. the project's .venv (`make package`).
    It must hold a CPU build of torch (checked), PySide6 and PyInstaller (`pip install -e
    ".[gui,package]"`).
  * cuda, default: build/venv-cuda, created on first use, with torch==TORCH_VERSION from
    PyTorch's CUDA index (TORCH_INDEXES below) and the project's gui and package extras.
  * `--venv DIR` makes and uses such a venv for either variant (e.g. build/venv-cpu, with torch
    from the CPU index); `--python PATH` uses a prepared interpreter as it is.

`--runtime onnx` (CPU only; the default for the Linux cpu variant) ships ONNX Runtime instead of
torch: the build exports each weights
file to .onnx (`main.py export-onnx`, with the build interpreter's torch) into the work folder
and bundles those beside the weights. The build interpreter then also needs onnxruntime and onnx
(`pip install -e ".[gui,package,onnx]"`).

The result is dist/<variant>/UltraIS/ (dist/<variant>/UltraIS.app on macOS); on Linux also
dist/UltraIS-<version>-linux-<arch>-<variant>.tar.gz. Windows installers come from
packaging/windows/build.ps1 and macOS disk images from packaging/macos/make_dmg.sh, both on top
of this script. See packaging/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
sys.path.insert(0, str(PACKAGING))

import bundle_rules  # noqa: E402 (found through the path above)

SPEC = PACKAGING / "ultrais.spec"
TORCH_VERSION = "2.13.0"
# PyTorch's own wheel indexes. PyPI's Linux torch is a CUDA build that pulls the nvidia-* wheels,
# so the CPU variant takes torch from the CPU index. cu126 wheels run on NVIDIA drivers >= 525
# (CUDA 12 minor-version compatibility) and GPUs from Maxwell to Blackwell; pick another CUDA
# index (cu128, cu130) with --torch-index if the torch version needs it.
TORCH_INDEXES = {
    "cpu": "https://download.pytorch.org/whl/cpu",
    "cuda": "https://download.pytorch.org/whl/cu126",
}
MB = 1024 * 1024

_PROBE = """
import importlib.util, json
info = {"pyinstaller": importlib.util.find_spec("PyInstaller") is not None,
        "pyside6": importlib.util.find_spec("PySide6") is not None, "torch": None, "cuda": None,
        "onnx": all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))}
try:
    import torch
    info["torch"] = torch.__version__
    info["cuda"] = torch.version.cuda
except ImportError:
    pass
print(json.dumps(info))
"""


class BuildError(RuntimeError):
    """A build step failed; the message says which and what to do."""


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="packaging/build.py",
        description="Build the UltraIS bundle with PyInstaller (see packaging/README.md).",
    )
    parser.add_argument(
        "--variant",
        choices=bundle_rules.VARIANTS,
        default="cpu",
        help="which torch the bundle ships: cpu (all platforms) or cuda (Linux, Windows)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--python",
        type=Path,
        help="a prepared interpreter (torch, PySide6, PyInstaller) to build with; default for "
        "cpu: the one running this script",
    )
    where.add_argument(
        "--venv",
        type=Path,
        help="create (if needed) and build in this venv, installing torch from --torch-index; "
        "default for cuda: build/venv-cuda",
    )
    parser.add_argument(
        "--runtime",
        choices=bundle_rules.RUNTIMES,
        default=None,
        help="what runs the network in the bundle: torch, or onnx (ONNX Runtime, CPU only, "
        "about 350 MiB smaller; the default for the Linux cpu variant)",
    )
    parser.add_argument("--torch-version", default=TORCH_VERSION, help="torch for --venv")
    parser.add_argument(
        "--torch-index",
        default=None,
        help="package index for torch in --venv: a URL, or 'default' for pip's configured "
        "index (default: PyTorch's CPU or cu126 index, by variant)",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        default=ROOT / "resources" / "weights",
        help="folder with ultrais_x{1,2,4}.safetensors to ship (default: resources/weights)",
    )
    parser.add_argument(
        "--allow-missing-weights",
        action="store_true",
        help="build even if weights are missing (the app then reports them missing)",
    )
    parser.add_argument(
        "--with-evaluation",
        action="store_true",
        help="also bundle scikit-image and SciPy, for the developer command `evaluate`",
    )
    parser.add_argument(
        "--dist",
        type=Path,
        default=ROOT / "dist",
        help="output root: the bundle goes to DIST/<variant>/, archives to DIST/",
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="PyInstaller's work folder (build/pyinstaller-*)"
    )
    parser.add_argument("--no-archive", action="store_true", help="skip the Linux tar.gz")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="run the bundle's --self-test in a clean environment (no Python on PATH) at the end",
    )
    args = parser.parse_args(argv)
    if args.variant == "cuda" and sys.platform == "darwin":
        parser.error("there is no CUDA torch for macOS: build --variant cpu (it uses MPS)")
    if args.runtime is None:
        args.runtime = default_runtime(args.variant, sys.platform)
    if args.runtime == "onnx" and args.variant != "cpu":
        parser.error("--runtime onnx is for the cpu variant (ONNX Runtime's CPU build)")
    if args.variant == "cuda" and args.python is None and args.venv is None:
        args.venv = ROOT / "build" / "venv-cuda"
    if args.torch_index is None:
        # macOS wheels on PyPI are the CPU+MPS build; PyTorch's CPU index has no macOS wheels.
        args.torch_index = "default" if sys.platform == "darwin" else TORCH_INDEXES[args.variant]
    if args.work is None:
        args.work = ROOT / "build" / f"pyinstaller-{args.variant}"
    # PyInstaller and the self-test run in other folders: make every path absolute (without
    # resolving links, which would turn a venv's python into its base interpreter). A bare
    # --python name is left to PATH.
    for name in ("python", "venv", "weights", "dist", "work"):
        value = getattr(args, name)
        if value is not None and (name != "python" or value.parent != Path()):
            setattr(args, name, value.absolute())
    return args


def default_runtime(variant: str, platform_name: str) -> str:
    """ONNX Runtime for the Linux CPU bundle (issue 15: at most 600 MB unpacked; with torch it
    is 778 MiB). Elsewhere torch: the macOS bundle uses Metal through torch, and the Windows
    CPU bundle with ONNX Runtime has not been built and tested yet."""
    return "onnx" if variant == "cpu" and platform_name.startswith("linux") else "torch"


def run(
    command: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    say("$ " + " ".join(str(part) for part in command))
    result = subprocess.run([str(part) for part in command], check=False, env=env, cwd=cwd)
    if result.returncode != 0:
        raise BuildError(f"{Path(str(command[0])).name} exited with {result.returncode}")


def venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def prepare_venv(venv: Path, torch_version: str, torch_index: str) -> Path:
    """Create `venv` (once) with torch from `torch_index` and the project's gui+package extras.

    A stamp records what was installed, so a second build with the same settings and the same
    pyproject.toml skips pip entirely.
    """
    python = venv_python(venv)
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    wanted = json.dumps(
        {
            "torch": torch_version,
            "index": torch_index,
            "pyproject": hashlib.sha256(pyproject).hexdigest(),
        }
    )
    stamp = venv / ".ultrais-build-stamp"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        say(f"using {venv} (up to date)")
        return python
    if not python.exists():
        run([sys.executable, "-m", "venv", venv])
    run([python, "-m", "pip", "install", "--upgrade", "pip"])
    torch = [python, "-m", "pip", "install", f"torch=={torch_version}"]
    if torch_index != "default":
        torch += ["--index-url", torch_index]
    run(torch)
    # torch is installed first, so the project's "torch>=2.3,<3" is already satisfied.
    run([python, "-m", "pip", "install", "-e", f"{ROOT}[gui,package]"])
    stamp.write_text(wanted)
    return python


def probe(python: Path) -> dict[str, object]:
    output = subprocess.run(
        [str(python), "-c", _PROBE], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def check_interpreter(python: Path, variant: str, runtime: str = "torch") -> dict[str, object]:
    info = probe(python)
    install = f'{python} -m pip install -e "{ROOT}[gui,package]"'
    if info["torch"] is None:
        raise BuildError(f"{python} has no torch (it exports the networks even for onnx)")
    if runtime == "onnx" and not info["onnx"]:
        with_onnx = install.replace("package]", "package,onnx]")
        raise BuildError(f"{python} lacks onnxruntime or onnx: run {with_onnx}")
    if not info["pyside6"] or not info["pyinstaller"]:
        raise BuildError(f"{python} lacks PySide6 or PyInstaller: run {install}")
    if variant == "cpu" and info["cuda"]:
        raise BuildError(
            f"{python} has a CUDA build of torch ({info['torch']}): the cpu bundle would carry "
            "its CUDA libraries. Build with --venv build/venv-cpu (torch from the CPU index)."
        )
    if variant == "cuda" and not info["cuda"]:
        raise BuildError(f"{python} has a CPU-only torch ({info['torch']}); use --venv")
    return info


def bundle_path(dist: Path, variant: str) -> Path:
    """The folder (or macOS .app) that PyInstaller makes for a variant."""
    name = bundle_rules.APP_NAME + (".app" if sys.platform == "darwin" else "")
    return dist / variant / name


def executable_in(bundle: Path, *, console: bool = True) -> Path:
    """The program inside a bundle; on Windows `console` picks the console twin."""
    if sys.platform == "darwin":
        return bundle / "Contents" / "MacOS" / bundle_rules.APP_NAME
    if sys.platform == "win32":
        name = bundle_rules.CLI_NAME if console else bundle_rules.APP_NAME
        return bundle / f"{name}.exe"
    return bundle / bundle_rules.APP_NAME


def normalise_permissions(folder: Path) -> None:
    """World-readable files and folders: an install by root into /opt must run for everyone,
    and some sources (weights written through a temporary file) are private (0600)."""
    if os.name != "posix":
        return
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def minimum_glibc(folder: Path) -> tuple[str, str] | None:
    """The newest GLIBC symbol version that any ELF file in `folder` needs, and that file:
    the bundle runs only on distributions with at least that glibc."""
    readelf = shutil.which("readelf")
    if readelf is None or not sys.platform.startswith("linux"):
        return None
    newest: tuple[tuple[int, ...], str] = ((0,), "")
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        listing = subprocess.run(
            [readelf, "-V", "--wide", str(path)], capture_output=True, text=True, check=False
        ).stdout
        for match in re.finditer(r"Name: GLIBC_(\d+(?:\.\d+)+)", listing):
            version = tuple(int(part) for part in match.group(1).split("."))
            if version > newest[0]:
                newest = (version, str(path.relative_to(folder)))
    if newest[0] == (0,):
        return None
    return ".".join(str(part) for part in newest[0]), newest[1]


def missing_xcb_libraries(bundle: Path) -> list[str]:
    """bundle_rules.XCB_LIBRARIES that the bundle lacks (Linux): PyInstaller copies the xcb
    plugin's dependencies only from a build machine that has them."""
    if not sys.platform.startswith("linux"):
        return []
    present = {path.name for path in (bundle / "_internal").rglob("lib*.so*")}
    return [name for name in bundle_rules.XCB_LIBRARIES if name not in present]


def report(bundle: Path) -> int:
    total, groups = bundle_rules.summarise_sizes(bundle)
    say(f"\nbundle: {bundle}")
    say(f"size: {total / MB:.0f} MiB ({total / 1e6:.0f} MB) in {bundle.name}/")
    for name, size in groups[:12]:
        say(f"  {size / MB:8.1f} MiB  {name}")
    glibc = minimum_glibc(bundle)
    if glibc is not None:
        say(f"needs glibc >= {glibc[0]} (newest symbol version, from {glibc[1]})")
    missing = missing_xcb_libraries(bundle)
    if missing:
        say(
            f"WARNING: the bundle lacks {', '.join(missing)} (Qt's xcb plugin needs them; a "
            "minimal system does not have them). Install them on this build machine and build "
            "again (scripts/check_qt_deps.py names the packages)."
        )
    return total


def clean_environment(home: Path) -> dict[str, str]:
    """An environment with no Python in it: no venv, no PYTHON* variables, and a PATH that
    holds no interpreter (an empty folder on Linux and macOS, System32 on Windows)."""
    empty = home / "empty-path"
    empty.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return {
            "SYSTEMROOT": system_root,
            "PATH": str(Path(system_root) / "System32"),
            "TEMP": str(home),
            "TMP": str(home),
            "USERPROFILE": str(home),
            "APPDATA": str(home),
            "LOCALAPPDATA": str(home),
        }
    return {"PATH": str(empty), "HOME": str(home), "TMPDIR": str(home)}


def self_test(bundle: Path) -> None:
    executable = executable_in(bundle)
    with tempfile.TemporaryDirectory(prefix="ultrais-selftest-") as folder:
        say(f"$ {executable} --self-test   (clean environment, HOME={folder})")
        result = subprocess.run(
            [str(executable), "--self-test"],
            env=clean_environment(Path(folder)),
            cwd=folder,
            check=False,
        )
    if result.returncode != 0:
        raise BuildError(f"the bundle's self-test failed (exit {result.returncode})")


def archive(bundle: Path, dist: Path, variant: str, version: str, icons: Path) -> None:
    if sys.platform.startswith("linux"):
        arch = platform.machine() or "x86_64"
        out = dist / f"{bundle_rules.APP_NAME}-{version}-linux-{arch}-{variant}.tar.gz"
        run(["bash", PACKAGING / "linux" / "make_tarball.sh", bundle, icons / "ultrais.png", out])
        say(f"archive: {out} ({out.stat().st_size / MB:.0f} MiB)")
    elif sys.platform == "win32":
        say(f"installer: packaging\\windows\\build.ps1 -Variant {variant} -SkipBundle")
    elif sys.platform == "darwin":
        say(f"disk image: bash packaging/macos/make_dmg.sh {bundle}")


def export_onnx(python: Path, weights: Path, folder: Path) -> Path:
    """Copy the weights files into `folder` and export each one's network to .onnx beside it,
    so the bundle's weights folder holds both (the sources stay untouched)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    present = [path for path in bundle_rules.weights_files(weights).values() if path.is_file()]
    for path in present:
        shutil.copy2(path, folder / path.name)
    if present:
        run([python, ROOT / "main.py", "export-onnx", folder], cwd=ROOT)
    return folder


def build(args: argparse.Namespace) -> Path:
    missing = bundle_rules.missing_weights(args.weights)
    if missing and not args.allow_missing_weights:
        names = ", ".join(path.name for path in missing)
        raise BuildError(
            f"weights missing in {args.weights}: {names}. Train them (scripts/train_cpu.sh), "
            "point --weights at a folder that has them, or pass --allow-missing-weights."
        )
    if args.venv is not None:
        python = prepare_venv(args.venv, args.torch_version, args.torch_index)
    else:
        python = args.python or Path(sys.executable)
    info = check_interpreter(python, args.variant, args.runtime)
    runtime = f"torch {info['torch']}" if args.runtime == "torch" else "ONNX Runtime, no torch"
    say(f"building the {args.variant} bundle with {python}: {runtime}")
    icons = ROOT / "build" / "icons"
    run([python, PACKAGING / "make_icons.py", ROOT / "resources" / "icons" / "ultrais.svg", icons])
    weights = args.weights.resolve()
    if args.runtime == "onnx":
        weights = export_onnx(python, weights, args.work / "onnx-weights")
    env = dict(os.environ)
    env["ULTRAIS_WEIGHTS"] = str(weights)
    env["ULTRAIS_RUNTIME"] = args.runtime
    env["ULTRAIS_ICONS"] = str(icons)
    env["ULTRAIS_WITH_EVALUATION"] = "1" if args.with_evaluation else "0"
    # A local build of ours, not someone's venv, must never leak in through these.
    for variable in ("PYTHONPATH", "PYTHONHOME"):
        env.pop(variable, None)
    run(
        [
            python,
            "-m",
            "PyInstaller",
            SPEC,
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            args.dist / args.variant,
            "--workpath",
            args.work,
        ],
        env=env,
        cwd=ROOT,
    )
    bundle = bundle_path(args.dist, args.variant)
    if not executable_in(bundle).exists():
        raise BuildError(f"PyInstaller finished but {executable_in(bundle)} is missing")
    normalise_permissions(bundle)
    report(bundle)
    version = bundle_rules.read_version(ROOT / "ultrais_core" / "__init__.py")
    if not args.no_archive:
        archive(bundle, args.dist, args.variant, version, icons)
    if args.self_test:
        self_test(bundle)
    return bundle


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        build(args)
    except (BuildError, subprocess.CalledProcessError) as error:
        sys.stderr.write(f"build failed: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
