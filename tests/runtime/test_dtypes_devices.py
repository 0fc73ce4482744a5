"""float32 solves and gradients; CUDA (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optlayer.runtime import Status, solve_qp

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("n,m,p", [(5, 4, 1), (20, 30, 5), (12, 0, 3), (8, 10, 0)])
def test_float32_matches_float64(n, m, p, make_qp, args):
    qp64 = args(make_qp(n, m, p, batch=(4,), seed=60 + n))
    qp32 = [None if t is None else t.float() for t in qp64]
    res64 = solve_qp(*qp64, eps_abs=1e-10, eps_rel=1e-10)
    res32 = solve_qp(*qp32)
    assert res32.z.dtype == torch.float32
    assert (res32.status == Status.SOLVED).all()
    scale = 1 + float(res64.z.abs().max())
    np.testing.assert_allclose(res32.z.double().numpy(), res64.z.numpy(), atol=2e-3 * scale)


def test_float32_solves_large_problems_with_many_equalities(make_qp):
    """n = m = 500, p = 100: H = Q + AᵀA/delta_eq fails to factor in float32 from rounding alone;
    the solver used to fall back to the primal reduction and all four elements ended at the
    iteration limit. Now the broken elements' H is factored again with stronger regularization."""
    qp64 = make_qp(500, 500, 100, batch=(4,), seed=70)
    res64 = solve_qp(*qp64)
    res32 = solve_qp(*(t.float() for t in qp64))
    assert (res32.status == Status.SOLVED).all(), res32.status
    assert int(res32.iterations.max()) <= 2 * int(res64.iterations.max())
    scale = 1 + float(res64.z.abs().max())
    np.testing.assert_allclose(res32.z.double().numpy(), res64.z.numpy(), atol=2e-3 * scale)


def test_float32_starting_point_keeps_every_pair_positive(make_qp, args):
    """With two inequalities the centring mu of the start is at its floor (1e-10); in float32 the
    start then had an exact zero in a slack or multiplier, and three of four elements went NaN."""
    qp32 = [None if t is None else t.float() for t in args(make_qp(5, 2, 0, batch=(4,), seed=502))]
    res = solve_qp(*qp32)
    assert (res.status == Status.SOLVED).all(), res.status


def test_float32_lp_and_singular_q(make_qp, args):
    for data in (make_qp(8, 5, 2, seed=61, lp=True), make_qp(8, 5, 2, seed=62, rank=2)):
        qp32 = [None if t is None else t.float() for t in args(data)]
        assert int(solve_qp(*qp32).status) == Status.SOLVED


def test_float32_gradients_are_close_to_float64(make_qp):
    data = make_qp(6, 5, 2, seed=63)
    grads = {}
    for dtype in (torch.float64, torch.float32):
        inputs = [t.detach().to(dtype).clone().requires_grad_() for t in data]
        solve_qp(*inputs).z.sum().backward()
        grads[dtype] = [t.grad.double() for t in inputs]
    for g32, g64 in zip(grads[torch.float32], grads[torch.float64]):
        assert torch.isfinite(g32).all()
        np.testing.assert_allclose(g32.numpy(), g64.numpy(), atol=5e-3 * (1 + float(g64.abs().max())))


@CUDA
def test_cuda_matches_cpu(make_qp):
    data = make_qp(10, 12, 3, batch=(5,), seed=64)
    cpu = solve_qp(*data)
    inputs = [t.cuda().requires_grad_() for t in data]
    gpu = solve_qp(*inputs)
    assert gpu.z.device.type == "cuda" and gpu.status.device.type == "cuda"
    np.testing.assert_allclose(gpu.z.cpu().numpy(), cpu.z.numpy(), atol=1e-7)
    gpu.z.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in inputs)


@CUDA
def test_cuda_float32_and_failures(make_qp):
    Q, q, G, h, A, b = (t.cuda().float() for t in make_qp(6, 4, 1, batch=(3,), seed=65))
    q = q.clone()
    q[1, 0] = float("nan")
    res = solve_qp(Q, q, G, h, A, b)
    assert res.status.tolist() == [Status.SOLVED, Status.NUMERICAL, Status.SOLVED]


def test_float32_failures_are_solved_again_in_float64(make_qp):
    """Equality-constrained, n = 300, p = 30: float32 arithmetic diverges on all four elements
    (NUMERICAL after 7-20 iterations). They are solved again in float64 and rounded, with
    float32 outputs, gradients close to float64's and iterations counting both solves."""
    qp64 = [t.requires_grad_() for t in make_qp(300, 0, 30, batch=(4,), seed=30030)]
    qp32 = [t.detach().float().requires_grad_() for t in qp64]
    Q, q, _, _, A, b = qp64
    res64 = solve_qp(Q, q, A=A, b=b)
    Q32, q32, _, _, A32, b32 = qp32
    res32 = solve_qp(Q32, q32, A=A32, b=b32)
    assert res32.z.dtype == torch.float32 and (res32.status == Status.SOLVED).all()
    assert (res32.iterations > res64.iterations).all()
    np.testing.assert_allclose(res32.z.detach().double().numpy(), res64.z.detach().numpy(), atol=1e-5)
    res64.z.sum().backward()
    res32.z.sum().backward()
    for t64, t32 in zip((Q, q, A, b), (Q32, q32, A32, b32)):
        assert t32.grad.dtype == torch.float32
        scale = 1 + float(t64.grad.abs().max())
        np.testing.assert_allclose(t32.grad.double().numpy(), t64.grad.numpy(), atol=1e-4 * scale)


def test_float32_certificates_are_not_solved_again():
    """An infeasible float32 element keeps its certificate (no float64 retry)."""
    Q = torch.eye(2)
    G = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    h = torch.tensor([-1.0, -1.0])
    res = solve_qp(Q, torch.zeros(2), G, h)
    assert int(res.status) == Status.INFEASIBLE
    assert int(res.iterations) < 30


def test_float32_retry_can_be_turned_off_for_truncated_solves(make_qp):
    """A deliberately small max_iter in float32: by default the MAX_ITER elements are solved
    again in float64 (with the same limit); retry_in_float64=False keeps the truncated solve."""
    data = [t.float() for t in make_qp(6, 8, 2, batch=(3,), seed=71)]
    retried = solve_qp(*data, max_iter=2)
    truncated = solve_qp(*data, max_iter=2, retry_in_float64=False)
    assert (retried.status == Status.MAX_ITER).all() and (truncated.status == Status.MAX_ITER).all()
    assert (retried.iterations == 4).all() and (truncated.iterations == 2).all()
