"""Training losses: zero at the optimum, monotone toward the target, and the priors' preferences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ultrais_core.metrics import ssim as ssim_metric
from ultrais_core.training.losses import (
    LossWeights,
    charbonnier,
    color_cast_term,
    exposure_term,
    illumination_smoothness,
    lightness_order_term,
    luminance_regularizer,
    pixel_order_term,
    relight_term,
    ssim_loss,
    total_loss,
)


def image(n: int = 2, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(
        torch.rand(n, 3, h // 4, w // 4, generator=g), size=(h, w), mode="bilinear"
    )
    return (0.2 + 0.6 * smooth).clamp(0, 1)


def test_charbonnier_zero_for_identical_and_l1_like():
    x = image()
    assert charbonnier(x, x).item() == 0.0
    assert charbonnier(x, x + 0.2).item() == pytest.approx(0.2, abs=1e-3)


def test_ssim_loss_zero_for_identical_and_matches_reference_ssim():
    x = image(n=1)
    assert abs(ssim_loss(x, x).item()) < 1e-6
    y = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    to_np = lambda t: t[0].permute(1, 2, 0).numpy().astype(np.float64)  # noqa: E731
    expected = 1.0 - ssim_metric(to_np(y), to_np(x))
    assert ssim_loss(y, x).item() == pytest.approx(expected, abs=2e-3)


def test_ssim_loss_handles_crops_smaller_than_the_window():
    x = image(n=1, h=8, w=8)
    assert abs(ssim_loss(x, x).item()) < 1e-6
    assert ssim_loss(x, 1 - x).item() > 0.1


def test_losses_decrease_toward_the_target():
    target = image(seed=3)
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(4))
    previous = {"charbonnier": np.inf, "ssim": np.inf}
    for t in (0.4, 0.2, 0.1, 0.0):
        pred = (target + t * noise).clamp(0, 1)
        values = {"charbonnier": charbonnier(pred, target), "ssim": ssim_loss(pred, target)}
        for name, value in values.items():
            assert value.item() < previous[name]
            previous[name] = value.item()
    assert previous["charbonnier"] == 0.0


def test_gradient_descent_reduces_total_loss():
    target = image(n=1, seed=5)
    pred = torch.full_like(target, 0.5).requires_grad_(True)
    illumination = torch.full((1, 1, 8, 8), 0.5, requires_grad=True)
    low = target[:, :, ::4, ::4] * 0.1
    optimiser = torch.optim.Adam([pred, illumination], lr=0.05)
    first = None
    for _ in range(15):
        optimiser.zero_grad()
        loss, _ = total_loss(pred, target, illumination, low)
        loss.backward()
        optimiser.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


def test_colour_cast_penalised_more_than_neutral():
    neutral = torch.full((1, 3, 32, 32), 0.4)
    cast = neutral.clone()
    cast[:, 0] *= 1.3
    assert color_cast_term(neutral).item() == pytest.approx(0.0, abs=1e-12)
    assert color_cast_term(cast).item() > 0.01


def test_same_tint_counts_more_in_shadows():
    dark = torch.full((1, 3, 16, 16), 0.08)
    bright = torch.full((1, 3, 16, 16), 0.7)
    dark[:, 0] += 0.03
    bright[:, 0] += 0.03
    assert color_cast_term(dark).item() > 4 * color_cast_term(bright).item()


def test_local_cast_is_seen_by_the_coarse_grid():
    img = torch.full((1, 3, 32, 32), 0.4)
    img[:, 2, :8, :8] = 0.8  # a blue pool in one corner; the whole image stays nearly grey
    assert color_cast_term(img, grids=(1, 4)).item() > 5 * color_cast_term(img, grids=(1,)).item()


def test_illumination_smoothness_prefers_smooth_and_edge_aligned_maps():
    g = torch.Generator().manual_seed(0)
    smooth = torch.linspace(0.2, 0.8, 16).view(1, 1, 1, 16).expand(1, 1, 16, 16)
    noisy = smooth + 0.1 * torch.rand(1, 1, 16, 16, generator=g)
    assert illumination_smoothness(smooth).item() < illumination_smoothness(noisy).item()
    step = torch.full((1, 1, 16, 16), 0.2)
    step[..., 8:] = 0.8
    edge_input = torch.full((1, 3, 16, 16), 0.01)
    edge_input[..., 8:] = 0.05  # the input has an edge exactly where the illumination steps
    flat_input = torch.full((1, 3, 16, 16), 0.03)
    along_edge = illumination_smoothness(step, edge_input).item()
    across_flat = illumination_smoothness(step, flat_input).item()
    assert along_edge < 0.5 * across_flat


def test_guide_at_another_resolution_is_resized():
    ill = torch.rand(2, 1, 8, 8)
    assert torch.isfinite(illumination_smoothness(ill, torch.rand(2, 3, 16, 16)))


def test_exposure_term_has_a_dead_zone():
    assert exposure_term(torch.full((1, 3, 16, 16), 0.45)).item() == 0.0
    # A dark night rendering (mean 0.1) is inside the dead zone: no pull towards day.
    assert exposure_term(torch.full((1, 3, 16, 16), 0.1)).item() == 0.0
    dark = exposure_term(torch.full((1, 3, 16, 16), 0.01)).item()
    darker = exposure_term(torch.full((1, 3, 16, 16), 0.002)).item()
    assert 0 < dark < darker
    assert exposure_term(torch.full((1, 3, 16, 16), 0.98)).item() > 0


def test_relight_term_charges_regional_shifts_but_not_texture():
    """The residual may add zero-mean texture (noise, detail) freely; lifting a whole region
    above the tolerance costs, and the cost grows with the lift."""
    base = torch.full((1, 3, 16, 16), 0.2)
    texture = 0.1 * torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(8, 8)
    assert relight_term(base + texture, base, block=4).item() == pytest.approx(0.0, abs=1e-7)
    lifted = base.clone()
    lifted[..., :8, :] += 0.1
    small = relight_term(lifted, base, block=4, tolerance=0.03)
    assert small.item() == pytest.approx(0.5 * (0.1 - 0.03), rel=1e-4)
    lifted[..., :8, :] += 0.1
    assert relight_term(lifted, base, block=4).item() > small.item()


def test_total_loss_charges_relighting_only_when_given_the_base():
    torch.manual_seed(0)
    target = torch.rand(1, 3, 16, 16) * 0.5
    low = torch.rand(1, 3, 8, 8) * 0.1
    lifted = target + 0.2
    without, log = total_loss(lifted, target, None, low)
    with_base, log_base = total_loss(lifted, target, None, low, base=target)
    assert log["relight"] == 0.0
    assert log_base["relight"] > 0.1
    assert with_base.item() > without.item()


def test_regularizer_and_total_loss_outputs():
    pred = torch.full((1, 3, 16, 16), 0.45, requires_grad=True)
    ill = torch.full((1, 1, 4, 4), 0.3, requires_grad=True)
    low = torch.full((1, 3, 4, 4), 0.02)
    assert luminance_regularizer(pred, ill, low).item() == pytest.approx(0.0, abs=1e-9)
    loss, log = total_loss(pred, pred.detach(), ill, low)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert set(log) == {
        "charbonnier",
        "ssim",
        "color",
        "smoothness",
        "exposure",
        "order",
        "relight",
        "pixel_order",
        "total",
    }
    assert all(isinstance(v, float) for v in log.values())
    loss.backward()
    assert pred.grad is not None and ill.grad is not None


def test_lightness_order_term_sees_a_flipped_order_only():
    """Left half brighter than right in the input: an output that keeps the order (even much
    brighter) costs nothing, one that flips it costs more the more it flips."""
    low = torch.zeros(1, 3, 16, 16)
    low[..., :8] = 0.2
    kept = torch.zeros(1, 3, 32, 32)
    kept[..., :16] = 0.9
    kept[..., 16:] = 0.3
    assert lightness_order_term(kept, low).item() == 0.0
    flipped = 1 - kept
    mild = kept.clone()
    mild[..., 16:] = 0.95
    assert lightness_order_term(flipped, low).item() > lightness_order_term(mild, low).item() > 0


def test_pixel_order_term_charges_flips_of_clearly_ordered_pixels_only():
    """A noisy input: an output that keeps every clear order costs nothing, one that flips the
    bright pixels under the dark ones costs, and flips within the tolerance (noise) are free."""
    torch.manual_seed(0)
    low = torch.rand(1, 3, 16, 16) * 0.3
    kept = F.interpolate(low * 2, scale_factor=2)
    assert pixel_order_term(kept, low, kept).item() == 0.0
    flipped = F.interpolate(0.6 - low, scale_factor=2)
    assert pixel_order_term(flipped, low, kept).item() > 0
    jitter = low + (torch.rand(1, 1, 16, 16) - 0.5) * (3 / 255)
    assert pixel_order_term(jitter, low, low, tolerance=4 / 255).item() == 0.0


def test_pixel_order_term_leaves_the_pairs_the_target_reorders():
    """Where the target itself reverses the input's order (noise it removed), an output that
    follows the target is not charged; one that keeps the target's order elsewhere is free."""
    torch.manual_seed(0)
    low = torch.rand(1, 3, 16, 16) * 0.3
    reordered = F.interpolate(0.6 - low, scale_factor=2)
    assert pixel_order_term(reordered, low, reordered).item() == 0.0
    assert pixel_order_term(reordered, low, F.interpolate(low, scale_factor=2)).item() > 0


def test_weights_switch_terms_and_low_precision_input_works():
    target = image(n=1)
    pred = (target * 0.5).bfloat16()
    only_l1 = LossWeights(ssim=0.0, color=0.0, smoothness=0.0, exposure=0.0)
    loss, log = total_loss(pred, target, None, None, only_l1)
    assert loss.dtype == torch.float32
    assert log["ssim"] == 0.0 and log["color"] == 0.0
    assert loss.item() == pytest.approx(log["charbonnier"])
    full, full_log = total_loss(pred, target, None, None)
    assert full.item() > loss.item() and full_log["smoothness"] == 0.0


def test_color_term_stays_finite_for_predictions_below_zero():
    """The engine clamps at 0; a prediction dipping below it must not blow the term up."""
    pred = torch.full((1, 3, 8, 8), -0.05)
    pred[:, 0] = -0.04
    assert color_cast_term(pred).item() == 0.0
    assert torch.isfinite(color_cast_term(torch.randn(2, 3, 16, 16) * 0.1))


def test_pixel_order_term_asks_for_a_margin_the_target_has():
    """With a margin, an output that keeps a clear order by a hair (0.2/255) is charged where the
    target keeps it by more than the margin, and not where the target's own gap is that small."""
    low = torch.tensor([0.10, 0.12]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    hair = torch.tensor([0.30, 0.30 + 0.2 / 255]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    wide = torch.tensor([0.30, 0.40]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    assert pixel_order_term(hair, low, wide, samples=64, margin=1 / 255).item() > 0
    assert pixel_order_term(hair, low, wide, samples=64).item() == 0.0  # no margin: sign only
    assert pixel_order_term(hair, low, hair, samples=64, margin=1 / 255).item() == 0.0
    assert pixel_order_term(wide, low, wide, samples=64, margin=0.05).item() == 0.0


def test_pixel_order_term_takes_a_margin_per_image():
    """One margin per image: the image given none is charged nothing for a hair's gap."""
    low = torch.tensor([0.10, 0.12]).view(1, 1, 1, 2).expand(2, 3, 1, 2)
    hair = torch.tensor([0.30, 0.30 + 0.2 / 255]).view(1, 1, 1, 2).expand(2, 3, 1, 2)
    wide = torch.tensor([0.30, 0.40]).view(1, 1, 1, 2).expand(2, 3, 1, 2)

    def charge(margins: list[float]) -> float:
        torch.manual_seed(0)  # the same sampled pairs for every call
        return pixel_order_term(hair, low, wide, samples=64, margin=torch.tensor(margins)).item()

    assert 0 < charge([1 / 255, 0.0]) < charge([1 / 255, 1 / 255])
    assert 0 < charge([0.0, 1 / 255]) < charge([1 / 255, 1 / 255])
    assert charge([0.0, 0.0]) == 0.0


def test_pixel_order_term_takes_a_tolerance_per_image():
    """An image whose tolerance exceeds its input's gap (0.02) has no clear pair to charge."""
    low = torch.tensor([0.10, 0.12]).view(1, 1, 1, 2).expand(2, 3, 1, 2)
    flipped = torch.tensor([0.40, 0.30]).view(1, 1, 1, 2).expand(2, 3, 1, 2)
    wide = torch.tensor([0.30, 0.40]).view(1, 1, 1, 2).expand(2, 3, 1, 2)

    def charge(tolerances: list[float]) -> float:
        torch.manual_seed(0)
        return pixel_order_term(
            flipped, low, wide, samples=64, tolerance=torch.tensor(tolerances)
        ).item()

    assert 0 < charge([4 / 255, 0.05]) < charge([4 / 255, 4 / 255])
    assert charge([0.05, 0.05]) == 0.0
