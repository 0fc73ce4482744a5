"""`optlayer solve` and `optlayer compile`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optlayer.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize("model", ["portfolio", "mpc"])
def test_examples_solve_with_their_shipped_data(model, capsys):
    assert main(["solve", str(EXAMPLES / f"{model}.opt")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{EXAMPLES / model}.opt: solved in ") and "objective: " in out


def test_values_from_options_override_the_shipped_data(tmp_path, capsys):
    main(["solve", str(EXAMPLES / "portfolio.opt")])
    first = capsys.readouterr().out
    np.savez(tmp_path / "p.npz", gamma=np.array(50.0))
    assert main(["solve", str(EXAMPLES / "portfolio.opt"), "--params", str(tmp_path / "p.npz")]) == 0
    assert capsys.readouterr().out != first
    assert main(["solve", str(EXAMPLES / "portfolio.opt"), "-p", "gamma=50"]) == 0


def test_missing_parameter_is_reported(tmp_path, capsys):
    model = tmp_path / "m.opt"
    model.write_text("parameter y[2]\nvariable x[2]\nminimize sum_squares(x - y)\n")
    assert main(["solve", str(model)]) == 1
    assert "missing parameter `y`" in capsys.readouterr().err
    assert main(["solve", str(model), "-p", "y=[1, 2]"]) == 0
    assert "[1. 2.]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [(["-p", "y"], "NAME=VALUE"), (["-p", "y=[1,"], "JSON"), (["--params", "nothing.json"], "no such file")],
)
def test_bad_values_are_usage_errors(argv, phrase, tmp_path, capsys):
    model = tmp_path / "m.opt"
    model.write_text("parameter y[2]\nvariable x[2]\nminimize sum_squares(x - y)\n")
    assert main(["solve", str(model), *argv]) == 2
    assert phrase in capsys.readouterr().err


def test_infeasible_solve_exits_1(tmp_path, capsys):
    model = tmp_path / "m.opt"
    model.write_text("variable x\nminimize x\nsubject to\n    2 <= x <= 1\n")
    assert main(["solve", str(model)]) == 1
    assert "infeasible" in capsys.readouterr().out


def test_compile_writes_a_module_that_runs(tmp_path):
    out = tmp_path / "layer.py"
    assert main(["compile", str(EXAMPLES / "portfolio.opt"), "-o", str(out), "-D", "n=3"]) == 0
    script = "from layer import PortfolioLayer\nimport torch\nprint(PortfolioLayer()(mu=torch.ones(3), F=torch.eye(3), w0=torch.full((3,), 1 / 3)).w.sum().item())"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(1.0, abs=1e-5)


class _ClosedPipe:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


def test_a_closed_output_pipe_ends_quietly(monkeypatch, capsys):
    """`optlayer solve MODEL.opt | head -1`: no internal-error message when the reader leaves."""
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["solve", str(EXAMPLES / "portfolio.opt")]) == 141
    assert capsys.readouterr().err == ""
