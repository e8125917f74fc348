"""Develop settings: the sliders' maths, per-photo settings with undo, the library, the panel."""
