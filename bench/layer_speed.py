"""Generated layers at batch 128: how much of a forward pass is building the QP data, and
how long building a layer takes against cvxpylayers for the same model.

    python bench/layer_speed.py [--batch 128] [--repeat 5] [--no-cvxpylayers]

Models: examples/portfolio.opt with n = 100 and examples/mpc.opt with T = 20. The data
share is the median time of the generated qp_data (parameters to Q, q, G, h, A, b) over
the median time of the whole forward pass (checks, data, solve, read-back), in one run.
Layer construction is timed warm for both tools (after one construction that pays for
imports and, for optlayer, building the parser's tables).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import optlayer
from optlayer.runtime.parameters import prepare

EXAMPLES = Path(__file__).parents[1] / "examples"


def portfolio_parameters(batch: int, n: int = 100) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    F = torch.randn(batch, n, n, generator=g, dtype=torch.float64) / n**0.5
    return {
        "mu": 0.05 + 0.02 * torch.randn(batch, n, generator=g, dtype=torch.float64),
        "F": F,
        "w0": torch.full((n,), 1 / n, dtype=torch.float64),
    }


def mpc_parameters(batch: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    nx, nu = 4, 2
    A = torch.eye(nx, dtype=torch.float64) + 0.1 * torch.randn(batch, nx, nx, generator=g, dtype=torch.float64)
    return {
        "A": A,
        "B": torch.randn(batch, nx, nu, generator=g, dtype=torch.float64),
        "x_init": torch.randn(batch, nx, generator=g, dtype=torch.float64),
        "Q": torch.eye(nx, dtype=torch.float64),
        "R": 0.1 * torch.eye(nu, dtype=torch.float64),
        "u_max": torch.tensor(1.0, dtype=torch.float64),
    }


def median_time(function, repeat: int) -> float:
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def share(layer, params: dict, repeat: int) -> tuple[float, float]:
    def data():
        prepared = prepare(layer.PARAMETERS, params, check_contracts=layer.check_contracts)
        return layer.qp_data(prepared.values, prepared.dtype, prepared.device)

    return median_time(data, repeat), median_time(lambda: layer(**params), repeat)


def cvxpylayers_portfolio(n: int) -> float:
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer

    start = time.perf_counter()
    mu, F, w0 = cp.Parameter(n), cp.Parameter((n, n)), cp.Parameter(n)
    w = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(F @ w) - mu @ w), [cp.sum(w) == 1, w >= 0, cp.norm1(w - w0) <= 0.5])
    CvxpyLayer(problem, parameters=[mu, F, w0], variables=[w])
    return time.perf_counter() - start


def cvxpylayers_mpc(T: int) -> float:
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer

    nx, nu = 4, 2
    start = time.perf_counter()
    A, B, x0 = cp.Parameter((nx, nx)), cp.Parameter((nx, nu)), cp.Parameter(nx)
    Qh, Rh, u_max = cp.Parameter((nx, nx)), cp.Parameter((nu, nu)), cp.Parameter(nonneg=True)
    x, u = cp.Variable((nx, T + 1)), cp.Variable((nu, T))
    cost = sum(cp.sum_squares(Qh @ x[:, t]) for t in range(1, T + 1)) + sum(
        cp.sum_squares(Rh @ u[:, t]) for t in range(T)
    )
    constraints = [x[:, 0] == x0]
    for t in range(T):
        constraints += [x[:, t + 1] == A @ x[:, t] + B @ u[:, t], cp.norm_inf(u[:, t]) <= u_max]
    CvxpyLayer(cp.Problem(cp.Minimize(cost), constraints), parameters=[A, B, x0, Qh, Rh, u_max], variables=[x, u])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-cvxpylayers", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    cases = [
        (
            "portfolio n=100",
            EXAMPLES / "portfolio.opt",
            {"n": 100},
            portfolio_parameters(args.batch),
            lambda: cvxpylayers_portfolio(100),
        ),
        ("mpc T=20", EXAMPLES / "mpc.opt", {"T": 20}, mpc_parameters(args.batch), lambda: cvxpylayers_mpc(20)),
    ]
    print(f"batch {args.batch}, float64, CPU, {torch.get_num_threads()} threads; medians of {args.repeat}")
    print(
        f"{'model':<16} {'build layer':>12} {'cvxpylayers':>12} {'ratio':>7} {'QP data':>9} {'forward':>9} {'data share':>11}"
    )
    for name, path, dims, params, peer in cases:
        build = median_time(lambda path=path, dims=dims: optlayer.load(path, **dims), args.repeat)
        layer = optlayer.load(path, **dims)
        data, forward = share(layer, params, args.repeat)
        if args.no_cvxpylayers:
            versus = f"{'skipped':>12} {'-':>7}"
        else:
            other = median_time(peer, 2)
            versus = f"{other:>11.2f}s {other / build:>6.0f}×"
        print(
            f"{name:<16} {build:>11.3f}s {versus} {1000 * data:>7.1f}ms {1000 * forward:>7.1f}ms {100 * data / forward:>10.1f}%"
        )


if __name__ == "__main__":
    main()
