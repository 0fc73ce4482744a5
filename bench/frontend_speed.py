"""Time parsing and checking a generated model of about 2,000 lines (1,000 constraints).

    python bench/frontend_speed.py [--lines 2000] [--constraints 1000]

Half the constraints are written out flat, half come from loops; the model also has
lets, generator sums and slices. The goal is under 1 s for 2,000 lines.
"""

from __future__ import annotations

import argparse
import time

from optlayer.dsl.parser import parse
from optlayer.pipeline import check_source


def generated_model(lines: int = 2000, constraints: int = 1000) -> str:
    """A model of about ``lines`` lines with ``constraints`` constraint statements (40 % in loops)."""
    loops = constraints // 10
    flat = constraints - 4 * loops
    text = ["# generated for bench/frontend_speed.py", "dimension n = 200", "dimension k = 20"]
    text += [f"parameter p{i}[n]" for i in range(loops)]
    text += ["parameter A[k, n]", "parameter lam nonneg = 1", "variable x[n]", "variable y[k, n]"]
    text += [f"let r{i} = A @ x - p{i}[0:k]" for i in range(loops)]
    bounds = max(1, lines - len(text) - flat - 6 * loops - 3)
    text += [f"parameter b{i} = {i % 17}          # bound number {i}" for i in range(bounds)]
    text.append("minimize sum_squares(A @ x) + lam * norm1(x) + sum(sum_squares(y[j]) for j in range(k))")
    text.append("subject to")
    for i in range(flat):
        text.append(
            f"    c{i}: x[{i % 200}] + 2 * x[{(i * 7) % 200}] - y[{i % 20}, {(i * 3) % 200}] <= b{i % bounds} + p{i % loops}[{i % 200}]"
        )
    for i in range(loops):
        text.append(f"    # block {i}")
        text.append(f"    for t in range({i % 5}, k - 1):")
        text.append(f"        d{i}: y[t + 1, 0:10] == y[t, 0:10] + x[t:t + 10]")
        text.append(f"        abs(y[t, {i % 200}] - x[t]) <= 1")
        text.append(f"        sum(x[j] for j in range(t)) <= {i}")
        text.append(f"        r{i}[t] >= -lam")
    return "\n".join(text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--constraints", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = generated_model(args.lines, args.constraints)
    check_source(text, "generated.opt")  # warm up: builds the parser tables once
    parse_times, check_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        parse(text, "generated.opt")
        parse_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        model = check_source(text, "generated.opt")
        check_times.append(time.perf_counter() - start)
    count = _count_constraints(model.constraints)
    print(f"model: {len(text.splitlines())} lines, {count} constraint statements ({len(text) / 1024:.0f} KiB)")
    print(f"parse:           median {sorted(parse_times)[len(parse_times) // 2] * 1000:7.1f} ms")
    print(f"parse and check: median {sorted(check_times)[len(check_times) // 2] * 1000:7.1f} ms   (goal: < 1000 ms)")


def _count_constraints(items) -> int:
    return sum(_count_constraints(item.body) if hasattr(item, "body") else 1 for item in items)


if __name__ == "__main__":
    main()
