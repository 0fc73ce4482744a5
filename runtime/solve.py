"""Public entry point: :func:`solve_qp`."""

from __future__ import annotations

import dataclasses

import torch

from .backward import QPFunction
from .batching import check_shapes, common_dtype_and_device
from .options import SolverOptions


@dataclasses.dataclass(frozen=True)
class QPSolution:
    """Result of :func:`solve_qp`; every field carries the batch dimensions of the inputs.

    ``z`` (*batch, n), ``lam`` (*batch, m), ``nu`` (*batch, p): primal solution and multipliers of
    Gz <= h and Az = b, differentiable. They are NaN for every element whose ``status`` is not
    ``Status.SOLVED``. ``status`` and ``iterations`` are int64 tensors of shape ``batch``.
    ``primal_residual``, ``dual_residual``, ``duality_gap``: the absolute residuals on the
    original data at the returned point (max |Az − b|, max [Gz − h]⁺; max |Qz + q + Gᵀλ + Aᵀν|;
    |zᵀQz + qᵀz + bᵀν + hᵀλ|), NaN for elements with non-finite data.
    """

    z: torch.Tensor
    lam: torch.Tensor
    nu: torch.Tensor
    status: torch.Tensor
    iterations: torch.Tensor
    primal_residual: torch.Tensor
    dual_residual: torch.Tensor
    duality_gap: torch.Tensor


def solve_qp(
    Q: torch.Tensor,
    q: torch.Tensor,
    G: torch.Tensor | None = None,
    h: torch.Tensor | None = None,
    A: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    *,
    options: SolverOptions | None = None,
    **option_overrides,
) -> QPSolution:
    """Solve a batch of convex QPs  min ½ zᵀQz + qᵀz  s.t.  Gz <= h,  Az = b.

    Shapes: Q (*bQ, n, n), q (*bq, n), G (*bG, m, n), h (*bh, m), A (*bA, p, n), b (*bb, p); the
    leading batch dimensions broadcast against each other (NumPy rules) and an all-unbatched call
    gives unbatched results. G/h and A/b may be None (as pairs). Q must be positive semidefinite;
    only its symmetric part ½(Q + Qᵀ) is used. Rows of G whose h is +inf are ignored (their
    multiplier is 0).

    Options: pass ``options=SolverOptions(...)`` and/or individual fields as keywords
    (``solve_qp(..., eps_abs=1e-8, max_iter=50)``); keywords override ``options``. The defaults
    depend on the dtype (see :mod:`optlayer.runtime.options`): float64 stops at residuals of
    1e-10 (absolute + relative), float32 at 1e-5.

    Per element, ``status`` says what happened (:class:`Status`). Elements that are not SOLVED
    have NaN in ``z``, ``lam`` and ``nu`` and receive zero gradient. Non-finite data (NaN anywhere,
    ±inf in Q, q, G, A, b, or −inf in h) make that element NUMERICAL without affecting the others.

    Dtype and device come from the inputs: float32 and float64 (mixed inputs are promoted; integer
    inputs are converted to ``torch.get_default_dtype()``); half precision raises TypeError; inputs
    on different devices raise ValueError. Bad shapes raise ValueError naming the argument.
    Float32 elements that end NUMERICAL or MAX_ITER are solved again in float64 with the same
    options, and their results (and gradients) rounded to float32; ``iterations`` counts both
    solves (``retry_in_float64=False`` turns this off).

    Gradients with respect to all six inputs come from implicit differentiation of the KKT
    conditions (see :mod:`optlayer.runtime.backward`); gradients of inputs shared across the
    batch are summed over the broadcast dimensions.
    """
    tensors = dict(Q=Q, q=q, G=G, h=h, A=A, b=b)
    dtype, _ = common_dtype_and_device(tensors)
    batch_shape = check_shapes(Q, q, G, h, A, b)
    opts = dataclasses.replace(options or SolverOptions(), **option_overrides).resolved(dtype)
    cast = [None if t is None else t.to(dtype) for t in tensors.values()]
    outputs = QPFunction.apply(opts, batch_shape, *cast)
    return QPSolution(*outputs)
