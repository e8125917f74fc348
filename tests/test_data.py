"""Training data: listing, the fixed split, the packed file and the torch data set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ultrais_core.errors import UltraISError
from ultrais_core.model.guidance import CONTEXT_FEATURES, photo_context
from ultrais_core.training.data import (
    SAMPLE_KINDS,
    PairDataset,
    clean_key,
    default_data_root,
    is_validation_stack,
    list_clean_images,
    list_real_pairs,
    load_pack_items,
    pack_training_set,
    read_rgb8,
    split_clean_images,
    split_real_pairs,
    stack_of,
    to_float,
)
from ultrais_core.training.degrade import (
    apply_degradation,
    area_downscale,
    crop_to_multiple,
    real_pair_input,
    sample_degradation,
    srgb_to_linear,
)

REAL_DATA = default_data_root()
needs_real_data = pytest.mark.skipif(
    not (REAL_DATA / "sice_zerodce").is_dir(), reason="shared data folder not present"
)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), bgr)


def pattern(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth structure plus texture, so misaligned crops cannot match by accident."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(xx / (3 + seed % 5)) * np.cos(yy / 4)
    return np.clip(base[..., None] + rng.uniform(-0.15, 0.15, (h, w, 3)), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A miniature data folder: 40 clean photos in two sets, 30 real stacks (some with 2 lows)."""
    root = tmp_path_factory.mktemp("data")
    for i in range(40):
        folder = "set_a" if i % 2 else "set_b/train"
        # Clean photos are bright (>= 0.6) so they are told apart from real highs (0.3-0.5).
        img = 0.6 + 0.4 * pattern(40, 48, i)
        write_rgb(root / "clean" / folder / f"img_{i:02d}.png", img)
    for stack in range(30):
        high = 0.3 + 0.2 * pattern(32, 32, 100 + stack)
        write_rgb(root / "sice_zerodce" / "high" / f"s{stack:03d}_{stack * 10}.png", high)
        # The real low frame is the high frame with 1/8 of the light.
        low = _darken(high, 8.0)
        write_rgb(root / "sice_zerodce" / "low" / f"s{stack:03d}_{stack * 10}.png", low)
        if stack % 3 == 0:
            second = f"s{stack:03d}_{stack * 10 + 1}.png"
            write_rgb(root / "sice_zerodce" / "high" / second, high)
            write_rgb(root / "sice_zerodce" / "low" / second, _darken(high, 4.0))
    return root


def _darken(rgb: np.ndarray, factor: float) -> np.ndarray:
    from ultrais_core.training.degrade import linear_to_srgb

    return linear_to_srgb(srgb_to_linear(rgb) / factor)


def test_listing(data_root):
    clean = list_clean_images(data_root)
    assert len(clean) == 40
    assert clean == sorted(clean)
    pairs = list_real_pairs(data_root)
    assert len(pairs) == 40
    assert all(p.low.name == p.high.name for p in pairs)
    assert {p.stack for p in pairs} == {f"s{i:03d}" for i in range(30)}
    assert stack_of("s012_345.jpg") == "s012"
    assert stack_of("other.jpg") == "other"


def test_missing_folder_is_a_readable_error(tmp_path):
    with pytest.raises(UltraISError, match="not found"):
        list_clean_images(tmp_path / "nowhere")
    with pytest.raises(UltraISError):
        list_real_pairs(tmp_path)


def test_split_by_stack_never_overlaps(data_root):
    pairs = list_real_pairs(data_root)
    train, val = split_real_pairs(pairs)
    assert train and val
    assert len(train) + len(val) == len(pairs)
    assert not {p.stack for p in train} & {p.stack for p in val}
    # Two low frames of one stack share their high frame: they must land on the same side.
    assert not {p.high for p in train} & {p.high for p in val}


def test_split_of_clean_images_is_disjoint_and_stable(data_root):
    paths = list_clean_images(data_root)
    train, val = split_clean_images(paths, data_root)
    assert set(train).isdisjoint(val)
    assert sorted(train + val) == paths
    # Membership depends on the name only, not on the order or company it comes in.
    train_r, val_r = split_clean_images(list(reversed(paths)), data_root)
    assert sorted(train_r) == train and sorted(val_r) == val
    assert split_clean_images(val, data_root) == ([], val)
    assert clean_key(paths[0], data_root) == "set_a/img_01.png"


def test_split_is_pinned():
    """The split is a pure function of names: changing it would move images between sides."""
    val = [i for i in range(1000) if is_validation_stack(f"s{i:03d}")]
    assert len(val) == 170
    assert val[:6] == [8, 18, 36, 41, 45, 61]


@needs_real_data
def test_real_data_split_fractions():
    pairs = list_real_pairs(REAL_DATA)
    train, val = split_real_pairs(pairs)
    stacks = {p.stack for p in pairs}
    val_stacks = {p.stack for p in val}
    assert not val_stacks & {p.stack for p in train}
    assert 0.08 <= len(val_stacks) / len(stacks) <= 0.22
    clean = list_clean_images(REAL_DATA)
    clean_train, clean_val = split_clean_images(clean, REAL_DATA)
    assert set(clean_train).isdisjoint(clean_val)
    assert 0.06 <= len(clean_val) / len(clean) <= 0.15


def test_dataset_shapes_types_and_determinism(data_root):
    ds = PairDataset(data_root, scale=2, split="train", crop_lr=8, real_fraction=0.3, seed=1)
    low, high, context, kind = ds[3]
    assert low.shape == (3, 8, 8) and high.shape == (3, 16, 16)
    assert kind.dtype == torch.int64 and 0 <= int(kind) < len(SAMPLE_KINDS)
    assert context.shape == (CONTEXT_FEATURES,) and bool(torch.isfinite(context).all())
    assert low.dtype == torch.float32 and high.dtype == torch.float32
    assert float(low.min()) >= 0 and float(high.max()) <= 1
    again = PairDataset(data_root, scale=2, split="train", crop_lr=8, real_fraction=0.3, seed=1)
    assert torch.equal(again[3][0], low) and torch.equal(again[3][1], high)
    ds.set_epoch(1)
    assert not torch.equal(ds[3][1], high)


def test_validation_items_ignore_the_epoch(data_root):
    ds = PairDataset(data_root, scale=2, split="val", crop_lr=8, seed=0, length=5)
    first = ds[2]
    ds.set_epoch(5)
    assert torch.equal(ds[2][0], first[0])
    with pytest.raises(IndexError):
        ds[5]


def test_real_fraction_selects_the_source(data_root):
    real = PairDataset(data_root, scale=2, crop_lr=8, real_fraction=1.0, length=10)
    synthetic = PairDataset(data_root, scale=2, crop_lr=8, real_fraction=0.0, length=10)
    # Real highs were written in [0.3, 0.5], clean photos in [0.6, 1.0].
    assert all(real.sample(i)[1].max() <= 0.51 for i in range(10))
    assert all(synthetic.sample(i)[1].min() >= 0.59 for i in range(10))
    assert {real.sample(i).kind for i in range(10)} == {"real"}
    assert {synthetic.sample(i).kind for i in range(10)} == {"daylight"}


def test_real_crops_stay_aligned(data_root):
    """Low input = high crop with 1/8 or 1/4 of the light, box-downscaled: same place, same turn."""
    ds = PairDataset(data_root, scale=2, crop_lr=8, real_fraction=1.0, length=20)
    for i in range(20):
        low, high, *_ = ds.sample(i)
        expected = area_downscale(srgb_to_linear(high), 2)
        ratio = expected.mean() / srgb_to_linear(low).mean()
        assert ratio == pytest.approx(8.0, rel=0.2) or ratio == pytest.approx(4.0, rel=0.2)
        residual = srgb_to_linear(low) * ratio - expected
        assert np.abs(residual).mean() < 0.05 * expected.mean()


def test_real_items_carry_the_whole_frame_as_the_engine_sees_it(data_root):
    """The context comes from the whole low frame, downscaled as evaluation and the engine do,
    so a crop of a dark corner still knows how bright the rest of its photo is."""
    ds = PairDataset(data_root, scale=2, crop_lr=8, real_fraction=1.0, length=6)
    pairs = {read_rgb8(p.low).tobytes(): p for p in split_real_pairs(list_real_pairs(data_root))[0]}
    for i in range(6):
        low, _, photo, _ = ds.sample(i)
        assert photo.shape[0] > low.shape[0] and photo.shape[1] > low.shape[1]
        matches = [
            p
            for p in pairs.values()
            if np.array_equal(real_pair_input(to_float(read_rgb8(p.low)), 2), photo)
        ]
        assert len(matches) == 1


def test_synthetic_photo_matches_the_whole_photo_degraded(data_root):
    """The cheap whole-photo view (reduced first, then darkened) gives nearly the context of
    degrading the full photo and reducing it afterwards."""
    ds = PairDataset(data_root, scale=2, crop_lr=8, real_fraction=0.0, length=1)
    rng = np.random.default_rng(0)
    img = ds._material.clean(0)
    settings = sample_degradation(rng, 2)
    full = apply_degradation(to_float(crop_to_multiple(img, 2)), 2, settings, rng)
    expected = photo_context(torch.from_numpy(full).permute(2, 0, 1)[None])[0]
    cheap = ds._synthetic_photo(0, settings, rng)
    actual = photo_context(torch.from_numpy(cheap).permute(2, 0, 1)[None])[0]
    assert cheap.shape[:2] == full.shape[:2]
    # log mean luminance and gray-world ratios: the exposure and white balance it must convey
    for k in (0, 5, 6):
        assert abs(float(actual[k] - expected[k])) < 0.1


def test_synthetic_items_are_dark(data_root):
    ds = PairDataset(data_root, scale=2, crop_lr=8, real_fraction=0.0, length=20)
    for i in range(20):
        low, high, photo, _ = ds.sample(i)
        assert srgb_to_linear(low).mean() < srgb_to_linear(high).mean() / 4
        assert srgb_to_linear(photo).mean() < srgb_to_linear(high).mean() / 4


def test_pack_roundtrip(data_root, tmp_path):
    out = tmp_path / "pack.npz"
    summary = pack_training_set(data_root, 2, out, crop_size=64, max_bytes=5_000_000, seed=0)
    assert out.is_file() and out.stat().st_size == summary.bytes <= 5_000_000
    train_clean, val_clean = split_clean_images(list_clean_images(data_root), data_root)
    train_real, val_real = split_real_pairs(list_real_pairs(data_root))
    # The budget is ample here: every photo gets crops, and no validation photo is in training.
    assert summary.clean_images_covered == len(train_clean)
    assert summary.train_real_pairs == len(train_real)
    assert summary.val_clean_crops == len(val_clean)
    with np.load(out) as pack:
        names = set(pack["train_clean_names"].tolist())
        assert names.isdisjoint(pack["val_clean_names"].tolist())
        assert not set(pack["train_real_stacks"].tolist()) & set(pack["val_real_stacks"].tolist())
        # crop_size exceeds the photos, so each crop is a whole photo: lossless and undegraded.
        offsets = pack["train_clean_offsets"]
        first = cv2.imdecode(pack["train_clean"][offsets[0] : offsets[1]], cv2.IMREAD_COLOR)
        source = read_rgb8(data_root / "clean" / pack["train_clean_names"][0])
        np.testing.assert_array_equal(cv2.cvtColor(first, cv2.COLOR_BGR2RGB), source)
    items = load_pack_items(out, "val")
    assert len(items) == len(val_real) + len(val_clean)
    name, low, high = items[0]
    assert name == val_real[0].low.name
    np.testing.assert_array_equal(low, to_float(read_rgb8(val_real[0].low)))
    np.testing.assert_array_equal(high, to_float(read_rgb8(val_real[0].high)))
    assert items[-1][1] is None and items[-1][0] in {clean_key(p, data_root) for p in val_clean}

    from_pack = PairDataset(out, scale=2, crop_lr=8, real_fraction=0.5, length=8)
    low, high, *_ = from_pack[0]
    assert low.shape == (3, 8, 8) and high.shape == (3, 16, 16)
    assert PairDataset(out, scale=2, split="val", crop_lr=8, length=2)[1][0].shape == (3, 8, 8)
    with pytest.raises(UltraISError):
        PairDataset(out, scale=4, crop_lr=32)


def test_pack_respects_a_small_budget(data_root, tmp_path):
    out = tmp_path / "small.npz"
    train_real, _ = split_real_pairs(list_real_pairs(data_root))
    real_bytes = sum(p.low.stat().st_size for p in train_real) * 2
    budget = real_bytes + 1_000_000 + 40_000
    summary = pack_training_set(data_root, 2, out, crop_size=16, max_bytes=budget)
    assert out.stat().st_size <= budget
    # The budget, not the 8-crops-per-photo cap, stopped the packing.
    assert 0 < summary.train_clean_crops < 8 * summary.clean_images_covered
    with pytest.raises(UltraISError):
        pack_training_set(data_root, 2, tmp_path / "tiny.npz", crop_size=16, max_bytes=10_000)
    assert not (tmp_path / "tiny.npz").exists()


@needs_real_data
def test_dataset_on_the_real_folder():
    ds = PairDataset(REAL_DATA, scale=4, crop_lr=16, real_fraction=0.5, length=4)
    for i in range(4):
        low, high, *_ = ds[i]
        assert low.shape == (3, 16, 16) and high.shape == (3, 64, 64)


def test_night_items_have_an_unclipped_target(data_root):
    """Night items: input, target and whole-photo capture of the right shapes, and a rendered
    target that never reaches the clipping level (darkness and noise: tests/test_night.py)."""
    ds = PairDataset(
        data_root, scale=2, crop_lr=16, real_fraction=0.0, night_fraction=1.0, length=8, seed=3
    )
    for i in range(len(ds)):
        low, high, photo, kind = ds.sample(i)
        assert kind == "night"
        assert low.shape == (16, 16, 3) and high.shape == (32, 32, 3)
        assert photo.ndim == 3 and photo.shape[2] == 3
        assert high.max() < 250 / 255


def test_exposed_items_keep_the_input_exposure(data_root):
    """Exposed/dusk items: the target is as bright as the input (in linear light), so the
    network learns to leave exposed photos alone."""
    ds = PairDataset(
        data_root, scale=2, crop_lr=16, real_fraction=0.0, exposed_fraction=1.0, length=8, seed=4
    )
    for i in range(len(ds)):
        low, high, _, kind = ds.sample(i)
        assert kind == "exposed"
        low_light = srgb_to_linear(low).mean()
        high_light = area_downscale(srgb_to_linear(high), 2).mean()
        assert high_light == pytest.approx(low_light, rel=0.15, abs=0.01)


def test_item_fractions_are_validated(data_root):
    with pytest.raises(ValueError):
        PairDataset(data_root, night_fraction=0.7, exposed_fraction=0.5)
