"""The forward solve of a flattened batch: bad data, equilibration, interior point, NaN filling.

The interior-point iteration runs under ``torch.inference_mode`` (it is never differentiated
through: gradients come from the implicit function theorem), which trims the per-operation
overhead that dominates small problems; its results are only read afterwards.
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


@dataclasses.dataclass
class ForwardResult:
    """Per-element outputs (B, ·) plus what the backward pass needs.

    ``z``, ``lam``, ``nu`` are NaN for elements that are not SOLVED. ``ipm`` holds the raw
    interior-point result of the elements with finite data, whose batch positions are ``good``.
    """

    z: torch.Tensor
    lam: torch.Tensor
    nu: torch.Tensor
    status: torch.Tensor
    iterations: torch.Tensor
    primal_residual: torch.Tensor
    dual_residual: torch.Tensor
    duality_gap: torch.Tensor
    good: torch.Tensor
    ipm: ipm.IPMResult | None


def solve_batch(batch: Batch, opts: SolverOptions) -> ForwardResult:
    """Solve every element of ``batch``; elements with non-finite data get NUMERICAL."""
    B, n, m, p = batch.size, batch.n, batch.m, batch.p
    dtype, device = batch.q.dtype, batch.q.device
    nan = float("nan")
    z = torch.full((B, n), nan, dtype=dtype, device=device)
    lam = torch.full((B, m), nan, dtype=dtype, device=device)
    nu = torch.full((B, p), nan, dtype=dtype, device=device)
    status = torch.full((B,), int(Status.NUMERICAL), dtype=torch.int64, device=device)
    iterations = torch.zeros(B, dtype=torch.int64, device=device)
    residuals = torch.full((3, B), nan, dtype=dtype, device=device)
    good = (~batch.bad).nonzero().squeeze(1)
    result = None
    if good.numel():
        sub = batch if good.numel() == B else batch.select(good)
        with torch.inference_mode():
            ops = Operators(sub.Q, sub.A, sub.G)
            result = ipm.solve(sub, ops, ruiz(sub, ops, opts.ruiz_iter), opts)
        solved = (result.status == int(Status.SOLVED)).unsqueeze(1)
        z.index_copy_(0, good, torch.where(solved, result.x, nan))
        multipliers = result.z if sub.inf_rows is None else result.z.masked_fill(sub.inf_rows, 0.0)
        lam.index_copy_(0, good, torch.where(solved, multipliers, nan))
        nu.index_copy_(0, good, torch.where(solved, result.y, nan))
        status.index_copy_(0, good, result.status)
        iterations.index_copy_(0, good, result.iterations)
        residuals.index_copy_(1, good, torch.stack((result.primal_residual, result.dual_residual, result.duality_gap)))
    return ForwardResult(z, lam, nu, status, iterations, residuals[0], residuals[1], residuals[2], good, result)
