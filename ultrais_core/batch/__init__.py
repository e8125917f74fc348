"""Batch processing: whole folders of photos, resumable, on one machine or on a Ray cluster.

`python main.py batch SRC -o DST --scale 2` walks SRC (`planner`), records one row per photo in
an SQLite manifest in DST (`manifest`), and runs the photos on a pool of worker processes
(`runner`) or on Ray actors (`ray_runner`); both run the same per-photo pipeline (`work`).

Importing this package, `cli`, `manifest` or `planner` does not import torch: the engine is
loaded in the workers only.
"""
