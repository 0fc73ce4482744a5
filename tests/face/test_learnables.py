"""Learnables: nn.Parameters that keep their declared attributes, move with the module, and train."""

from __future__ import annotations

from pathlib import Path

import torch

import optlayer

EXAMPLES = Path(__file__).parents[2] / "examples"

MODEL = """\
dimension n = 4
parameter target[n]
learnable P[n, n] psd = eye
learnable S[n, n] symmetric = normal(0.3)
learnable c[n] nonneg = uniform(0, 1)
learnable d[n] nonpos
learnable shift[n] = 0.5
variable x[n]
minimize quad_form(x - target, P) + 0.1 * sum_squares(S @ x) + c @ abs(x) + d @ x + sum_squares(x - shift)
"""


def test_learnables_are_parameters_initialized_as_declared():
    torch.manual_seed(0)
    layer = optlayer.compile(MODEL)
    assert [name for name, _ in layer.named_parameters()] == ["P", "S", "c", "d", "shift"]
    torch.testing.assert_close(layer.learnable_value("P"), torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(layer.learnable_value("shift"), torch.full((4,), 0.5, dtype=torch.float64))
    S = layer.learnable_value("S")
    torch.testing.assert_close(S, S.T)
    assert bool((layer.learnable_value("c") >= 0).all()) and bool((layer.learnable_value("d") <= 0).all())
    assert float(layer.d.detach().abs().max()) <= 0.5 + 1e-12  # default init: uniform in [-1/sqrt(4), 0]


def test_state_dict_round_trip_and_to():
    torch.manual_seed(1)
    first = optlayer.compile(MODEL)
    torch.manual_seed(2)
    second = optlayer.compile(MODEL)
    second.load_state_dict(first.state_dict())
    target = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(first(target=target).x, second(target=target).x)
    single = first.float()
    assert single.P.dtype == torch.float32
    assert single(target=target.float()).x.dtype == torch.float32


def test_training_decreases_the_loss_and_keeps_attributes():
    torch.manual_seed(0)
    layer = optlayer.compile(MODEL)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    target = torch.randn(16, 4, dtype=torch.float64)
    wanted = torch.tanh(target) * 0.5
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = ((layer(target=target).x - wanted) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert float(torch.linalg.eigvalsh(layer.learnable_value("P").detach()).min()) >= -1e-12
    assert bool((layer.learnable_value("c") >= 0).all())


def test_sudoku_learnables_get_gradients():
    torch.manual_seed(0)
    layer = optlayer.load(EXAMPLES / "sudoku.opt")
    sol = layer(p=torch.randn(2, 64, dtype=torch.float64))
    sol.z.sum().backward()
    assert layer.A.grad is not None and layer.z0.grad is not None
    assert torch.isfinite(layer.A.grad).all() and float(layer.A.grad.abs().max()) > 0
