"""Run a local function over horizontal stripes of its inputs, with a halo of context.

At inference the network's widest buffers are those of its tail (upsampler, head, light and
ceiling), at the output size: at x2 each 16-channel one is 59 MB for a 960 px output tile; and
those of the full-resolution gated refinements (48 channels, 44 MB for a 480 px tile). Buffers
over glibc's 32 MB mmap ceiling are mapped afresh and faulted in for every tile (see
`cpu_allocator`), and none of them fits a cache. These parts only look a few rows around each
output row (3x3 convolutions, bilinear interpolation), so running them stripe by stripe, each
with `halo` input rows of context above and below, gives the same result with buffers a stripe
high.

Exactness: a stripe's rows within `halo` of a cut are computed from true neighbours as long as
`halo` covers the function's reach (in input rows); rows at the photo's own top and bottom see
the same borders as the whole tensor does. The tests hold the result to the unstriped one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

# Bytes a stripe's widest buffer may hold: well under glibc's 32 MB mmap ceiling, and near the
# caches. Stripes are at least STRIPE_MIN_ROWS input rows high, so the halos stay a small part.
STRIPE_BYTES = 8 << 20
STRIPE_MIN_ROWS = 16


def striping() -> bool:
    """Whether the network's local parts run in stripes now: at inference only. Training needs
    the autograd graph of the whole tensor, and a trace (the ONNX export) would freeze the
    stripe loop at the traced size."""
    return not (torch.is_grad_enabled() or torch.jit.is_tracing())


def stripe_rows(row_bytes: int) -> int:
    """Input rows per stripe when one input row costs `row_bytes` in the widest buffer."""
    return max(STRIPE_MIN_ROWS, STRIPE_BYTES // max(1, row_bytes))


def stripe_bounds(height: int, rows: int, halo: int) -> list[tuple[int, int, int, int]]:
    """(start, stop) of each stripe's core rows and (start, stop) of its rows with the halo,
    clipped to the tensor, for `height` rows cut into cores of at most `rows` rows."""
    if rows < 1 or halo < 0:
        raise ValueError(f"rows must be >= 1 and halo >= 0, got {rows} and {halo}")
    bounds = []
    for start in range(0, height, rows):
        stop = min(start + rows, height)
        bounds.append((start, stop, max(0, start - halo), min(height, stop + halo)))
    return bounds


def run_in_stripes(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    *,
    scale: int,
    rows: int,
    halo: int,
) -> torch.Tensor:
    """`fn(*inputs)` computed stripe by stripe along the height (dim -2).

    Every input is N x C x H x W with the same H and W; `fn` returns N x C' x (H scale) x
    (W scale). When one stripe covers the whole height, `fn` runs once on the inputs as they
    are. Meant for inference (no autograd graph is kept across stripes).
    """
    height = inputs[0].shape[-2]
    bounds = stripe_bounds(height, rows, halo)
    if len(bounds) == 1:
        return fn(*inputs)
    output: torch.Tensor | None = None
    for start, stop, outer_start, outer_stop in bounds:
        result = fn(*(t[..., outer_start:outer_stop, :] for t in inputs))
        top = (start - outer_start) * scale
        core = result[..., top : top + (stop - start) * scale, :]
        if output is None:
            # Same layout as the stripes (the engine runs the network channels-last).
            layout = (
                torch.channels_last
                if result.dim() == 4 and result.is_contiguous(memory_format=torch.channels_last)
                else torch.contiguous_format
            )
            output = result.new_empty(
                (*result.shape[:-2], height * scale, result.shape[-1])
            ).contiguous(memory_format=layout)
        output[..., start * scale : stop * scale, :] = core
        del result, core
    assert output is not None
    return output
