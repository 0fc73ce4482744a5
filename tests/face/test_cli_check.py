"""`optlayer check`: exit codes, messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from optlayer.cli import main

EXAMPLES = sorted(str(p) for p in Path(__file__).parents[2].joinpath("examples").glob("*.opt"))


def test_examples_are_ok(capsys):
    assert main(["check", *EXAMPLES]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == len(EXAMPLES)


def test_errors_exit_1_with_every_message(tmp_path, capsys):
    bad = tmp_path / "bad.opt"
    bad.write_text("dimension n = 3\nvariable x[n]\nminimize sum(y)\nsubject to\n    x[3] >= 0\n")
    good = tmp_path / "good.opt"
    good.write_text("variable x\nminimize x\nsubject to\n    x >= 1\n")
    assert main(["check", str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:3:14: error: unknown name `y`" in captured.err
    assert f"{bad}:5:7: error: index 3 is out of range" in captured.err
    assert f"{good}: ok" in captured.out


def test_missing_file_is_one_line(capsys):
    assert main(["check", "no_such_model.opt"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "optlayer check: error: no such file: no_such_model.opt"


def test_dimensions_on_the_command_line(tmp_path, capsys):
    model = tmp_path / "m.opt"
    model.write_text("dimension n\nvariable x[n]\nminimize sum(x)\nsubject to\n    x >= 0\n")
    assert main(["check", str(model)]) == 1
    assert "dimension `n` has no value" in capsys.readouterr().err
    assert main(["check", "-D", "n=4", str(model)]) == 0


@pytest.mark.parametrize(
    "argv", [[], ["check"], ["check", "-D", "n", "x.opt"], ["check", "-D", "n=four", "x.opt"], ["frobnicate"]]
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        code = main(argv)
        raise SystemExit(code)
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_installed_command_runs(tmp_path):
    model = tmp_path / "m.opt"
    model.write_text("variable x\nminimize x\nsubject to\n    x >= 1\n")
    command = [str(Path(sys.executable).with_name("optlayer")), "check", str(model)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, f"{model}: ok")
