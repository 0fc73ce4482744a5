"""Robustness benchmark: the dense Maros–Meszaros subset, solved one problem at a time.

    python bench/maros_meszaros.py [DATA_DIR] [--problems NAME ...] [--no-qpth] [--max-iter N]

DATA_DIR defaults to ../shared/benchmarks/maros_meszaros_dense relative to the repository root
(the data come from qpsolvers/maros_meszaros_qpbenchmark, Apache-2.0, and are not committed).

Each problem is solved in float64 by optlayer three times, with the solver's tolerances set to the
accuracy level being judged (eps_abs = 1e-3, 1e-6, 1e-9, eps_rel = 0 and complementarity_factor = 1,
so that every criterion is at the level, as qpbenchmark does). A
solve counts at a level when optlayer reported SOLVED and the three absolute residuals of the
benchmark's README (primal residual, dual residual, duality gap), recomputed here with numpy from
the returned solution, are below that level.

qpth (``QPFunction(verbose=-1)``, default settings) is run once per problem on the same data. It
does not return multipliers, so it is judged on primal feasibility (the same primal residual) and
on the objective, |f(x) − f*| <= eps · max(1, |f*|), against a reference optimum f* computed by
Clarabel (through cvxpy, at 1e-10). Exceptions are caught and counted with their reason.
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import sys
import time

import numpy as np
import scipy.io
import torch

from optlayer.runtime import Status, solve_qp

INFINITY = 9e19
"""Bounds beyond this magnitude are infinite (the data write infinity as ±1e20)."""
LEVELS = (1e-3, 1e-6, 1e-9)
DEFAULT_DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "benchmarks" / "maros_meszaros_dense"


def load(path: pathlib.Path) -> dict:
    """Split l <= Ax <= u into equalities, general inequalities and box bounds (README format)."""
    mat = scipy.io.loadmat(path)
    n, m_all = int(mat["n"][0, 0]), int(mat["m"][0, 0])
    P = mat["P"].toarray().astype(float)
    q = mat["q"].ravel().astype(float)
    A_all = mat["A"].toarray().astype(float)
    lower_all, upper_all = mat["l"].ravel().astype(float), mat["u"].ravel().astype(float)
    general = m_all - n
    A_gen, l_gen, u_gen = A_all[:general], lower_all[:general], upper_all[:general]
    eq = (l_gen == u_gen) & (np.abs(u_gen) < INFINITY)
    upper = ~eq & (np.abs(u_gen) < INFINITY)
    lower = ~eq & (np.abs(l_gen) < INFINITY)
    G = np.vstack((A_gen[upper], -A_gen[lower]))
    h = np.concatenate((u_gen[upper], -l_gen[lower]))
    lb = np.where(np.abs(lower_all[general:]) < INFINITY, lower_all[general:], -np.inf)
    ub = np.where(np.abs(upper_all[general:]) < INFINITY, upper_all[general:], np.inf)
    return dict(
        name=path.stem,
        n=n,
        P=0.5 * (P + P.T),
        q=q,
        A=A_gen[eq],
        b=u_gen[eq],
        G=G,
        h=h,
        lb=lb,
        ub=ub,
    )


def stacked(prob: dict):
    """The problem as solve_qp data: box bounds become rows of G."""
    n = prob["n"]
    eye = np.eye(n)
    has_ub, has_lb = np.isfinite(prob["ub"]), np.isfinite(prob["lb"])
    G = np.vstack((prob["G"], eye[has_ub], -eye[has_lb]))
    h = np.concatenate((prob["h"], prob["ub"][has_ub], -prob["lb"][has_lb]))
    return G, h, has_ub, has_lb


def residuals(prob: dict, x, y, z_gen, z_box):
    """The README's primal residual, dual residual and duality gap (absolute)."""
    P, q, A, b, G, h, lb, ub = (prob[k] for k in ("P", "q", "A", "b", "G", "h", "lb", "ub"))
    prim = max(
        np.abs(A @ x - b).max(initial=0.0),
        np.maximum(G @ x - h, 0).max(initial=0.0),
        np.maximum(lb - x, 0).max(initial=0.0),
        np.maximum(x - ub, 0).max(initial=0.0),
    )
    if y is None:
        return prim, np.nan, np.nan
    dual = np.abs(P @ x + q + A.T @ y + G.T @ z_gen + z_box).max(initial=0.0)
    finite_lb, finite_ub = np.isfinite(lb), np.isfinite(ub)
    gap = abs(
        x @ P @ x
        + q @ x
        + b @ y
        + h @ z_gen
        + lb[finite_lb] @ np.minimum(z_box[finite_lb], 0)
        + ub[finite_ub] @ np.maximum(z_box[finite_ub], 0)
    )
    return prim, dual, gap


def _tensor(a, batched=False):
    t = torch.as_tensor(a, dtype=torch.float64)
    return t.unsqueeze(0) if batched else t


def solve_optlayer(prob: dict, eps: float, max_iter: int, kkt: str, extra: dict):
    """Solve with every tolerance at ``eps`` (absolute, eps_rel = 0); returns status, iterations,
    time, the README's residuals and the solution."""
    G, h, has_ub, has_lb = stacked(prob)
    A = _tensor(prob["A"]) if prob["A"].shape[0] else None
    b = _tensor(prob["b"]) if prob["A"].shape[0] else None
    Gt = _tensor(G) if G.shape[0] else None
    ht = _tensor(h) if G.shape[0] else None
    options = dict(eps_abs=eps, eps_rel=0.0, complementarity_factor=1.0, max_iter=max_iter, kkt=kkt, **extra)
    start = time.perf_counter()
    res = solve_qp(_tensor(prob["P"]), _tensor(prob["q"]), Gt, ht, A, b, **options)
    elapsed = time.perf_counter() - start
    x = res.z.numpy()
    lam = res.lam.numpy()
    n_gen = prob["G"].shape[0]
    z_gen = lam[:n_gen]
    z_box = np.zeros(prob["n"])
    n_ub = int(has_ub.sum())
    z_box[has_ub] += lam[n_gen : n_gen + n_ub]
    z_box[has_lb] -= lam[n_gen + n_ub :]
    y = res.nu.numpy()
    return Status(int(res.status)), int(res.iterations), elapsed, residuals(prob, x, y, z_gen, z_box)


def reference_objective(prob: dict):
    """Optimal value by Clarabel at tight tolerance (None if it does not report optimal)."""
    import cvxpy as cp

    x = cp.Variable(prob["n"])
    cons = []
    if prob["A"].shape[0]:
        cons.append(prob["A"] @ x == prob["b"])
    G, h, _, _ = stacked(prob)
    if G.shape[0]:
        cons.append(G @ x <= h)
    objective = 0.5 * cp.quad_form(x, cp.psd_wrap(prob["P"])) + prob["q"] @ x
    problem = cp.Problem(cp.Minimize(objective), cons)
    try:
        problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500)
    except cp.error.SolverError:
        return None
    return problem.value if problem.status == "optimal" else None


def solve_qpth(prob: dict):
    """qpth's primal solution, or the exception's reason."""
    from qpth.qp import QPFunction

    G, h, _, _ = stacked(prob)
    empty = torch.empty(0, dtype=torch.float64)
    A = _tensor(prob["A"], True) if prob["A"].shape[0] else empty
    b = _tensor(prob["b"], True) if prob["A"].shape[0] else empty
    start = time.perf_counter()
    try:
        x = QPFunction(verbose=-1)(
            _tensor(prob["P"], True), _tensor(prob["q"], True), _tensor(G, True), _tensor(h, True), A, b
        )
    except Exception as exc:  # noqa: BLE001 - every failure of the peer is a data point
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, time.perf_counter() - start, f"{type(exc).__name__}: {reason[:60]}"
    return x[0].detach().numpy(), time.perf_counter() - start, None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--problems", nargs="*", help="only these problems (file stems)")
    parser.add_argument("--no-qpth", action="store_true", help="skip qpth and the reference objectives")
    parser.add_argument("--max-iter", type=int, default=200, help="iteration limit (the solver's default)")
    parser.add_argument("--kkt", default="auto", choices=("auto", "primal", "dual"))
    parser.add_argument("--levels", nargs="*", type=float, default=list(LEVELS), help="accuracy levels to judge")
    parser.add_argument("--option", nargs="*", default=[], metavar="NAME=VALUE", help="extra SolverOptions fields")
    args = parser.parse_args(argv)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    levels = tuple(args.levels)
    extra = {}
    for item in args.option:
        key, value = item.split("=", 1)
        extra[key] = int(value) if value.isdigit() else float(value)

    files = sorted(pathlib.Path(args.data_dir).glob("*.mat"))
    if args.problems:
        files = [f for f in files if f.stem in set(args.problems)]
    if not files:
        print(f"no .mat files in {args.data_dir}", file=sys.stderr)
        return 1

    successes = collections.Counter()
    qpth_successes = collections.Counter()
    qpth_errors = collections.Counter()
    failures = {level: [] for level in levels}
    total_time = 0.0
    total_iterations = collections.Counter()
    print(
        f"{'problem':10s} {'n':>4s} {'m':>5s} {'p':>4s} | "
        + " | ".join(
            f"{f'eps={lvl:.0e}':>8s} {'status':>10s} {'it':>3s} {'time':>7s} {'prim':>8s} {'dual':>8s} {'gap':>8s}"
            for lvl in levels
        )
        + " | qpth"
    )
    for path in files:
        prob = load(path)
        G, _, _, _ = stacked(prob)
        cells = []
        for level in levels:
            status, its, elapsed, (prim, dual, gap) = solve_optlayer(prob, level, args.max_iter, args.kkt, extra)
            total_time += elapsed
            total_iterations[level] += its
            ok = status == Status.SOLVED and max(prim, dual, gap) <= level
            successes[level] += ok
            residual_text = f"prim {prim:.1e} dual {dual:.1e} gap {gap:.1e}"
            if not ok:
                failures[level].append(f"{prob['name']} ({status.name}, {residual_text})")
            cells.append(
                f"{'ok' if ok else 'FAIL':>8s} {status.name:>10s} {its:3d} {elapsed:7.3f} "
                f"{prim:8.1e} {dual:8.1e} {gap:8.1e}"
            )
        qpth_cell = ""
        if not args.no_qpth:
            ref = reference_objective(prob)
            x_qpth, elapsed, error = solve_qpth(prob)
            if error is not None:
                qpth_errors[error] += 1
                qpth_cell = f"error: {error}"
            else:
                prim, _, _ = residuals(prob, x_qpth, None, None, None)
                f = 0.5 * x_qpth @ prob["P"] @ x_qpth + prob["q"] @ x_qpth
                obj_err = abs(f - ref) / max(1.0, abs(ref)) if ref is not None else np.nan
                for level in levels:
                    qpth_successes[level] += bool(max(prim, obj_err) <= level)
                qpth_cell = f"prim {prim:.1e} obj err {obj_err:.1e} ({elapsed:.2f}s)"
        sizes = f"{prob['name']:10s} {prob['n']:4d} {G.shape[0]:5d} {prob['A'].shape[0]:4d}"
        print(sizes + " | " + " | ".join(cells) + " | " + qpth_cell)

    count = len(files)
    print()
    print(f"optlayer success rate ({count} problems, solver tolerance = level, eps_rel = 0):")
    for level in levels:
        print(f"  {level:.0e}: {successes[level]}/{count} = {100 * successes[level] / count:.1f} %")
    print(
        f"  total optlayer solve time: {total_time:.1f} s; iterations per level: "
        + ", ".join(f"{level:.0e}: {total_iterations[level]}" for level in levels)
    )
    for level in levels:
        if failures[level]:
            print(f"  failures at {level:.0e}: " + "; ".join(failures[level]))
    if not args.no_qpth:
        print("qpth (judged on primal residual and objective error vs Clarabel's optimum):")
        for level in levels:
            print(f"  {level:.0e}: {qpth_successes[level]}/{count}")
        print(f"  errors: {sum(qpth_errors.values())}/{count}")
        for reason, k in qpth_errors.most_common():
            print(f"    {k:3d} x {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
