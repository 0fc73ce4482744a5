"""Total-variation denoising, tuned and learned (OptNet, Amos & Kolter 2017), with a baseline.

    python examples/denoising/train.py                   # the full run (about 25 minutes)
    python examples/denoising/train.py --train 64 --valid 20 --test 32 --tune 32 --epochs 2 --out /tmp/tv

Three denoisers of the same signals (signals.py), split into training, validation and test sets:

1. plain TV (tv.opt), its weight lam tuned on --tune training signals (a log grid over [1, 100],
   refined twice around the best value);
2. TV with a learned operator D (tv_learned.opt), D started at the first-difference operator
   and trained with Adam, lam fixed to the tuned value;
3. a fully connected network from noisy to clean signals.

Each trained model keeps its best epoch on the validation signals (the start counts as epoch
0); the learned D's last epoch is reported too when it is not the best. The script prints a
table of test MSE and writes log.csv and examples.png (noisy, truth and each model's output for
a few test signals) to --out.
"""

from __future__ import annotations

import argparse
import copy
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
    layer, x: torch.Tensor, y: torch.Tensor, batch: int, points: int = 9, rounds: int = 3
) -> tuple[float, list[tuple[float, float]]]:
    """The lam with the least MSE on (x, y): a log grid over [1, 100], then ``rounds - 1`` finer
    grids around the best value so far (each spanning two steps of the previous one)."""
    scores: list[tuple[float, float]] = []
    low, high = 1.0, 100.0
    for _ in range(rounds):
        grid = np.geomspace(low, high, points)
        scores += [(float(lam), mse(batched(lambda s, lam=lam: layer(x=s, lam=lam).y, x, batch), y)) for lam in grid]
        best = min(scores, key=lambda s: s[1])[0]
        step = grid[1] / grid[0]
        low, high = best / step, best * step
    return min(scores, key=lambda s: s[1])[0], scores


class FullyConnected(nn.Module):
    def __init__(self, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(100, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 100)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def train(model, forward, data, args, name: str, log: list[dict], lr: float, epochs: int) -> tuple[int, dict]:
    """Adam on the training MSE, its rate annealed to 0 on a cosine; after each epoch the validation MSE is logged, and the model ends
    with the parameters of its best validation epoch (epoch 0, the starting point, included).
    Returns that epoch and the parameters of the last one."""
    x, y, valid_x, valid_y = data
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    best = (mse(batched(forward, valid_x, args.batch), valid_y), 0, copy.deepcopy(model.state_dict()))
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
        schedule.step()
        valid = mse(batched(forward, valid_x, args.batch), valid_y)
        if valid < best[0]:
            best = (valid, epoch, copy.deepcopy(model.state_dict()))
        seconds = time.perf_counter() - start
        log.append({"model": name, "epoch": epoch, "train_mse": total / len(x), "valid_mse": valid, "seconds": seconds})
        if epoch % max(1, epochs // 10) == 0 or epoch == epochs:
            print(
                f"{name:>10} epoch {epoch:>3}: train MSE {total / len(x):8.3f}  validation MSE {valid:8.3f}"
                f"  ({seconds:.0f} s)",
                flush=True,
            )
    last = copy.deepcopy(model.state_dict())
    model.load_state_dict(best[2])
    print(f"{name:>10}: keeping epoch {best[1]} (validation MSE {best[0]:.3f})", flush=True)
    return best[1], last


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
    parser.add_argument("--train", type=int, default=5000, help="training signals")
    parser.add_argument("--valid", type=int, default=500, help="validation signals (best epoch)")
    parser.add_argument("--test", type=int, default=1000, help="test signals")
    parser.add_argument("--tune", type=int, default=1000, help="training signals that tune plain TV's lam")
    parser.add_argument("--epochs", type=int, default=16, help="epochs of the learned-D layer")
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
    noisy, clean = signals.make_signals(args.train + args.valid + args.test, rng)
    x, y = torch.tensor(noisy), torch.tensor(clean)
    cut = np.cumsum([args.train, args.valid])
    train_x, valid_x, test_x = x[: cut[0]], x[cut[0] : cut[1]], x[cut[1] :]
    train_y, valid_y, test_y = y[: cut[0]], y[cut[0] : cut[1]], y[cut[1] :]
    log: list[dict] = []

    start = time.perf_counter()
    plain = optlayer.load(HERE / "tv.opt")
    lam, scores = tune_lambda(plain, train_x[: args.tune], train_y[: args.tune], args.batch)
    for value, score in scores:
        log.append({"model": "tv", "lam": value, "train_mse": score})
    print(
        f"plain TV: best lam {lam:.4g} (train MSE {min(s for _, s in scores):.3f}, "
        f"{len(scores)} values, {time.perf_counter() - start:.0f} s)",
        flush=True,
    )

    torch.manual_seed(args.seed)
    learned = optlayer.load(HERE / "tv_learned.opt")
    with torch.no_grad():
        learned.D.copy_(torch.tensor(signals.difference_operator()))

    def denoise_learned(s):
        return learned(x=s, lam=lam).y

    learned_epoch, learned_last = train(
        learned,
        denoise_learned,
        (train_x, train_y, valid_x, valid_y),
        args,
        "learned D",
        log,
        args.lr_learned,
        args.epochs,
    )

    torch.manual_seed(args.seed)
    network = FullyConnected()
    scale = 100.0
    network_epoch, _ = train(
        network,
        lambda s: scale * network(s / scale),
        (train_x.float(), train_y.float(), valid_x.float(), valid_y.float()),
        args,
        "fc",
        log,
        args.lr_baseline,
        args.epochs_baseline,
    )

    outputs = {
        "plain TV": batched(lambda s: plain(x=s, lam=lam).y, test_x, args.batch),
        f"learned D (epoch {learned_epoch})": batched(denoise_learned, test_x, args.batch),
        f"fully connected (epoch {network_epoch})": batched(
            lambda s: scale * network(s / scale), test_x.float(), args.batch
        ).double(),
    }
    if learned_epoch != args.epochs:
        learned.load_state_dict(learned_last)
        outputs[f"learned D (epoch {args.epochs})"] = batched(denoise_learned, test_x, args.batch)
    results = {"noisy input": mse(test_x, test_y), **{name: mse(out, test_y) for name, out in outputs.items()}}
    with open(args.out / "log.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["model", "lam", "epoch", "train_mse", "valid_mse", "seconds"])
        writer.writeheader()
        writer.writerows(log)
    plot(test_x.numpy(), test_y.numpy(), {k: v.numpy() for k, v in outputs.items()}, args.out / "examples.png")
    print(f"\n{'denoiser':<26} {'test MSE':>9}")
    for name, value in results.items():
        print(f"{name:<26} {value:>9.3f}")
    for name, out in outputs.items():
        if name.startswith("learned D"):
            gain = ((outputs["plain TV"] - test_y) ** 2).mean(1) - ((out - test_y) ** 2).mean(1)
            print(
                f"plain TV minus {name}: {float(gain.mean()):+.4f} "
                f"(standard error {float(gain.std() / len(gain) ** 0.5):.4f} over the test signals)"
            )
    print(f"total wall time {time.perf_counter() - start:.0f} s")
    print(f"\nwrote {args.out / 'log.csv'} and {args.out / 'examples.png'}")
    return results


if __name__ == "__main__":
    main()
