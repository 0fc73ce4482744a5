"""The forward solve of a flattened batch: bad data, equilibration, interior point, NaN filling.

The interior-point iteration runs under ``torch.inference_mode`` (it is never differentiated
through: gradients come from the implicit function theorem), which trims the per-operation
overhead that dominates small problems; its results are only read afterwards.

Float32 elements that end NUMERICAL or MAX_ITER are solved again in float64 (same options and
tolerances) and their results rounded to float32: the Newton systems of an interior-point method
grow ill-conditioned, and with many equality rows or a singular Q float32 arithmetic cannot always
follow them (``bench/float32_agreement.py``: of 560 random problems with n = 5-300, with and
without equalities, singular Q and LPs, 27 disagreed with float64 without the retry, 18 of the
112 with n = 300; none with it). Certificates of infeasibility are final. The retry costs time
only for the elements that failed; ``SolverOptions.retry_in_float64`` turns it off.
"""

from __future__ import annotations

import dataclasses

import torch

from . import ipm
from .batching import Batch
from .equilibrate import ruiz
from .operators import Operators
from .options import SolverOptions
from .status import Status

RETRIED_IN_FLOAT64 = (Status.NUMERICAL, Status.MAX_ITER)
"""Statuses of float32 elements that are solved again in float64."""


@dataclasses.dataclass
class Solved:
    """A raw interior-point result and the batch positions of its elements."""

    rows: torch.Tensor
    ipm: ipm.IPMResult


@dataclasses.dataclass
class ForwardResult:
    """Per-element outputs (B, ·) plus what the backward pass needs.

    ``z``, ``lam``, ``nu`` are NaN for elements that are not SOLVED. ``parts`` holds the raw
    interior-point results: the elements with finite data, then (float32 only) those solved again
    in float64, whose later result replaces the first. ``iterations`` counts both solves.
    """

    z: torch.Tensor
    lam: torch.Tensor
    nu: torch.Tensor
    status: torch.Tensor
    iterations: torch.Tensor
    primal_residual: torch.Tensor
    dual_residual: torch.Tensor
    duality_gap: torch.Tensor
    parts: list[Solved]


def _solve(batch: Batch, opts: SolverOptions) -> ipm.IPMResult:
    with torch.inference_mode():
        ops = Operators(batch.Q, batch.A, batch.G)
        return ipm.solve(batch, ops, ruiz(batch, ops, opts.ruiz_iter), opts)


def solve_batch(batch: Batch, opts: SolverOptions) -> ForwardResult:
    """Solve every element of ``batch``; elements with non-finite data get NUMERICAL."""
    B, n, m, p = batch.size, batch.n, batch.m, batch.p
    dtype, device = batch.q.dtype, batch.q.device
    nan = float("nan")
    out = ForwardResult(
        z=torch.full((B, n), nan, dtype=dtype, device=device),
        lam=torch.full((B, m), nan, dtype=dtype, device=device),
        nu=torch.full((B, p), nan, dtype=dtype, device=device),
        status=torch.full((B,), int(Status.NUMERICAL), dtype=torch.int64, device=device),
        iterations=torch.zeros(B, dtype=torch.int64, device=device),
        primal_residual=torch.full((B,), nan, dtype=dtype, device=device),
        dual_residual=torch.full((B,), nan, dtype=dtype, device=device),
        duality_gap=torch.full((B,), nan, dtype=dtype, device=device),
        parts=[],
    )
    rows = (~batch.bad).nonzero().squeeze(1)
    if rows.numel():
        sub = batch if rows.numel() == B else batch.select(rows)
        _store(out, Solved(rows, _solve(sub, opts)), sub)
    if dtype == torch.float32 and opts.retry_in_float64 and out.parts:
        first = out.parts[0]
        retry = torch.isin(first.ipm.status, torch.tensor(RETRIED_IN_FLOAT64, device=device))
        if bool(retry.any()):
            rows = first.rows[retry]
            sub = batch.select(rows).to(torch.float64)
            _store(out, Solved(rows, _solve(sub, opts)), sub)
    return out


def _store(out: ForwardResult, part: Solved, sub: Batch) -> None:
    """Write ``part``'s results into the outputs at its rows (cast to their dtype)."""
    result, rows = part.ipm, part.rows
    nan = float("nan")
    solved = (result.status == int(Status.SOLVED)).unsqueeze(1)
    multipliers = result.z if sub.inf_rows is None else result.z.masked_fill(sub.inf_rows, 0.0)
    for target, value in ((out.z, result.x), (out.lam, multipliers), (out.nu, result.y)):
        target.index_copy_(0, rows, torch.where(solved, value, nan).to(target.dtype))
    out.status.index_copy_(0, rows, result.status)
    out.iterations.index_add_(0, rows, result.iterations)
    residuals = (result.primal_residual, result.dual_residual, result.duality_gap)
    for target, value in zip((out.primal_residual, out.dual_residual, out.duality_gap), residuals):
        target.index_copy_(0, rows, value.to(target.dtype))
    out.parts.append(part)
