"""UltraIS: `python main.py [PHOTO_OR_FOLDER...]` starts the desktop app (with those photos
open); `python main.py COMMAND ...` runs the CLI.

The first argument decides: a known subcommand or an option (`--help`, `--version`,
`--self-test`) goes to the CLI, anything else is a photo or folder to open ("Open with" in a
file manager passes paths the same way). A path that cannot be opened is an error (exit 2)
before any window appears. `--` ends the options, for a photo whose name starts with `-`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Hidden, for tests of the app and of the bundle: open the photos, exit once they decoded.
QUIT_AFTER_LOAD = "--quit-after-load"
USAGE_EXIT = 2  # as argparse exits on a usage error


@dataclass(frozen=True)
class Launch:
    """What a command line asks for: the GUI (with paths) or the CLI (with its arguments)."""

    kind: str  # "gui" | "cli" | "self-test"
    args: list[str] = field(default_factory=list)  # gui: photos and folders; cli: its argv
    quit_after_load: bool = False


def parse_launch(argv: Sequence[str], commands: Collection[str]) -> Launch:
    """Decide between the GUI and the CLI from the arguments alone (no file is looked at)."""
    # Finder on old macOS adds a process serial number argument to apps it starts.
    args = [a for a in argv if not a.startswith("-psn_")]
    quit_after_load = args[:1] == [QUIT_AFTER_LOAD]
    if quit_after_load:
        args = args[1:]
    if args[:1] == ["--"]:
        return Launch("gui", args[1:], quit_after_load)
    if args == ["--self-test"]:
        return Launch("self-test")
    if args and not quit_after_load and (args[0] in commands or args[0].startswith("-")):
        return Launch("cli", args)
    return Launch("gui", args, quit_after_load)


def command_names() -> frozenset[str]:
    """The CLI's subcommands, from its parser (so a new one is known here at once)."""
    from ultrais_core.cli import build_parser

    return frozenset(
        name
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    )


def open_problem(path: Path) -> str | None:
    """Why the app could not open `path` (one line), or None when it is a readable photo or
    folder. Only the header of a photo is read."""
    from ultrais_core.imageio import probe_image

    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            return "this folder cannot be read (permission denied)"
        return None
    if not path.exists():
        return "no such photo or folder"
    if not path.is_file():
        return "not a photo or a folder"
    try:
        probe_image(path)
    except Exception as error:  # ImageReadError, or anything the probe did not expect
        text = " ".join(str(error).split())
        prefix = f"Cannot read '{path}': "
        return text.removeprefix(prefix) or "cannot be read"
    return None


def bad_paths_message(problems: Sequence[tuple[str, str]], commands: Collection[str]) -> str:
    lines = [f"ultrais: cannot open {arg}: {reason}" for arg, reason in problems]
    arg = problems[0][0]
    if "/" not in arg and os.sep not in arg and not Path(arg).suffix:  # a mistyped command?
        lines.append(f"ultrais: {arg} is not a command either: {', '.join(sorted(commands))}")
    lines.append(
        "usage: ultrais [PHOTO_OR_FOLDER ...] starts the app with them; "
        "ultrais COMMAND ... runs a command (ultrais --help)"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    commands = command_names() if argv else frozenset()
    launch = parse_launch(argv, commands)
    if launch.kind == "self-test":
        from ultrais_core.selftest import run_self_test

        return run_self_test()
    if launch.kind == "cli":
        from ultrais_core.cli import main as cli_main

        return cli_main(launch.args)
    problems = [(arg, why) for arg in launch.args if (why := open_problem(Path(arg))) is not None]
    if problems:
        sys.stderr.write(bad_paths_message(problems, commands))
        return USAGE_EXIT
    from app.launch import run_gui

    paths = [Path(arg).absolute() for arg in launch.args]
    return run_gui(sys.argv[:1], paths=paths, quit_after_load=launch.quit_after_load)


if __name__ == "__main__":
    import multiprocessing

    # Batch workers are spawned processes; a frozen (PyInstaller) app must dispatch them here.
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:]))
