"""Parameters of a generated layer: defaults, shapes, batch broadcasting and declared contracts.

``prepare`` turns what a caller passed into tensors of one dtype and device, fills in the
declared defaults, checks every shape (leading batch dimensions broadcast across
parameters) and every declared contract (nonneg, nonpos, symmetric, psd), and reports a
mistake with the parameter's name, its declaration and the first failing batch element.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from optlayer.errors import OptError

CONTRACT_TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-5}
"""Relative tolerance of the symmetric and psd contracts, per dtype: a matrix passes as
symmetric when max|A - Aᵀ| <= tol · max(1, max|A|), and as psd when, in addition, its
smallest eigenvalue is >= -tol · max(1, max|A|)."""

DEFAULT_DTYPE = torch.float64
"""The dtype when no tensor argument decides it (Python numbers, NumPy float64 arrays, defaults)."""


class ParameterError(OptError, ValueError):
    """A layer was called with a missing, unknown or wrongly shaped parameter."""


class ContractError(ParameterError):
    """A parameter's value breaks its declared attribute (nonneg, nonpos, symmetric, psd)."""


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter or learnable as declared: ``default`` is (kind, args) or None."""

    name: str
    shape: tuple[int, ...]
    attributes: frozenset[str]
    default: tuple[str, tuple[float, ...]] | None
    learnable: bool
    declared: str

    def describe(self) -> str:
        return f"`{self.name}` (declared at {self.declared})"


def default_value(spec: ParameterSpec, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The declared default of a parameter (deterministic kinds only)."""
    kind, args = spec.default
    if kind == "constant":
        return torch.full(spec.shape, args[0], dtype=dtype, device=device)
    if kind == "zeros":
        return torch.zeros(spec.shape, dtype=dtype, device=device)
    if kind == "ones":
        return torch.ones(spec.shape, dtype=dtype, device=device)
    if kind == "eye":
        return (
            torch.eye(spec.shape[0], dtype=dtype, device=device)
            if spec.shape
            else torch.ones((), dtype=dtype, device=device)
        )
    raise ParameterError(
        f"{spec.describe()} has a random initialization ({kind}); pass its value",
        hint=f"{spec.name}=<tensor of shape {spec.shape}>",
    )


@dataclass(frozen=True)
class Prepared:
    values: dict[str, torch.Tensor]
    batch: torch.Size
    dtype: torch.dtype
    device: torch.device


def prepare(
    specs: Sequence[ParameterSpec],
    given: Mapping[str, object],
    *,
    check_contracts: bool = True,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Prepared:
    """Validate and convert the values of ``specs`` from ``given`` (missing ones take their defaults)."""
    by_name = {s.name: s for s in specs}
    for name in given:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            listed = ", ".join(by_name) or "none"
            hint = f"did you mean `{close[0]}`?" if close else f"the parameters are: {listed}"
            raise ParameterError(f"unknown parameter `{name}`", hint=hint)
    tensors = {name: v for name, v in given.items() if isinstance(v, torch.Tensor)}
    dtype = dtype or _common_dtype(tensors.values(), given)
    device = device or _common_device(tensors)
    values: dict[str, torch.Tensor] = {}
    for spec in specs:
        if spec.name in given:
            values[spec.name] = _converted(spec, given[spec.name], dtype, device)
        elif spec.default is not None:
            values[spec.name] = default_value(spec, dtype, device)
        else:
            raise ParameterError(
                f"missing parameter {spec.describe()}",
                hint=f"pass {spec.name}=<tensor of shape {_shape_text(spec.shape)}>, with any leading batch dimensions",
            )
    batch = _batch_shape(specs, values)
    if check_contracts:
        for spec in specs:
            check_contract(spec, values[spec.name])
    return Prepared(values, batch, dtype, device)


def _common_dtype(tensors, given: Mapping[str, object]) -> torch.dtype:
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    if not floats:
        return DEFAULT_DTYPE
    dtype = floats[0]
    for other in floats[1:]:
        dtype = torch.promote_types(dtype, other)
    if dtype not in CONTRACT_TOLERANCE:
        raise ParameterError(
            f"parameters must be float32 or float64, not {dtype}", hint="convert them with .double() or .float()"
        )
    return dtype


def _common_device(tensors: Mapping[str, torch.Tensor]) -> torch.device:
    devices = {t.device for t in tensors.values()}
    if len(devices) > 1:
        listed = ", ".join(f"`{n}` on {t.device}" for n, t in tensors.items())
        raise ParameterError(f"parameters are on different devices: {listed}", hint="move them to one device")
    return devices.pop() if devices else torch.device("cpu")


def _converted(spec: ParameterSpec, value: object, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(value, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ParameterError(f"parameter {spec.describe()} is not a tensor of numbers: {error}") from None
    rank = len(spec.shape)
    if tensor.dim() < rank or tuple(tensor.shape[tensor.dim() - rank :]) != spec.shape:
        example = _shape_text((8,) + spec.shape)
        raise ParameterError(
            f"parameter {spec.describe()} must have shape {_shape_text(spec.shape)}, but has shape {_shape_text(tuple(tensor.shape))}",
            hint=f"leading batch dimensions are allowed, e.g. {example}",
        )
    return tensor


def _batch_shape(specs: Sequence[ParameterSpec], values: Mapping[str, torch.Tensor]) -> torch.Size:
    batch: tuple[int, ...] = ()
    owner = None
    for spec in specs:
        tensor = values[spec.name]
        own = tuple(tensor.shape[: tensor.dim() - len(spec.shape)])
        try:
            batch = tuple(torch.broadcast_shapes(batch, own))
        except RuntimeError:
            raise ParameterError(
                f"the batch dimensions of `{spec.name}` {_shape_text(own)} do not broadcast with those of `{owner}` {_shape_text(batch)}",
                hint="batch dimensions follow NumPy broadcasting, aligned from the right",
            ) from None
        if own:
            owner = spec.name
    return torch.Size(batch)


def check_contract(spec: ParameterSpec, value: torch.Tensor) -> None:
    """Raise a ContractError naming the first batch element that breaks a declared attribute.

    NaN entries break no contract here: the solver reports them per element as NUMERICAL.
    """
    rank = len(spec.shape)
    flat = value.detach().reshape(-1, *spec.shape) if value.dim() > rank else value.detach().reshape(1, *spec.shape)
    batch = tuple(value.shape[: value.dim() - rank])
    dims = tuple(range(1, flat.dim()))
    if "nonneg" in spec.attributes:
        _report(spec, "nonneg", (flat < 0).any(dim=dims) if dims else flat < 0, batch, "has a negative entry")
    if "nonpos" in spec.attributes:
        _report(spec, "nonpos", (flat > 0).any(dim=dims) if dims else flat > 0, batch, "has a positive entry")
    if "symmetric" in spec.attributes or "psd" in spec.attributes:
        tol = CONTRACT_TOLERANCE.get(flat.dtype, 1e-5)
        scale = flat.abs().amax(dim=(1, 2)).clamp(min=1)
        asymmetry = (flat - flat.transpose(1, 2)).abs().amax(dim=(1, 2))
        _report(
            spec,
            "symmetric" if "symmetric" in spec.attributes else "psd",
            asymmetry > tol * scale,
            batch,
            "is not symmetric",
        )
        if "psd" in spec.attributes:
            smallest = torch.linalg.eigvalsh(0.5 * (flat + flat.transpose(1, 2)))[:, 0]
            _report(spec, "psd", smallest < -tol * scale, batch, "has a negative eigenvalue")


def _report(spec: ParameterSpec, attribute: str, failing: torch.Tensor, batch: tuple[int, ...], what: str) -> None:
    bad = torch.nonzero(failing.reshape(-1))
    if bad.numel() == 0:
        return
    where = ""
    if batch:
        index = np.unravel_index(int(bad[0, 0]), batch)
        where = f" at batch index {tuple(int(i) for i in index) if len(batch) > 1 else int(index[0])}"
    raise ContractError(
        f"parameter {spec.describe()} {what}{where}, but it is declared `{attribute}`",
        hint="pass a value that satisfies the declaration, or change the declaration",
    )


def _shape_text(shape: tuple[int, ...]) -> str:
    return "()" if not shape else f"({shape[0]},)" if len(shape) == 1 else str(tuple(shape))
