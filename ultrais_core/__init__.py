"""UltraIS core: model, engine, image I/O and training. Never imports Qt.

Importing this package is cheap and does not import torch, so the GUI can use the
error types and image I/O without pulling the model in.
"""

__version__ = "0.1.0"
