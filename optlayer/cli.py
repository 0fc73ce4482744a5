"""The `optlayer` command: check, show, compile and solve .opt models.

Exit status: 0 when all went well, 1 when a model has errors (every one is printed) or a
solve fails, 2 for a usage error (bad options, unreadable files), 141 when the reader of the
output went away (``optlayer show MODEL.opt | head``). A user's mistake never prints a
Python traceback; an internal error prints one line (and the traceback with OPTLAYER_DEBUG=1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from optlayer.errors import OptError
from optlayer.runtime.status import Status

from . import __version__, api
from .pipeline import read_source, standard_form

EXIT_OK, EXIT_MODEL_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141
"""As a shell reports a program stopped by SIGPIPE: the reader of the output went away."""


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
    except BrokenPipeError:  # `optlayer show MODEL.opt | head`: the reader has all it wanted
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:  # an optlayer bug: one line for the user, the traceback on request
        if os.environ.get("OPTLAYER_DEBUG"):
            traceback.print_exc()
        print(
            f"optlayer {args.command}: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in optlayer; set OPTLAYER_DEBUG=1 to see the traceback and please report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optlayer", description="Check, show, compile and solve parameterized QPs written in .opt files."
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
    show.add_argument(
        "--format", choices=("text", "latex", "json"), default="text", help="text (default), latex or json"
    )
    show.set_defaults(run=_show)

    compile_ = commands.add_parser(
        "compile", help="write the layer's Python module (imports only torch and optlayer.runtime)"
    )
    compile_.add_argument("file", metavar="MODEL.opt")
    compile_.add_argument("-o", "--output", required=True, metavar="LAYER.py", help="where to write the module")
    _add_dimensions(compile_)
    compile_.set_defaults(run=_compile)

    solve = commands.add_parser(
        "solve",
        help="solve a model for given parameter values and print the solution",
        description="Parameter values come from MODEL.json beside the model (if present), then "
        "--params, then -p, each overriding the ones before. Learnables keep their initial values "
        "(random initializations are seeded with 0).",
    )
    solve.add_argument("file", metavar="MODEL.opt")
    solve.add_argument(
        "-p",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value as JSON: 0.5, [1, 2], [[1, 0], [0, 1]]",
    )
    solve.add_argument("--params", metavar="FILE", help="parameter values from a .json object or a .npz archive")
    _add_dimensions(solve)
    solve.set_defaults(run=_solve)
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


def _compile(args: argparse.Namespace) -> int:
    _read(args.file)
    source = api.generate(args.file, **dimensions_of(args.dimensions))
    try:
        Path(args.output).write_text(source, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror}") from None
    print(f"wrote {args.output}")
    return EXIT_OK


def _solve(args: argparse.Namespace) -> int:
    _read(args.file)
    torch.manual_seed(0)
    layer = api.load(args.file, **dimensions_of(args.dimensions))
    values = parameter_values(Path(args.file), args.params, args.values)
    layer.warn_on_failure = False
    solution = layer(**values)
    print(format_solution(args.file, layer, solution))
    return EXIT_OK if bool(solution.solved.all()) else EXIT_MODEL_ERROR


def parameter_values(model: Path, params_file: str | None, assignments: Sequence[str]) -> dict[str, np.ndarray]:
    """Values from MODEL.json beside the model, then ``params_file``, then NAME=VALUE assignments."""
    values: dict[str, np.ndarray] = {}
    beside = model.with_suffix(".json")
    if beside.is_file():
        values.update(_values_file(beside))
    if params_file:
        values.update(_values_file(Path(params_file)))
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-p expects NAME=VALUE, got {item!r}")
        try:
            values[name.strip()] = np.asarray(json.loads(text), dtype=np.float64)
        except (json.JSONDecodeError, ValueError, TypeError):
            raise UsageError(
                f"-p {name.strip()}: the value must be a number or a JSON list of numbers, got {text!r}"
            ) from None
    return values


def _values_file(path: Path) -> dict[str, np.ndarray]:
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return {k: np.asarray(archive[k], dtype=np.float64) for k in archive.files}
        if path.suffix == ".json":
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise UsageError(f"{path}: expected a JSON object of parameter values")
            return {k: np.asarray(v, dtype=np.float64) for k, v in loaded.items()}
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(f"cannot read parameter values from {path}: {error}") from None
    raise UsageError(f"{path}: parameter files are .json or .npz")


def format_solution(filename: str, layer, solution) -> str:
    """The status, objective, variables and duals of a solution, for people."""
    status = solution.status.reshape(-1)
    names = [Status(int(s)).name.lower() for s in status]
    iterations = solution.iterations.reshape(-1).tolist()
    if status.numel() == 1:
        lines = [f"{filename}: {names[0]} in {iterations[0]} iterations"]
    else:
        lines = [f"{filename}: {names.count('solved')} of {len(names)} solved; status per element: {', '.join(names)}"]
    with np.printoptions(precision=6, suppress=True, linewidth=100, threshold=200):
        lines.append(f"objective: {np.array2string(solution.objective.detach().numpy())}")
        for spec in layer.VARIABLES:
            value = getattr(solution, spec.name).detach().numpy()
            lines += ["", f"{spec.name} {_shape(value.shape)}:", np.array2string(value)]
        for name, value in solution.duals.items():
            lines += ["", f"dual of {name} {_shape(tuple(value.shape))}:", np.array2string(value.detach().numpy())]
    return "\n".join(lines)


def _shape(shape: tuple[int, ...]) -> str:
    return "(scalar)" if not shape else str(tuple(shape)).replace(",)", ")")


def _read(path: str) -> str:
    """A model file's text; an unreadable file is a usage error (exit status 2)."""
    try:
        return read_source(path)
    except OptError as error:
        raise UsageError(error.message) from None
