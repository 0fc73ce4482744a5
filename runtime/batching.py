"""Input validation and batch broadcasting.

Every input may carry its own leading batch dimensions; they broadcast against each other with
NumPy rules. Internally the batch is flattened to one dimension of size B. Matrices whose batch
dimensions are all of size one (including none at all) stay *shared*: they are kept as a single
2-D tensor and applied to the whole batch with broadcasting matrix products, never copied B times.
"""

from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass
class Batch:
    """A validated, flattened batch of QPs.

    Matrices are (rows, cols) when shared or (B, rows, cols) when batched; vectors are always
    (B, len) (possibly an expanded view). Rows of G whose h is +inf are flagged in ``inf_rows``
    (else None) and replaced by the trivial row 0 <= 1 (see :func:`_drop_infinite_rows`).
    ``bad`` flags elements whose data contain NaN or a forbidden infinity.
    """

    batch_shape: torch.Size
    n: int
    m: int
    p: int
    Q: torch.Tensor
    q: torch.Tensor
    G: torch.Tensor
    h: torch.Tensor
    A: torch.Tensor
    b: torch.Tensor
    inf_rows: torch.Tensor | None
    bad: torch.Tensor

    @property
    def size(self) -> int:
        return self.q.shape[0]

    def to(self, dtype: torch.dtype) -> Batch:
        """The same batch with its data in ``dtype``."""
        data = (t.to(dtype) for t in (self.Q, self.q, self.G, self.h, self.A, self.b))
        return Batch(self.batch_shape, self.n, self.m, self.p, *data, self.inf_rows, self.bad)

    def select(self, idx: torch.Tensor) -> Batch:
        """The sub-batch of elements ``idx``; shared matrices stay shared."""

        def pick(t):
            return t if t.ndim == 2 else t.index_select(0, idx)

        return Batch(
            self.batch_shape,
            self.n,
            self.m,
            self.p,
            pick(self.Q),
            self.q.index_select(0, idx),
            pick(self.G),
            self.h.index_select(0, idx),
            pick(self.A),
            self.b.index_select(0, idx),
            None if self.inf_rows is None else self.inf_rows.index_select(0, idx),
            self.bad.index_select(0, idx),
        )


def common_dtype_and_device(tensors: dict[str, torch.Tensor | None]) -> tuple[torch.dtype, torch.device]:
    """The floating dtype all inputs are promoted to, and their common device."""
    present = {k: t for k, t in tensors.items() if t is not None}
    for name, t in present.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"solve_qp: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.is_complex():
            raise TypeError(f"solve_qp: {name} is complex ({t.dtype}); only real QPs are supported")
        if t.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(
                f"solve_qp: {name} has dtype {t.dtype}; half precision is too coarse for an "
                "interior-point method, convert to float32 or float64"
            )
    devices = {t.device for t in present.values()}
    if len(devices) > 1:
        listing = ", ".join(f"{k} on {t.device}" for k, t in present.items())
        raise ValueError(f"solve_qp: all inputs must be on the same device, got {listing}")
    floating = [t.dtype for t in present.values() if t.is_floating_point()]
    if not floating:
        return torch.get_default_dtype(), devices.pop()
    dtype = floating[0]
    for d in floating[1:]:
        dtype = torch.promote_types(dtype, d)
    return dtype, devices.pop()


def check_shapes(Q, q, G, h, A, b) -> torch.Size:
    """Validate core shapes and return the broadcast batch shape; raise ValueError naming the argument."""
    if Q is None or q is None:
        raise ValueError("solve_qp: Q and q are required (shape (..., n, n) and (..., n))")
    for mat, vec, mname, vname in ((G, h, "G", "h"), (A, b, "A", "b")):
        if (mat is None) != (vec is None):
            given, missing = (mname, vname) if vec is None else (vname, mname)
            raise ValueError(
                f"solve_qp: {given} is given but {missing} is None; pass both (shape (..., k, n) and "
                f"(..., k)) or neither"
            )
    if Q.ndim < 2:
        raise ValueError(f"solve_qp: Q has shape {tuple(Q.shape)}; it must have shape (..., n, n)")
    n = Q.shape[-1]
    if Q.shape[-2] != n:
        raise ValueError(f"solve_qp: Q has shape {tuple(Q.shape)}; it must be square, shape (..., n, n)")
    if q.ndim < 1 or q.shape[-1] != n:
        raise ValueError(
            f"solve_qp: q has shape {tuple(q.shape)} but Q has shape {tuple(Q.shape)}: q must have shape (..., {n})"
        )
    for mat, vec, mname, vname in ((G, h, "G", "h"), (A, b, "A", "b")):
        if mat is None:
            continue
        if mat.ndim < 2:
            raise ValueError(f"solve_qp: {mname} has shape {tuple(mat.shape)}; it must have shape (..., k, {n})")
        if mat.shape[-1] != n:
            raise ValueError(
                f"solve_qp: {mname} has shape {tuple(mat.shape)} but Q has shape {tuple(Q.shape)}: "
                f"{mname} must have {n} columns"
            )
        k = mat.shape[-2]
        if vec.ndim < 1 or vec.shape[-1] != k:
            raise ValueError(
                f"solve_qp: {vname} has shape {tuple(vec.shape)} but {mname} has shape {tuple(mat.shape)}: "
                f"{vname} must have shape (..., {k})"
            )
    parts = {"Q": Q.shape[:-2], "q": q.shape[:-1]}
    for name, t, core in (("G", G, 2), ("h", h, 1), ("A", A, 2), ("b", b, 1)):
        if t is not None:
            parts[name] = t.shape[:-core]
    try:
        return torch.broadcast_shapes(*parts.values())
    except RuntimeError:
        listing = ", ".join(f"{k}: {tuple(v)}" for k, v in parts.items())
        raise ValueError(
            f"solve_qp: the batch dimensions of the inputs do not broadcast (batch shapes {listing})"
        ) from None


def _flatten_matrix(t: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    """(rows, cols) if shared across the batch, else (B, rows, cols)."""
    core = t.shape[-2:]
    if all(s == 1 for s in t.shape[:-2]):
        return t.reshape(core)
    return t.expand(*batch_shape, *core).reshape(batch_shape.numel(), *core)


def _flatten_vector(t: torch.Tensor, batch_shape: torch.Size, size: int) -> torch.Tensor:
    """(B, len), an expanded view when shared."""
    length = t.shape[-1]
    if all(s == 1 for s in t.shape[:-1]):
        return t.reshape(1, length).expand(size, length)
    return t.expand(*batch_shape, length).reshape(size, length)


def flatten(Q, q, G, h, A, b, batch_shape: torch.Size) -> Batch:
    """Flatten validated inputs (already of one dtype and device) into a :class:`Batch`."""
    size = 1
    for s in batch_shape:
        size *= s
    n = Q.shape[-1]
    device = Q.device
    if G is None:
        G, h = Q.new_zeros(0, n), Q.new_zeros(0)
    if A is None:
        A, b = Q.new_zeros(0, n), Q.new_zeros(0)
    Qf, Gf, Af = (_flatten_matrix(t, batch_shape) for t in (Q, G, A))
    qf = _flatten_vector(q, batch_shape, size)
    hf = _flatten_vector(h, batch_shape, size)
    bf = _flatten_vector(b, batch_shape, size)
    bad = torch.zeros(size, dtype=torch.bool, device=device)
    for t in (Qf, Gf, Af):
        if t.numel():
            # The infinity norm is NaN or inf exactly when an entry is: one pass, no temporaries.
            largest = torch.linalg.vector_norm(t.flatten(-2), float("inf"), dim=-1)
            bad = bad | ~(largest.isfinite() if t.ndim == 3 else largest.isfinite().expand(size))
    for t, allow in ((qf, False), (bf, False), (hf, True)):
        bad = bad | (torch.isnan(t) | (torch.isneginf(t) if allow else torch.isinf(t))).any(1)
    inf_rows = torch.isposinf(hf)
    if bool(inf_rows.any()):
        Gf, hf = _drop_infinite_rows(Gf, hf, inf_rows)
    else:
        inf_rows = None
    return Batch(batch_shape, n, Gf.shape[-2], Af.shape[-2], Qf, qf, Gf, hf, Af, bf, inf_rows, bad)


def _drop_infinite_rows(G: torch.Tensor, h: torch.Tensor, inf_rows: torch.Tensor):
    """Replace each row G_i z <= +inf by the always-satisfied row 0 <= 1.

    The replacement is an ordinary inactive constraint for the interior-point method (its
    multiplier tends to 0), so no special case is needed in the iteration; its multiplier and
    gradients are set to exactly 0 afterwards. A shared G stays shared when every element has
    the same infinite rows.
    """
    finite = (~inf_rows).to(G.dtype)
    h = torch.where(inf_rows, torch.ones((), dtype=h.dtype, device=h.device), h)
    if G.ndim == 2 and bool((inf_rows == inf_rows[:1]).all()):
        return G * finite[0].unsqueeze(1), h
    return G * finite.unsqueeze(2), h
