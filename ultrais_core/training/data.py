"""Training data: listing, a fixed train/validation split, a packed copy, and a torch data set.

Two kinds of material are mixed:

* clean well-exposed photos (``<root>/clean/**``), turned into dark low-resolution inputs on the
  fly by :mod:`ultrais_core.training.degrade`, so every epoch sees fresh noise and exposure;
* real under/well-exposed pairs (``<root>/sice_zerodce/{low,high}/s<stack>_<id>.jpg``), whose
  low frame is box-downscaled in linear light to become the input.

The clean photos give three kinds of synthetic item: a daylight scene under-exposed 8x-150x
(target: the clean photo), a night scene lit by artificial light (target: its good night
rendering, :mod:`ultrais_core.training.night`), and an exposed or dusk photo darkened at most 3x
(target: the same exposure, only cleaned and upscaled), so the network brightens what is dark and
leaves what is exposed.

The validation split is fixed by hashing names, never by random draws, so it is identical on
every machine and every run, and it is cut by *source*: by the clean photo's relative path, and
by the exposure stack for real pairs (two low frames of one stack share their high frame, so a
per-file split would leak validation targets into training).

For a GPU machine that cannot see the data folder, :func:`pack_training_set` writes the material
(clean crops and the real pairs, no degradation baked in) into one ``.npz`` of at most 50 MB that
:class:`PairDataset` reads in place of the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ultrais_core.dataset_files import decode_rgb8, read_rgb, read_rgb8, to_float
from ultrais_core.errors import UltraISError
from ultrais_core.model.guidance import CONTEXT_SIDE, photo_context
from ultrais_core.training.degrade import (
    DegradeParams,
    DegradeSample,
    apply_degradation,
    linear_to_srgb,
    real_pair_input,
    sample_degradation,
    srgb_to_linear,
)
from ultrais_core.training.night import night_photo_input, sample_night_scene, synthesize_night_pair

Split = Literal["train", "val"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})
CLEAN_VAL_FRACTION = 0.10
REAL_VAL_FRACTION = 0.15
PACK_FORMAT = "ultrais-pack-v1"
PACK_MAX_BYTES = 50_000_000

_STACK_RE = re.compile(r"^(s\d+)_")


# What a training item is, in the order of the index `PairDataset` returns with it: a clean
# photo under-exposed by one global factor, a synthetic night scene, an exposed or dusk photo
# left as it is, a real under/well-exposed pair.
SAMPLE_KINDS = ("daylight", "night", "exposed", "real")


class TrainingSample(NamedTuple):
    """One training item: the low-resolution crop, its target, the dark input of the WHOLE
    photo (at most CONTEXT_SIDE on its long side) from which the photo context is computed,
    and what kind of item it is (one of SAMPLE_KINDS).

    The whole photo, not the crop, because at inference every tile gets the whole photo's
    context: a well-exposed reference is exposed for the whole scene (SICE's references are
    normalised per photo), so a crop's own statistics cannot tell how bright its target is.
    """

    low: np.ndarray
    high: np.ndarray
    photo: np.ndarray
    kind: str


class RealPair(NamedTuple):
    """One real pair: under-exposed frame, well-exposed frame, and its exposure-stack id."""

    low: Path
    high: Path
    stack: str


# --------------------------------------------------------------------------- locating data


def default_data_root() -> Path:
    """``<repo root>/../shared/data``: where the project's machines keep the data sets."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def resolve_data_root(root: str | Path | None) -> Path:
    """The given root, or the default one; a missing folder is a readable error."""
    path = default_data_root() if root is None else Path(root)
    if not path.is_dir():
        raise UltraISError(f"data folder not found: {path}")
    return path


def list_clean_images(root: str | Path | None = None) -> list[Path]:
    """All clean photos under ``<root>/clean``, sorted so the order is the same everywhere."""
    clean = resolve_data_root(root) / "clean"
    if not clean.is_dir():
        raise UltraISError(f"no 'clean' folder in the data folder: {clean}")
    return sorted(p for p in clean.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def stack_of(name: str) -> str:
    """Exposure-stack id of a real-pair file name: ``s012_345.jpg`` -> ``s012``.

    A name without the ``s<digits>_`` prefix is its own stack (its stem), which keeps the split
    by stack correct, if conservative, for files named differently.
    """
    match = _STACK_RE.match(name)
    return match.group(1) if match else Path(name).stem


def list_real_pairs(root: str | Path | None = None, folder: str = "sice_zerodce") -> list[RealPair]:
    """Real pairs ``<root>/<folder>/low/X`` with ``high/X``, sorted by file name."""
    base = resolve_data_root(root) / folder
    low_dir, high_dir = base / "low", base / "high"
    if not low_dir.is_dir() or not high_dir.is_dir():
        raise UltraISError(f"expected 'low' and 'high' folders in {base}")
    pairs = []
    for low in sorted(p for p in low_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        high = high_dir / low.name
        if not high.is_file():
            raise UltraISError(f"real pair has no well-exposed frame: {high}")
        pairs.append(RealPair(low, high, stack_of(low.name)))
    return pairs


# --------------------------------------------------------------------------- split


def _hash_unit(key: str, salt: str) -> float:
    """A stable number in [0, 1) for ``key``; sha256 because Python's hash() is salted per run."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def is_validation_clean(relative_path: str, fraction: float = CLEAN_VAL_FRACTION) -> bool:
    """Whether a clean photo (path relative to ``clean/``, '/'-separated) is in validation."""
    return _hash_unit(relative_path, "clean") < fraction


def is_validation_stack(stack: str, fraction: float = REAL_VAL_FRACTION) -> bool:
    """Whether a real exposure stack (``s012``) is in validation; all its pairs go with it."""
    return _hash_unit(stack, "real-stack") < fraction


def clean_key(path: Path, root: str | Path | None = None) -> str:
    """Split key of a clean photo: its path relative to ``<root>/clean``, '/'-separated."""
    clean = resolve_data_root(root) / "clean"
    return path.resolve().relative_to(clean.resolve()).as_posix()


def split_clean_images(
    paths: Iterable[Path],
    root: str | Path | None = None,
    fraction: float = CLEAN_VAL_FRACTION,
) -> tuple[list[Path], list[Path]]:
    """(train, validation) lists of clean photos, split by their relative path's hash."""
    train, val = [], []
    for path in paths:
        (val if is_validation_clean(clean_key(path, root), fraction) else train).append(path)
    return train, val


def split_real_pairs(
    pairs: Iterable[RealPair], fraction: float = REAL_VAL_FRACTION
) -> tuple[list[RealPair], list[RealPair]]:
    """(train, validation) lists of real pairs, split by exposure stack."""
    train, val = [], []
    for pair in pairs:
        (val if is_validation_stack(pair.stack, fraction) else train).append(pair)
    return train, val


def select_split(items: tuple[list, list], split: Split) -> list:
    """Pick the train or validation half of a ``(train, val)`` tuple, checking the name."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    return items[0] if split == "train" else items[1]


def validation_pairs(
    root: str | Path | None = None,
) -> list[tuple[Path, Path]]:
    """Validation real pairs as ``(low_path, high_path)``, for evaluation code."""
    _, val = split_real_pairs(list_real_pairs(root))
    return [(p.low, p.high) for p in val]


# --------------------------------------------------------------------------- sources


class _Material:
    """Clean photos and real pairs of one split, decoded on first use and then kept in memory.

    Decoding a JPEG costs more than degrading a crop of it, and the two CPU cores of a laptop
    would otherwise spend most of an epoch in the decoder; the cache is uint8 to keep the full
    clean set at about 450 MB. With ``DataLoader(num_workers>0)`` every worker fills its own
    cache, which is one more reason to train from the (small) packed file.
    """

    def __init__(
        self,
        clean: Sequence[bytes | Path],
        real_low: Sequence[bytes | Path],
        real_high: Sequence[bytes | Path],
        real_high_index: Sequence[int],
    ) -> None:
        self._clean = list(clean)
        self._real_low = list(real_low)
        self._real_high = list(real_high)
        self._high_index = [int(i) for i in real_high_index]
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    @property
    def clean_count(self) -> int:
        return len(self._clean)

    @property
    def real_count(self) -> int:
        return len(self._real_low)

    def _get(self, kind: str, items: list[bytes | Path], index: int) -> np.ndarray:
        key = (kind, index)
        img = self._cache.get(key)
        if img is None:
            item = items[index]
            img = (
                read_rgb8(item) if isinstance(item, Path) else decode_rgb8(item, f"{kind} {index}")
            )
            self._cache[key] = img
        return img

    def clean(self, index: int) -> np.ndarray:
        return self._get("clean", self._clean, index)

    def real(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        low = self._get("low", self._real_low, index)
        high = self._get("high", self._real_high, self._high_index[index])
        if low.shape != high.shape:
            raise UltraISError(f"real pair {index}: low and high frames differ in size")
        return low, high


def _folder_material(root: str | Path | None, split: Split) -> _Material:
    root_path = resolve_data_root(root)
    clean = select_split(split_clean_images(list_clean_images(root_path), root_path), split)
    real = select_split(split_real_pairs(list_real_pairs(root_path)), split)
    return _Material(clean, [p.low for p in real], [p.high for p in real], range(len(real)))


# --------------------------------------------------------------------------- packed file


@dataclass(frozen=True)
class PackSummary:
    """What :func:`pack_training_set` wrote."""

    path: Path
    bytes: int
    train_clean_crops: int
    train_real_pairs: int
    val_clean_crops: int
    val_real_pairs: int
    clean_images_covered: int


def _concat(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Many byte strings as one uint8 array plus offsets: an npz that needs no pickle to load."""
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8) if blobs else np.zeros(0, np.uint8)
    return data, offsets


def _split_blobs(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    return [data[offsets[i] : offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]


def _encode_lossless(img_rgb8: np.ndarray) -> bytes:
    """Lossless WebP (about a third smaller than PNG on photos), PNG if WebP is unavailable.

    Targets must stay exactly the clean pixels, so no lossy codec is used for crops.
    """
    bgr = cv2.cvtColor(img_rgb8, cv2.COLOR_RGB2BGR)
    try:
        ok, data = cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 101])
    except cv2.error:
        ok = False
    if not ok:
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise UltraISError("could not encode a crop for the training pack")
    return data.tobytes()


def _random_crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    return img[y : y + ch, x : x + cw]


def _center_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y, x = (h - ch) // 2, (w - cw) // 2
    return img[y : y + ch, x : x + cw]


def _real_blobs(pairs: Sequence[RealPair]) -> tuple[list[bytes], list[bytes], list[int], list[str]]:
    """Original file bytes of real pairs, each distinct high frame stored once."""
    lows: list[bytes] = []
    highs: list[bytes] = []
    index: list[int] = []
    seen: dict[str, int] = {}
    for pair in pairs:
        lows.append(pair.low.read_bytes())
        high = pair.high.read_bytes()
        digest = hashlib.sha256(high).hexdigest()
        if digest not in seen:
            seen[digest] = len(highs)
            highs.append(high)
        index.append(seen[digest])
    return lows, highs, index, [p.stack for p in pairs]


def pack_training_set(
    root: str | Path | None,
    scale: int,
    out_path: str | Path,
    *,
    crop_size: int = 256,
    max_bytes: int = PACK_MAX_BYTES,
    max_crops_per_image: int = 8,
    include_validation: bool = True,
    seed: int = 0,
) -> PackSummary:
    """Write the training material into one ``.npz`` of at most ``max_bytes``.

    Contents: the real pairs as their original JPEG bytes (highs shared by two lows stored
    once), and random ``crop_size`` crops of the clean photos, losslessly encoded. Crops are
    taken round-robin (one per photo per round, photos in a seeded random order) until the byte
    budget is used, so every photo is represented before any photo gets a second crop. With
    ``include_validation`` the validation split goes in too (real pairs whole, one centre crop
    per clean photo) so a GPU machine can validate without the folder. No degradation is stored:
    it is drawn afresh for every sample.
    """
    if crop_size < scale:
        raise UltraISError(f"crop size {crop_size} is smaller than the scale {scale}")
    root_path = resolve_data_root(root)
    rng = np.random.default_rng(seed)
    clean_train, clean_val = split_clean_images(list_clean_images(root_path), root_path)
    real_train, real_val = split_real_pairs(list_real_pairs(root_path))

    arrays: dict[str, np.ndarray] = {
        "format": np.array(PACK_FORMAT),
        "scale": np.array(scale, dtype=np.int64),
        "crop_size": np.array(crop_size, dtype=np.int64),
    }
    splits: list[tuple[str, list[RealPair]]] = [("train", real_train)]
    if include_validation:
        splits.append(("val", real_val))
    for name, pairs in splits:
        lows, highs, index, stacks = _real_blobs(pairs)
        arrays[f"{name}_real_low"], arrays[f"{name}_real_low_offsets"] = _concat(lows)
        arrays[f"{name}_real_high"], arrays[f"{name}_real_high_offsets"] = _concat(highs)
        arrays[f"{name}_real_high_index"] = np.asarray(index, dtype=np.int64)
        arrays[f"{name}_real_stacks"] = np.asarray(stacks, dtype=str)
        arrays[f"{name}_real_names"] = np.asarray([p.low.name for p in pairs], dtype=str)

    val_blobs: list[bytes] = []
    val_names: list[str] = []
    if include_validation:
        for path in clean_val:
            val_blobs.append(_encode_lossless(_center_crop(read_rgb8(path), crop_size)))
            val_names.append(clean_key(path, root_path))
    arrays["val_clean"], arrays["val_clean_offsets"] = _concat(val_blobs)
    arrays["val_clean_names"] = np.asarray(val_names, dtype=str)

    # Budget what is left for training crops; the margin covers zip headers and names.
    used = sum(a.nbytes for a in arrays.values())
    budget = max_bytes - used - 1_000_000
    if budget <= 0:
        raise UltraISError(f"real pairs alone need {used} bytes, over the {max_bytes} byte limit")
    train_blobs, train_names = _train_crops(
        clean_train, root_path, crop_size, budget, max_crops_per_image, rng
    )
    arrays["train_clean"], arrays["train_clean_offsets"] = _concat(train_blobs)
    arrays["train_clean_names"] = np.asarray(train_names, dtype=str)

    out = Path(out_path)
    size = _write_npz_atomic(out, arrays)
    if size > max_bytes:
        out.unlink()
        raise UltraISError(f"training pack came out at {size} bytes, over {max_bytes}")
    return PackSummary(
        path=out,
        bytes=size,
        train_clean_crops=len(train_blobs),
        train_real_pairs=len(real_train),
        val_clean_crops=len(val_blobs),
        val_real_pairs=len(real_val) if include_validation else 0,
        clean_images_covered=len(set(train_names)),
    )


def _train_crops(
    paths: Sequence[Path],
    root: Path,
    crop_size: int,
    budget: int,
    max_rounds: int,
    rng: np.random.Generator,
) -> tuple[list[bytes], list[str]]:
    order = [paths[i] for i in rng.permutation(len(paths))]
    blobs: list[bytes] = []
    names: list[str] = []
    used = 0
    cache: dict[Path, np.ndarray] = {}
    for _ in range(max_rounds):
        for path in order:
            img = cache.get(path)
            if img is None:
                img = cache[path] = read_rgb8(path)
            blob = _encode_lossless(np.ascontiguousarray(_random_crop(img, crop_size, rng)))
            if used + len(blob) > budget:
                return blobs, names
            blobs.append(blob)
            names.append(clean_key(path, root))
            used += len(blob)
    return blobs, names


def _write_npz_atomic(out: Path, arrays: dict[str, np.ndarray]) -> int:
    """Write via a temporary file in the same folder so a failure never leaves half a pack."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name, suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            # A file object stops numpy from appending ".npz" to the name it was given.
            np.savez_compressed(handle, **arrays)
        # mkstemp creates the file private (0600); a pack is ordinary data to copy around.
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out.stat().st_size


def _read_pack(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a pack, checked to be one (no pickle: a pack is data, never code)."""
    try:
        with np.load(path, allow_pickle=False) as pack:
            arrays = {k: pack[k] for k in pack.files}
    except (OSError, ValueError) as exc:
        raise UltraISError(f"could not read training pack {path}: {exc}") from exc
    if str(arrays.get("format", "")) != PACK_FORMAT:
        raise UltraISError(f"{path} is not an UltraIS training pack ({PACK_FORMAT})")
    return arrays


def _pack_material(arrays: dict[str, np.ndarray], path: Path, split: Split) -> _Material:
    """The material of one split of a pack."""
    if f"{split}_real_low" not in arrays:
        raise UltraISError(f"training pack {path} holds no '{split}' split")
    return _Material(
        _split_blobs(arrays[f"{split}_clean"], arrays[f"{split}_clean_offsets"]),
        _split_blobs(arrays[f"{split}_real_low"], arrays[f"{split}_real_low_offsets"]),
        _split_blobs(arrays[f"{split}_real_high"], arrays[f"{split}_real_high_offsets"]),
        arrays[f"{split}_real_high_index"].tolist(),
    )


def load_pack_items(
    path: str | Path, split: Split = "val", *, include_clean: bool = True
) -> list[tuple[str, np.ndarray | None, np.ndarray]]:
    """A pack's material as ``(name, low or None, high)`` float32 images, for evaluation.

    Real pairs come as full frames, clean crops as reference-only items (``low`` None), which
    is what :func:`ultrais_core.evaluation.evaluate_images` takes, so a GPU machine holding only
    the pack can score the validation split. Everything is decoded at once: meant for the
    small validation split.
    """
    pack_path = Path(path)
    arrays = _read_pack(pack_path)
    material = _pack_material(arrays, pack_path, split)
    names = arrays[f"{split}_real_names"].tolist()
    items: list[tuple[str, np.ndarray | None, np.ndarray]] = []
    for i in range(material.real_count):
        low, high = material.real(i)
        items.append((names[i], to_float(low), to_float(high)))
    if include_clean:
        clean_names = arrays[f"{split}_clean_names"].tolist()
        items.extend(
            (clean_names[i], None, to_float(material.clean(i))) for i in range(material.clean_count)
        )
    return items


# --------------------------------------------------------------------------- data set


def _augment(images: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random rotation by k*90 degrees and optional mirror for every image.

    Flips and right-angle turns are exact on the pixel grid, so they commute with the
    box downscale and keep low/high crops aligned.
    """
    k = int(rng.integers(4))
    flip = bool(rng.random() < 0.5)
    out = []
    for img in images:
        img = np.rot90(img, k)
        out.append(img[:, ::-1] if flip else img)
    return out


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))


class PairDataset(Dataset):
    """Random (low, high) training crops as CHW float32 tensors in [0, 1].

    ``source`` is the data folder (``None``: the default one) or a ``.npz`` from
    :func:`pack_training_set`. Each item is, with probability ``real_fraction``, a real pair
    (low frame downscaled in linear light) and otherwise a clean crop degraded on the fly. The
    low crop is ``crop_lr`` square, the high crop ``crop_lr * scale``; ``length`` is the number
    of items per epoch (crops are random, so an epoch is a sampling budget, not a pass).

    Items are a pure function of ``(seed, epoch, index)``: DataLoader workers need no shared
    random state, a run can be reproduced, and calling :meth:`set_epoch` before each epoch gives
    new crops and degradations. The validation split ignores the epoch so it stays fixed.
    """

    def __init__(
        self,
        source: str | Path | None = None,
        scale: int = 4,
        split: Split = "train",
        crop_lr: int = 64,
        real_fraction: float = 0.3,
        seed: int = 0,
        *,
        night_fraction: float = 0.0,
        exposed_fraction: float = 0.0,
        length: int = 2000,
        degrade_params: DegradeParams | None = None,
    ) -> None:
        if scale < 1 or crop_lr < 1 or length < 1:
            raise ValueError("scale, crop_lr and length must be positive")
        if not 0.0 <= real_fraction <= 1.0:
            raise ValueError("real_fraction must lie in [0, 1]")
        if night_fraction < 0 or exposed_fraction < 0 or night_fraction + exposed_fraction > 1:
            raise ValueError("night_fraction and exposed_fraction must be >= 0 and sum to <= 1")
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', not {split!r}")
        self.scale = scale
        self.split = split
        self.crop_lr = crop_lr
        self.real_fraction = real_fraction
        self.night_fraction = night_fraction
        self.exposed_fraction = exposed_fraction
        self.seed = seed
        self.length = length
        self.degrade_params = degrade_params or DegradeParams()
        self.epoch = 0
        self._real_photos: dict[int, np.ndarray] = {}
        path = None if source is None else Path(source)
        if path is not None and path.is_file():
            arrays = _read_pack(path)
            self._material = _pack_material(arrays, path, split)
            crop_size = int(arrays["crop_size"])
            if crop_lr * scale > crop_size:
                raise UltraISError(
                    f"crop of {crop_lr * scale} px exceeds the pack's {crop_size} px crops"
                )
        else:
            self._material = _folder_material(path, split)
        if self._material.clean_count == 0 and self._material.real_count == 0:
            raise UltraISError(f"no training material for split '{split}'")

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of an epoch (call before iterating a DataLoader)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(
        self, index: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(low, high, context, kind): CHW crops, the whole photo's context vector and the
        item's index in SAMPLE_KINDS."""
        low, high, photo, kind = self.sample(index)
        context = photo_context(_to_tensor(photo)[None], max_side=CONTEXT_SIDE)[0]
        return _to_tensor(low), _to_tensor(high), context, torch.tensor(SAMPLE_KINDS.index(kind))

    def sample(self, index: int) -> TrainingSample:
        """Item ``index`` as float32 HWC numpy arrays (what ``__getitem__`` wraps)."""
        if not 0 <= index < self.length:
            raise IndexError(index)
        epoch = 0 if self.split == "val" else self.epoch
        rng = np.random.default_rng([self.seed, epoch, index])
        use_real = self._material.real_count > 0 and (
            self._material.clean_count == 0 or rng.random() < self.real_fraction
        )
        if use_real:
            return self._real_item(rng)
        # Of the synthetic items, night and exposed take their fractions, daylight the rest.
        kind = rng.random()
        if kind < self.night_fraction:
            return self._night_item(rng)
        if kind < self.night_fraction + self.exposed_fraction:
            return self._exposed_item(rng)
        return self._synthetic_item(rng)

    def _clean_crop(self, rng: np.random.Generator) -> tuple[int, np.ndarray, tuple[int, int]]:
        """A random clean photo at least one high-resolution crop large, and a crop position."""
        size = self.crop_lr * self.scale
        # Some clean photos (BSDS is 481x321) are smaller than a x4 crop of 256 px: draw again
        # rather than fail; a few tries find a large one, since most photos are.
        for _ in range(32):
            i = int(rng.integers(self._material.clean_count))
            img = self._material.clean(i)
            h, w = img.shape[:2]
            if h >= size and w >= size:
                break
        else:
            raise UltraISError(f"no clean image is as large as the {size} px crop")
        y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        return i, img, (y, x)

    def _context_size(self, img: np.ndarray) -> tuple[tuple[int, int], float]:
        """(width, height) of the whole photo as the engine's context sees it, and the extra
        area-reduction factor beyond the network input."""
        h, w = img.shape[:2]
        shrink = max(1.0, max(h, w) / self.scale / CONTEXT_SIDE)
        size = (max(1, round(w / self.scale / shrink)), max(1, round(h / self.scale / shrink)))
        return size, shrink

    def _night_item(self, rng: np.random.Generator) -> TrainingSample:
        _, img, (y, x) = self._clean_crop(rng)
        size = self.crop_lr * self.scale
        h, w = img.shape[:2]
        scene = sample_night_scene(rng)
        crop = to_float(np.ascontiguousarray(img[y : y + size, x : x + size]))
        region = (y / h, x / w, size / h, size / w)
        low, high = synthesize_night_pair(crop, self.scale, scene, rng, region, w / h)
        low, high = _augment([low, high], rng)
        small_size, shrink = self._context_size(img)
        small = to_float(cv2.resize(img, small_size, interpolation=cv2.INTER_AREA))
        photo = night_photo_input(small, scene, rng, shrink)
        return TrainingSample(np.ascontiguousarray(low), np.ascontiguousarray(high), photo, "night")

    def _exposed_item(self, rng: np.random.Generator) -> TrainingSample:
        """An exposed or dusk photo (darkened 1x-3x, a third of them not at all); the target
        keeps that exposure: the network must learn to leave such photos alone."""
        i, img, (y, x) = self._clean_crop(rng)
        size = self.crop_lr * self.scale
        (crop,) = _augment([img[y : y + size, x : x + size]], rng)
        clean = to_float(np.ascontiguousarray(crop))
        settings = sample_degradation(rng, self.scale, self.degrade_params)
        darkening = 1.0 if rng.random() < 1 / 3 else float(np.exp(rng.uniform(0, np.log(3.0))))
        # Daylight-level light: ten times the electrons of the dark draws, no white-balance error.
        settings = replace(
            settings,
            exposure_factor=darkening,
            wb_gains=(1.0, 1.0, 1.0),
            electrons=settings.electrons * 10,
        )
        low = apply_degradation(clean, self.scale, settings, rng)
        high = linear_to_srgb(srgb_to_linear(clean) / np.float32(darkening)).astype(np.float32)
        return TrainingSample(low, high, self._synthetic_photo(i, settings, rng), "exposed")

    def _synthetic_item(self, rng: np.random.Generator) -> TrainingSample:
        size = self.crop_lr * self.scale
        # Some clean photos (BSDS is 481x321) are smaller than a x4 crop of 256 px: draw again
        # rather than fail; a few tries find a large one, since most photos are.
        for _ in range(32):
            i = int(rng.integers(self._material.clean_count))
            img = self._material.clean(i)
            h, w = img.shape[:2]
            if h >= size and w >= size:
                break
        else:
            raise UltraISError(f"no clean image is as large as the {size} px crop")
        y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        (crop,) = _augment([img[y : y + size, x : x + size]], rng)
        high = to_float(np.ascontiguousarray(crop))
        settings = sample_degradation(rng, self.scale, self.degrade_params)
        low = apply_degradation(high, self.scale, settings, rng)
        return TrainingSample(low, high, self._synthetic_photo(i, settings, rng), "daylight")

    def _synthetic_photo(
        self, index: int, settings: DegradeSample, rng: np.random.Generator
    ) -> np.ndarray:
        """The whole clean photo darkened with the crop's settings, at the context's size.

        Degrading the full-size photo for a handful of statistics would cost more than the
        crop itself, so the photo is first area-reduced to what the engine would look at (the
        low-resolution input, shrunk to CONTEXT_SIDE). That reduction averages the noise too:
        its variance is divided by the extra area factor, as it is when the engine shrinks a
        large photo; JPEG is left out (it barely moves mean and percentiles).
        """
        img = self._material.clean(index)
        h, w = img.shape[:2]
        lr_side = max(h, w) / self.scale
        shrink = max(1.0, lr_side / CONTEXT_SIDE)
        size = (max(1, round(w / self.scale / shrink)), max(1, round(h / self.scale / shrink)))
        small = to_float(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
        quieter = replace(
            settings,
            blur_sigma_hr=0.0,
            electrons=settings.electrons * shrink**2,
            read_sigma=settings.read_sigma / shrink,
            jpeg_quality=None,
        )
        return apply_degradation(small, 1, quieter, rng)

    def _real_item(self, rng: np.random.Generator) -> TrainingSample:
        i = int(rng.integers(self._material.real_count))
        low_full, high_full = self._material.real(i)
        s, c = self.scale, self.crop_lr
        h, w = low_full.shape[0] // s, low_full.shape[1] // s
        if h < c or w < c:
            raise UltraISError(f"real pair {i} is too small for a {c} px low-resolution crop")
        # Positions on the scale grid, so cropping then downscaling equals the reverse.
        y, x = int(rng.integers(h - c + 1)) * s, int(rng.integers(w - c + 1)) * s
        size = c * s
        low, high = _augment(
            [low_full[y : y + size, x : x + size], high_full[y : y + size, x : x + size]], rng
        )
        low_lr = real_pair_input(to_float(np.ascontiguousarray(low)), s)
        return TrainingSample(
            low_lr, to_float(np.ascontiguousarray(high)), self._real_photo(i), "real"
        )

    def _real_photo(self, index: int) -> np.ndarray:
        """The whole low frame as the engine would get it (kept: it is the same every time)."""
        photo = self._real_photos.get(index)
        if photo is None:
            low_full, _ = self._material.real(index)
            photo = real_pair_input(to_float(low_full), self.scale)
            self._real_photos[index] = photo
        return photo


def pack_summary_text(summary: PackSummary) -> str:
    """One line describing a pack, for logs."""
    return (
        f"{summary.path.name}: {summary.bytes / 1e6:.1f} MB, "
        f"{summary.train_clean_crops} clean crops from {summary.clean_images_covered} photos, "
        f"{summary.train_real_pairs} real pairs; validation {summary.val_clean_crops} crops, "
        f"{summary.val_real_pairs} real pairs"
    )


__all__ = [
    "SAMPLE_KINDS",
    "PackSummary",
    "PairDataset",
    "RealPair",
    "Split",
    "TrainingSample",
    "clean_key",
    "decode_rgb8",
    "default_data_root",
    "is_validation_clean",
    "is_validation_stack",
    "list_clean_images",
    "list_real_pairs",
    "load_pack_items",
    "pack_summary_text",
    "pack_training_set",
    "read_rgb",
    "read_rgb8",
    "resolve_data_root",
    "select_split",
    "split_clean_images",
    "split_real_pairs",
    "stack_of",
    "to_float",
    "validation_pairs",
]
