"""Smoke runs of the two OptNet experiments on tiny configurations: the loss goes down and
the logs and plots are written. The full runs are in the README, not in the test suite."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def script(folder: str):
    """examples/<folder>/train.py as a module (its sibling modules importable)."""
    path = EXAMPLES / folder / "train.py"
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"{folder}_train", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_sudoku_boards_are_valid_and_unique():
    sys.path.insert(0, str(EXAMPLES / "sudoku"))
    try:
        import boards
    finally:
        sys.path.remove(str(EXAMPLES / "sudoku"))
    grids = boards.all_grids()
    assert len(grids) == 288
    puzzles, solutions = boards.make_puzzles(40, np.random.default_rng(1))
    for puzzle, solution in zip(puzzles, solutions):
        given = puzzle >= 0
        assert np.array_equal(puzzle[given], solution[given])
        matches = np.all(grids.reshape(288, -1)[:, given.reshape(-1)] == puzzle[given], axis=1)
        assert matches.sum() == 1
    encoded = boards.one_hot(solutions)
    assert encoded.shape == (40, 64) and np.array_equal(boards.decode(encoded), solutions)
    assert boards.board_error(boards.decode(encoded), solutions) == 0.0


def test_sudoku_smoke_run(tmp_path):
    train = script("sudoku")
    log = train.main(["--puzzles", "60", "--epochs", "3", "--batch", "20", "--out", str(tmp_path), "--quiet"])
    for model in ("optlayer", "conv", "mlp"):
        losses = [row["train_loss"] for row in log if row["model"] == model]
        assert len(losses) == 3 and losses[-1] < losses[0], (model, losses)
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000
    with open(tmp_path / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9 and set(rows[0]) >= {"model", "epoch", "train_loss", "test_board_error"}


def test_denoising_smoke_run(tmp_path):
    train = script("denoising")
    results = train.main(
        ["--train", "40", "--test", "20", "--epochs", "3", "--epochs-baseline", "3", "--batch", "20"]
        + ["--out", str(tmp_path), "--quiet"]
    )
    assert results["plain TV"] < results["noisy input"]
    with open(tmp_path / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    for model in ("learned D", "fc"):
        losses = [float(r["train_mse"]) for r in rows if r["model"] == model]
        assert len(losses) == 3 and losses[-1] < losses[0], (model, losses)
    assert (tmp_path / "examples.png").stat().st_size > 10_000


@pytest.mark.parametrize("folder", ["sudoku", "denoising"])
def test_experiment_models_check(folder):
    from optlayer.cli import main

    assert main(["check", *map(str, sorted((EXAMPLES / folder).glob("*.opt")))]) == 0
