"""Piecewise-constant signals with Gaussian noise, generated in code (OptNet's denoising setting).

Each signal has length 100, 1 to 10 breakpoints at random places and levels drawn uniformly
from [10, 100]; the noisy version adds Gaussian noise with standard deviation 10.
"""

from __future__ import annotations

import numpy as np

LENGTH = 100
NOISE = 10.0


def make_signals(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) arrays of shape (count, LENGTH)."""
    clean = np.empty((count, LENGTH))
    for i in range(count):
        breaks = np.sort(rng.choice(np.arange(1, LENGTH), size=rng.integers(1, 11), replace=False))
        levels = rng.uniform(10, 100, size=len(breaks) + 1)
        clean[i] = np.repeat(levels, np.diff(np.concatenate([[0], breaks, [LENGTH]])))
    return clean + rng.normal(scale=NOISE, size=clean.shape), clean


def difference_operator(n: int = LENGTH) -> np.ndarray:
    """The (n - 1) × n first-difference matrix: (D y)[t] = y[t + 1] - y[t]."""
    return np.eye(n, k=1)[:-1] - np.eye(n)[:-1]
