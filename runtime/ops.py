"""Tensor helpers that generated layers call to build QP data from their parameters.

A tensor here is laid out as (*batch, [rows], *logical): any leading batch dimensions, an
optional iteration-row axis (one slice per loop iteration), then the logical shape. The
helpers take the number of trailing (non-batch) dimensions they act on, so they work for
any batch shape without knowing it.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import weakref
import zlib
from collections.abc import Sequence

import numpy as np
import torch

_CACHE: dict[int, tuple[weakref.ref, dict]] = {}
"""Tensors made from a generated module's tables, per array and (dtype, device). An entry
goes when its array is collected, so a new array at the same address never finds it."""


def tables(encoded: str) -> dict[str, np.ndarray]:
    """The index tables and constant arrays that a generated module carries, from their text form."""
    raw = zlib.decompress(base64.b64decode(encoded))
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def encode_tables(arrays: dict[str, np.ndarray]) -> str:
    """The text form of ``arrays`` for ``tables``: a compressed .npz, base64-encoded."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return base64.b64encode(zlib.compress(buffer.getvalue(), 6)).decode("ascii")


def _evict(cache: dict, address: int, _reference: weakref.ref) -> None:
    cache.pop(address, None)


def _cached(array: np.ndarray, key: tuple, make) -> torch.Tensor:
    entry = _CACHE.get(id(array))
    if entry is None or entry[0]() is not array:
        entry = (weakref.ref(array, functools.partial(_evict, _CACHE, id(array))), {})
        _CACHE[id(array)] = entry
    tensor = entry[1].get(key)
    if tensor is None:
        tensor = entry[1][key] = make()
    return tensor


def const(array: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A table as a tensor: float tables in ``dtype``, index tables as int64; converted once, then cached."""
    kind = dtype if array.dtype.kind == "f" else torch.int64
    return _cached(array, ("const", kind, device), lambda: torch.as_tensor(array, dtype=kind, device=device))


def sparse(
    shape: Sequence[int], index: np.ndarray, values: np.ndarray, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """A dense tensor of ``shape`` holding ``values`` at flat positions ``index`` (repeats add up).

    Built once per table, dtype and device: a layer's constant part does not change between calls.
    """

    def make() -> torch.Tensor:
        flat = torch.zeros(math.prod(shape), dtype=dtype, device=device)
        flat.index_add_(0, torch.as_tensor(index, device=device), torch.as_tensor(values, dtype=dtype, device=device))
        return flat.reshape(tuple(shape))

    return _cached(values, ("sparse", tuple(shape), dtype, device), make)


def reshape(x: torch.Tensor, ndim: int, shape: Sequence[int]) -> torch.Tensor:
    """Reshape the last ``ndim`` dimensions to ``shape``."""
    return x.reshape(tuple(x.shape[: x.dim() - ndim]) + tuple(shape))


def take(x: torch.Tensor, ndim: int, index: torch.Tensor) -> torch.Tensor:
    """Entries of the last ``ndim`` dimensions, flattened, at ``index`` (the result has index's shape)."""
    return x.reshape(tuple(x.shape[: x.dim() - ndim]) + (-1,))[..., index]


def row_take(x: torch.Tensor, ndim: int, index: torch.Tensor) -> torch.Tensor:
    """Iteration rows ``index`` of a tensor with ``ndim`` logical dimensions after its row axis."""
    return x.index_select(x.dim() - ndim - 1, index)


def row_sum(x: torch.Tensor, ndim: int, parent: torch.Tensor, count: int) -> torch.Tensor:
    """Sum the iteration rows of x into ``count`` rows: row r goes to row parent[r]."""
    dim = x.dim() - ndim - 1
    shape = list(x.shape)
    shape[dim] = count
    return x.new_zeros(shape).index_add(dim, parent, x)


def broadcast(x: torch.Tensor, ndim: int, shape: Sequence[int], rows: int | None) -> torch.Tensor:
    """Broadcast the last ``ndim`` dimensions to ``shape`` (NumPy rules), adding a row axis if ``rows``."""
    lead = tuple(x.shape[: x.dim() - ndim])
    x = x.reshape(lead + (1,) * (len(shape) - ndim) + tuple(x.shape[x.dim() - ndim :]))
    if rows is not None:
        return x.unsqueeze(len(lead)).expand(lead + (rows,) + tuple(shape))
    return x.expand(lead + tuple(shape))


def cat(parts: Sequence[torch.Tensor], dim: int) -> torch.Tensor:
    """torch.cat along ``dim`` (counted from the end), broadcasting every other dimension first."""
    rank = max(p.dim() for p in parts)
    parts = [p.reshape((1,) * (rank - p.dim()) + tuple(p.shape)) for p in parts]
    axis = rank + dim
    shapes = [list(p.shape[:axis]) + [1] + list(p.shape[axis + 1 :]) for p in parts]
    target = list(torch.broadcast_shapes(*shapes))
    return torch.cat([p.expand(*target[:axis], p.shape[axis], *target[axis + 1 :]) for p in parts], axis)


def scatter(x: torch.Tensor, ndim: int, index: torch.Tensor, size: int) -> torch.Tensor:
    """A vector of ``size`` entries that receives the last ``ndim`` dimensions of x, flattened, at ``index``."""
    flat = x.reshape(tuple(x.shape[: x.dim() - ndim]) + (-1,))
    return flat.new_zeros(tuple(flat.shape[:-1]) + (size,)).index_add(-1, index, flat)


def assemble(base: torch.Tensor, entries: Sequence[tuple[torch.Tensor, int, torch.Tensor]]) -> torch.Tensor:
    """A standard-form matrix or vector: the constant ``base`` plus each entry's values at its flat positions.

    Each entry is (values, ndim, index): values whose last ``ndim`` dimensions, flattened,
    go to the flat positions ``index`` of the result. The result has the batch dimensions
    of the entries only, so data the whole batch shares is not copied.
    """
    if not entries:
        return base
    batch = torch.broadcast_shapes(*[v.shape[: v.dim() - n] for v, n, _ in entries])
    out = base.expand(tuple(batch) + tuple(base.shape)).reshape(tuple(batch) + (-1,)).clone()
    for values, ndim, index in entries:
        flat = values.reshape(tuple(values.shape[: values.dim() - ndim]) + (-1,)).expand(
            tuple(batch) + (index.numel(),)
        )
        out = out.index_add(-1, index.reshape(-1), flat)
    return out.reshape(tuple(batch) + tuple(base.shape))
