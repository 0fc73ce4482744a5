"""The `optlayer` command: check and show .opt models.

Exit status: 0 when all went well, 1 when a model has errors (every one is printed),
2 for a usage error (bad options, unreadable files). A user's mistake never prints a
Python traceback; an internal error prints one line (and the traceback with OPTLAYER_DEBUG=1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence

from optlayer.errors import OptError

from . import __version__
from .pipeline import read_source, standard_form

EXIT_OK, EXIT_MODEL_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"optlayer {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OptError as error:
        print(error, file=sys.stderr)
        return EXIT_MODEL_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # an optlayer bug: one line for the user, the traceback on request
        if os.environ.get("OPTLAYER_DEBUG"):
            traceback.print_exc()
        print(
            f"optlayer {args.command}: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in optlayer; set OPTLAYER_DEBUG=1 to see the traceback and please report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optlayer", description="Check and show parameterized QPs written in .opt files."
    )
    parser.add_argument("--version", action="version", version=f"optlayer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="parse and check models; print every error found")
    check.add_argument("files", nargs="+", metavar="MODEL.opt")
    _add_dimensions(check)
    check.set_defaults(run=_check)

    show = commands.add_parser("show", help="print the QP standard form a model becomes")
    show.add_argument("file", metavar="MODEL.opt")
    _add_dimensions(show)
    show.add_argument("--format", choices=("text", "latex", "json"), default="text", help="text (default), latex or json")
    show.set_defaults(run=_show)
    return parser


def _add_dimensions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-D",
        dest="dimensions",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a dimension, overriding its default (repeatable)",
    )


def dimensions_of(assignments: Sequence[str]) -> dict[str, int]:
    """``["n=5", "T=10"]`` → ``{"n": 5, "T": 10}``; refuses malformed items."""
    dimensions: dict[str, int] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-D expects NAME=VALUE, got {item!r}")
        try:
            dimensions[name.strip()] = int(value)
        except ValueError:
            raise UsageError(f"-D {name.strip()} needs an integer value, got {value!r}") from None
    return dimensions


def _check(args: argparse.Namespace) -> int:
    dimensions = dimensions_of(args.dimensions)
    status = EXIT_OK
    for path in args.files:
        try:
            text = read_source(path)
        except OptError as error:
            print(f"optlayer check: error: {error.message}", file=sys.stderr)
            status = max(status, EXIT_USAGE)
            continue
        try:
            standard_form(text, path, dimensions)
        except OptError as error:
            print(error, file=sys.stderr)
            status = max(status, EXIT_MODEL_ERROR)
        else:
            print(f"{path}: ok")
    return status


def _show(args: argparse.Namespace) -> int:
    sf = standard_form(_read(args.file), args.file, dimensions_of(args.dimensions))
    if args.format == "json":
        print(json.dumps(sf.to_dict(), indent=2))
    elif args.format == "latex":
        print(sf.latex())
    else:
        print(sf)
    return EXIT_OK


def _read(path: str) -> str:
    """A model file's text; an unreadable file is a usage error (exit status 2)."""
    try:
        return read_source(path)
    except OptError as error:
        raise UsageError(error.message) from None
