"""Progress bars for the command line that stay readable when redirected to a log file."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

# A terminal redraws one line in place; a log file keeps every redraw (tqdm writes '\r', not a
# new line), so a long training run would log ten updates a second. One a minute is plenty there.
LOG_INTERVAL_S = 60.0


def progress_bar(file: TextIO | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on ``file`` (stderr), redrawn at most once a minute unless it is a terminal."""
    stream = file if file is not None else sys.stderr
    if not _is_terminal(stream):
        kwargs.setdefault("mininterval", LOG_INTERVAL_S)
        kwargs.setdefault("maxinterval", LOG_INTERVAL_S * 2)
    return tqdm(file=stream, **kwargs)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or file-like without a descriptor
        return False
