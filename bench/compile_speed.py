"""Time to turn the MPC example into a standard form, against cvxpylayers building a layer.

    python bench/compile_speed.py [--horizons 50 100 200 400] [--no-cvxpylayers]

The MPC of examples/mpc.opt with nx = 12 states and nu = 4 inputs, for each horizon T:
optlayer's time to parse, check, canonicalize and assemble (the standard form), and to also
generate the layer's code; and, in the same run, cvxpylayers' time to build a CvxpyLayer for
the same MPC (written DPP-style, with square-root cost factors as parameters).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from optlayer.pipeline import standard_form

MODEL = Path(__file__).parents[1] / "examples" / "mpc.opt"


def optlayer_times(T: int) -> tuple[float, float, int]:
    text = MODEL.read_text()
    start = time.perf_counter()
    sf = standard_form(text, str(MODEL), {"nx": 12, "nu": 4, "T": T})
    canonical = time.perf_counter() - start
    sf.source()
    total = time.perf_counter() - start
    return canonical, total, sf.n


def cvxpylayers_time(T: int) -> float:
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer

    nx, nu = 12, 4
    start = time.perf_counter()
    A, B = cp.Parameter((nx, nx)), cp.Parameter((nx, nu))
    x_init, Qh, Rh, u_max = cp.Parameter(nx), cp.Parameter((nx, nx)), cp.Parameter((nu, nu)), cp.Parameter(nonneg=True)
    x, u = cp.Variable((nx, T + 1)), cp.Variable((nu, T))
    cost = sum(cp.sum_squares(Qh @ x[:, t]) for t in range(1, T + 1)) + sum(
        cp.sum_squares(Rh @ u[:, t]) for t in range(T)
    )
    constraints = [x[:, 0] == x_init]
    for t in range(T):
        constraints += [x[:, t + 1] == A @ x[:, t] + B @ u[:, t], cp.norm_inf(u[:, t]) <= u_max]
    problem = cp.Problem(cp.Minimize(cost), constraints)
    CvxpyLayer(problem, parameters=[A, B, x_init, Qh, Rh, u_max], variables=[x, u])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--horizons", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--no-cvxpylayers", action="store_true", help="skip the cvxpylayers comparison")
    args = parser.parse_args()
    optlayer_times(5)  # warm up: builds the parser tables and imports
    print("MPC of examples/mpc.opt, nx = 12, nu = 4")
    print(
        f"{'T':>5} {'z size':>7} {'standard form':>14} {'+ code':>9} {'per step':>9} {'cvxpylayers':>12} {'ratio':>7}"
    )
    for T in args.horizons:
        canonical, total, n = optlayer_times(T)
        if args.no_cvxpylayers:
            versus = f"{'skipped':>12} {'-':>7}"
        else:
            peer = cvxpylayers_time(T)
            versus = f"{peer:>11.2f}s {peer / canonical:>6.0f}×"
        print(f"{T:>5} {n:>7} {canonical:>13.3f}s {total:>8.3f}s {1000 * canonical / T:>7.2f}ms {versus}")


if __name__ == "__main__":
    main()
