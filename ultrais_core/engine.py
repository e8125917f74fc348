"""The inference engine: one object, shared by the CLI and the GUI, that owns the device, the
precision and the weights, and enhances an RGB float32 [0,1] array tile by tile.

Two backends run the network: torch (the default wherever it is installed) and ONNX Runtime
(`onnx_runtime`: the CPU bundle ships it instead of torch, with the networks exported to .onnx).
This module imports torch only if it is there; the ONNX path needs numpy and OpenCV alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ultrais_core import onnx_runtime
from ultrais_core.cpu_allocator import keep_freed_memory, release_freed_memory
from ultrais_core.errors import Cancelled, OutOfMemoryError, UltraISError, WeightsError
from ultrais_core.model_descriptor import ModelDescriptor
from ultrais_core.onnx_runtime import CONTEXT_SIDE, CpuDevice, OnnxTileModel
from ultrais_core.tiling import Tile, aligned, padded_indices, pads_by_reflection, plan_tiles

try:
    import torch

    from ultrais_core.model.guidance import photo_context
    from ultrais_core.weights import load_weights
except ImportError:  # the CPU bundle: no torch, the ONNX Runtime backend instead
    torch = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEFAULT_WEIGHTS_DIR = RESOURCES / "weights"
SCALES = (1, 2, 4)
MIN_TILE = 64
# Past this a tile core saves almost nothing more on context (2048 px: 1.13x) and a GPU tile
# would hold gigabytes.
MAX_TILE = 2048

BACKENDS = ("auto", "torch", "onnx")
# Picks the backend where the caller does not (the app, `batch`): e.g. ULTRAIS_BACKEND=onnx.
BACKEND_ENV = "ULTRAIS_BACKEND"

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
# torch tensors in and out on the torch backend, numpy arrays on the ONNX one.
TileModel = Callable[[Any, Any], Any]


def default_weights_path(scale: int, folder: Path = DEFAULT_WEIGHTS_DIR) -> Path:
    return folder / f"ultrais_x{scale}.safetensors"


def pick_backend(requested: str = "auto") -> str:
    """torch where it can be imported, else ONNX Runtime; "auto" defers to $ULTRAIS_BACKEND."""
    if requested == "auto":
        requested = os.environ.get(BACKEND_ENV, "auto") or "auto"
    if requested not in BACKENDS:
        raise UltraISError(f"unknown backend {requested!r}: use auto, torch or onnx")
    if requested == "torch" and torch is None:
        raise UltraISError("the torch backend was requested but torch is not installed")
    if requested == "onnx" or (requested == "auto" and torch is None):
        if not onnx_runtime.onnxruntime_available():
            raise UltraISError("neither torch nor ONNX Runtime is installed")
        return "onnx"
    return "torch"


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU; an explicit request that cannot be met is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UltraISError("CUDA was requested but no CUDA GPU is available to torch")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise UltraISError("MPS was requested but Apple's Metal backend is not available")
    if requested not in ("cpu", "cuda", "mps"):
        raise UltraISError(f"unknown device {requested!r}: use auto, cpu, cuda or mps")
    return torch.device(requested)


def pick_dtype(device: torch.device, requested: str = "auto") -> torch.dtype:
    """bf16 (else fp16) autocast on CUDA, where the blocks keep their normalisations and softmax
    in fp32; fp32 on the CPU unless bf16 is asked for.

    NOTE: "auto" stays fp32 on the CPU even where it computes bf16 natively (AVX512-BF16, AMX):
    measured with `bench/cpu_precision.py` and the shipped weights on such a CPU, bf16 moved
    8-bit outputs by up to 2/255 at x2 and 3/255 at x4 (mean 0.2-0.5/255), over the 1/255 the
    issue allows, for 1.0-1.2x the speed. fp16 stays GPU-only: CPU fp16 convolutions are
    emulated on most CPUs.
    """
    choices = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if requested != "auto":
        if requested not in choices:
            raise UltraISError(f"unknown precision {requested!r}: use auto, fp32, fp16 or bf16")
        if device.type == "cpu" and requested == "fp16":
            raise UltraISError("fp16 is only offered on a GPU; on the CPU use bf16 or fp32")
        return choices[requested]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


@dataclass(frozen=True)
class TiledRun:
    """How a job was run: for logs, the GUI's status and the benchmarks."""

    tile: int
    retries: int


def to_output_dtype(block: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float32 [0,1] -> the canvas type (uint8/uint16 rounded, or float32 as is)."""
    if dtype == np.float32:
        return block
    peak = float(np.iinfo(dtype).max)
    scaled = block * peak  # one float temporary, rounded and clipped in place
    scaled += 0.5
    np.clip(scaled, 0, peak, out=scaled)
    return scaled.astype(dtype)


def run_tiled(
    model: TileModel,
    image: np.ndarray,
    *,
    scale: int,
    tile: int,
    overlap: int,
    align: int,
    context: torch.Tensor,
    device: torch.device,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    out_dtype: type = np.float32,
) -> np.ndarray:
    """Run `model` over an H x W x 3 float32 image tile by tile (see `tiling`).

    The image is padded to a multiple of `align` first so every tile (and the untiled case) sees
    the same aligned grid. Each tile's core is written straight into a canvas of `out_dtype`
    (float32, uint8 or uint16) of the final size scale * (H, W): no float copy of the output.
    """
    if not is_torch_device(device):
        return run_tiled_numpy(
            model,
            image,
            scale=scale,
            tile=tile,
            overlap=overlap,
            align=align,
            context=context,
            progress=progress,
            cancel=cancel,
            out_dtype=out_dtype,
        )
    height, width = image.shape[:2]
    tiles = plan_tiles(
        aligned(height, align), aligned(width, align), tile=tile, overlap=overlap, align=align
    )
    output = np.empty((height * scale, width * scale, 3), dtype=out_dtype)
    on_gpu = device.type == "cuda"

    def store(index: int, t: Tile, result: torch.Tensor, copied: torch.cuda.Event | None) -> None:
        if copied is not None:
            copied.synchronize()
        store_core(output, t, result.numpy(), scale=scale, height=height, width=width)
        if progress is not None:
            progress(index + 1, len(tiles))

    # NOTE: on CUDA the loop runs one tile ahead: kernels are queued for tile i, its result is
    # copied back asynchronously into pinned memory, and only then does the host store tile
    # i - 1, so the copy into the canvas overlaps the GPU's work instead of idling it.
    pending: tuple[int, Tile, torch.Tensor, torch.cuda.Event | None] | None = None
    for index, t in enumerate(tiles):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        patch = torch.from_numpy(photo_window(image, t, align)).permute(2, 0, 1).unsqueeze(0)
        batch = patch.pin_memory().to(device, non_blocking=True) if on_gpu else patch.to(device)
        with torch.inference_mode():  # in place on the network's fresh output
            result = model(batch, context)[0].float().clamp_(0, 1).permute(1, 2, 0)
        if not on_gpu:
            store(index, t, result.cpu(), None)  # .cpu(): for MPS; a no-op on the CPU
            continue
        host = torch.empty(result.shape, dtype=torch.float32, pin_memory=True)
        host.copy_(result, non_blocking=True)
        copied = torch.cuda.Event()
        copied.record()
        if pending is not None:
            store(*pending)
        pending = (index, t, host, copied)
    if pending is not None:
        store(*pending)
    return output


def is_torch_device(device: object) -> bool:
    return torch is not None and isinstance(device, torch.device)


def photo_window(image: np.ndarray, t: Tile, align: int) -> np.ndarray:
    """Rows t.y0:t.y1 and columns t.x0:t.x1 of the photo padded bottom/right to a multiple of
    `align` (mirrored where it can be, see `tiling.padded_indices`), clipped to [0, 1]: a fresh
    contiguous H x W x 3 float32 array, without a padded or clipped copy of the whole photo."""
    height, width = image.shape[:2]
    reflect = pads_by_reflection(height, width, align)
    if t.y1 <= height and t.x1 <= width:
        window = np.array(image[t.y0 : t.y1, t.x0 : t.x1], dtype=np.float32)
    else:
        rows = padded_indices(t.y0, t.y1, height, reflect=reflect)
        columns = padded_indices(t.x0, t.x1, width, reflect=reflect)
        window = np.ascontiguousarray(image[np.ix_(rows, columns)], dtype=np.float32)
    return np.clip(window, 0, 1, out=window)


def store_core(
    output: np.ndarray, t: Tile, result: np.ndarray, *, scale: int, height: int, width: int
) -> None:
    """Write a tile's core (its h x w x 3 float result, in output pixels, clipped to the
    unpadded photo) into the output canvas."""
    y0, x0 = t.core_y0 * scale, t.core_x0 * scale
    y1, x1 = min(t.core_y1, height) * scale, min(t.core_x1, width) * scale
    if y1 > y0 and x1 > x0:
        oy, ox = (t.core_y0 - t.y0) * scale, (t.core_x0 - t.x0) * scale
        core = result[oy : oy + y1 - y0, ox : ox + x1 - x0]
        output[y0:y1, x0:x1] = to_output_dtype(core, output.dtype)


def run_tiled_numpy(
    model: TileModel,
    image: np.ndarray,
    *,
    scale: int,
    tile: int,
    overlap: int,
    align: int,
    context: np.ndarray,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    out_dtype: type = np.float32,
) -> np.ndarray:
    """`run_tiled` for a model on numpy arrays (the ONNX Runtime backend, CPU only): the same
    padding, tile plan and canvas, so both backends keep the same pixels of the same tiles."""
    height, width = image.shape[:2]
    tiles = plan_tiles(
        aligned(height, align), aligned(width, align), tile=tile, overlap=overlap, align=align
    )
    output = np.empty((height * scale, width * scale, 3), dtype=out_dtype)
    for index, t in enumerate(tiles):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        patch = np.ascontiguousarray(photo_window(image, t, align).transpose(2, 0, 1)[None])
        result = np.clip(model(patch, context)[0], 0, 1).transpose(1, 2, 0)
        store_core(output, t, result, scale=scale, height=height, width=width)
        if progress is not None:
            progress(index + 1, len(tiles))
    return output


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's typed OOM error, or the CPU allocator's failure (which torch and ONNX Runtime
    raise untyped)."""
    if isinstance(error, MemoryError):
        return True
    if torch is not None and isinstance(error, torch.OutOfMemoryError):
        return True
    text = str(error).lower()
    return "can't allocate memory" in text or "failed to allocate memory" in text


class Engine:
    """Owns device, precision and weights; enhances photos tile by tile.

    Args:
        weights: a weights file (its scale is read from it), or a folder holding
            `ultrais_x{scale}.safetensors` files, or None for the shipped weights.
        device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda" or "mps".
        precision: "auto", "fp32", "fp16" or "bf16" (half precision on GPUs only).
        tile: tile side in input pixels, or None to pick one from the memory available.
        overlap: overlap between tiles in input pixels (rounded to the size multiple).
        backend: "auto" (torch if installed, else ONNX Runtime; $ULTRAIS_BACKEND overrides),
            "torch" or "onnx" (CPU and fp32 only; runs the .onnx file beside each weights file).
    """

    def __init__(
        self,
        weights: str | Path | None = None,
        *,
        device: str = "auto",
        precision: str = "auto",
        tile: int | None = None,
        overlap: int = 64,
        backend: str = "auto",
    ) -> None:
        self.backend = pick_backend(backend)
        self.tile = tile
        self.overlap = overlap
        self._weights = Path(weights) if weights is not None else DEFAULT_WEIGHTS_DIR
        self._models: dict[int, tuple[Any, Any]] = {}
        self._threads: int | None = None
        self.last_run: TiledRun | None = None
        if self.backend == "onnx":
            if device not in ("auto", "cpu") or precision not in ("auto", "fp32"):
                raise UltraISError(
                    "the ONNX Runtime backend runs on the CPU in fp32 only "
                    f"(asked: device {device}, precision {precision})"
                )
            self.device: Any = CpuDevice()
            self.dtype: Any = np.float32
            keep_freed_memory()
            return
        self.device = pick_device(device)
        self.dtype = pick_dtype(self.device, precision)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if self.device.type == "cpu":
            keep_freed_memory()

    @property
    def device_name(self) -> str:
        if self.backend == "onnx":
            return f"CPU ({self.cpu_threads()} threads, ONNX Runtime)"
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        if self.device.type == "mps":
            return "Apple GPU (MPS)"
        return f"CPU ({torch.get_num_threads()} threads)"

    def cpu_threads(self) -> int:
        """Threads the network uses on the CPU: as set, else torch's count, else (ONNX Runtime)
        $OMP_NUM_THREADS or the cores this process may run on, as torch would pick."""
        if self.backend == "torch":
            return torch.get_num_threads()
        if self._threads:
            return self._threads
        try:
            return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
        except ValueError:
            pass
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:
            return os.cpu_count() or 1

    def set_cpu_threads(self, threads: int) -> None:
        """Share the CPU with other workers: torch's intra-op threads, or the ONNX sessions'
        (networks already loaded are reloaded with the new count on next use)."""
        if self.backend == "torch":
            torch.set_num_threads(threads)
            return
        self._threads = threads
        self._models.clear()

    def weights_path(self, scale: int) -> Path:
        if self._weights.is_dir() or not self._weights.suffix:
            path = default_weights_path(scale, self._weights)
        else:
            path = self._weights
        # The ONNX backend runs the network exported from the weights file, beside it.
        return path.with_suffix(".onnx") if self.backend == "onnx" else path

    def model_for(self, scale: int) -> tuple[Any, Any]:
        """Load (once) the network for `scale`: (torch module, ModelDescriptor) on torch,
        (OnnxTileModel, ModelDescriptor) on ONNX Runtime."""
        if scale not in SCALES:
            raise UltraISError(f"scale must be one of {SCALES}, got {scale}")
        if scale not in self._models and self.backend == "onnx":
            onnx_model = OnnxTileModel(self.weights_path(scale), threads=self.cpu_threads())
            if onnx_model.descriptor.scale != scale:
                raise WeightsError(
                    f"{onnx_model.path}: holds a x{onnx_model.descriptor.scale} network, "
                    f"x{scale} was asked for"
                )
            self._models[scale] = (onnx_model, onnx_model.descriptor)
        if scale not in self._models:
            path = self.weights_path(scale)
            if not path.exists():
                raise WeightsError(
                    f"{path}: weights file not found; train one with `python main.py train` "
                    "or pass --weights FILE"
                )
            model, descriptor = load_weights(path, device=self.device)
            if descriptor.scale != scale:
                raise WeightsError(
                    f"{path}: holds a x{descriptor.scale} network, x{scale} was asked for"
                )
            model = model.to(memory_format=torch.channels_last)
            self._models[scale] = (model, descriptor)
        return self._models[scale]

    def auto_tile(self, descriptor: ModelDescriptor) -> int:
        """A tile core side (input pixels) whose activations, context included, fit the memory
        at hand.

        Peak bytes per input pixel of the tile window, measured on the small config as a whole
        job's peak RSS less the idle process, the photo and the canvas (`enhance`, 8-bit out):
        about 1.5-1.6k at x2 (12 MP, 2 threads; 3 MP, 576 px cores, 1 thread) and 1.4k at x4
        (448 px cores, 2 MP); x1 keeps its earlier figure (1.9k, the bare forward pass), x4 is
        rounded up to 2k. These are what remain since the network's widest buffers (its
        output-size tail and full-resolution refinements) run in stripes (`model.stripes`);
        before that, x4 needed 4.9k and held 224 px cores. Larger networks scale with the
        square root of their parameter count. The tile computes its core plus at least
        `overlap` pixels of context on each side, so a larger core wastes less on context
        (a 12 MP photo's windows cover 1.64x its pixels with 448 px cores, 1.44x with 608 px
        ones) but holds more memory; on the CPU the budget is `cpu_tile_budget`'s: cores of
        544 px at x1, 608 px at x2 and 512 px at x4 (448 px on the ONNX backend, see
        ONNX_WINDOW_SIDE).
        """
        measured = {1: 1_900, 2: 1_600, 4: 2_000}[descriptor.scale]
        bytes_per_pixel = measured * max(1.0, descriptor.parameters / 700_000) ** 0.5
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            budget = free * 0.5
            if self.dtype != torch.float32:
                bytes_per_pixel /= 2
        else:
            budget = cpu_tile_budget(available_memory())
        side = min(MAX_TILE, int((budget / bytes_per_pixel) ** 0.5) - 2 * self.overlap)
        if self.backend == "onnx":
            side = min(side, ONNX_WINDOW_SIDE - 2 * self.overlap)
        return max(MIN_TILE, side - side % descriptor.size_multiple)

    def enhance(
        self,
        image: np.ndarray,
        scale: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        out_dtype: type = np.float32,
    ) -> np.ndarray:
        """Enhance a float32 [0,1] image (H x W x 3, H x W gray, or H x W x 4 with alpha) and
        return it at `scale` times the size with the same channel layout.

        `out_dtype` (float32, uint8 or uint16) is the type of the returned canvas: tiles are
        written straight into it, so an 8-bit export never holds a full-size float copy.
        """
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise UltraISError(f"expected an H x W x 3 or 4 image, got shape {image.shape}")
        if min(image.shape[:2]) < 1:
            raise UltraISError("the image is empty")
        if scale not in SCALES:
            raise UltraISError(f"scale must be one of {SCALES}, got {scale}")
        self.check_memory(image.shape[0], image.shape[1], scale, out_dtype)
        if image.ndim == 2:
            rgb = np.repeat(np.asarray(image, dtype=np.float32)[..., None], 3, axis=2)
            result = self.enhance(rgb, scale, progress=progress, cancel=cancel)
            gray = result @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
            return to_output_dtype(gray, np.dtype(out_dtype))
        if image.shape[2] == 4:
            rgb = self.enhance(
                image[..., :3], scale, progress=progress, cancel=cancel, out_dtype=out_dtype
            )
            alpha = to_output_dtype(upscale_alpha(image[..., 3], scale), np.dtype(out_dtype))
            return np.concatenate([rgb, alpha[..., None]], axis=2)
        # NOTE: not clipped here: each tile is clipped as it is read (`photo_window`), which
        # spares a full-size float copy of the photo (288 MB at 24 MP).
        rgb = np.asarray(image, dtype=np.float32)
        model, descriptor = self.model_for(scale)
        forward = model if self.backend == "onnx" else self._torch_forward(model)
        try:
            return run_with_backoff(
                forward,
                rgb,
                scale=scale,
                tile=self.tile or self.auto_tile(descriptor),
                overlap=self.overlap,
                align=descriptor.size_multiple,
                context=self.context_of(rgb),
                device=self.device,
                progress=progress,
                cancel=cancel,
                out_dtype=out_dtype,
                on_run=self._record_run,
            )
        finally:
            if self.device.type == "cpu":
                release_freed_memory()

    def _torch_forward(self, model: torch.nn.Module) -> TileModel:
        use_autocast = self.dtype != torch.float32

        def forward(batch: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
            batch = batch.contiguous(memory_format=torch.channels_last)
            with (
                torch.inference_mode(),
                torch.autocast(self.device.type, dtype=self.dtype, enabled=use_autocast),
            ):
                return model(batch, context)

        return forward

    def estimate_memory(self, height: int, width: int, scale: int, out_dtype: type) -> int:
        """Bytes of host memory a job needs beyond the loaded photo: the output canvas, the
        padded float input, and two tiles' float outputs (one in flight on a GPU)."""
        out_pixels = height * width * scale * scale
        canvas = out_pixels * 3 * np.dtype(out_dtype).itemsize
        padded_input = height * width * 3 * 4
        side = (min(max(height, width), self.tile or 512) + 2 * self.overlap) * scale
        tiles = side * side * 3 * 4 * 2
        return canvas + padded_input + tiles

    def check_memory(self, height: int, width: int, scale: int, out_dtype: type) -> None:
        """Refuse, before any work, a job that cannot fit in the memory available now."""
        needed = self.estimate_memory(height, width, scale, out_dtype)
        available = available_memory()
        if available is not None and needed > available:
            raise OutOfMemoryError(
                f"a {width}x{height} photo at x{scale} needs about {needed / 2**30:.1f} GiB of "
                f"memory and {available / 2**30:.1f} GiB is available; pick a smaller scale, "
                "export 8-bit, or close other programs"
            )

    def context_of(self, rgb: np.ndarray) -> Any:
        """The photo-wide context, computed once from a downscaled copy of the whole photo
        (a torch tensor on the torch backend, a 1 x 7 float32 array on ONNX Runtime)."""
        height, width = rgb.shape[:2]
        factor = max(height, width) / CONTEXT_SIDE
        if factor > 1:
            size = (max(1, round(width / factor)), max(1, round(height / factor)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        rgb = np.clip(rgb, 0, 1)  # a copy, of the small image only (see `enhance`)
        if self.backend == "onnx":
            return onnx_runtime.photo_context(rgb, max_side=CONTEXT_SIDE)
        small = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
        return photo_context(small, max_side=CONTEXT_SIDE).to(self.device)

    def _record_run(self, run: TiledRun) -> None:
        self.last_run = run


# Bytes of activations one CPU tile may hold, and at most this share of the memory available
# when the job starts.
# NOTE: before the network ran its widest buffers in stripes (`model.stripes`), larger cores
# were slower: a 12 MP x2 photo took 55.1 s with 352 px cores and 65.1 s with 576 px ones, at
# 1.69 against 2.78 GB, as buffers over glibc's 32 MB mmap ceiling (see `cpu_allocator`) were
# mapped afresh for every tile. Session 10 capped the window at 576 px for that reason; with
# the stripes the one buffer left over the ceiling (the level-0 skip) costs nothing measurable:
# a 12 MP x2 photo, both threads, one run after another: 67.6 / 70.2 s and 1.14 / 1.25 GB with
# 448 px cores, 58.5 / 64.0 s and 1.53 / 1.38 GB with the budget's 608 px ones, 58.8 / 65.8 s
# with glibc's mmap turned off (MALLOC_MMAP_MAX_=0), so the cap went.
# NOTE: larger still is slower, not faster, although the windows then cover fewer pixels
# (1.34x a 12 MP photo with 800 px cores, 1.22x with 1024 px, 1.45x with 608 px): session 12,
# the same photo and bench command one after another on an idle machine, 43.3 s with the
# budget's 608 px cores, 74.1 s with 800 px and 64.5 s with 1024 px, at 1.85 / 1.95 / 2.47 GB.
CPU_TILE_BUDGET = 0.9e9
# The ONNX Runtime backend (the CPU bundle's) runs the traced graph, which is unstriped, so the
# bytes per pixel above undercount it: a 2 MP x2 photo through `enhance` took 1.48 GB with
# 448 px cores and 1.86 GB with the budget's 608 px ones (session 11). Its window keeps
# session 10's 576 px (448 px cores at every scale) until it has a figure of its own.
ONNX_WINDOW_SIDE = 576
CPU_TILE_MEMORY_SHARE = 0.25


def cpu_tile_budget(available: int | None) -> float:
    """Bytes of activations a CPU tile may hold, given the bytes available now (None: unknown,
    the fixed budget alone)."""
    budget = CPU_TILE_BUDGET
    if available is not None:
        budget = min(budget, available * CPU_TILE_MEMORY_SHARE)
    return budget


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_with_backoff(
    forward: TileModel,
    rgb: np.ndarray,
    *,
    scale: int,
    tile: int,
    overlap: int,
    align: int,
    context: torch.Tensor,
    device: torch.device,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    max_retries: int = 6,
    out_dtype: type = np.float32,
    on_run: Callable[[TiledRun], None] | None = None,
) -> np.ndarray:
    """`run_tiled`, halving the tile on out-of-memory up to `max_retries` times."""
    floor = max(MIN_TILE, align)
    for retry in range(max_retries + 1):
        try:
            result = run_tiled(
                forward,
                rgb,
                scale=scale,
                tile=tile,
                overlap=overlap,
                align=align,
                context=context,
                device=device,
                progress=progress,
                cancel=cancel,
                out_dtype=out_dtype,
            )
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            if device.type == "cuda":
                torch.cuda.empty_cache()
            if tile <= floor or retry == max_retries:
                advice = (
                    "pick the CPU in Preferences"
                    if device.type != "cpu"
                    else "close other programs or try a smaller photo"
                )
                raise OutOfMemoryError(
                    f"out of memory on the {device.type.upper()} even with {tile}-pixel tiles; "
                    f"{advice}"
                ) from None
            log.warning("out of memory with %d-pixel tiles; retrying with %d", tile, tile // 2)
            tile = max(floor, tile // 2)
            continue
        if on_run is not None:
            on_run(TiledRun(tile=tile, retries=retry))
        return result
    raise AssertionError("unreachable")


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """Alpha is not enhanced, only resized (Lanczos), so transparency keeps its shape."""
    if scale == 1:
        return alpha.astype(np.float32)
    height, width = alpha.shape
    resized = cv2.resize(
        alpha.astype(np.float32), (width * scale, height * scale), interpolation=cv2.INTER_LANCZOS4
    )
    return np.clip(resized, 0, 1)
