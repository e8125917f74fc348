"""One test per block of the DS network: shapes, gradients, odd sizes, frozen extractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ultrais_core.model import DSConfig, DualStreamNet, config_for, count_parameters
from ultrais_core.model.attention import (
    ISDM,
    ModulationUnit,
    WindowedChannelCrossAttention,
    overlapping_window_attention,
)
from ultrais_core.model.guidance import (
    CONTEXT_FEATURES,
    gaussian_kernel1d,
    illumination_guidance,
    photo_context,
)
from ultrais_core.model.layers import GatedFeedForward, LayerNorm2d, LocalBlock
from ultrais_core.model.rsmu import RSMU
from ultrais_core.model.semantic import SemanticExtractor


def learn_one_step(module: torch.nn.Module, loss: torch.Tensor) -> None:
    """One SGD step. The layer that emits the residual starts at zero (network.zero_output_layer),
    so the first backward pass only reaches that layer; after a step, gradients reach all."""
    loss.backward()
    with torch.no_grad():
        for p in module.parameters():
            if p.grad is not None:
                p -= 0.1 * p.grad
                p.grad = None


def assert_all_parameters_have_gradients(module: torch.nn.Module) -> None:
    missing = [
        name
        for name, p in module.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))
    ]
    assert not missing, f"no gradient reached: {missing}"


def test_layernorm_normalises_each_pixel_over_channels() -> None:
    x = torch.randn(2, 6, 5, 7) * 3 + 2
    y = LayerNorm2d(6)(x)
    assert y.shape == x.shape
    assert torch.allclose(y.mean(dim=1), torch.zeros(2, 5, 7), atol=1e-5)
    assert torch.allclose(y.var(dim=1, unbiased=False), torch.ones(2, 5, 7), atol=1e-3)


@pytest.mark.parametrize("block", [GatedFeedForward(12), LocalBlock(12)])
def test_local_blocks_keep_shape_and_train(block: torch.nn.Module) -> None:
    x = torch.randn(2, 12, 9, 13)
    y = block(x)
    assert y.shape == x.shape
    y.square().mean().backward()
    assert_all_parameters_have_gradients(block)


@pytest.mark.parametrize("size", [(16, 16), (13, 29), (7, 5), (33, 8)])
def test_windowed_attention_on_odd_and_non_square_sizes(size: tuple[int, int]) -> None:
    attention = WindowedChannelCrossAttention(channels=8, context_channels=6, heads=2, window=8)
    x = torch.randn(2, 8, *size, requires_grad=True)
    context = torch.randn(2, 6, *size)
    y = attention(x, context)
    assert y.shape == x.shape
    y.square().mean().backward()
    assert_all_parameters_have_gradients(attention)


def test_windowed_attention_reaches_only_its_overlapping_windows() -> None:
    """Changing the context far away must not change the output: that is what makes tiles
    agree with the whole photo. Windows are 16 px wide at a stride of 8."""
    torch.manual_seed(0)
    attention = WindowedChannelCrossAttention(channels=8, context_channels=8, heads=2, window=8)
    x = torch.randn(1, 8, 16, 48)
    context = torch.randn(1, 8, 16, 48)
    changed = context.clone()
    changed[..., 32:] += 5.0
    with torch.no_grad():
        a, b = attention(x, context), attention(x, changed)
    # The depthwise conv spreads the change to column 31; windows holding it start at 16.
    assert torch.equal(a[..., :16], b[..., :16])
    assert not torch.allclose(a[..., 32:], b[..., 32:])


def tent_weights(stride: int) -> torch.Tensor:
    """2w x 2w bilinear weights of one window: rising (i + 0.5) / w, then falling."""
    i = torch.arange(2 * stride, dtype=torch.float32)
    ramp = torch.where(i < stride, (i + 0.5) / stride, 1 - (i - stride + 0.5) / stride)
    return ramp[:, None] * ramp[None, :]


def direct_window_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, stride: int, temperature
) -> torch.Tensor:
    """The definition, window by window: every 2w window starting on a multiple of w (from
    -w), zero outside the photo, attention over its pixels, tent-weighted into the output."""
    n, c, height, width = q.shape
    size = 2 * stride
    pad = (stride, size, stride, size)
    padded_size = (height + stride + size, width + stride + size)
    q, k, v = (
        torch.nn.functional.pad(t, pad).reshape(n, heads, c // heads, *padded_size)
        for t in (q, k, v)
    )
    out = torch.zeros_like(v)
    tent = tent_weights(stride)
    for top in range(0, height + stride, stride):
        for left in range(0, width + stride, stride):
            window = (..., slice(top, top + size), slice(left, left + size))
            qw, kw, vw = (t[window].flatten(-2) for t in (q, k, v))
            qw = torch.nn.functional.normalize(qw, dim=-1)
            kw = torch.nn.functional.normalize(kw, dim=-1)
            attention = (qw @ kw.transpose(-2, -1) * temperature.view(1, heads, 1, 1)).softmax(-1)
            out[window] += (attention @ vw).unflatten(-1, (size, size)) * tent
    out = out.reshape(n, c, *out.shape[-2:])
    return out[..., stride : stride + height, stride : stride + width]


@pytest.mark.parametrize(("heads", "size"), [(1, (16, 16)), (2, (13, 29)), (4, (40, 24))])
def test_block_statistics_attention_equals_the_window_by_window_definition(
    heads: int, size: tuple[int, int]
) -> None:
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 8, *size) for _ in range(3))
    temperature = torch.rand(heads) * 3 + 0.5
    expected = direct_window_attention(q, k, v, heads, 4, temperature)
    got = overlapping_window_attention(q, k, v, heads=heads, stride=4, temperature=temperature)
    assert torch.allclose(got, expected, atol=1e-5)


def test_tent_weights_of_overlapping_windows_sum_to_one() -> None:
    stride = 4
    tent = tent_weights(stride)
    assert tent.shape == (8, 8)
    total = torch.zeros(40, 40)
    for top in range(0, 33, stride):
        for left in range(0, 33, stride):
            total[top : top + 8, left : left + 8] += tent
    inner = total[stride:-stride, stride:-stride]
    assert torch.allclose(inner, torch.ones_like(inner))


def test_attention_has_no_steps_at_window_borders() -> None:
    """On a smooth input the output must be smooth too: the jump across a window border is
    no larger than the jumps inside windows (non-overlapping windows failed this)."""
    torch.manual_seed(0)
    attention = WindowedChannelCrossAttention(channels=8, context_channels=8, heads=1, window=8)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 64), indexing="ij")
    field = torch.stack([torch.sin(3 * xs + i) * torch.cos(2 * ys - i) for i in range(8)])
    with torch.no_grad():
        out = attention(field[None], (field * 0.5 + ys)[None])
    steps = (out[..., 1:] - out[..., :-1]).abs().amax(dim=(0, 1, 2))
    border_steps = steps[7::8]  # between columns 8k-1 and 8k
    inner_steps = torch.cat([steps[i::8] for i in range(7)])
    assert border_steps.max() <= 1.5 * inner_steps.max()


def test_windowed_attention_rejects_heads_that_do_not_divide_channels() -> None:
    with pytest.raises(ValueError, match="divisible"):
        WindowedChannelCrossAttention(channels=10, context_channels=4, heads=3, window=8)


def test_modulation_unit_and_isdm_shapes_and_gradients() -> None:
    unit = ModulationUnit(channels=8, context_channels=4, heads=2, window=4)
    isdm = ISDM(channels=8, illumination_channels=4, semantic_channels=6, heads=2, window=4)
    r, i, s = torch.randn(1, 8, 10, 6), torch.randn(1, 4, 10, 6), torch.randn(1, 6, 10, 6)
    assert unit(r, i).shape == r.shape
    out = isdm(r, i, s)
    assert out.shape == r.shape
    out.square().mean().backward()
    assert_all_parameters_have_gradients(isdm)


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("size", [(8, 8), (9, 14), (5, 3)])
def test_rsmu_gives_exactly_scale_times_the_size(scale: int, size: tuple[int, int]) -> None:
    upsampler = RSMU(in_channels=6, out_channels=4, scale=scale)
    x = torch.randn(2, 6, *size)
    learn_one_step(upsampler, upsampler(x).square().mean() - upsampler(x).mean())
    y = upsampler(x)
    # The x4 upsampler's light second stage halves the channels (see rsmu).
    assert upsampler.out_channels == (3 if scale == 4 else 4)
    assert y.shape == (2, upsampler.out_channels, size[0] * scale, size[1] * scale)
    y.square().mean().backward()
    assert_all_parameters_have_gradients(upsampler)


def test_rsmu_rejects_other_scales() -> None:
    with pytest.raises(ValueError, match="scale"):
        RSMU(in_channels=4, out_channels=4, scale=3)


def test_illumination_guidance_is_a_smoothed_channel_maximum() -> None:
    x = torch.zeros(1, 3, 21, 21)
    x[0, 2, 10, 10] = 1.0  # a single blue point
    guidance = illumination_guidance(x, gaussian_kernel1d(2.0))
    assert guidance.shape == (1, 1, 21, 21)
    assert guidance[0, 0, 10, 10] == guidance.max()
    assert 0 < guidance[0, 0, 10, 10] < 1  # spread out by the blur
    assert torch.isclose(guidance.sum(), torch.tensor(1.0), atol=1e-4)


def test_photo_context_tracks_exposure_and_colour() -> None:
    dark = torch.full((1, 3, 40, 60), 0.02)
    bright = torch.full((1, 3, 40, 60), 0.5)
    warm = bright * torch.tensor([1.0, 0.8, 0.5]).view(1, 3, 1, 1)
    c_dark, c_bright, c_warm = (photo_context(t) for t in (dark, bright, warm))
    assert c_dark.shape == (1, CONTEXT_FEATURES)
    assert c_dark[0, 0] < c_bright[0, 0]  # log mean luminance
    assert c_warm[0, 5] > 0 > c_warm[0, 6]  # R/G above 1, B/G below 1


def test_semantic_extractor_is_frozen_and_gets_no_gradient(tiny_config: dict) -> None:
    model = DualStreamNet(scale=2, **tiny_config)
    model.train()
    assert not model.semantic.training
    out = model(torch.rand(1, 3, 20, 20) * 0.2)
    out.mean().backward()
    for name, p in model.semantic.named_parameters():
        assert not p.requires_grad and p.grad is None, name


def test_semantic_extractor_features_per_level() -> None:
    extractor = SemanticExtractor(widths=(8, 12))
    features = extractor(torch.rand(1, 3, 16, 24))
    assert [tuple(f.shape) for f in features] == [(1, 8, 8, 12), (1, 12, 4, 6)]


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("size", [(20, 20), (17, 43)])
def test_network_output_size_and_every_trainable_parameter_learns(
    scale: int, size: tuple[int, int], tiny_config: dict
) -> None:
    torch.manual_seed(0)
    model = DualStreamNet(scale=scale, **tiny_config)
    x = torch.rand(2, 3, *size) * 0.2
    rendering = model.forward_with_illumination(x)
    out, illumination = rendering.output, rendering.illumination
    assert rendering.base.shape == out.shape
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert illumination.shape == (2, 1, *size)
    assert torch.all(illumination >= model.config.min_illumination)
    assert torch.all(illumination <= 1)
    learn_one_step(model, (out - 0.5).square().mean())
    out = model.forward_with_illumination(x).output
    (out - 0.5).square().mean().backward()
    assert_all_parameters_have_gradients(model)


def test_presets_build_and_large_is_larger() -> None:
    small = DualStreamNet(config_for("small", 2))
    large = DualStreamNet(config_for("large", 2))
    assert count_parameters(large) > 2 * count_parameters(small)
    assert small.size_multiple == 32


def test_config_validation_names_the_problem() -> None:
    with pytest.raises(ValueError, match="one entry per level"):
        DSConfig(widths=(8, 16), heads=(1,))
    with pytest.raises(ValueError, match="scale"):
        DSConfig(scale=3)
    with pytest.raises(TypeError):
        DualStreamNet(DSConfig(), scale=2)


def test_dark_input_is_brightened_by_the_night_curve(tiny_config: dict) -> None:
    """Before any training, the guidance prior and the initial curve strength alone must lift a
    dark photo's exposure."""
    model = DualStreamNet(scale=1, **tiny_config).eval()
    x = torch.rand(1, 3, 32, 32) * 0.05
    with torch.no_grad():
        _, reflection, light, _ = model.decompose(x, photo_context(x))
    assert (reflection * light).mean() > 5 * x.mean()


@pytest.mark.parametrize("brightness", [0.02, 0.3, 1.0])
def test_rendered_base_never_clips_and_keeps_hue(tiny_config: dict, brightness: float) -> None:
    """The base is bounded by construction (illumination >= the pixel's max channel), whatever
    the learnt toe and strength: random weights, a strong strength, bright pixels."""
    torch.manual_seed(1)
    model = DualStreamNet(scale=1, **tiny_config).eval()
    with torch.no_grad():
        model.strength[2].bias.fill_(5.0)  # k = e^5: a very strong lift
        for p in model.toe.parameters():
            p.normal_(0, 1.0)  # a wild toe
    x = torch.rand(2, 3, 32, 32) * brightness
    with torch.no_grad():
        illumination, reflection, light, _ = model.decompose(x, photo_context(x))
    base = reflection * light
    assert torch.all(illumination >= x.amax(dim=1, keepdim=True))
    assert torch.all(reflection <= 1 + 1e-6)
    assert base.max() <= model.config.white_level + 1e-6
    # One gain per pixel for all three channels: the input's hue survives.
    gain = base / x.clamp_min(1e-4)
    spread = (gain.amax(dim=1) - gain.amin(dim=1))[x.amin(dim=1) > 1e-3]
    assert spread.max() < 1e-3 * gain.max()


def add_below_ceiling(base: torch.Tensor, residual: torch.Tensor, ceiling: float) -> torch.Tensor:
    """The network's sum of base and residual, folded under the ceiling (without the light)."""
    from ultrais_core.model.network import ceiling_factor

    output = base + residual
    return output * ceiling_factor(base, output, ceiling)


def test_residual_is_folded_below_the_ceiling() -> None:
    levels = torch.tensor([0.0, 0.5, 0.96, 0.97])
    base = levels.view(1, 1, 4, 1).expand(1, 3, 4, 1).clone()
    big = torch.full_like(base, 5.0)
    assert torch.all(add_below_ceiling(base, big, 0.97) <= 0.97 + 2e-4)  # float rounding
    small = torch.full_like(base, 1e-3)
    np.testing.assert_allclose(
        add_below_ceiling(base[:, :, :2], small[:, :, :2], 0.97), base[:, :, :2] + 1e-3, atol=1e-6
    )
    negative = torch.full_like(base, -0.2)
    np.testing.assert_allclose(add_below_ceiling(base, negative, 0.97), base - 0.2, atol=1e-6)


def test_fold_keeps_the_hue_of_a_saturated_highlight() -> None:
    """A warm highlight near the ceiling lifted by a neutral residual keeps its channel ratios:
    the fold scales the pixel as a whole (a per-channel fold would lift green and blue while
    red sits at the ceiling, bleaching it towards white)."""
    base = torch.tensor([0.90, 0.50, 0.20]).view(1, 3, 1, 1)
    lifted = add_below_ceiling(base, torch.full_like(base, 0.3), 0.97)
    assert lifted.max() <= 0.97
    summed = base + 0.3
    np.testing.assert_allclose(lifted / lifted.amax(), summed / summed.amax(), atol=1e-6)


@pytest.mark.parametrize("toe_bias", [-8.0, 0.0, 8.0])
@pytest.mark.parametrize("strength_bias", [0.0, 3.0, 6.0])
def test_rendered_lightness_rises_with_the_input(
    tiny_config: dict, toe_bias: float, strength_bias: float
) -> None:
    """Lightness order by construction: along a ramp from black to white, the rendered base's
    brightest channel never falls, whatever the photo-wide toe and curve strength."""
    model = DualStreamNet(scale=1, **tiny_config).eval()
    with torch.no_grad():
        model.toe[2].bias.fill_(toe_bias)
        model.strength[2].bias.fill_(strength_bias)
    ramp = torch.linspace(0, 1, 256).view(1, 1, 1, -1).expand(1, 3, 8, 256).contiguous()
    with torch.no_grad():
        _, reflection, light, _ = model.decompose(ramp, photo_context(ramp))
    lightness = (reflection * light).amax(dim=1)
    assert torch.all(lightness.diff(dim=-1) >= -1e-6)
    assert torch.all(lightness[..., -1] > lightness[..., 1])
