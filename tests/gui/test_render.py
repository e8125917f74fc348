"""Preview and export renders: regions, identities, strips equal to one pass."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.develop.adjustments import Adjustments, apply_adjustments
from app.photos import PhotoStore, as_rgb, make_enhanced, make_thumbnail
from app.views import render as render_module
from app.views.render import render_after, render_before, render_full, sample
from app.views.viewport import Rect


@pytest.fixture
def original() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.0, 0.2, (30, 40, 3)).astype(np.float32)


def enhanced_of(original: np.ndarray, scale: int):
    out = np.repeat(np.repeat(original, scale, 0), scale, 1) * 3.0
    return make_enhanced(scale, np.clip(out, 0, 1).astype(np.float32), original, 1.0)


def test_sample_at_one_to_one_returns_the_pixels(original):
    out = sample(original, Rect(5, 4, 25, 14), 20, 10)
    np.testing.assert_allclose(out, original[4:14, 5:25], atol=1e-5)


def test_sample_minifies_with_area_filter(original):
    out = sample(original, Rect(0, 0, 40, 30), 20, 15)
    expected = original.reshape(15, 2, 20, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_before_and_after_cover_the_same_region(original):
    result = enhanced_of(original, 4)
    region = Rect(10, 5, 20, 15)
    before = render_before(original, region, 40, 40)
    after = render_after(original, result, Adjustments(), region, 40, 40)
    # The fake result is the input x3, upscaled: the same region must match up to that gain.
    np.testing.assert_allclose(after / 255.0, np.clip(before / 255.0 * 3, 0, 1), atol=0.02)


def test_results_are_cached_as_uint16(original):
    result = enhanced_of(original, 4)
    assert result.pixels.dtype == np.uint16 and result.reduced.dtype == np.uint16
    assert result.shape == (120, 160) and result.reduced.shape == (30, 40, 3)
    assert result.halved.shape == (60, 80, 3) and result.halved.dtype == np.uint16
    assert result.nbytes == result.pixels.nbytes + result.reduced.nbytes + result.halved.nbytes


def test_render_full_identity_is_the_result(original):
    result = enhanced_of(original, 2)
    # 16-bit: the cached canvas itself, no copy; 8-bit: the same values rounded to 8 bits.
    assert render_full(original, result, Adjustments(), out_dtype=np.uint16) is result.pixels
    out = render_full(original, result, Adjustments(), out_dtype=np.uint8, strip_rows=7)
    assert out.dtype == np.uint8
    expected = np.round(result.pixels / 65535.0 * 255.0)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))


@pytest.mark.parametrize("detail", [0.0, -0.8])
def test_render_full_strips_equal_one_pass(original, detail):
    result = enhanced_of(original, 2)
    adj = Adjustments(strength=0.6, exposure=0.5, shadows=0.3, detail=detail, saturation=1.3)
    one_pass = render_full(original, result, adj, out_dtype=np.uint16, strip_rows=10_000)
    strips = render_full(original, result, adj, out_dtype=np.uint16, strip_rows=7)
    assert one_pass.shape == (60, 80, 3) and one_pass.dtype == np.uint16
    np.testing.assert_allclose(strips.astype(np.int32), one_pass, atol=1)


def test_render_full_matches_the_slider_maths(original):
    result = enhanced_of(original, 1)
    adj = Adjustments(strength=0.5, saturation=0.5)
    rgb = result.pixels / np.float32(65535.0)
    expected = apply_adjustments(rgb, original * result.gain, adj, blur_radius=1.5)
    out = render_full(original, result, adj, out_dtype=np.uint16) / 65535.0
    np.testing.assert_allclose(out, expected, atol=2e-5)


def test_render_full_keeps_grey_and_alpha_layouts(original):
    grey = original[..., 0].copy()
    result = make_enhanced(2, np.repeat(np.repeat(grey, 2, 0), 2, 1), as_rgb(grey), 0.1)
    assert result.pixels.ndim == 2  # no RGB copy of a grey result is kept
    assert render_full(grey, result, Adjustments(exposure=1)).shape == (60, 80)
    rgba = np.concatenate([original, np.full((*original.shape[:2], 1), 0.5, np.float32)], 2)
    up = np.repeat(np.repeat(rgba, 2, 0), 2, 1)
    result = make_enhanced(2, up, as_rgb(rgba), 0.1)
    out = render_full(rgba, result, Adjustments(exposure=1), out_dtype=np.uint8)
    assert out.shape == (60, 80, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 3], 128)
    view = render_after(rgba, result, Adjustments(), Rect(0, 0, 40, 30), 40, 30)
    assert view.shape == (30, 40, 3)


def test_preview_converts_only_the_visible_region(original):
    from app.views.render import RegionCache

    result = enhanced_of(original, 4)
    cache = RegionCache()
    region = cache.get(result.pixels, Rect(8, 8, 40, 24), 32, 16)  # 1:1, output pixels
    assert region.dtype == np.float32 and region.shape == (16, 32, 3)
    np.testing.assert_allclose(region, result.pixels[8:24, 8:40] / 65535.0, atol=1e-6)


@pytest.mark.parametrize(("bits", "dtype"), [(8, np.uint8), (16, np.uint16)])
def test_export_never_holds_a_full_size_float_copy(monkeypatch, tmp_path, bits, dtype):
    """While an export renders and hands its canvas to the writer, the peak of new
    allocations stays below the float32 size of the output: the canvas of the written depth
    plus float temporaries of a few strips, never a full-size float copy."""
    import tracemalloc

    import ultrais_core.imageio as imageio
    from app.jobs.file_workers import ExportWorker

    rng = np.random.default_rng(1)
    small = rng.uniform(0.0, 0.2, (256, 384, 3)).astype(np.float32)
    scale = 4
    big = np.clip(np.repeat(np.repeat(small, scale, 0), scale, 1) * 3, 0, 1)
    result = make_enhanced(scale, (big * 65535 + 0.5).astype(np.uint16), small, 1.0)
    del big
    float32_bytes = result.pixels.size * 4
    written: list[np.ndarray] = []

    def fake_write(path, pixels, **_kwargs):  # the writer's own costs are imageio's business
        written.append(pixels)
        return path

    monkeypatch.setattr(imageio, "write_image", fake_write)
    image = type("Img", (), {"pixels": small})()
    adj = Adjustments(strength=0.7, exposure=0.4, shadows=0.3, saturation=1.2, detail=0.5)
    job = ExportWorker(
        image, result, adj, tmp_path / "out.png", bit_depth=bits, quality=90, overwrite=False
    )
    tracemalloc.start()
    try:
        job.work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (canvas,) = written
    assert canvas.dtype == dtype and canvas.shape == (1024, 1536, 3)
    assert peak < float32_bytes, (peak, float32_bytes)
    assert peak - canvas.nbytes < float32_bytes // 2, (peak, canvas.nbytes)


def test_thumbnail_is_small_and_visible(original):
    thumb = make_thumbnail(original * 0.05)
    assert thumb.dtype == np.uint8 and max(thumb.shape[:2]) <= 160
    assert thumb.mean() > 40  # a near-black photo still shows something


def test_store_dedupes_and_evicts_least_recent(tmp_path, original):
    store = PhotoStore(budget_bytes=original.nbytes * 2)
    photos = [store.add(tmp_path / f"{i}.png") for i in range(3)]
    assert store.add(tmp_path / "0.png") is None
    for photo in photos:
        photo.image = type("Img", (), {"pixels": original})()
        photo.rgb = original
        store.touch(photo)
    evicted = store.evict(keep={photos[0].id})
    assert evicted == [photos[1]]
    assert photos[0].loaded and not photos[1].loaded and photos[2].loaded


def test_fast_smooth_equals_the_numpy_reference():
    from app.develop.adjustments import smooth
    from app.views.render import fast_smooth

    rng = np.random.default_rng(4)
    image = rng.random((37, 53, 3)).astype(np.float32)
    for radius in (0.4, 1.0, 2.6, 6.0):
        np.testing.assert_allclose(fast_smooth(image, radius), smooth(image, radius), atol=1e-5)


def test_region_cache_reuses_samples(original):
    from app.views.render import RegionCache

    cache = RegionCache(capacity=2)
    region = Rect(0, 0, 20, 10)
    first = cache.get(original, region, 40, 20)
    assert cache.get(original, region, 40, 20) is first
    cache.get(original, Rect(0, 0, 10, 10), 40, 20)
    cache.get(original, Rect(0, 0, 5, 10), 40, 20)
    assert cache.get(original, region, 40, 20) is not first  # evicted, resampled


def test_x4_between_input_and_result_resolution_uses_the_half_size_copy(original):
    """Fit of a x4 result on a screen larger than the input reads the half-size copy (made on the
    worker), not the full result, and shows the same picture."""
    result = enhanced_of(original, 4)
    region = Rect(0, 0, 40, 30)
    after = render_after(original, result, Adjustments(), region, 60, 45)
    # What resampling the full-resolution result shows, for comparison.
    full = render_after(
        original, replace(result, reduced=None, halved=None), Adjustments(), region, 60, 45
    )
    np.testing.assert_allclose(after.astype(float), full.astype(float), atol=3)
    slow = []
    real_sample = render_module.sample

    def spy(image, source, out_w, out_h):
        slow.append(image.shape)
        return real_sample(image, source, out_w, out_h)

    render_module.sample = spy
    try:
        render_after(original, result, Adjustments(), region, 61, 45)
    finally:
        render_module.sample = real_sample
    assert slow == [result.halved.shape]
