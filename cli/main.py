"""Dispatch ``render`` / ``fit`` sub-commands and turn every expected failure into one line."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from cli import fit_command, render_command
from cli.common import EXIT_ERROR, CliError, OneLineParser

COMMANDS = ("render", "fit")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; return the process exit code (0 ok, 1 error, 2 bad options, 130 Ctrl-C)."""
    parser = OneLineParser(prog="rasterlab", description="RasterLab command line (headless).")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    render_command.add_parser(subparsers)
    fit_command.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        sys.stderr.write(f"rasterlab {args.command}: error: {exc}\n")
        return EXIT_ERROR
