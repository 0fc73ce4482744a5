"""Total-variation denoising, tuned and learned (OptNet, Amos & Kolter 2017), with a baseline.

    python examples/denoising/train.py                   # the full run
    python examples/denoising/train.py --train 64 --test 32 --epochs 2 --out /tmp/tv   # a smoke run

Three denoisers of the same signals (signals.py):

1. plain TV (tv.opt), its weight lam tuned by a grid search on the training signals;
2. TV with a learned operator D (tv_learned.opt), D started at the first-difference
   operator and trained with Adam, lam fixed to the tuned value;
3. a fully connected network from noisy to clean signals.

The script prints a table of test MSE, writes log.csv and examples.png (noisy, truth and
each model's output for a few test signals) to --out.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import signals
import torch
from torch import nn
from tqdm import tqdm

import optlayer

HERE = Path(__file__).parent


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


def batched(function, x: torch.Tensor, batch: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([function(x[i : i + batch]) for i in range(0, len(x), batch)])


def tune_lambda(
    layer, x: torch.Tensor, y: torch.Tensor, grid: np.ndarray, batch: int
) -> tuple[float, list[tuple[float, float]]]:
    """The lam of the grid with the least training MSE."""
    scores = [(float(lam), mse(batched(lambda s, lam=lam: layer(x=s, lam=lam).y, x, batch), y)) for lam in grid]
    return min(scores, key=lambda s: s[1])[0], scores


class FullyConnected(nn.Module):
    def __init__(self, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(100, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 100)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def train(model, forward, x, y, args, name: str, log: list[dict], lr: float, epochs: int) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for begin in tqdm(range(0, len(x), args.batch), desc=f"{name} epoch {epoch}", leave=False, disable=args.quiet):
            index = order[begin : begin + args.batch]
            optimizer.zero_grad()
            loss = ((forward(x[index]) - y[index]) ** 2).mean()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        log.append({"model": name, "epoch": epoch, "train_mse": total / len(x), "seconds": time.perf_counter() - start})
        if epoch % max(1, epochs // 10) == 0 or epoch == epochs:
            print(
                f"{name:>10} epoch {epoch:>3}: train MSE {total / len(x):8.3f}  ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )


def plot(noisy, clean, outputs: dict, path: Path, count: int = 3) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(count, 1, figsize=(10, 2.6 * count), sharex=True)
    for i, axis in enumerate(np.atleast_1d(axes)):
        axis.plot(noisy[i], color="0.75", lw=1, label="noisy")
        axis.plot(clean[i], color="black", lw=2, label="truth")
        for name, out in outputs.items():
            axis.plot(out[i], lw=1.3, label=name)
        axis.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(ncol=len(outputs) + 2, fontsize=8)
    figure.suptitle("Test signals: plain TV, TV with a learned D, and a fully connected network")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=1000, help="training signals")
    parser.add_argument("--test", type=int, default=500, help="test signals")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the learned-D layer")
    parser.add_argument("--epochs-baseline", type=int, default=300, help="epochs of the network (cheap)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lr-learned", type=float, default=1e-4)
    parser.add_argument("--lr-baseline", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    noisy, clean = signals.make_signals(args.train + args.test, rng)
    x, y = torch.tensor(noisy), torch.tensor(clean)
    train_x, train_y, test_x, test_y = x[: args.train], y[: args.train], x[args.train :], y[args.train :]
    log: list[dict] = []

    plain = optlayer.load(HERE / "tv.opt")
    lam, scores = tune_lambda(plain, train_x, train_y, np.geomspace(1, 100, 15), args.batch)
    for value, score in scores:
        log.append({"model": "tv", "lam": value, "train_mse": score})
    print(f"plain TV: best lam {lam:.3g} (train MSE {min(s for _, s in scores):.3f})")

    torch.manual_seed(args.seed)
    learned = optlayer.load(HERE / "tv_learned.opt")
    with torch.no_grad():
        learned.D.copy_(torch.tensor(signals.difference_operator()))
    train(
        learned,
        lambda s: learned(x=s, lam=lam).y,
        train_x,
        train_y,
        args,
        "learned D",
        log,
        args.lr_learned,
        args.epochs,
    )

    torch.manual_seed(args.seed)
    network = FullyConnected()
    scale = 100.0
    train(
        network,
        lambda s: scale * network(s / scale),
        train_x.float(),
        train_y.float(),
        args,
        "fc",
        log,
        args.lr_baseline,
        args.epochs_baseline,
    )

    outputs = {
        "plain TV": batched(lambda s: plain(x=s, lam=lam).y, test_x, args.batch),
        "learned D": batched(lambda s: learned(x=s, lam=lam).y, test_x, args.batch),
        "fully connected": batched(lambda s: scale * network(s / scale), test_x.float(), args.batch).double(),
    }
    results = {"noisy input": mse(test_x, test_y), **{name: mse(out, test_y) for name, out in outputs.items()}}
    with open(args.out / "log.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["model", "lam", "epoch", "train_mse", "seconds"])
        writer.writeheader()
        writer.writerows(log)
    plot(test_x.numpy(), test_y.numpy(), {k: v.numpy() for k, v in outputs.items()}, args.out / "examples.png")
    print(f"\n{'denoiser':<18} {'test MSE':>9}")
    for name, value in results.items():
        print(f"{name:<18} {value:>9.3f}")
    print(f"\nwrote {args.out / 'log.csv'} and {args.out / 'examples.png'}")
    return results


if __name__ == "__main__":
    main()
