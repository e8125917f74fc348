"""Training losses: supervised reconstruction terms and the self-regularised luminance prior.

All functions take N x C x H x W tensors with values in [0, 1] (sRGB-encoded, as the network
outputs them) and return scalar tensors. They compute in float32 whatever the input precision,
because SSIM's small stabilising constants (1e-4) and the ratios in the colour term are not
representable reliably in bfloat16/float16 under mixed-precision training.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor

# Rec. 709 luminance weights (applied to sRGB values: a luma, cheap and good enough for priors).
_LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class LossWeights:
    """Weights of the terms in :func:`total_loss`.

    The supervised terms dominate; the priors are small because they only have to steer what
    the target does not pin down (the illumination map has no ground truth at all, so its
    smoothness is its only direct constraint, and real photos without reference rely on them).
    SSIM at 0.2 next to Charbonnier is the usual balance for restoration: pixel fidelity first,
    local structure as a tie-breaker that discourages the blur an L1-type loss alone prefers.
    The order term is the exception: at 0.5 (session 4) it was a thousandth of the loss and
    the lightness order error on held-out night photos stayed above the earlier weights'; it
    weighed 3 in session 5 and counts block differences from 0.01 (most of a night photo is
    darker than 0.1, so a 0.02 tolerance left its shadows unprotected). At 3 it was still under
    1 % of the loss, and on held-out night photos the reflection stream's residual doubled the
    lightness order error of the rendered base (157 -> 336 on six photos, format 4 halfway):
    it weighs 20 since then (session 6, from 45 minutes into the runs).
    The relight term (session 7) holds the residual to what it is for: on held-out night
    photos the residual, not the curve, was relighting whole regions (+0.22 mean luminance on
    a blue-hour city, lifted to murk; -0.06 on a foggy harbour), which took the lightness order
    error from 103 for the rendered base to 209 for the output (format 4, x2, 28 photos).
    The pixel-scale order term (session 10) is what moved that figure: 45 minutes from the
    shipped files at weight 150 took the selection set's lightness order error from 180 to
    about 150 at x2 and from 208 to about 180 at x4 (the block term at weight 20 had not
    moved it in sessions 6-9). At 20 it was 3 % of the loss and was stopped early.
    """

    charbonnier: float = 1.0
    ssim: float = 0.2
    color: float = 0.02
    smoothness: float = 0.01
    exposure: float = 0.02
    order: float = 20.0
    relight: float = 0.2
    pixel_order: float = 150.0


def charbonnier(pred: Tensor, target: Tensor, eps: float = 1e-3) -> Tensor:
    """Mean Charbonnier distance ``sqrt(d^2 + eps^2) - eps``.

    A smooth L1: robust to outliers like L1 (a few mis-aligned pixels in real pairs do not
    dominate) but differentiable at zero. Subtracting ``eps`` makes identical images score
    exactly 0 without changing any gradient.
    NOTE: written as d^2 / (sqrt(d^2 + eps^2) + eps), the same value without subtracting two
    nearly equal numbers: the plain form gave 6e-8 instead of 0 for identical images on some
    runs (float32 sqrt of eps^2), which failed the test that holds the zero.
    """
    diff = pred.float() - target.float()
    square = diff * diff
    return (square / (torch.sqrt(square + eps * eps) + eps)).mean()


def _gaussian_kernel_1d(size: int, sigma: float, device: torch.device) -> Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2.0
    kernel = torch.exp(-(coords**2) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


def _gaussian_filter(x: Tensor, size: int, sigma: float) -> Tensor:
    """Separable Gaussian filter per channel, 'valid' region only (as in Wang et al. 2004)."""
    channels = x.shape[1]
    k = _gaussian_kernel_1d(size, sigma, x.device)
    x = F.conv2d(x, k.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)
    return F.conv2d(x, k.view(1, 1, size, 1).expand(channels, 1, size, 1), groups=channels)


def ssim_map(pred: Tensor, target: Tensor, window_size: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-pixel, per-channel SSIM with a Gaussian window (data range 1).

    The window shrinks (staying odd) for images smaller than it, so tiny crops still work.
    """
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch: {tuple(pred.shape)} vs {tuple(target.shape)}")
    size = min(window_size, pred.shape[-2], pred.shape[-1])
    size -= 1 - size % 2
    x, y = pred.float(), target.float()
    n = x.shape[0]
    # One filtering pass over all five moments instead of five separate convolutions.
    stats = _gaussian_filter(torch.cat([x, y, x * x, y * y, x * y], dim=0), size, sigma)
    mu_x, mu_y, xx, yy, xy = stats.split(n, dim=0)
    var_x = xx - mu_x * mu_x
    var_y = yy - mu_y * mu_y
    cov = xy - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return num / den


def ssim_loss(pred: Tensor, target: Tensor, window_size: int = 11, sigma: float = 1.5) -> Tensor:
    """``1 - mean SSIM`` (Gaussian window 11, sigma 1.5, per channel): 0 for identical images."""
    return 1.0 - ssim_map(pred, target, window_size, sigma).mean()


def luminance(rgb: Tensor) -> Tensor:
    """Rec. 709 weighted luma, N x 1 x H x W."""
    w = torch.tensor(_LUMA, dtype=torch.float32, device=rgb.device).view(1, 3, 1, 1)
    return (rgb.float() * w).sum(dim=1, keepdim=True)


def color_cast_term(pred: Tensor, grids: tuple[int, ...] = (1, 4), eps: float = 0.05) -> Tensor:
    """Grey-world colour-cast penalty at coarse scales.

    Natural-image statistics: averaged over a large enough area, the red, green and blue means
    of a scene are close to equal (the grey-world assumption behind most automatic white
    balance). The image is average-pooled to a ``g x g`` grid for each ``g`` in ``grids`` (1 is
    the whole image, 4 catches local casts such as an orange street-lamp pool); in each block the
    channel means are compared with their common mean, *relative* to it. The relative form is
    what makes shadows count: a tint of fixed absolute size is a much stronger cast in a dark
    block, and dark regions are exactly where amplified sensor noise and white-balance errors
    leave casts. ``eps`` keeps near-black blocks, whose chromaticity is pure noise, from
    dominating. Coarse pooling (rather than per pixel) leaves genuinely coloured objects free.
    The prediction is taken from 0 up, as the engine clamps it: a block whose mean dipped below
    -eps made the denominator cross zero (a x1 run's loss jumped to 1.9e6 at its first step).
    """
    x = pred.float().clamp_min(0)
    total = x.new_zeros(())
    for g in grids:
        means = F.adaptive_avg_pool2d(x, g)
        grey = means.mean(dim=1, keepdim=True)
        deviation = (means - grey) / (grey + eps)
        total = total + deviation.pow(2).sum(dim=1).mean()
    return total / len(grids)


def illumination_smoothness(
    illumination: Tensor, input_lr: Tensor | None = None, edge_strength: float = 10.0
) -> Tensor:
    """Edge-aware total variation of the predicted illumination map (N x 1 x h x w).

    Retinex view: image = reflectance x illumination, where illumination varies slowly except
    at the boundaries of objects and light pools. So its gradients are penalised (L1, which
    allows the few sharp steps that do exist) with a weight ``exp(-edge_strength * |grad|)`` of
    the input's luminance: low where the input has an edge, high in flat regions. The guide is
    divided by its own mean, so the weights do not depend on how dark the input is, and box
    filtered 3 x 3 so that sensor noise does not pose as edges.
    """
    ill = illumination.float()
    dx = (ill[..., :, 1:] - ill[..., :, :-1]).abs()
    dy = (ill[..., 1:, :] - ill[..., :-1, :]).abs()
    if input_lr is None:
        return dx.mean() + dy.mean()
    with torch.no_grad():
        guide = luminance(input_lr)
        if guide.shape[-2:] != ill.shape[-2:]:
            guide = F.interpolate(guide, size=ill.shape[-2:], mode="area")
        guide = guide / (guide.mean(dim=(2, 3), keepdim=True) + 1e-3)
        guide = F.avg_pool2d(guide, 3, stride=1, padding=1, count_include_pad=False)
        wx = torch.exp(-edge_strength * (guide[..., :, 1:] - guide[..., :, :-1]).abs())
        wy = torch.exp(-edge_strength * (guide[..., 1:, :] - guide[..., :-1, :]).abs())
    return (wx * dx).mean() + (wy * dy).mean()


def exposure_term(
    pred: Tensor,
    local_range: tuple[float, float] = (0.02, 0.95),
    grid: int = 8,
) -> Tensor:
    """Soft exposure constraint: zero inside a natural range of block luminance, quadratic outside.

    Only 8 x 8 blocks are kept out of crushed black and clipped white (``local_range``). There is
    deliberately no whole-image target: a good night photo is dominated by dark tones (mean sRGB
    luma 0.1-0.2), and the earlier global range of 0.25-0.65, taken from daylight references,
    pushed every night scene towards day. A dead zone instead of a fixed target (as in Zero-DCE's
    0.6) leaves the exact brightness to the data.
    """
    lum = luminance(pred)
    blocks = F.adaptive_avg_pool2d(lum, grid)
    local = F.relu(local_range[0] - blocks).pow(2) + F.relu(blocks - local_range[1]).pow(2)
    return local.mean()


def lightness_order_term(
    pred: Tensor, input_lr: Tensor, grid: int = 16, tolerance: float = 0.01
) -> Tensor:
    """Penalises regions whose brightness order against each other flips from input to output.

    A differentiable stand-in for the lightness order error (LOE, Wang et al., TIP 2013): both
    images are reduced to ``grid`` x ``grid`` block means of their max channel, and for every
    pair of blocks whose input order is clear (differing by more than ``tolerance``, above the
    noise), the output difference is penalised where it has the opposite sign. This is where
    dark rings around lamps and lit facades appear (a sky block next to a light ends up darker
    than a sky block far away, although the input had it brighter), and the supervised terms,
    averaged over the crop, barely see them.
    """
    out = F.adaptive_avg_pool2d(pred.amax(dim=1, keepdim=True), grid).flatten(1)
    ref = F.adaptive_avg_pool2d(input_lr.amax(dim=1, keepdim=True), grid).flatten(1)
    d_out = out.unsqueeze(2) - out.unsqueeze(1)
    d_ref = ref.unsqueeze(2) - ref.unsqueeze(1)
    clear = (d_ref.abs() > tolerance).float()
    return (F.relu(-d_out * torch.sign(d_ref)) * clear).mean()


# The input gap past which `pixel_order_term` counts two pixels' order as clear: past 8-bit
# quantisation and the faintest noise.
PIXEL_ORDER_TOLERANCE = 4 / 255


def pixel_order_term(
    pred: Tensor,
    input_lr: Tensor,
    target: Tensor,
    samples: int = 256,
    tolerance: float | Tensor = PIXEL_ORDER_TOLERANCE,
    margin: float | Tensor = 0.0,
) -> Tensor:
    """The lightness order of single pixels, sampled across the crop, as the figure counts it.

    :func:`lightness_order_term` compares block means, so it cannot see a pixel that moves past
    pixels of another region while its block's mean stays put; the lightness order error counts
    exactly those. Here ``pred`` and ``target`` are reduced to the input's size by area
    averaging (as the figure reduces the output), ``samples`` pixels are drawn per image, and
    every pair whose order is clear in the input (max channels more than ``tolerance`` apart:
    past 8-bit quantisation) and the same in the target is charged where the output reverses
    it. NOTE: the target's agreement matters. Charged against the input alone (session 10, x2,
    weight 150), the term held the order of noise the target had removed: 30 minutes cut the
    order error on the selection set from 180 to 143, and the synthetic split's PSNR from 20.4
    to 18.9 dB. A pair the target keeps in order is one the supervised terms agree on.
    ``tolerance`` and ``margin`` are one value for all images or one per image. With a
    ``margin`` the output is asked for that gap (or the target's own, if smaller), not just the
    right sign. NOTE: tried on x2 in session 11 with the
    tolerance at 2/255 and a 1/255 margin on every item, 30 minutes from the shipped file: the
    selection set's order error fell from 154 to 141 (weight 150) and 134 (weight 300), but the
    synthetic split's PSNR fell from 20.12 to 19.57 and 19.13 dB, and blends with the shipped
    file kept too little of the gain within the PSNR bound (0.3 of the run: 19.97 dB). So the
    default stays at session 10's, and training asks for a margin per item
    (`TrainOptions.order_margin`).
    """
    factor = pred.shape[-1] // input_lr.shape[-1]
    out, ref = (
        (F.avg_pool2d(t, factor) if factor > 1 else t).amax(dim=1).flatten(1)
        for t in (pred, target)
    )
    low = input_lr.amax(dim=1).flatten(1)
    picks = torch.randint(0, low.shape[1], (low.shape[0], samples), device=low.device)
    out, ref, low = (t.gather(1, picks) for t in (out, ref, low))

    def differences(t: Tensor) -> Tensor:
        return t.unsqueeze(2) - t.unsqueeze(1)

    def per_image(value: float | Tensor) -> Tensor:
        value = torch.as_tensor(value, dtype=low.dtype, device=low.device)
        return value.reshape(-1, 1, 1) if value.ndim else value

    d_out, d_ref, d_low = differences(out), differences(ref), differences(low)
    order = torch.sign(d_low)
    clear = ((d_low.abs() > per_image(tolerance)) & (torch.sign(d_ref) == order)).float()
    wanted = torch.minimum(d_ref * order, per_image(margin))  # never wider than the target's
    return (F.relu(wanted - d_out * order) * clear).mean()


def relight_term(pred: Tensor, base: Tensor, block: int, tolerance: float = 0.05) -> Tensor:
    """Penalises the reflection residual for changing the brightness of whole regions.

    ``base`` is the rendered base (the output without the residual): the photo-wide curve's
    rendering, monotone in the input. The residual is there for noise, detail and colour, all of
    which average out over a few pixels; a change of the mean luminance of a ``block`` x
    ``block`` region (output pixels) by more than ``tolerance`` is relighting, which reorders
    tones across the photo and lifts dark skies to murk, so it is charged by its excess.
    """
    shift = F.avg_pool2d(luminance(pred) - luminance(base), block, ceil_mode=True)
    return F.relu(shift.abs() - tolerance).mean()


def luminance_regularizer(
    pred: Tensor,
    illumination: Tensor | None,
    input_lr: Tensor | None = None,
    weights: LossWeights = LossWeights(),
) -> Tensor:
    """The paper's self-regularised luminance constraint built on natural colour statistics.

    The paper does not give its exact form; this implementation is the weighted sum of three
    reference-free priors, each explained in its own function:

    * :func:`color_cast_term` on ``pred`` (N x 3 x H x W): grey-world chromaticity at coarse
      scales, relative to local brightness so casts in shadows weigh most;
    * :func:`illumination_smoothness` on ``illumination`` (N x 1 x h x w, input resolution):
      edge-aware TV guided by ``input_lr`` (skipped when ``illumination`` is None);
    * :func:`exposure_term` on ``pred``: mean luminance kept in a natural range.

    Being reference-free, it also applies to real dark photos that have no ground truth.
    """
    total = weights.color * color_cast_term(pred) + weights.exposure * exposure_term(pred)
    if illumination is not None:
        total = total + weights.smoothness * illumination_smoothness(illumination, input_lr)
    return total


def total_loss(
    pred: Tensor,
    target: Tensor,
    illumination: Tensor | None,
    input_lr: Tensor | None,
    weights: LossWeights = LossWeights(),
    base: Tensor | None = None,
    order_tolerance: float | Tensor = PIXEL_ORDER_TOLERANCE,
    order_margin: float | Tensor = 0.0,
) -> tuple[Tensor, dict[str, float]]:
    """Weighted training loss and the *unweighted* value of every term (for logging).

    ``order_tolerance`` and ``order_margin`` are the pixel order term's ``tolerance`` and
    ``margin`` (a float, or one per image).

    Terms whose weight is 0 are skipped (reported as 0.0), so switching one off costs nothing.
    A non-finite loss is returned as is: what to do about it is the training loop's decision.
    """
    terms: dict[str, Tensor] = {}
    if weights.charbonnier:
        terms["charbonnier"] = charbonnier(pred, target)
    if weights.ssim:
        terms["ssim"] = ssim_loss(pred, target)
    if weights.color:
        terms["color"] = color_cast_term(pred)
    if weights.smoothness and illumination is not None:
        terms["smoothness"] = illumination_smoothness(illumination, input_lr)
    if weights.exposure:
        terms["exposure"] = exposure_term(pred)
    if weights.order and input_lr is not None:
        terms["order"] = lightness_order_term(pred, input_lr)
    if weights.pixel_order and input_lr is not None:
        terms["pixel_order"] = pixel_order_term(
            pred, input_lr, target, tolerance=order_tolerance, margin=order_margin
        )
    if weights.relight and base is not None and input_lr is not None:
        # Regions of 4 x 4 input pixels, at the output's size.
        block = 4 * max(1, pred.shape[-1] // input_lr.shape[-1])
        terms["relight"] = relight_term(pred, base, block)
    loss = pred.new_zeros((), dtype=torch.float32)
    for name, value in terms.items():
        loss = loss + getattr(weights, name) * value
    log = {field.name: 0.0 for field in fields(LossWeights)}
    log.update({name: float(value.detach()) for name, value in terms.items()})
    log["total"] = float(loss.detach())
    return loss, log
