"""optlayer.load / compile / generate: one code path, standalone modules, parameters by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import optlayer
from optlayer.runtime.parameters import ParameterError

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_load_builds_from_exactly_the_generated_source():
    layer = optlayer.load(EXAMPLES / "portfolio.opt", n=6)
    assert layer.generated_source == optlayer.generate(EXAMPLES / "portfolio.opt", n=6)
    assert type(layer).__name__ == "PortfolioLayer" and isinstance(layer, torch.nn.Module)
    assert "n = 12 variables" in str(layer.standard_form)


def test_compile_from_a_string():
    layer = optlayer.compile(
        "dimension n = 3\nparameter y[n]\nvariable x[n]\nminimize sum_squares(x - y)\nsubject to\n    x >= 0\n"
    )
    sol = layer(y=torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(sol.x, torch.tensor([1.0, 0.0, 3.0], dtype=torch.float64), atol=1e-7, rtol=0)
    assert type(layer).__name__ == "Layer"


def test_solution_attributes_and_batches():
    layer = optlayer.load(EXAMPLES / "portfolio.opt", n=4)
    mu = torch.randn(2, 3, 4, dtype=torch.float64)
    sol = layer(mu=mu, F=torch.eye(4, dtype=torch.float64), w0=torch.full((4,), 0.25, dtype=torch.float64))
    assert sol.w.shape == (2, 3, 4) and sol.duals["budget"].shape == (2, 3)
    assert sol.status.shape == (2, 3) and sol.objective.shape == (2, 3) and sol.iterations.shape == (2, 3)
    assert bool((sol.status == optlayer.Status.SOLVED).all()) and bool(sol.solved.all())
    torch.testing.assert_close(sol.w.sum(-1), torch.ones(2, 3, dtype=torch.float64))
    assert "w" in dir(sol) and sol["w"] is sol.w
    with pytest.raises(AttributeError, match="has no variable `v`"):
        _ = sol.v


def test_objective_is_the_model_objective_and_maximize_reports_the_maximum():
    layer = optlayer.compile("variable x\nmaximize -(x - 2) ** 2 + 3\n")
    sol = layer()
    assert float(sol.x) == pytest.approx(2.0, abs=1e-6) and float(sol.objective) == pytest.approx(3.0, abs=1e-8)


def test_learnables_cannot_be_passed():
    layer = optlayer.load(EXAMPLES / "sudoku.opt")
    with pytest.raises(ParameterError, match="`A` is a learnable"):
        layer(p=torch.zeros(64), A=torch.zeros(40, 64))


def test_unknown_dimension_is_an_opt_error():
    with pytest.raises(optlayer.OptError, match="no dimension `k`"):
        optlayer.load(EXAMPLES / "portfolio.opt", k=3)


def test_failed_elements_are_nan_and_warned():
    layer = optlayer.compile("parameter lo\nvariable x\nminimize x ** 2\nsubject to\n    lo <= x <= 1\n")
    with pytest.warns(RuntimeWarning, match="1 of 2 QPs were not solved \\(1 infeasible\\)"):
        sol = layer(lo=torch.tensor([0.5, 2.0], dtype=torch.float64))
    assert sol.status.tolist() == [optlayer.Status.SOLVED, optlayer.Status.INFEASIBLE]
    assert torch.isnan(sol.x[1]) and torch.isnan(sol.objective[1]) and float(sol.x[0]) == pytest.approx(0.5, abs=1e-7)


def test_written_module_runs_alone_in_a_fresh_interpreter(tmp_path):
    source = optlayer.generate(EXAMPLES / "mpc.opt", T=3)
    (tmp_path / "mpc_layer.py").write_text(source)
    script = (
        "import json, torch\n"
        "from mpc_layer import MpcLayer\n"
        f"p = json.load(open({str(EXAMPLES / 'mpc.json')!r}))\n"
        "sol = MpcLayer()(**{k: torch.tensor(v) for k, v in p.items()})\n"
        "print(int(sol.status), round(float(sol.objective), 8))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import json

    params = {k: torch.tensor(v) for k, v in json.loads((EXAMPLES / "mpc.json").read_text()).items()}
    expected = optlayer.load(EXAMPLES / "mpc.opt", T=3)(**params)
    assert result.stdout.split() == ["0", str(round(float(expected.objective), 8))]
