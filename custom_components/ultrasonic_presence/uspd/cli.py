"""`uspd` command line: one sub-command per module in `uspd.commands`.

Each command module exposes `register(subparsers)` which adds its parser and sets
`func` (taking the parsed namespace, returning an exit code). Commands import their
heavy dependencies lazily so `uspd --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

# Modules under uspd.commands, in the order `uspd --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "analyze",
    "bench",
    "info",
    "simulate",
    "calibrate",
    "node",
    "probe",
)


class UserError(Exception):
    """A problem with the user's input: printed as one clear line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser; split out so tests can inspect it."""
    parser = argparse.ArgumentParser(
        prog="uspd",
        description="Ultrasonic Doppler presence engine: simulate, analyze, benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"uspd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f".commands.{name}", __package__)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except UserError as err:
        print(f"uspd {args.command}: error: {err}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
