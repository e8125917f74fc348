"""The project's error types: every failure a user sees is one of these, with a readable message."""

from __future__ import annotations

from pathlib import Path


class UltraISError(Exception):
    """Base class: the message is one line a user can read."""


class ImageReadError(UltraISError):
    """A file could not be read as an image (missing, corrupt, truncated, unsupported, huge)."""


class ImageWriteError(UltraISError):
    """An output could not be written; no partial file is left behind."""


class OutputExistsError(ImageWriteError):
    """The output file exists and replacing it was not asked for; `path` names it.

    Its message is the Python API's (`overwrite=True`); the CLI and the GUI say it in their
    own words (`--overwrite`, a Replace button)."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class WeightsError(UltraISError):
    """A weights file is missing, truncated, or does not match the network it claims to hold."""


class OutOfMemoryError(UltraISError):
    """The job did not fit in memory even at the smallest tile size."""


class Cancelled(UltraISError):
    """The caller asked to stop; raised between tiles."""
