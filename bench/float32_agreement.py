"""Float32 robustness: do float32 solves agree with float64 on random problems of many shapes?

    python bench/float32_agreement.py [--sizes 5 20 60 150 300] [--batch 4]

For each n, every combination of m in {0, n/2, 2n} inequalities and p in {0, n/10, n/2, 9n/10}
equalities, with a strictly convex Q, a PSD Q of rank n/5, and Q = 0 (the last two with the box
|z| <= 5 + |z0| so that they stay bounded), as a batch of random feasible problems (h = G z0 +
U(0, 1), b = A z0). Each batch is solved in float64 and in float32 (default options). A float32
element disagrees when its status differs from float64's, or when it is SOLVED with
max |z32 − z64| > 1e-2 (1 + max |z64|). Printed per n: elements, disagreements, the largest
relative deviation of z, and the forward times of the two dtypes.

float32 elements that end NUMERICAL or MAX_ITER are solved again in float64 by the library
(see optlayer.runtime.forward); without that retry, 27 of the 560 elements of the default run
disagreed (18 of the 112 with n = 300).
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch

from optlayer.runtime import solve_qp

TOLERANCE = 1e-2
"""Largest max |z32 − z64| / (1 + max |z64|) counted as agreement."""


def problem(n, m, p, batch, seed, kind):
    """(Q, q, G, h, A, b) in float64; G/h or A/b are None when m or p is 0."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.randn(batch, *shape, generator=gen, dtype=torch.float64)

    if kind == "lp":
        Q = torch.zeros(batch, n, n, dtype=torch.float64)
    elif kind == "rank":
        F = rand(max(1, n // 5), n)
        Q = F.mT @ F / n
    else:
        F = rand(n, n)
        Q = F.mT @ F / n + 0.1 * torch.eye(n, dtype=torch.float64)
    q, G, z0 = rand(n), rand(m, n), rand(n)
    h = (G @ z0.unsqueeze(-1)).squeeze(-1) + torch.rand(batch, m, generator=gen, dtype=torch.float64)
    if kind != "strict":
        eye = torch.eye(n, dtype=torch.float64).expand(batch, n, n)
        G = torch.cat((G, eye, -eye), dim=1)
        h = torch.cat((h, 5 + z0.abs(), 5 + z0.abs()), dim=1)
    A = rand(p, n)
    b = (A @ z0.unsqueeze(-1)).squeeze(-1)
    has_G, has_A = G.shape[1] > 0, p > 0
    return Q, q, G if has_G else None, h if has_G else None, A if has_A else None, b if has_A else None


def timed(data):
    start = time.perf_counter()
    result = solve_qp(*data)
    return result, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20, 60, 150, 300])
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"{'n':>5} {'elements':>9} {'disagree':>9} {'max rel dz':>11} {'f64 time':>9} {'f32 time':>9}")
    for n in args.sizes:
        elements = disagree = 0
        worst = 0.0
        times = [0.0, 0.0]
        for m_factor, p_factor, kind in itertools.product((0, 0.5, 2), (0, 0.1, 0.5, 0.9), ("strict", "rank", "lp")):
            m, p = int(m_factor * n), int(p_factor * n)
            if kind != "strict" and m == 0:
                continue
            data = problem(n, m, p, args.batch, n * 100 + m + p, kind)
            r64, t64 = timed(data)
            r32, t32 = timed([None if t is None else t.float() for t in data])
            times[0] += t64
            times[1] += t32
            elements += args.batch
            same = r64.status == r32.status
            both = same & (r64.status == 0)
            if bool(both.any()):
                dz = (r32.z.double() - r64.z).abs().amax(1) / (1 + r64.z.abs().amax(1))
                worst = max(worst, float(dz[both].max()))
                same &= ~both | (dz <= TOLERANCE)
            disagree += int((~same).sum())
        print(f"{n:>5} {elements:>9} {disagree:>9} {worst:>11.1e} {times[0]:>8.2f}s {times[1]:>8.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
