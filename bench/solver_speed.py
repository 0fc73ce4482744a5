"""Speed, accuracy and memory of optlayer's QP layer against qpth, cvxpylayers and Moreau.

    python bench/solver_speed.py [--cases 0 1 2 3 4] [--peers optlayer qpth cvxpylayers cvxpylayers-1e-9 moreau]
                                 [--size N M P BATCH] [--repeats 21] [--force-cvxpylayers] [--no-accuracy]
                                 [--interleave]

Every case is a batch of random feasible QPs in float64 on the CPU (fully batched: each element
has its own Q, q, G, h, A, b; Q = FᵀF/n + 0.1 I, h = G z0 + U(0, 1), b = A z0), the same problems
for every peer. For each case and peer a fresh subprocess (so that the peak memory is its own)
times the median of ``--repeats`` forward solves and forward+backward passes (loss = Σ w·z with
a fixed random w, gradients for every input the peer takes; fewer calls where they take more than
20 s in all, at least one: single timings on a shared 2-core machine vary by 20 %, so the fast
cases need many samples), and reports its peak resident set
size (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end of the subprocess, which includes
the Python interpreter and torch: about 0.3 GB for a process that only imports torch, printed as
"baseline").

With ``--interleave`` one subprocess per case times all peers, their calls alternating (the
ratios then do not depend on when each peer ran on a shared machine; no peak memory).

Accuracy, computed in the parent: max |z − z*| over the batch against Clarabel (through cvxpy,
tolerances 1e-10), and the relative error of the directional derivative of the loss along a random
direction in (q, G, h, A, b) against a central finite difference of Clarabel's solutions
(step 1e-5; the FD reference itself is accurate to about 1e-6 relative).

Peers: qpth ``QPFunction(verbose=-1)``, single-threaded (see QPTH_THREADS); cvxpylayers with its
default solver (diffcp + SCS at its default tolerance) and with SCS at eps 1e-9; Q enters cvxpylayers as the parameter F of
½‖F x‖² (Q is not a DPP parameter), so its gradient is not compared. Moreau through
``moreau.torch.Solver`` with dense CSR patterns and max_iter=500. cvxpylayers is skipped for
n > 500 unless --force-cvxpylayers (it was reported to exceed 16 GB at n = m = 1000).

The "cholesky floor" is the time of (optlayer's iteration count) batched Cholesky factorizations
of the reduced KKT matrix that optlayer factors each iteration (n×n or m×m, as optlayer chose).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

CASES = [(10, 10, 0, 128), (50, 50, 10, 128), (100, 100, 20, 64), (500, 500, 100, 8), (1000, 1000, 0, 1)]
PEERS = ["optlayer", "qpth", "cvxpylayers", "cvxpylayers-1e-9", "moreau"]
CVXPYLAYERS_MAX_N = 500
"""Largest n at which cvxpylayers runs by default."""
QPTH_THREADS = 1
"""qpth runs single-threaded: with more than one torch thread, batched ``torch.linalg.lu_factor``
(which qpth uses) returns invalid pivots in this torch/MKL build (MKL reports "Parameter 6 was
incorrect on entry to DLASWP"), so qpth's answers are wrong or it raises."""
FD_STEP = 1e-5


def problems(n, m, p, batch, seed=0):
    """The benchmark's random feasible QPs (numpy float64, leading batch dimension)."""
    rng = np.random.default_rng(seed + 1000 * n + m)
    F = rng.standard_normal((batch, n, n))
    Q = F.transpose(0, 2, 1) @ F / n + 0.1 * np.eye(n)
    q = rng.standard_normal((batch, n))
    G = rng.standard_normal((batch, m, n))
    z0 = rng.standard_normal((batch, n))
    h = np.einsum("bmn,bn->bm", G, z0) + rng.uniform(0, 1, (batch, m))
    A = rng.standard_normal((batch, p, n))
    b = np.einsum("bpn,bn->bp", A, z0)
    w = rng.standard_normal((batch, n))
    direction = {k: rng.standard_normal(v.shape) for k, v in dict(q=q, G=G, h=h, A=A, b=b).items()}
    return dict(Q=Q, q=q, G=G, h=h, A=A, b=b, w=w, direction=direction)


# ---------------------------------------------------------------------------------------------
# Peers: each returns (forward, forward_backward), closures over torch tensors.


def _tensors(data, keys="QqGhAb"):
    return {k: torch.tensor(data[k]) for k in keys}


def peer_optlayer(data):
    from optlayer.runtime import solve_qp

    t = _tensors(data)
    w = torch.tensor(data["w"])
    m, p = t["G"].shape[1], t["A"].shape[1]

    def call(inputs):
        Q, q, G, h, A, b = inputs
        return solve_qp(Q, q, G if m else None, h if m else None, A if p else None, b if p else None)

    def forward():
        return call([t[k] for k in "QqGhAb"]).z

    def forward_backward():
        inputs = [t[k].clone().requires_grad_() for k in "QqGhAb"]
        z = call(inputs).z
        (z * w).sum().backward()
        return z, {k: x.grad for k, x in zip("QqGhAb", inputs) if x.grad is not None}

    res = call([t[k] for k in "QqGhAb"])
    extra = dict(iterations=int(res.iterations.max()), statuses=sorted(set(res.status.tolist())))
    return forward, forward_backward, extra


def peer_qpth(data):
    from qpth.qp import QPFunction

    t = _tensors(data)
    w = torch.tensor(data["w"])
    p = t["A"].shape[1]
    empty = torch.empty(0, dtype=torch.float64)

    def call(inputs):
        Q, q, G, h, A, b = inputs
        return QPFunction(verbose=-1)(Q, q, G, h, A if p else empty, b if p else empty)

    def forward():
        return call([t[k] for k in "QqGhAb"])

    def forward_backward():
        keys = "QqGhAb" if p else "QqGh"
        inputs = {k: t[k].clone().requires_grad_() for k in keys}
        z = call([inputs.get(k, t[k]) for k in "QqGhAb"])
        (z * w).sum().backward()
        return z, {k: v.grad for k, v in inputs.items() if v.grad is not None}

    return forward, forward_backward, {}


def peer_cvxpylayers(data, eps=None):
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer

    batch, m, n = data["G"].shape
    p = data["A"].shape[1]
    x = cp.Variable(n)
    F = cp.Parameter((n, n))
    q, G, h = cp.Parameter(n), cp.Parameter((m, n)), cp.Parameter(m)
    params, constraints = [F, q, G, h], [G @ x <= h]
    if p:
        A, b = cp.Parameter((p, n)), cp.Parameter(p)
        params += [A, b]
        constraints.append(A @ x == b)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(F @ x) + q @ x), constraints)
    layer = CvxpyLayer(problem, parameters=params, variables=[x])
    Fs = torch.linalg.cholesky(torch.tensor(data["Q"])).mT.contiguous()
    keys = "qGhAb" if p else "qGh"
    t = _tensors(data, keys)
    w = torch.tensor(data["w"])
    solver_args = {} if eps is None else {"eps": eps, "max_iters": 100000}

    def call(inputs):
        return layer(Fs, *inputs, solver_args=solver_args)[0]

    def forward():
        with torch.no_grad():
            return call([t[k] for k in keys])

    def forward_backward():
        inputs = {k: t[k].clone().requires_grad_() for k in keys}
        z = call([inputs[k] for k in keys])
        (z * w).sum().backward()
        return z, {k: v.grad for k, v in inputs.items() if v.grad is not None}

    return forward, forward_backward, {}


def peer_moreau(data):
    import moreau
    from moreau.torch import Solver

    batch, m, n = data["G"].shape
    p = data["A"].shape[1]

    def dense(rows, cols):
        return torch.arange(rows + 1) * cols, torch.arange(cols).repeat(rows)

    P_ro, P_ci = dense(n, n)
    A_ro, A_ci = dense(p + m, n)
    settings = moreau.Settings(batch_size=batch, max_iter=500, device="cpu")
    solver = Solver(
        n=n,
        m=p + m,
        P_row_offsets=P_ro,
        P_col_indices=P_ci,
        A_row_offsets=A_ro,
        A_col_indices=A_ci,
        cones=moreau.Cones(num_zero_cones=p, num_nonneg_cones=m),
        settings=settings,
    )
    t = _tensors(data)
    w = torch.tensor(data["w"])

    def values(Q, q, G, h, A, b):
        return Q.reshape(batch, -1), torch.cat((A, G), 1).reshape(batch, -1), q, torch.cat((b, h), 1)

    def forward():
        with torch.no_grad():
            return solver.solve(*values(*(t[k] for k in "QqGhAb"))).x

    def forward_backward():
        inputs = {k: t[k].clone().requires_grad_() for k in "QqGhAb"}
        z = solver.solve(*values(*(inputs[k] for k in "QqGhAb"))).x
        (z * w).sum().backward()
        return z, {k: v.grad for k, v in inputs.items() if v.grad is not None}

    forward()
    return forward, forward_backward, dict(statuses=sorted({str(s) for s in solver.info.status}))


PEER_FACTORY = {
    "optlayer": peer_optlayer,
    "qpth": peer_qpth,
    "cvxpylayers": lambda d: peer_cvxpylayers(d),
    "cvxpylayers-1e-9": lambda d: peer_cvxpylayers(d, eps=1e-9),
    "moreau": peer_moreau,
}


# ---------------------------------------------------------------------------------------------
# Worker: one case, one peer (or, with --interleave, all of them) per subprocess.

TIME_BUDGET = 20.0
"""Seconds a peer's forward (or forward+backward) timings may take in all before fewer than
``--repeats`` rounds are timed (at least one)."""


def _median_time(fn, repeats, budget):
    times = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 1 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cholesky_floor(n, m, batch, iterations, repeats):
    """Time of ``iterations`` batched Cholesky factorizations of optlayer's reduced matrix."""
    from optlayer.runtime.kkt import choose_form

    size = n if choose_form(n, m, "auto") == "primal" else m
    X = torch.randn(batch, size, size, dtype=torch.float64)
    S = X @ X.mT + size * torch.eye(size, dtype=torch.float64)

    def run():
        for _ in range(iterations):
            torch.linalg.cholesky_ex(S)

    return _median_time(run, repeats, 2.0), size


def _use_threads(peer):
    torch.set_num_threads(QPTH_THREADS if peer == "qpth" else len(os.sched_getaffinity(0)))


def _describe(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:100] if text else ''}"


def _alternating_times(runs, repeats):
    """Median forward and forward+backward times of every peer in ``runs`` (peer -> the two
    closures), their calls alternating round by round with the order rotating, so that a slow
    spell of a shared machine falls on every peer alike; fewer than ``repeats`` rounds once they
    took TIME_BUDGET per peer and measurement in all."""
    times = {peer: ([], []) for peer in runs}
    peers = list(runs)
    start = time.perf_counter()
    for r in range(repeats):
        for peer in peers[r % len(peers) :] + peers[: r % len(peers)]:
            _use_threads(peer)
            for fn, bucket in zip(runs[peer], times[peer]):
                t0 = time.perf_counter()
                fn()
                bucket.append(time.perf_counter() - t0)
        if time.perf_counter() - start > 2 * TIME_BUDGET * len(peers):
            break
    return {peer: (statistics.median(f), statistics.median(b), len(f)) for peer, (f, b) in times.items()}


def worker(case, peers, repeats, out_path):
    """Time ``peers`` on ``case`` = (n, m, p, batch) and write their rows as JSON (see
    :func:`_alternating_times`). With one peer the process's peak memory is the peer's; with
    several none is reported."""
    n, m, p, batch = case
    data = problems(n, m, p, batch)
    results, runs = {}, {}
    for peer in peers:
        results[peer] = result = dict(case=list(case), peer=peer)
        try:
            _use_threads(peer)
            forward, forward_backward, extra = PEER_FACTORY[peer](data)
            result.update(extra)
            forward_backward()
            runs[peer] = (forward, forward_backward)
        except Exception as exc:  # noqa: BLE001 - a failing peer is reported, not fatal
            result["error"] = _describe(exc)
    timed = _alternating_times(runs, repeats) if runs else {}
    for peer, (_, forward_backward) in runs.items():
        result = results[peer]
        _use_threads(peer)
        try:
            result["forward"], result["forward_backward"], result["forward_repeats"] = timed[peer]
            z, grads = forward_backward()
            result["z"] = z.detach().numpy().tolist()
            d = data["direction"]
            result["directional"] = float(sum((grads[k].numpy() * d[k]).sum() for k in grads if k in d))
            result["grad_keys"] = sorted(k for k in grads if k in d)
            if peer == "optlayer":
                result["floor"], result["floor_size"] = cholesky_floor(n, m, batch, result["iterations"], 3)
        except Exception as exc:  # noqa: BLE001
            result["error"] = _describe(exc)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    for result in results.values():
        result["maxrss_gb"] = rss if len(peers) == 1 else None
    with open(out_path, "w") as f:
        json.dump(results, f)


# ---------------------------------------------------------------------------------------------
# Parent: references, subprocesses, table.


def clarabel_solutions(data):
    import cvxpy as cp

    batch, m, n = data["G"].shape
    p = data["A"].shape[1]
    out = []
    for i in range(batch):
        x = cp.Variable(n)
        cons = [data["G"][i] @ x <= data["h"][i]]
        if p:
            cons.append(data["A"][i] @ x == data["b"][i])
        prob = cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, cp.psd_wrap(data["Q"][i])) + data["q"][i] @ x), cons)
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
        out.append(x.value)
    return np.array(out)


def fd_directional(data, keys):
    """Central finite difference of Σ w·z* along the benchmark direction restricted to ``keys``."""
    shifted = []
    for sign in (1, -1):
        moved = dict(data)
        for k in keys:
            moved[k] = data[k] + sign * FD_STEP * data["direction"][k]
        shifted.append((clarabel_solutions(moved) * data["w"]).sum())
    return (shifted[0] - shifted[1]) / (2 * FD_STEP)


def baseline_rss():
    code = "import torch, resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="*", type=int, default=list(range(len(CASES))))
    parser.add_argument(
        "--size", nargs=4, type=int, metavar=("N", "M", "P", "BATCH"), help="one case of this size instead of --cases"
    )
    parser.add_argument("--peers", nargs="*", default=PEERS, choices=PEERS)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--force-cvxpylayers", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the Clarabel references")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="time all peers of a case in one process, their calls alternating (no peak memory)",
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(
            tuple(int(k) for k in args.worker[0].split(",")), args.worker[1].split(","), args.repeats, args.worker[2]
        )
        return 0

    print(
        f"threads: {len(os.sched_getaffinity(0))}, torch {torch.__version__}, baseline RSS "
        f"(python + torch): {baseline_rss():.2f} GB" + (", peers interleaved" if args.interleave else "")
    )
    for case in [tuple(args.size)] if args.size else [CASES[i] for i in args.cases]:
        n, m, p, batch = case
        data = problems(n, m, p, batch)
        print(f"\n(n, m, p, batch) = ({n}, {m}, {p}, {batch})")
        z_ref = None if args.no_accuracy else clarabel_solutions(data)
        rows, runnable = {}, []
        for peer in args.peers:
            if peer.startswith("cvxpylayers") and n > CVXPYLAYERS_MAX_N and not args.force_cvxpylayers:
                rows[peer] = dict(error=f"skipped (n > {CVXPYLAYERS_MAX_N}; --force-cvxpylayers)")
            else:
                rows[peer] = None
                runnable.append(peer)
        groups = [runnable] if args.interleave and runnable else [[peer] for peer in runnable]
        for group in groups:
            rows.update(_run_worker(case, group, args.repeats))
        fd_cache = {}
        for row in rows.values():
            if "z" in row and z_ref is not None:
                row["z_error"] = float(np.abs(np.array(row["z"]) - z_ref).max())
                keys = tuple(row["grad_keys"])
                if keys not in fd_cache:
                    fd_cache[keys] = fd_directional(data, keys)
                ref = fd_cache[keys]
                row["grad_error"] = abs(row["directional"] - ref) / max(abs(ref), 1e-12)
        _print_case(rows)
    return 0


def _run_worker(case, peers, repeats):
    """Rows of ``peers`` on one case, timed in a fresh subprocess."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out_path = f.name
    size = ",".join(str(k) for k in case)
    cmd = [sys.executable, __file__, "--worker", size, ",".join(peers), out_path, "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    try:
        with open(out_path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {peer: dict(error=f"worker died (exit {proc.returncode}): {tail[0][:100]}") for peer in peers}
    finally:
        if os.path.exists(out_path):
            os.unlink(out_path)


def _print_case(rows):
    ours = rows.get("optlayer", {})
    header = (
        f"  {'peer':18s} {'fwd':>10s} {'fwd+bwd':>10s} {'ours/peer fwd':>13s} {'ours/peer f+b':>13s} "
        f"{'max|z-z*|':>10s} {'grad err':>9s} {'peak RSS':>9s}"
    )
    print(header)
    for peer, row in rows.items():
        if "error" in row:
            print(f"  {peer:18s} {row['error']}")
            continue
        ratio_f = ours.get("forward", np.nan) / row["forward"]
        ratio_b = ours.get("forward_backward", np.nan) / row["forward_backward"]
        print(
            f"  {peer:18s} {_ms(row['forward'])} {_ms(row['forward_backward'])} {ratio_f:13.2f} {ratio_b:13.2f} "
            f"{row.get('z_error', np.nan):10.1e} {row.get('grad_error', np.nan):9.1e} {_gb(row['maxrss_gb'])}"
            + (f"  statuses {row['statuses']}" if "statuses" in row else "")
        )
    if "floor" in ours:
        print(
            f"  cholesky floor: {ours['iterations']} x batched cholesky of {ours['floor_size']}x{ours['floor_size']}"
            f" = {_ms(ours['floor'])}; optlayer fwd / floor = {ours['forward'] / ours['floor']:.2f}"
        )


def _gb(size):
    return f"{'-':>9s}" if size is None else f"{size:7.2f}GB"


def _ms(seconds):
    return f"{seconds * 1e3:8.1f}ms" if seconds < 10 else f"{seconds:8.2f}s "


if __name__ == "__main__":
    sys.exit(main())
