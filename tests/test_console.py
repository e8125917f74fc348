"""Progress bars redraw rarely when their output is a log file, as usual on a terminal."""

from __future__ import annotations

import io

from ultrais_core.console import LOG_INTERVAL_S, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_redirected_bar_redraws_at_most_once_a_minute():
    log = io.StringIO()
    with progress_bar(file=log, total=1000) as bar:
        assert bar.mininterval == LOG_INTERVAL_S
        for _ in range(1000):
            bar.update(1)
    # The first draw, the final one on close: not a line per update.
    assert log.getvalue().count("\r") <= 3


def test_a_terminal_bar_keeps_tqdms_pace():
    with progress_bar(file=_Terminal(), total=10) as bar:
        assert bar.mininterval < 1
