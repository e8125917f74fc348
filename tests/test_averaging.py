"""The exponential moving average of the weights used for validation and shipping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ultrais_core.training.averaging import WeightAverage


def _layer(value: float) -> nn.Module:
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.fill_(value)
        layer.bias.fill_(value)
    return layer


def test_the_average_moves_a_decay_fraction_towards_the_weights():
    model = _layer(0.0)
    average = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(1.0)
    average.update(model, step=10_000)  # past the ramp: decay 0.9
    assert torch.allclose(average.model.weight, torch.full((2, 2), 0.1))
    assert torch.allclose(average.model.bias, torch.zeros(2))


def test_early_steps_follow_the_weights_closely():
    model = _layer(0.0)
    average = WeightAverage(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    average.update(model, step=0)  # decay 1/10
    assert torch.allclose(average.model.weight, torch.full((2, 2), 0.9))


def test_the_average_is_a_separate_frozen_copy():
    model = _layer(0.5)
    average = WeightAverage(model)
    assert all(not p.requires_grad for p in average.model.parameters())
    assert average.model.weight.data_ptr() != model.weight.data_ptr()
    with pytest.raises(ValueError):
        WeightAverage(model, decay=1.0)
