"""What goes into the PyInstaller bundle and what is left out.

Shared by `ultrais.spec` (which PyInstaller runs) and `tests/test_packaging.py`, so the rules can
be checked without a build. Standard library only: PyInstaller imports it from the spec.

Destination paths below are relative to the bundle's `_internal/` folder, with `/` separators.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath

APP_NAME = "UltraIS"
CLI_NAME = "UltraIS-cli"  # Windows only: a console twin of the windowed UltraIS.exe
BUNDLE_ID = "org.ultrais.UltraIS"
SCALES = (1, 2, 4)
VARIANTS = ("cpu", "cuda")
# What runs the network in a bundle: torch, or ONNX Runtime with the networks exported to .onnx
# at packaging time (CPU only; about 62 MiB against torch's 400). See ONNX_RUNTIME_EXCLUDED.
RUNTIMES = ("torch", "onnx")

# torch sub-packages that eager inference never imports (torch.compile, export, ONNX,
# distributed training, ROCm and benchmark tools, the operator test database). PyInstaller's
# torch hook collects every torch sub-module; these are left out, with their source files.
TORCH_UNUSED_MODULES = (
    "torch._inductor",
    "torch._dynamo",
    "torch.onnx",
    "torch._numpy",
    "torch.utils.hipify",
    "torch.utils.benchmark",
    "torch.utils.tensorboard",
    "torch.distributed.tensor",
    "torch.distributed.fsdp",
    "torch.distributed.checkpoint",
    "torch.distributed.elastic",
    "torch.distributed.pipelining",
    "torch.distributed._shard",
    "torch.distributed._tools",
    "torch.distributed._composable",
    "torch.testing._internal.opinfo",
    "torch.testing._internal.distributed",
    "torch.testing._internal.common_methods_invocations",
)

# Python modules that the app never imports but that PyInstaller would follow from torch's and
# the test tools' optional imports.
EXCLUDED_MODULES = (
    # GUI toolkits and notebooks we do not use (PySide6 is ours).
    "tkinter",
    "_tkinter",
    "turtledemo",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "matplotlib",
    "IPython",
    "ipykernel",
    "jupyter_client",
    "notebook",
    # Test and build tooling.
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "ruff",
    "setuptools",
    "pkg_resources",
    "pip",
    "PyInstaller",
    # torch extras for compilation, export and logging, not for inference.
    "triton",
    "tensorboard",
    "onnx",
    "onnx_ir",
    "onnxruntime",
    "onnxscript",
    "ml_dtypes",
    "fsspec",
    # The batch runner's optional Ray backend (`batch --ray`) and what only Ray pulls in:
    # distributed batches run from a source install, never from the desktop bundle.
    "ray",
    "pyarrow",
    "pandas",
    "polars",
    "pydantic",
    "grpc",
    "google.protobuf",
    "msgpack",
    "jsonschema",
    "aiohttp",
    "requests",
    "click",
    "yaml",
    "psutil",
    # torch's compiler, exporter and distributed-training parts: the engine runs plain eager
    # inference, which never imports them (tests/test_packaging.py runs the engine at every
    # scale and the app's modules with these blocked). torch imports torch.distributed and
    # torch.testing._internal themselves, so only their unused sub-packages go. With them go
    # what only they import: sympy and mpmath (symbolic shapes), networkx (graph partitions),
    # jinja2 (inductor's code templates). About 45 MiB of sources and bytecode.
    *TORCH_UNUSED_MODULES,
    "sympy",
    "mpmath",
    "networkx",
    "jinja2",
    "markupsafe",
    # Qt modules qtpy imports when present (inside try/except); the app uses none of them.
    # (QtNetwork stays: app/single_instance.py hands a second launch's photos over with it.)
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
)

# Left out of an ONNX Runtime bundle: torch and what only the torch path imports (the network's
# code, einops, safetensors; the engine imports them only when torch is there), with torch's own
# dependencies. The app's modules that import torch (ultrais_core.model, weights, training) stay
# in as bytecode but are never imported: tests/test_onnx_bundle.py runs the app with these
# blocked. PyInstaller's excludes take top-level names, so torch's sub-packages go with it.
ONNX_RUNTIME_EXCLUDED = (
    "torch",
    "functorch",
    "torchgen",
    "einops",
    "safetensors",
    "sympy",
    "mpmath",
    "networkx",
    "jinja2",
    "markupsafe",
    "filelock",
)
# ONNX Runtime's Python tools (model conversion, quantisation, transformer optimisers): an
# InferenceSession never imports them.
ONNX_RUNTIME_UNUSED = (
    "onnxruntime.transformers",
    "onnxruntime.quantization",
    "onnxruntime.tools",
    "onnxruntime.backend",
    "onnxruntime.datasets",
)

# Only `python main.py evaluate` needs scikit-image (SSIM, CIEDE2000), and so SciPy: the
# installers leave the developer commands' metrics out unless asked (build.py --with-evaluation).
EVALUATION_MODULES = ("skimage", "scipy")

# Files (by destination) that are never needed at run time.
EXCLUDED_FILES = (
    # torch: C++ headers, CMake files, C++ test binaries and test-only libraries.
    "torch/include/*",
    "torch/share/*",
    "torch/test/*",
    "torch/bin/test_*",
    "torch/bin/*Test",
    "torch/bin/*_test",
    "torch/bin/protoc*",
    "torch/bin/*.pt",
    "torch/bin/*.ptl",
    "torch/bin/upgrader_models*",
    "torch/lib/libjitbackend_test*",
    "torch/lib/libtorchbind_test*",
    "torch/lib/libbackend_with_compiler*",
    "torch/lib/libaoti_custom_ops*",
    "torch/lib/*.lib",
    # CUDA wheels (nvidia-* packages): headers and static libraries.
    "nvidia/*/include/*",
    "nvidia/*.a",
    # Anything that is a header, a static library or a type stub.
    "*.h",
    "*.hpp",
    "*.cuh",
    "*.a",
    "*.pyi",
    "*.cmake",
    # Qt platform plugins for embedded screens and remote displays (a desktop app needs xcb,
    # wayland and offscreen), and the GTK theme plugin: it would load the system's GTK against
    # the GLib bundled here; the app has its own theme. Then the libraries only these need.
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
    "PySide6/Qt/lib/libQt6EglFsKmsSupport.so*",
    "libgtk-3.so*",
    "libgdk-3.so*",
    "libatk-1.0.so*",
    "libcairo-gobject.so*",
    "libgdk_pixbuf-2.0.so*",
    "libpangocairo-1.0.so*",
    # ...and what only those GTK libraries needed (nothing left in the bundle links to them:
    # cairo, pango and their font shaping, X11 render extensions; libXau/libXdmcp and their
    # libbsd/libmd come with the system's libxcb, which the bundle does not carry either).
    "libcairo.so*",
    "libpango-1.0.so*",
    "libpangoft2-1.0.so*",
    "libharfbuzz.so*",
    "libpixman-1.so*",
    "libfribidi.so*",
    "libgraphite2.so*",
    "libthai.so*",
    "libdatrie.so*",
    "libjpeg.so.62*",
    "libXrender.so*",
    "libXext.so*",
    "libXau.so*",
    "libXdmcp.so*",
    "libbsd.so*",
    "libmd.so*",
    "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so*",
    # Qt input plugins for those embedded screens (evdev, TUIO), network-reachability and TLS
    # plugins (the app's only socket is the local single-instance one, QLocalSocket), and Qt's
    # own translations (the app installs no QTranslator: its dialogs are in English). 8 MiB.
    "PySide6/Qt/plugins/generic/*",
    "PySide6/Qt/plugins/networkinformation/*",
    "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/translations/*",
    # Qt tools and QML, which a widgets app does not load.
    "PySide6/Qt/qml/*",
    "PySide6/Qt/libexec/*",
    "PySide6/Qt/metatypes/*",
    "PySide6/include/*",
    "PySide6/typesystems/*",
    "PySide6/glue/*",
    # Test data shipped inside packages.
    "*/tests/*",
    "qtawesome/icon_browser*",
    # Data files (code templates, ...) of the torch sub-packages left out above.
    *(module.replace(".", "/") + "/*" for module in TORCH_UNUSED_MODULES),
)

# Libraries whose symbol tables go (`strip --strip-unneeded`, Linux builds): debugging symbols
# that nothing reads at run time. libtorch_cpu.so alone loses 85 MiB, libpython 16 MiB.
# Only these: libraries that auditwheel grafted into a wheel (`*.libs/`) were rewritten by
# patchelf, and strip corrupts them (numpy's OpenBLAS then fails with "ELF load command
# address/offset not page-aligned"), so those and everything else are left as they come.
STRIPPED_FILES = (
    "torch/lib/libtorch_cpu.so",
    "torch/lib/libtorch_python.so",
    "torch/lib/libc10.so",
    "torch/lib/libshm.so",
    "libpython3.*.so*",
)

# "Open with UltraIS": the extensions the app reads (ultrais_core.imageio: SUPPORTED_READ_SUFFIXES
# with pillow-heif and rawpy installed, as in the bundle) and their MIME types, for the Linux
# .desktop file's MimeType and the Windows installer's OpenWithProgids (tests check both).
OPEN_WITH_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".hif": "image/heif",
    ".dng": "image/x-adobe-dng",
    ".cr2": "image/x-canon-cr2",
    ".cr3": "image/x-canon-cr3",
    ".nef": "image/x-nikon-nef",
    ".nrw": "image/x-nikon-nrw",
    ".arw": "image/x-sony-arw",
    ".raf": "image/x-fuji-raf",
    ".orf": "image/x-olympus-orf",
    ".rw2": "image/x-panasonic-rw2",
    ".pef": "image/x-pentax-pef",
    ".srw": "image/x-samsung-srw",
}
# The same for macOS (CFBundleDocumentTypes): Uniform Type Identifiers; every camera RAW type
# conforms to public.camera-raw-image.
MACOS_DOCUMENT_TYPES = (
    "public.jpeg",
    "public.png",
    "public.tiff",
    "org.webmproject.webp",
    "com.microsoft.bmp",
    "public.heic",
    "public.heif",
    "public.camera-raw-image",
)


def macos_document_types() -> list[dict[str, object]]:
    """CFBundleDocumentTypes for the .app's Info.plist: UltraIS can open these (Finder's Open
    With, a drop on the Dock icon), without claiming to be their default application."""
    return [
        {
            "CFBundleTypeName": "Photo",
            "CFBundleTypeRole": "Viewer",
            "LSHandlerRank": "Alternate",
            "LSItemContentTypes": list(MACOS_DOCUMENT_TYPES),
        }
    ]


# Shared libraries that the Qt xcb platform plugin (the X11 window) needs and that a minimal
# Linux system lacks. PyInstaller copies a plugin's dependencies from the build machine; these
# are named so that build.py can say which ones the bundle could not carry.
XCB_LIBRARIES = (
    "libxcb-cursor.so.0",
    "libxcb-icccm.so.4",
    "libxcb-keysyms.so.1",
    "libxcb-image.so.0",
    "libxcb-render-util.so.0",
    "libxkbcommon-x11.so.0",
)

# Wheels with native code whose macOS tags set the app's minimum macOS version.
NATIVE_DISTRIBUTIONS = (
    "torch",
    "PySide6-Essentials",
    "shiboken6",
    "numpy",
    "opencv-python-headless",
)

# Distributions whose metadata the About dialog reads with importlib.metadata.
METADATA_DISTRIBUTIONS = ("torch", "numpy", "opencv-python-headless", "pillow")

_TEST_PACKAGE = re.compile(r"(^|\.)tests?(\.|$)")
# Packages whose `tests` sub-packages may go; torch.testing is imported by torch itself.
_TEST_PACKAGE_ROOTS = ("numpy", "PIL", "cv2", "skimage", "scipy", "qtawesome", "qtpy", "rawpy")


def excluded_modules(*, with_evaluation: bool = False, runtime: str = "torch") -> list[str]:
    """The `excludes` for PyInstaller's Analysis."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}: {RUNTIMES}")
    modules = list(EXCLUDED_MODULES)
    if runtime == "onnx":
        modules = [m for m in modules if m != "onnxruntime"]
        modules.extend(ONNX_RUNTIME_EXCLUDED + ONNX_RUNTIME_UNUSED)
    if not with_evaluation:
        modules.extend(EVALUATION_MODULES)
    return modules


def normalise(destination: str) -> str:
    """A TOC destination name as a POSIX path (PyInstaller uses `\\` on Windows)."""
    if "\\" in destination:
        return PureWindowsPath(destination).as_posix()
    return PurePosixPath(destination).as_posix()


def is_unneeded(destination: str) -> bool:
    """Whether a collected file (binary or data) can be left out of the bundle."""
    name = normalise(destination)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDED_FILES)


def keep(entries: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Filter a PyInstaller TOC (name, source, type) list, dropping unneeded files."""
    return [entry for entry in entries if not is_unneeded(entry[0])]


def is_stripped(destination: str) -> bool:
    """Whether a collected binary goes into the bundle without its symbol table."""
    name = normalise(destination)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in STRIPPED_FILES)


def strip_binaries(
    entries: Iterable[tuple[str, str, str]], folder: Path, strip: str = "strip"
) -> list[tuple[str, str, str]]:
    """A TOC in which the STRIPPED_FILES come from stripped copies made in `folder` (the
    originals in the build environment are not touched; a copy is reused while it is newer)."""
    import subprocess

    result = []
    for name, source, kind in entries:
        if is_stripped(name):
            target = folder / normalise(name)
            if not target.exists() or target.stat().st_mtime < Path(source).stat().st_mtime:
                target.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([strip, "--strip-unneeded", "-o", str(target), source], check=True)
            source = str(target)
        result.append((name, source, kind))
    return result


def is_test_module(module: str) -> bool:
    """A third-party `tests` package (never imported at run time)."""
    root = module.split(".", 1)[0]
    return root in _TEST_PACKAGE_ROOTS and bool(_TEST_PACKAGE.search(module))


def weights_files(folder: Path) -> dict[int, Path]:
    """The weights files a bundle ships, by scale (resources/weights layout)."""
    return {scale: folder / f"ultrais_x{scale}.safetensors" for scale in SCALES}


def onnx_files(folder: Path) -> dict[int, Path]:
    """The exported networks an ONNX Runtime bundle ships beside the weights, by scale."""
    return {scale: path.with_suffix(".onnx") for scale, path in weights_files(folder).items()}


def missing_weights(folder: Path) -> list[Path]:
    return [path for path in weights_files(folder).values() if not path.is_file()]


def resource_datas(resources: Path, weights: Path) -> list[tuple[str, str]]:
    """(source, destination folder) pairs for PyInstaller's `datas`.

    Everything under `resources/` goes to `_internal/resources/` (where `ultrais_core` and `app`
    look for it, relative to their own files), except Python scripts and the weights, which come
    from `weights` so a build can ship weights from elsewhere (tests ship random ones).
    """
    pairs: list[tuple[str, str]] = []
    for path in sorted(resources.rglob("*")):
        relative = path.relative_to(resources)
        if not path.is_file() or relative.parts[0] == "weights":
            continue
        if path.suffix in (".py", ".pyc") or "__pycache__" in relative.parts:
            continue
        pairs.append((str(path), str(PurePosixPath("resources", *relative.parts[:-1]))))
    shipped = [*weights_files(weights).values(), *onnx_files(weights).values()]
    pairs.extend((str(path), "resources/weights") for path in shipped if path.is_file())
    return pairs


def macos_minimum(wheel_tags: Iterable[str], floor: str = "12.0") -> str:
    """The macOS version an app needs: the newest `macosx_X_Y` among its wheels' tags (the
    WHEEL files' `Tag:` lines), at least `floor`. Goes into LSMinimumSystemVersion."""
    versions = [(int(floor.split(".")[0]), int(floor.split(".")[1]))]
    for tag in wheel_tags:
        match = re.search(r"macosx_(\d+)_(\d+)_", tag)
        if match is not None:
            versions.append((int(match.group(1)), int(match.group(2))))
    major, minor = max(versions)
    return f"{major}.{minor}"


def installed_wheel_tags(distributions: Iterable[str]) -> list[str]:
    """The `Tag:` lines of installed distributions' WHEEL metadata (empty where unknown)."""
    from importlib import metadata

    tags: list[str] = []
    for name in distributions:
        try:
            wheel = metadata.distribution(name).read_text("WHEEL") or ""
        except metadata.PackageNotFoundError:
            continue
        tags += [
            line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")
        ]
    return tags


def read_version(init_file: Path) -> str:
    """`__version__` from a package's `__init__.py`, without importing it."""
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', init_file.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{init_file}: no __version__")
    return match.group(1)


def summarise_sizes(root: Path, depth: int = 2) -> tuple[int, list[tuple[str, int]]]:
    """Total bytes under `root`, and bytes per folder (at most `depth` levels below
    `_internal/`), largest first. Symbolic links are not counted twice."""
    groups: dict[str, int] = {}
    total = 0
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        parts = path.relative_to(root).parts
        prefix = parts[:1] if parts[0] == "_internal" else ()
        folder = parts[len(prefix) : -1][:depth]
        key = "/".join(prefix + folder) or "(top level)"
        groups[key] = groups.get(key, 0) + size
    return total, sorted(groups.items(), key=lambda item: item[1], reverse=True)
