"""UltraIS: `python main.py` starts the desktop app; `python main.py COMMAND ...` runs the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv:
        from app.main_window import run_app

        return run_app(sys.argv[:1])
    if argv == ["--self-test"]:
        from ultrais_core.selftest import run_self_test

        return run_self_test()
    from ultrais_core.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    import multiprocessing

    # Batch workers are spawned processes; a frozen (PyInstaller) app must dispatch them here.
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:]))
