"""The Dual-Stream network and its blocks."""

from ultrais_core.model.network import (
    PRESETS,
    DSConfig,
    DualStreamNet,
    config_for,
    count_parameters,
)

__all__ = ["PRESETS", "DSConfig", "DualStreamNet", "config_for", "count_parameters"]
