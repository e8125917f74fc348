"""Training material for UltraIS: synthetic degradation, data sets and losses.

Modules here may import torch (``data`` and ``losses``); ``degrade`` is pure numpy so that
evaluation and tools can build test inputs without the deep-learning stack.
"""
