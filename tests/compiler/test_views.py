"""The views of a standard form: text, LaTeX, JSON, and `optlayer show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference import compile_text

from optlayer.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def mpc():
    return compile_text((EXAMPLES / "mpc.opt").read_text())


def test_text_shows_layout_rows_and_blocks(mpc):
    text = str(mpc)
    assert "n = 74 variables, m = 50 inequalities (G z <= h), p = 44 equalities (A z = b)" in text
    assert "z[0:44]  x  (4×11) variable, line 13" in text
    assert (
        "A[4:44]  line 20: constraint `dynamics: x[:, t + 1] == A @ x[:, t] + B @ u[:, t]` [dynamics], for t = 0…9 (10 iterations)"
        in text
    )
    assert "A[x] = -A    [4×4 per iteration ×10, parametric]" in text
    assert "Q[x; x] += 2 * Q" in text
    assert "h = u_max" in text


def test_latex_is_an_aligned_block(mpc):
    latex = mpc.latex()
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    assert latex.count("{") == latex.count("}")
    assert r"2 Q" in latex and r"u_{max}" in latex and "norm\\_inf" in latex


def test_dict_is_json_ready_with_row_tags(mpc):
    data = json.loads(json.dumps(mpc.to_dict()))
    assert data["sizes"] == {"n": 74, "m": 50, "p": 44}
    dynamics = next(r for r in data["rows"] if r["origin"]["label"] == "dynamics")
    assert (dynamics["matrix"], dynamics["start"], dynamics["stop"], dynamics["iterations"]) == ("A", 4, 44, 10)
    assert dynamics["origin"]["line"] == 20 and dynamics["origin"]["loop"]["indices"] == ["t"]
    assert dynamics["origin"]["loop"]["values"] == [[t] for t in range(10)]
    assert data["duals"]["dynamics"] == {"pieces": [["A", 4, 40, 1]], "shape": [4], "iterations": 10}
    assert any(b["expression"] == "-A" and b["variables"] == ["x"] for b in data["blocks"])


@pytest.mark.parametrize("form", ["text", "latex", "json"])
def test_show_command(form, capsys):
    assert main(["show", str(EXAMPLES / "portfolio.opt"), "-D", "n=4", "--format", form]) == 0
    out = capsys.readouterr().out
    if form == "json":
        assert json.loads(out)["sizes"]["n"] == 8
    elif form == "latex":
        assert r"\begin{aligned}" in out
    else:
        assert "z[0:4]  w  (4) variable" in out


def test_show_reports_convexity_errors(tmp_path, capsys):
    model = tmp_path / "bad.opt"
    model.write_text("parameter lam\nvariable x[2]\nminimize lam * norm1(x)\n")
    assert main(["show", str(model)]) == 1
    assert "declare `lam nonneg`" in capsys.readouterr().err


def test_check_runs_the_curvature_rules(tmp_path, capsys):
    model = tmp_path / "bad.opt"
    model.write_text("variable x[2]\nsubject to\n    norm1(x) >= 1\n")
    assert main(["check", str(model)]) == 1
    assert f"{model}:3:5: error: the larger side of `>=` must be concave" in capsys.readouterr().err
