"""Generated code: vectorized over loops, standalone, importing only torch and optlayer.runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reference import compile_text

EXAMPLES = Path(__file__).parents[2] / "examples"


def statements(source: str) -> int:
    body = source[source.index("def qp_data") :]
    return sum(1 for line in body.splitlines() if line.strip() and not line.strip().startswith("#"))


def test_loops_become_a_fixed_number_of_operations():
    text = (EXAMPLES / "mpc.opt").read_text()
    short, long = compile_text(text, T=5).source(), compile_text(text, T=200).source()
    assert statements(short) == statements(long)
    body = short[short.index("def qp_data") :].splitlines()
    assert not any(line.strip().startswith(("for ", "while ")) for line in body)


def test_generated_module_runs_on_its_own(tmp_path):
    source = compile_text((EXAMPLES / "portfolio.opt").read_text(), n=3).source()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == [
        "import torch",
        "from optlayer.runtime import ops as _ops",
        "from optlayer.runtime.layer import DualSpec, QPLayer, VariableSpec",
        "from optlayer.runtime.parameters import ParameterSpec",
    ]
    (tmp_path / "portfolio_layer.py").write_text(source)
    script = (
        "import torch, portfolio_layer as m\n"
        "from optlayer.runtime.parameters import prepare\n"
        "p = prepare(m.PARAMETERS, {'mu': torch.ones(3), 'F': torch.eye(3)})\n"
        "Q, q, G, h, A, b, c = m.qp_data(p.values, p.dtype, p.device)\n"
        "print(tuple(Q.shape), tuple(G.shape), float(q[0]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(6, 6) (10, 6) -1.0"


def test_model_names_cannot_clash_with_generated_names():
    text = "parameter p\nparameter Q[2, 2] psd\nparameter A[1, 2]\nparameter b[1]\nvariable x[2]\nminimize quad_form(x, Q) + p * sum(x)\nsubject to\n    A @ x == b\n"
    sf = compile_text(text)
    Q, q, G, h, A, b = sf.evaluate(p=2.0, Q=[[2.0, 0.0], [0.0, 2.0]], A=[[1.0, 1.0]], b=[1.0])
    assert q.tolist() == [2.0, 2.0] and A.tolist() == [[1.0, 1.0]] and Q.tolist() == [[4.0, 0.0], [0.0, 4.0]]


def test_scalar_index_of_a_parameter_adds_no_batch_dimension():
    """p[0] is a 0-d index table; stored as shape (1,) it gave unbatched calls a batch of one."""
    text = (
        "dimension n = 3\nparameter p[n]\nparameter w[2] nonneg\nvariable x[n]\n"
        "minimize sum_squares(p[0] + x) + w[1] * sum_squares(x)\n"
    )
    sf = compile_text(text)
    p, w = [1.0, 2.0, 3.0], [0.5, 2.0]
    Q, q, G, h, A, b = sf.evaluate(p=p, w=w)
    assert tuple(Q.shape) == (3, 3) and tuple(q.shape) == (3,)
    assert q.tolist() == [2.0, 2.0, 2.0] and Q.diagonal().tolist() == [6.0, 6.0, 6.0]
    Q, q, *_ = sf.evaluate(p=[p, p], w=[w, w])
    assert tuple(Q.shape) == (2, 3, 3) and tuple(q.shape) == (2, 3)
