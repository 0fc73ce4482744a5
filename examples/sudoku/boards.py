"""4×4 Sudoku boards and puzzles, made in code: all valid grids, puzzles with unique solutions.

A board is a (4, 4) array of digits 0..3; a puzzle has -1 in its blank cells. One-hot
encodings are (4, 4, 4) arrays flattened to 64 entries, cell-major: entry (r * 4 + c) * 4 + d
is 1 when cell (r, c) holds digit d; blank cells are all zero.
"""

from __future__ import annotations

import itertools

import numpy as np


def all_grids() -> np.ndarray:
    """Every valid 4×4 Sudoku grid (there are 288): rows, columns and 2×2 boxes hold each digit once."""
    rows = list(itertools.permutations(range(4)))
    grids = []
    for a, b, c, d in itertools.product(rows, repeat=4):
        grid = np.array([a, b, c, d])
        if all(len(set(grid[:, j])) == 4 for j in range(4)) and all(
            len(set(grid[i : i + 2, j : j + 2].reshape(-1))) == 4 for i in (0, 2) for j in (0, 2)
        ):
            grids.append(grid)
    return np.array(grids)


def make_puzzles(
    count: int, rng: np.random.Generator, min_blanks: int = 4, max_blanks: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` puzzles with unique solutions, and those solutions.

    Cells are blanked in random order, skipping any blank that would admit a second
    solution, until the puzzle has its drawn number of blanks (or no cell can go).
    """
    grids = all_grids()
    puzzles, solutions = [], []
    for _ in range(count):
        solution = grids[rng.integers(len(grids))]
        target = rng.integers(min_blanks, max_blanks + 1)
        puzzle = solution.copy().reshape(-1)
        blanks = 0
        for cell in rng.permutation(16):
            if blanks == target:
                break
            kept = puzzle[cell]
            puzzle[cell] = -1
            if _solutions(puzzle, grids) == 1:
                blanks += 1
            else:
                puzzle[cell] = kept
        puzzles.append(puzzle.reshape(4, 4))
        solutions.append(solution)
    return np.array(puzzles), np.array(solutions)


def _solutions(puzzle: np.ndarray, grids: np.ndarray) -> int:
    given = puzzle >= 0
    return int(np.all(grids.reshape(len(grids), -1)[:, given] == puzzle[given], axis=1).sum())


def one_hot(boards: np.ndarray) -> np.ndarray:
    """(N, 4, 4) boards (-1 for blank) to (N, 64) one-hot vectors."""
    encoded = np.zeros(boards.shape + (4,))
    filled = boards >= 0
    encoded[filled, boards[filled]] = 1.0
    return encoded.reshape(len(boards), 64)


def decode(vectors: np.ndarray) -> np.ndarray:
    """(N, 64) scores to (N, 4, 4) boards: the best-scoring digit of each cell."""
    return vectors.reshape(-1, 4, 4, 4).argmax(-1)


def board_error(predicted: np.ndarray, solutions: np.ndarray) -> float:
    """The fraction of boards with at least one wrong cell."""
    return float(
        np.mean(np.any(predicted.reshape(len(solutions), -1) != solutions.reshape(len(solutions), -1), axis=1))
    )
