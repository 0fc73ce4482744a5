"""Smoke runs of the benchmark scripts on tiny configurations, the way a user runs them (a
subprocess per script): they finish, and what they print is sane. The full runs are by hand
(bench/README.md); no test here looks at a timing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse

BENCH = Path(__file__).parents[2] / "bench"


def run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _row(output: str, name: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.strip().startswith(name + " "))


def test_solver_speed_per_peer_and_interleaved():
    alone = run("solver_speed.py", "--size", "4", "3", "1", "2", "--peers", "optlayer", "--repeats", "1")
    row = _row(alone, "optlayer")
    assert row[-2:] == ["statuses", "[0]"] and row[-3].endswith("GB")
    assert float(row[5]) < 1e-6  # max |z - z*| against Clarabel
    both = run(
        "solver_speed.py",
        "--size",
        "4",
        "3",
        "1",
        "2",
        "--peers",
        "optlayer",
        "cvxpylayers",
        "--repeats",
        "2",
        "--interleave",
    )
    assert "peers interleaved" in both
    ours, theirs = _row(both, "optlayer"), _row(both, "cvxpylayers")
    assert float(ours[5]) < 1e-6 and float(theirs[5]) < 1e-2
    assert ours[7] == theirs[7] == "-"  # no peak memory when interleaved


def test_maros_meszaros_on_a_problem_in_the_collection_format(tmp_path):
    """HS21 written as the collection stores it: l <= A x <= u, the last n rows the box bounds."""
    scipy.io.savemat(
        tmp_path / "HS21.mat",
        dict(
            n=np.array([[2.0]]),
            m=np.array([[3.0]]),
            P=scipy.sparse.csc_matrix(np.diag([0.02, 2.0])),
            q=np.zeros((2, 1)),
            r=np.array([[-100.0]]),
            A=scipy.sparse.csc_matrix(np.array([[10.0, -1.0], [1.0, 0.0], [0.0, 1.0]])),
            l=np.array([[10.0], [2.0], [-50.0]]),
            u=np.array([[1e20], [50.0], [50.0]]),
        ),
    )
    output = run("maros_meszaros.py", str(tmp_path), "--no-qpth")
    for level in ("1e-03", "1e-06", "1e-09"):
        assert re.search(rf"{level}: 1/1 = 100.0 %", output), output


def test_float32_agreement():
    output = run("float32_agreement.py", "--sizes", "5", "--batch", "1")
    row = _row(output, "5")
    assert int(row[1]) > 0 and int(row[2]) == 0  # elements, disagreements


def test_frontend_compile_and_layer_speed():
    assert "parse and check: median" in run(
        "frontend_speed.py", "--lines", "40", "--constraints", "10", "--repeat", "1"
    )
    assert _row(run("compile_speed.py", "--horizons", "3", "--no-cvxpylayers"), "3")[1] == "63"  # z size at T = 3
    layers = run("layer_speed.py", "--batch", "2", "--repeat", "1", "--no-cvxpylayers")
    assert _row(layers, "portfolio")[-1].endswith("%") and _row(layers, "mpc")[-1].endswith("%")
