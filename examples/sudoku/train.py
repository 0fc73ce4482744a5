"""Learn the rules of 4×4 Sudoku from solved boards (OptNet, Amos & Kolter 2017), with baselines.

    python examples/sudoku/train.py                      # the full run (10,000 puzzles)
    python examples/sudoku/train.py --puzzles 300 --epochs 2 --out /tmp/sudoku   # a smoke run

Three models see the same puzzles: the QP layer of sudoku.opt (its equality constraints
A z = A z0 are learned), a convolutional network and a fully connected one. Each epoch
prints and logs the train and test loss and board error (a board is right only if every
cell is; the training figures are those of the epoch's mini-batches, as the model was
updating). All three train with Adam and a cosine-annealed learning rate. A QP that the
layer fails to solve (NaN output) is left out of the loss, counted as a wrong board, and
reported. The script writes log.csv and learning_curves.png to --out and prints a table.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import boards
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

import optlayer

HERE = Path(__file__).parent


class OptNetSudoku(nn.Module):
    """The QP layer of sudoku.opt: the puzzle is the linear term, the solution is z."""

    def __init__(self) -> None:
        super().__init__()
        self.qp = optlayer.load(HERE / "sudoku.opt")
        self.qp.warn_on_failure = False

    def forward(self, puzzles: torch.Tensor) -> torch.Tensor:
        return self.qp(p=puzzles).z


class ConvSudoku(nn.Module):
    """Convolutions over the 4×4 board with the digits as channels."""

    def __init__(self, width: int = 128, depth: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(4, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, 4, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, puzzles: torch.Tensor) -> torch.Tensor:
        grid = puzzles.reshape(-1, 4, 4, 4).permute(0, 3, 1, 2)
        return self.net(grid).permute(0, 2, 3, 1).reshape(-1, 64)


class MLPSudoku(nn.Module):
    def __init__(self, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 64)
        )

    def forward(self, puzzles: torch.Tensor) -> torch.Tensor:
        return self.net(puzzles)


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """OptNet's loss: mean squared error of the solution against the one-hot board."""
    return ((outputs - targets) ** 2).mean()


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The baselines' loss: cross-entropy of each cell's digit (their best chance)."""
    return nn.functional.cross_entropy(outputs.reshape(-1, 4), targets.reshape(-1, 4).argmax(-1))


MODELS = {
    "optlayer": (OptNetSudoku, mse, torch.float64),
    "conv": (ConvSudoku, cross_entropy, torch.float32),
    "mlp": (MLPSudoku, cross_entropy, torch.float32),
}


def wrong(outputs: torch.Tensor, targets: torch.Tensor) -> int:
    """How many boards have a cell whose best-scoring digit is not the solution's; a board whose
    QP was not solved (NaN output) counts as wrong."""
    predicted = boards.decode(outputs.float().numpy())
    right = (predicted == boards.decode(targets.numpy())).all((1, 2)) & outputs.isfinite().all(-1).numpy()
    return int((~right).sum())


def evaluate(
    model: nn.Module, loss_fn, puzzles: torch.Tensor, targets: torch.Tensor, batch: int
) -> tuple[float, float, int]:
    """Loss (over the solved boards), board error and the number of failed solves on held-out puzzles."""
    model.eval()
    total_loss, wrong_boards, failed = 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(puzzles), batch):
            out = model(puzzles[start : start + batch])
            solved = out.isfinite().all(-1)
            total_loss += loss_fn(out[solved], targets[start : start + batch][solved]).item() * int(solved.sum())
            failed += len(out) - int(solved.sum())
            wrong_boards += wrong(out, targets[start : start + batch])
    model.train()
    return total_loss / max(len(puzzles) - failed, 1), wrong_boards / len(puzzles), failed


def train_model(name: str, data: dict, args: argparse.Namespace, log: list[dict]) -> dict:
    make, loss_fn, dtype = MODELS[name]
    torch.manual_seed(args.seed)
    model = make()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr[name])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    train_x, train_y = data["train"][0].to(dtype), data["train"][1].to(dtype)
    test_x, test_y = data["test"][0].to(dtype), data["test"][1].to(dtype)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    row = {}
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train_x), generator=generator)
        batches = range(0, len(train_x), args.batch)
        total_loss, wrong_boards, train_failed = 0.0, 0, 0
        for begin in tqdm(batches, desc=f"{name} epoch {epoch}/{args.epochs}", leave=False, disable=args.quiet):
            index = order[begin : begin + args.batch]
            optimizer.zero_grad()
            outputs = model(train_x[index])
            solved = outputs.isfinite().all(-1)
            loss = loss_fn(outputs[solved], train_y[index][solved])
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * int(solved.sum())
            train_failed += len(index) - int(solved.sum())
            wrong_boards += wrong(outputs.detach(), train_y[index])
        schedule.step()
        train_loss = total_loss / max(len(train_x) - train_failed, 1)
        train_error = wrong_boards / len(train_x)
        test_loss, test_error, test_failed = evaluate(model, loss_fn, test_x, test_y, args.batch)
        row = {
            "model": name,
            "epoch": epoch,
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_board_error": train_error,
            "test_board_error": test_error,
            "failed_solves": train_failed + test_failed,
            "seconds": time.perf_counter() - start,
        }
        log.append(row)
        print(
            f"{name:>8} epoch {epoch:>3}: train loss {train_loss:.4f} error {100 * train_error:5.1f}%   "
            f"test loss {test_loss:.4f} error {100 * test_error:5.1f}%   ({row['seconds']:.0f} s)"
            + (f"   {row['failed_solves']} failed solves" if row["failed_solves"] else ""),
            flush=True,
        )
    return row


def plot(log: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (losses, errors) = plt.subplots(1, 2, figsize=(11, 4))
    for name in dict.fromkeys(r["model"] for r in log):
        rows = [r for r in log if r["model"] == name]
        epochs = [r["epoch"] for r in rows]
        losses.plot(epochs, [r["train_loss"] for r in rows], "--", label=f"{name} train")
        losses.plot(epochs, [r["test_loss"] for r in rows], "-", label=f"{name} test")
        errors.plot(epochs, [100 * r["train_board_error"] for r in rows], "--", label=f"{name} train")
        errors.plot(epochs, [100 * r["test_board_error"] for r in rows], "-", label=f"{name} test")
    losses.set(xlabel="epoch", ylabel="loss (each model's own)", yscale="log", title="Loss")
    errors.set(xlabel="epoch", ylabel="board error (%)", title="Boards with a wrong cell")
    for axis in (losses, errors):
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.suptitle("4×4 Sudoku: a QP layer with learned constraints against neural baselines")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", type=int, default=10_000)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--lr-optlayer", type=float, default=0.1, help="Adam's initial rate, cosine-annealed")
    parser.add_argument("--lr-baselines", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.lr = {"optlayer": args.lr_optlayer, "conv": args.lr_baselines, "mlp": args.lr_baselines}
    args.out.mkdir(parents=True, exist_ok=True)

    puzzles, solutions = boards.make_puzzles(args.puzzles, np.random.default_rng(args.seed))
    split = int(round(len(puzzles) * (1 - args.test_fraction)))
    x = torch.tensor(boards.one_hot(puzzles))
    y = torch.tensor(boards.one_hot(solutions))
    data = {"train": (x[:split], y[:split]), "test": (x[split:], y[split:])}
    print(
        f"{split} training and {len(puzzles) - split} test puzzles, {np.mean(puzzles < 0) * 16:.1f} blanks on average"
    )

    log: list[dict] = []
    finals = [train_model(name, data, args, log) for name in args.models]
    with open(args.out / "log.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(log[0]))
        writer.writeheader()
        writer.writerows(log)
    plot(log, args.out / "learning_curves.png")
    print(f"\n{'model':<10} {'train error':>12} {'test error':>11} {'test loss':>10} {'time':>8}")
    for row in finals:
        print(
            f"{row['model']:<10} {100 * row['train_board_error']:>11.1f}% {100 * row['test_board_error']:>10.1f}% "
            f"{row['test_loss']:>10.4f} {row['seconds']:>7.0f}s"
        )
    print(f"\nwrote {args.out / 'log.csv'} and {args.out / 'learning_curves.png'}")
    return log


if __name__ == "__main__":
    main()
