"""The ONNX Runtime backend against torch: the numpy twins of what the engine takes from torch,
one tile through the exported graph, and the engine's whole result through both backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ultrais_core import onnx_runtime
from ultrais_core.engine import Engine, pick_backend
from ultrais_core.errors import UltraISError
from ultrais_core.model import DualStreamNet, guidance
from ultrais_core.model.network import pad_to_multiple
from ultrais_core.weights import save_weights

TINY = {
    "widths": (8, 16),
    "illumination_widths": (8, 8),
    "semantic_widths": (8,),
    "blocks": (1, 1),
    "heads": (1, 2),
    "upsampler_channels": 8,
}


def needs_onnxruntime() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")


def random_network(scale: int, **config: object) -> DualStreamNet:
    """Every parameter random, the zero-initialised output layers too: otherwise the residual
    path would be zero and a comparison would miss most of the network."""
    torch.manual_seed(scale)
    model = DualStreamNet(scale=scale, **config)
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.abs().sum():
                parameter.normal_(0, 0.05)
    return model.eval()


def night_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Dark, smooth, textured, with a few bright lights: what the context statistics see."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = 0.02 + 0.12 * xx * yy + 0.04 * np.sin(11 * xx + 5 * yy) ** 2
    photo = base[..., None] * np.array([1.0, 0.9, 1.2]) + rng.normal(0, 0.01, (height, width, 3))
    photo[height // 3 : height // 3 + 5, width // 2 : width // 2 + 7] = 0.97
    return np.clip(photo, 0, 1).astype(np.float32)


def test_constants_match_the_torch_module():
    assert onnx_runtime.CONTEXT_SIDE == guidance.CONTEXT_SIDE
    assert onnx_runtime.CONTEXT_FEATURES == guidance.CONTEXT_FEATURES


@pytest.mark.parametrize(
    ("height", "width", "out_h", "out_w"), [(9, 7, 4, 3), (300, 520, 148, 256)]
)
def test_area_downscale_matches_torch_interpolate(height, width, out_h, out_w):
    image = np.random.default_rng(1).random((height, width, 3), dtype=np.float32)
    expected = F.interpolate(
        torch.from_numpy(image).permute(2, 0, 1)[None], size=(out_h, out_w), mode="area"
    )[0].permute(1, 2, 0)
    result = onnx_runtime.area_downscale(image, out_h, out_w)
    np.testing.assert_allclose(result, expected.numpy(), atol=1e-6)


@pytest.mark.parametrize(("height", "width"), [(60, 90), (256, 180), (300, 520), (1, 3)])
def test_photo_context_matches_torch(height, width):
    photo = night_photo(height, width)
    expected = guidance.photo_context(torch.from_numpy(photo).permute(2, 0, 1)[None])
    result = onnx_runtime.photo_context(photo)
    assert result.shape == (1, guidance.CONTEXT_FEATURES) and result.dtype == np.float32
    np.testing.assert_allclose(result, expected.numpy(), atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize(("height", "width"), [(40, 50), (20, 70), (64, 32), (3, 5)])
def test_padding_matches_torch(height, width):
    x = np.random.default_rng(2).random((1, 3, height, width), dtype=np.float32)
    expected = pad_to_multiple(torch.from_numpy(x), 32).numpy()
    np.testing.assert_array_equal(onnx_runtime.pad_to_multiple(x, 32), expected)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Random x1/x2/x4 networks (x2 the shipped size, x1/x4 tiny) as weights and .onnx files."""
    needs_onnxruntime()
    from ultrais_core.onnx_export import export_weights

    folder = tmp_path_factory.mktemp("onnx")
    models = {}
    for scale in (1, 2, 4):
        model = random_network(scale, **({} if scale == 2 else TINY))
        weights = save_weights(model, folder / f"ultrais_x{scale}.safetensors")
        export_weights(weights)
        models[scale] = model
    return folder, models


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_onnx_tile_equals_torch_tile(exported, scale):
    folder, models = exported
    onnx_model = onnx_runtime.OnnxTileModel(folder / f"ultrais_x{scale}.onnx", threads=1)
    assert onnx_model.descriptor.scale == scale
    # Not the size traced at export, and not a multiple of 32: padded inside, cropped back.
    photo = night_photo(70, 100, seed=scale)
    x = photo.transpose(2, 0, 1)[None].copy()
    context = onnx_runtime.photo_context(photo)
    with torch.inference_mode():
        expected = models[scale](torch.from_numpy(x), torch.from_numpy(context)).numpy()
    result = onnx_model(x, context)
    assert result.shape == expected.shape == (1, 3, 70 * scale, 100 * scale)
    difference = np.abs(np.clip(result, 0, 1) - np.clip(expected, 0, 1)).max() * 255
    assert difference <= 1.0, difference


@pytest.mark.parametrize("scale", [2, 4])
def test_engine_through_onnx_equals_engine_through_torch(exported, scale):
    folder, _ = exported
    photo = night_photo(150, 170, seed=10 + scale)
    results = {}
    for backend in ("torch", "onnx"):
        engine = Engine(folder, device="cpu", tile=64, backend=backend)
        results[backend] = engine.enhance(photo, scale, out_dtype=np.uint8).astype(int)
        assert engine.last_run is not None and engine.last_run.tile == 64
    assert results["onnx"].shape == (150 * scale, 170 * scale, 3)
    assert np.abs(results["onnx"] - results["torch"]).max() <= 2


def test_onnx_engine_reports_itself_and_refuses_gpus(exported):
    folder, _ = exported
    engine = Engine(folder, backend="onnx")
    assert engine.device.type == "cpu" and "ONNX Runtime" in engine.device_name
    engine.set_cpu_threads(1)
    assert engine.device_name.startswith("CPU (1 threads")
    with pytest.raises(UltraISError, match="CPU in fp32"):
        Engine(folder, device="cuda", backend="onnx")
    with pytest.raises(UltraISError, match="not found"):
        Engine(folder / "missing", backend="onnx").model_for(2)


def test_backend_choice(monkeypatch):
    monkeypatch.delenv("ULTRAIS_BACKEND", raising=False)
    assert pick_backend("auto") == "torch"  # torch is installed here
    with pytest.raises(UltraISError, match="unknown backend"):
        pick_backend("tensorflow")
    if onnx_runtime.onnxruntime_available():
        monkeypatch.setenv("ULTRAIS_BACKEND", "onnx")
        assert pick_backend("auto") == "onnx"
        assert pick_backend("torch") == "torch"
