"""The ONNX Runtime bundle's rules (packaging/bundle_rules.py, `build.py --runtime onnx`): what
it leaves out, what it ships, and that the app runs with torch and its company gone."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"

# Modules of ours that may need torch: the network, its weights files, training and export.
TORCH_ONLY = (
    "ultrais_core.model",
    "ultrais_core.weights",
    "ultrais_core.training",
    "ultrais_core.onnx_export",
)


def load(name: str, path: Path) -> ModuleType:
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rules() -> ModuleType:
    return load("ultrais_bundle_rules_onnx", PACKAGING / "bundle_rules.py")


def test_onnx_runtime_leaves_torch_out_and_keeps_onnxruntime(rules):
    onnx = rules.excluded_modules(runtime="onnx")
    assert {"torch", "einops", "safetensors", "sympy"} <= set(onnx)
    assert "onnxruntime" not in onnx and "onnxruntime.transformers" in onnx
    torch_bundle = rules.excluded_modules()
    assert "onnxruntime" in torch_bundle and "torch" not in torch_bundle
    with pytest.raises(ValueError, match="runtime"):
        rules.excluded_modules(runtime="tflite")


def test_exported_networks_ship_beside_the_weights(rules, tmp_path):
    for scale in (1, 2, 4):
        (tmp_path / f"ultrais_x{scale}.safetensors").write_bytes(b"w")
    (tmp_path / "ultrais_x2.onnx").write_bytes(b"o")
    pairs = rules.resource_datas(ROOT / "resources", tmp_path)
    shipped = {Path(source).name for source, folder in pairs if folder == "resources/weights"}
    assert shipped == {f"ultrais_x{s}.safetensors" for s in (1, 2, 4)} | {"ultrais_x2.onnx"}


def test_build_refuses_onnx_for_the_cuda_variant():
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "build.py"), "--variant", "cuda", "--runtime", "onnx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "cpu variant" in result.stderr


# A fresh interpreter in which the ONNX bundle's left-out modules cannot be imported: every module
# of the app that is not torch-only imports, and the engine enhances a photo through ONNX Runtime.
_WITHOUT_TORCH = """
import importlib, importlib.abc, json, os, pkgutil, sys
blocked = json.loads(sys.argv[1])
class LeftOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"No module named {name!r} (not bundled)", name=name)
        return None
sys.meta_path.insert(0, LeftOut())
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np
import main, app, ultrais_core
failed = {}
for package in (app, ultrais_core):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as error:
            failed[module.name] = error.name
print(json.dumps(failed))
from ultrais_core.engine import Engine
engine = Engine(sys.argv[2], device="cpu", tile=64)
image = np.random.default_rng(0).random((40, 56, 3), dtype=np.float32) * 0.1
assert engine.enhance(image, 2).shape == (80, 112, 3)
print(engine.backend, engine.device_name)
"""


def test_app_runs_through_onnx_runtime_without_torch(rules, weights_dir):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from ultrais_core.onnx_export import export_weights

    for scale in (1, 2, 4):
        export_weights(weights_dir / f"ultrais_x{scale}.safetensors")
    blocked = rules.excluded_modules(runtime="onnx")
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TORCH, json.dumps(blocked), str(weights_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed, backend = result.stdout.strip().splitlines()[-2:]
    assert backend.startswith("onnx CPU (")
    evaluation = ("ultrais_core.metrics", "ultrais_core.evaluation", "ultrais_core.training")
    unexpected = {
        module: missing
        for module, missing in json.loads(failed).items()
        if not module.startswith(TORCH_ONLY)
        and not (
            module.startswith(evaluation) and missing.split(".")[0] in rules.EVALUATION_MODULES
        )
    }
    assert unexpected == {}, f"modules that need torch in the ONNX bundle: {unexpected}"


def test_onnx_info_lists_the_exported_networks(weights_dir, tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from ultrais_core import cli, engine
    from ultrais_core.onnx_export import export_weights

    export_weights(weights_dir / "ultrais_x2.safetensors")
    monkeypatch.setattr(engine, "DEFAULT_WEIGHTS_DIR", weights_dir)
    monkeypatch.setattr(
        engine, "default_weights_path", lambda s, f=weights_dir: f / f"ultrais_x{s}.safetensors"
    )
    assert cli.run_info_onnx() == 0
    out = capsys.readouterr().out
    assert "(no torch)" in out and "x2: ultrais_x2.onnx" in out
    assert "x4: " in out and "not found" in out


def test_onnx_runtime_is_the_default_for_the_linux_cpu_bundle_only():
    build = load("ultrais_packaging_build_onnx", PACKAGING / "build.py")
    assert build.default_runtime("cpu", "linux") == "onnx"
    assert build.default_runtime("cpu", "darwin") == "torch"  # Metal through torch
    assert build.default_runtime("cpu", "win32") == "torch"
    assert build.default_runtime("cuda", "linux") == "torch"
    assert build.parse_args(["--variant", "cpu", "--runtime", "torch"]).runtime == "torch"
