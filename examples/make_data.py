"""Write the parameter files that `optlayer solve` reads beside the example models.

    python examples/make_data.py

Every value is generated here from a fixed seed: nothing is downloaded. `optlayer solve
examples/NAME.opt` reads examples/NAME.json when it exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def portfolio(rng: np.random.Generator) -> dict:
    n = 20
    F = np.diag(rng.uniform(0.05, 0.15, size=n)) + 0.1 * rng.normal(size=(n, n)) / np.sqrt(n)
    return {"mu": rng.normal(0.05, 0.03, size=n), "F": F, "w0": np.full(n, 1 / n), "gamma": 2.0}


def mpc(rng: np.random.Generator) -> dict:
    nx, nu = 4, 2
    A = np.eye(nx) + 0.1 * rng.normal(size=(nx, nx))
    return {
        "A": A,
        "B": rng.normal(size=(nx, nu)),
        "x_init": rng.normal(size=nx),
        "Q": np.eye(nx),
        "R": 0.1 * np.eye(nu),
        "u_max": 1.0,
    }


def lasso(rng: np.random.Generator) -> dict:
    m, n = 50, 20
    X = rng.normal(size=(m, n))
    beta = np.where(rng.uniform(size=n) < 0.3, rng.normal(size=n), 0.0)
    return {"X": X, "y": X @ beta + 0.1 * rng.normal(size=m), "lam": 0.1}


def svm(rng: np.random.Generator) -> dict:
    m, d = 40, 5
    X = rng.normal(size=(m, d))
    return {"X": X, "y": np.sign(X @ rng.normal(size=d) + 0.2 * rng.normal(size=m)), "C": 1.0}


def tv_denoising(rng: np.random.Generator) -> dict:
    n = 100
    signal = np.repeat(rng.uniform(10, 100, size=5), n // 5)
    return {"y": signal + rng.normal(scale=10, size=n), "lam": 5.0}


def simplex_projection(rng: np.random.Generator) -> dict:
    return {"y": rng.normal(size=10)}


def transport(rng: np.random.Generator) -> dict:
    return {"cost": rng.uniform(1, 5, size=(4, 6)), "supply": np.full(4, 3.0), "demand": np.full(6, 1.5)}


def main() -> None:
    for make in (portfolio, mpc, lasso, svm, tv_denoising, simplex_projection, transport):
        values = make(np.random.default_rng(0))
        path = HERE / f"{make.__name__}.json"
        path.write_text(
            json.dumps({k: np.round(np.asarray(v), 6).tolist() for k, v in values.items()}, indent=1) + "\n"
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
