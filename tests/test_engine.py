"""The tiled engine: exact tiling, OOM back-off, progress, cancel, alpha and grayscale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ultrais_core import engine as engine_module
from ultrais_core.engine import (
    Engine,
    cpu_tile_budget,
    run_tiled,
    run_with_backoff,
    upscale_alpha,
)
from ultrais_core.errors import Cancelled, OutOfMemoryError, UltraISError, WeightsError
from ultrais_core.model import DualStreamNet, config_for
from ultrais_core.model_descriptor import ModelDescriptor
from ultrais_core.weights import save_weights

CPU = torch.device("cpu")
CONTEXT = torch.zeros(1, 7)


def sharp_test_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A dark photo with hard edges and a bright lamp crossing every tile border."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 0.03, dtype=np.float32)
    image[height // 5 : 3 * height // 4, width // 6 : 4 * width // 5] = (0.25, 0.12, 0.05)
    image[:, width // 2 - 3 : width // 2 + 3] = 0.95  # vertical lamp post
    image[height // 2 - 2 : height // 2 + 2, :] = (0.1, 0.3, 0.6)
    image += rng.normal(0, 0.01, image.shape).astype(np.float32)
    return np.clip(image, 0, 1)


def nearest_model(scale: int):  # a test double
    calls: list[tuple[int, int]] = []

    def forward(batch: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(batch.shape[-2:]))
        return F.interpolate(batch, scale_factor=scale, mode="nearest") if scale > 1 else batch

    forward.calls = calls  # type: ignore[attr-defined]
    return forward


@pytest.mark.parametrize("scale", [1, 2])
def test_identity_like_model_gives_the_input_back_exactly(scale: int) -> None:
    image = sharp_test_image(150, 230)
    out = run_tiled(
        nearest_model(scale),
        image,
        scale=scale,
        tile=64,
        overlap=32,
        align=16,
        context=CONTEXT,
        device=CPU,
    )
    expected = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize(("preset", "scale"), [("small", 2), ("small", 4)])
def test_tiled_equals_untiled_within_one_level(tmp_path: Path, preset: str, scale: int) -> None:
    """Random weights, hard edges across tile borders: tiles must agree with the whole photo."""
    torch.manual_seed(0)
    path = save_weights(DualStreamNet(config_for(preset, scale)), tmp_path / "w.safetensors")
    image = sharp_test_image(176, 250)
    whole = Engine(path, device="cpu", tile=1024).enhance(image, scale)
    tiled_engine = Engine(path, device="cpu", tile=128)
    tiled = tiled_engine.enhance(image, scale)
    assert tiled.shape == whole.shape == (176 * scale, 250 * scale, 3)
    assert np.abs(tiled - whole).max() < 1 / 255


def test_progress_reports_every_tile_in_order(weights_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    Engine(weights_dir, device="cpu", tile=32, overlap=16).enhance(
        sharp_test_image(70, 90), 2, progress=lambda done, total: seen.append((done, total))
    )
    total = seen[-1][1]
    assert total > 1
    assert seen == [(i, total) for i in range(1, total + 1)]


def test_cancel_stops_between_tiles() -> None:
    model = nearest_model(1)
    done: list[int] = []
    with pytest.raises(Cancelled):
        run_tiled(
            model,
            sharp_test_image(128, 128),
            scale=1,
            tile=32,
            overlap=0,
            align=16,
            context=CONTEXT,
            device=CPU,
            progress=lambda d, t: done.append(d),
            cancel=lambda: len(done) >= 2,
        )
    assert len(model.calls) == 2


def test_out_of_memory_halves_the_tile_and_finishes() -> None:
    """A fake model that runs out of memory above 80 x 80 pixels."""
    inner = nearest_model(2)

    def fragile(batch: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        if batch.shape[-1] * batch.shape[-2] > 80 * 80:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return inner(batch, context)

    runs = []
    image = sharp_test_image(96, 96)
    out = run_with_backoff(
        fragile,
        image,
        scale=2,
        tile=256,
        overlap=16,
        align=16,
        context=CONTEXT,
        device=CPU,
        on_run=runs.append,
    )
    assert runs[0].tile == 64 and runs[0].retries == 2
    np.testing.assert_allclose(out, np.repeat(np.repeat(image, 2, 0), 2, 1), atol=1e-6)


def test_out_of_memory_at_the_floor_raises_a_readable_error() -> None:
    def always_oom(batch: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    with pytest.raises(OutOfMemoryError, match=r"out of memory.*tiles"):
        run_with_backoff(
            always_oom,
            sharp_test_image(64, 64),
            scale=1,
            tile=512,
            overlap=0,
            align=16,
            context=CONTEXT,
            device=CPU,
        )


def test_other_errors_are_not_mistaken_for_out_of_memory() -> None:
    def broken(batch: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_with_backoff(
            broken,
            sharp_test_image(32, 32),
            scale=1,
            tile=64,
            overlap=0,
            align=16,
            context=CONTEXT,
            device=CPU,
        )


def test_alpha_is_upscaled_separately_and_reattached(weights_dir: Path) -> None:
    rgba = np.concatenate([sharp_test_image(40, 50), np.zeros((40, 50, 1), np.float32)], axis=2)
    rgba[10:30, 10:40, 3] = 1.0
    out = Engine(weights_dir, device="cpu").enhance(rgba, 2)
    assert out.shape == (80, 100, 4)
    np.testing.assert_allclose(out[..., 3], upscale_alpha(rgba[..., 3], 2))
    assert out[40, 50, 3] > 0.99 and out[2, 2, 3] < 0.01


def test_grayscale_goes_through_as_rgb_and_comes_back_gray(weights_dir: Path) -> None:
    gray = sharp_test_image(30, 45)[..., 0]
    out = Engine(weights_dir, device="cpu").enhance(gray, 4)
    assert out.shape == (120, 180)
    assert out.dtype == np.float32


def test_output_is_in_range_and_float32(weights_dir: Path) -> None:
    out = Engine(weights_dir, device="cpu").enhance(sharp_test_image(33, 47), 1)
    assert out.dtype == np.float32 and out.shape == (33, 47, 3)
    assert out.min() >= 0 and out.max() <= 1


def test_missing_weights_say_how_to_get_them(tmp_path: Path) -> None:
    engine = Engine(tmp_path, device="cpu")
    with pytest.raises(WeightsError, match=r"ultrais_x2\.safetensors.*not found.*train"):
        engine.enhance(sharp_test_image(16, 16), 2)


def test_a_file_of_another_scale_is_refused(weights_dir: Path) -> None:
    engine = Engine(weights_dir / "ultrais_x2.safetensors", device="cpu")
    with pytest.raises(WeightsError, match="x2 network, x4 was asked"):
        engine.enhance(sharp_test_image(16, 16), 4)


def test_bad_requests_are_refused_clearly(weights_dir: Path) -> None:
    engine = Engine(weights_dir, device="cpu")
    with pytest.raises(UltraISError, match="scale"):
        engine.enhance(sharp_test_image(16, 16), 3)
    with pytest.raises(UltraISError, match="shape"):
        engine.enhance(np.zeros((4, 4, 2), np.float32), 2)
    with pytest.raises(UltraISError, match="precision"):
        Engine(weights_dir, device="cpu", precision="fp8")
    if not torch.cuda.is_available():
        with pytest.raises(UltraISError, match="CUDA"):
            Engine(weights_dir, device="cuda")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_canvas_matches_the_float_result(weights_dir: Path, dtype: type) -> None:
    engine = Engine(weights_dir, device="cpu", tile=32, overlap=16)
    image = sharp_test_image(50, 70)
    as_float = engine.enhance(image, 2)
    as_int = engine.enhance(image, 2, out_dtype=dtype)
    peak = np.iinfo(dtype).max
    assert as_int.dtype == dtype and as_int.shape == as_float.shape
    assert np.abs(as_int / peak - as_float).max() <= 0.5 / peak + 1e-6


def test_peak_memory_is_bounded_by_the_output_canvas_not_a_float_copy() -> None:
    """numpy reports its allocations to tracemalloc: the peak during a x4 run into a uint8
    canvas must stay well under what one full-size float32 image would take."""
    import tracemalloc

    image = sharp_test_image(512, 512)
    canvas_bytes = 2048 * 2048 * 3  # uint8 output
    tracemalloc.start()
    tracemalloc.reset_peak()
    run_tiled(
        nearest_model(4),
        image,
        scale=4,
        tile=64,
        overlap=16,
        align=16,
        context=CONTEXT,
        device=CPU,
        out_dtype=np.uint8,
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    float_copy = canvas_bytes * 4
    assert peak < canvas_bytes + 0.5 * float_copy, (peak, canvas_bytes)


def test_a_job_that_cannot_fit_is_refused_before_it_starts(
    weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ultrais_core.engine as engine_module

    monkeypatch.setattr(engine_module, "available_memory", lambda: 10_000_000)
    engine = Engine(weights_dir, device="cpu")
    with pytest.raises(OutOfMemoryError, match=r"needs about .* GiB"):
        engine.enhance(np.zeros((2000, 3000, 3), np.float32), 4, out_dtype=np.uint8)
    assert engine.last_run is None


SHIPPED = Path(__file__).resolve().parent.parent / "resources" / "weights"
SAMPLE = Path(__file__).resolve().parent.parent / "resources" / "sample" / "night_street.jpg"


@pytest.mark.parametrize("scale", [2, 4])
def test_shipped_weights_give_the_same_photo_at_any_tile_size(scale: int) -> None:
    """Issue 15: `--tile 128` against one untiled pass, with the shipped weights, on a real
    photo: every output pixel within 2/255 (the engine's 64 px context covers how far the
    network reaches)."""
    from ultrais_core.imageio import read_image

    photo = read_image(SAMPLE).pixels[:192, :256]
    whole = Engine(SHIPPED, device="cpu", precision="fp32", tile=4096)
    tiled = Engine(SHIPPED, device="cpu", precision="fp32", tile=128)
    a = whole.enhance(photo, scale=scale, out_dtype=np.uint8).astype(np.int16)
    b = tiled.enhance(photo, scale=scale, out_dtype=np.uint8).astype(np.int16)
    assert tiled.last_run is not None and tiled.last_run.tile == 128
    assert np.abs(a - b).max() <= 2


def test_cpu_precision_is_fp32_unless_bf16_is_asked_for() -> None:
    from ultrais_core.engine import pick_dtype

    cpu = torch.device("cpu")
    assert pick_dtype(cpu) == torch.float32
    assert pick_dtype(cpu, "bf16") == torch.bfloat16
    with pytest.raises(UltraISError, match="fp16 is only offered on a GPU"):
        pick_dtype(cpu, "fp16")


def test_enhance_reads_the_photo_without_a_full_size_copy(weights_dir: Path) -> None:
    """Padding and clipping happen tile by tile: numpy's peak during a x1 run (float canvas)
    stays under the canvas plus half an input, where a padded or clipped copy of the photo
    would add a whole one."""
    import tracemalloc

    image = sharp_test_image(509, 509)
    engine = Engine(weights_dir, device="cpu", tile=128, overlap=16)
    engine.enhance(image[:40, :40], 1)  # load the network outside the measurement
    tracemalloc.start()
    tracemalloc.reset_peak()
    engine.enhance(image, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < image.nbytes * 1.5, (peak, image.nbytes)


def test_out_of_range_input_is_clipped_and_left_untouched(weights_dir: Path) -> None:
    image = sharp_test_image(37, 45) * 2.0 - 0.5
    before = image.copy()
    engine = Engine(weights_dir, device="cpu", tile=32, overlap=16)
    out = engine.enhance(image, 2)
    np.testing.assert_array_equal(image, before)
    np.testing.assert_allclose(out, engine.enhance(np.clip(image, 0, 1), 2), atol=1e-6)


def small_descriptor(scale: int) -> ModelDescriptor:
    return ModelDescriptor(
        path=Path(f"ultrais_x{scale}.safetensors"),
        scale=scale,
        size_multiple=32,
        parameters=600_000,
        half_precision_safe=True,
        notes="",
    )


def test_cpu_tile_budget_is_capped_by_the_memory_available() -> None:
    assert cpu_tile_budget(None) == cpu_tile_budget(10**12)
    assert cpu_tile_budget(2 * 10**9) == pytest.approx(0.5e9)


def test_cpu_tiles_shrink_when_memory_is_short(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(device="cpu")
    monkeypatch.setattr(engine_module, "available_memory", lambda: 16 * 2**30)
    roomy = engine.auto_tile(small_descriptor(2))
    monkeypatch.setattr(engine_module, "available_memory", lambda: 2 * 2**30)
    short = engine.auto_tile(small_descriptor(2))
    assert 0 < short < roomy


def test_onnx_tiles_keep_their_smaller_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ONNX backend runs the unstriped traced graph: its auto tile stays at 448 px cores
    where the torch engine's budget allows more (x2: 608 px). Sizing a tile loads no runtime."""
    from ultrais_core.engine import ONNX_WINDOW_SIDE

    monkeypatch.setattr(engine_module.onnx_runtime, "onnxruntime_available", lambda: True)
    torch_tile = Engine(device="cpu").auto_tile(small_descriptor(2))
    onnx_tile = Engine(backend="onnx").auto_tile(small_descriptor(2))
    assert onnx_tile <= ONNX_WINDOW_SIDE - 2 * 64 < torch_tile
