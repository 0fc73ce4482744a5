"""A generated layer inside DistributedDataParallel: two CPU processes (gloo, a file rendezvous) each
train on half a batch and end with the same learnables as one process on the whole batch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import optlayer

MODEL = """\
dimension n = 6
dimension m = 2
parameter p[n]
learnable A[m, n] = normal(0.5)
learnable z0[n] nonneg = uniform(0.1, 0.3)
variable z[n]
minimize 0.5 * sum_squares(z) - p @ z
subject to
    A @ z == A @ z0
    z >= 0
"""
STEPS = 4


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    puzzles = torch.randn(8, 6, generator=g, dtype=torch.float64)
    return puzzles, torch.rand(8, 6, generator=g, dtype=torch.float64)


def train(module, puzzles: torch.Tensor, targets: torch.Tensor) -> None:
    optimizer = torch.optim.SGD(module.parameters(), lr=0.2)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = ((module(p=puzzles).z - targets) ** 2).mean()
        loss.backward()
        optimizer.step()


def _worker(rank: int, world: int, rendezvous: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    torch.manual_seed(0)
    layer = optlayer.compile(MODEL)
    model = torch.nn.parallel.DistributedDataParallel(layer)
    puzzles, targets = batch()
    half = len(puzzles) // world
    train(model, puzzles[rank * half : (rank + 1) * half], targets[rank * half : (rank + 1) * half])
    if rank == 0:
        torch.save(layer.state_dict(), out)
    # Tear down together: a rank that leaves while its peer still holds the
    # connection can abort inside gloo (seen once in CI as SIGABRT).
    dist.barrier()
    del model
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs torch.distributed with gloo")
def test_two_processes_match_one(tmp_path):
    out = str(tmp_path / "ddp.pt")
    mp.spawn(_worker, args=(2, str(tmp_path / "rendezvous"), out), nprocs=2, join=True)
    torch.manual_seed(0)
    single = optlayer.compile(MODEL)
    train(single, *batch())
    distributed = torch.load(out)
    for name, value in single.state_dict().items():
        torch.testing.assert_close(distributed[name], value, rtol=1e-7, atol=1e-9, msg=name)
    torch.manual_seed(0)
    untrained = optlayer.compile(MODEL)
    assert not torch.allclose(untrained.A, single.A)
