"""StandardForm.evaluate: batched, broadcast, differentiable, float32, checked parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from reference import compile_text

from optlayer.errors import OptError
from optlayer.runtime.parameters import ContractError, ParameterError

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def portfolio():
    return compile_text((EXAMPLES / "portfolio.opt").read_text(), n=5)


@pytest.fixture(scope="module")
def mpc():
    return compile_text((EXAMPLES / "mpc.opt").read_text(), T=4)


def mpc_parameters(batch=(), dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *s: torch.randn(*batch, *s, generator=g, dtype=dtype)  # noqa: E731
    Qf, Rf = rand(4, 4), rand(2, 2)
    return {
        "A": rand(4, 4),
        "B": rand(4, 2),
        "x_init": rand(4),
        "Q": Qf @ Qf.transpose(-1, -2),
        "R": Rf @ Rf.transpose(-1, -2),
        "u_max": torch.rand(tuple(batch), generator=g, dtype=dtype),
    }


def test_batched_equals_one_at_a_time(mpc):
    params = mpc_parameters(batch=(3, 2))
    batched = mpc.evaluate(**params)
    for i in range(3):
        for j in range(2):
            single = mpc.evaluate(**{k: v[i, j] for k, v in params.items()})
            for name, a, b in zip("QqGhAb", batched, single):
                torch.testing.assert_close(a.expand(3, 2, *b.shape)[i, j], b, msg=name)


def test_shared_data_is_not_batched(portfolio):
    mu = torch.randn(7, 5, dtype=torch.float64)
    Q, q, G, h, A, b = portfolio.evaluate(mu=mu, F=torch.eye(5, dtype=torch.float64))
    assert Q.shape == (10, 10) and G.shape == (16, 10)
    assert q.shape == (7, 10)


def test_batch_dimensions_broadcast(portfolio):
    mu = torch.randn(4, 1, 5, dtype=torch.float64)
    F = torch.randn(3, 5, 5, dtype=torch.float64)
    Q, q, *_ = portfolio.evaluate(mu=mu, F=F)
    assert Q.shape == (3, 10, 10) and q.shape == (4, 1, 10)
    torch.testing.assert_close(Q[2, :5, :5], 2 * F[2].T @ F[2])


def test_differentiable_in_every_parameter(mpc):
    params = {k: v.detach().requires_grad_() for k, v in mpc_parameters().items()}

    def data(A, B, x_init, Q, R, u_max):
        # symmetrized inside, so that gradcheck's one-entry perturbations keep the psd contract
        Q, R = (Q + Q.T) / 2, (R + R.T) / 2
        Qd, qd, G, h, Ad, b = mpc.evaluate(A=A, B=B, x_init=x_init, Q=Q, R=R, u_max=u_max)
        return Qd.sum() + (Qd * Qd).sum(), h.pow(2).sum(), (Ad * Ad).sum(), b.pow(3).sum()

    assert torch.autograd.gradcheck(data, tuple(params.values()))


def test_float32_follows_the_inputs(mpc):
    out = mpc.evaluate(**mpc_parameters(dtype=torch.float32))
    assert all(t.dtype == torch.float32 for t in out)
    assert all(t.dtype == torch.float64 for t in mpc.evaluate(**mpc_parameters()))


def test_python_numbers_and_numpy_arrays_become_float64(portfolio):
    Q, q, *_ = portfolio.evaluate(mu=np.arange(5.0), F=np.eye(5).tolist(), gamma=2)
    assert q.dtype == torch.float64 and Q[0, 0] == 4.0


def test_defaults_are_used(portfolio):
    Q, q, G, h, A, b = portfolio.evaluate(mu=torch.zeros(5), F=torch.eye(5))
    assert Q.dtype == torch.float32  # the inputs decide
    assert torch.allclose(Q[:5, :5], 2 * torch.eye(5))  # gamma = 1.0 by default


def test_missing_parameter_names_it(portfolio):
    with pytest.raises(ParameterError, match="missing parameter `mu`") as caught:
        portfolio.evaluate(F=torch.eye(5))
    assert isinstance(caught.value, OptError) and "model.opt:4" in str(caught.value)


def test_unknown_parameter_suggests_a_name(portfolio):
    with pytest.raises(ParameterError, match="unknown parameter `muu`") as caught:
        portfolio.evaluate(muu=torch.zeros(5), F=torch.eye(5))
    assert "did you mean `mu`" in str(caught.value)


def test_wrong_shape_names_both_shapes(portfolio):
    with pytest.raises(ParameterError) as caught:
        portfolio.evaluate(mu=torch.zeros(4), F=torch.eye(5))
    message = str(caught.value)
    assert "`mu`" in message and "(5,)" in message and "(4,)" in message and "batch" in message


def test_batch_mismatch_names_both_parameters(portfolio):
    with pytest.raises(ParameterError, match="do not broadcast"):
        portfolio.evaluate(mu=torch.zeros(3, 5), F=torch.eye(5).expand(4, 5, 5))


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        (
            "u_max",
            torch.tensor([0.5, -1.0, 2.0]),
            "`u_max` (declared at model.opt:11:1) has a negative entry at batch index 1",
        ),
        ("Q", torch.diag(torch.tensor([1.0, -1.0, 1.0, 1.0])), "has a negative eigenvalue"),
        ("R", torch.tensor([[1.0, 2.0], [0.0, 1.0]]), "is not symmetric"),
    ],
)
def test_contracts_are_checked(mpc, name, value, phrase):
    params = mpc_parameters()
    params[name] = value.double()
    with pytest.raises(ContractError) as caught:
        mpc.evaluate(**params)
    assert phrase in str(caught.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_follows_the_inputs(mpc):
    params = {k: v.cuda() for k, v in mpc_parameters(batch=(2,)).items()}
    out = mpc.evaluate(**params)
    cpu = mpc.evaluate(**mpc_parameters(batch=(2,)))
    for a, b in zip(out, cpu):
        assert a.is_cuda
        torch.testing.assert_close(a.cpu(), b)
