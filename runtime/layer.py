"""The base nn.Module of generated layers: parameters in, QP solved, variables and duals out.

A generated module subclasses ``QPLayer`` and sets the class attributes that describe its
model (PARAMETERS, VARIABLES, DUALS, SENSE) and ``qp_data``, which builds the standard
form from prepared parameter tensors. Everything else is here, written once.

Learnables are ``nn.Parameter``s stored so that their declared attributes hold while they
train (``learnable_value``):

- ``psd``: the parameter is a factor L and the learnable is L Lᵀ. A random initialization
  (normal, uniform, or the default) applies to L; ``eye``, ``ones``, ``zeros`` or a number
  initialize L so that L Lᵀ is that value (its rank can never grow past the initial rank, so
  initialize with ``eye`` or randomly for full rank).
- ``symmetric``: the learnable is (R + Rᵀ) / 2 of the stored R.
- ``nonneg`` / ``nonpos``: the learnable is |R| / -|R| of the stored R.
- otherwise the stored tensor is the learnable.

A learnable without an initialization starts uniform in ±1/sqrt(k), k its last size (as
nn.Linear does): in [0, 1/sqrt(k)] when nonneg, [-1/sqrt(k), 0] when nonpos.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .options import SolverOptions
from .parameters import ParameterError, ParameterSpec, prepare
from .solve import solve_qp
from .status import Status


@dataclass(frozen=True)
class VariableSpec:
    """A user variable: z[offset : offset + prod(shape)], row-major."""

    name: str
    shape: tuple[int, ...]
    offset: int


@dataclass(frozen=True)
class DualSpec:
    """A named constraint's dual: (matrix, offset, count, sign) pieces, shaped (loop_rows, *shape)."""

    name: str
    pieces: tuple[tuple[str, int, int, int], ...]
    shape: tuple[int, ...]
    loop_rows: int | None


class Solution:
    """A batch of solutions: each variable as an attribute (``sol.w``), ``duals``, ``status``, ``objective``.

    Variables and duals carry the parameters' batch dimensions in front. ``status`` holds a
    ``Status`` value per batch element; elements that are not SOLVED have NaN variables,
    duals and objective. ``iterations`` is the solver's iteration count per element.
    """

    def __init__(
        self, variables: dict[str, torch.Tensor], duals: dict[str, torch.Tensor], status, objective, iterations
    ):
        self._variables = variables
        self.duals = duals
        self.status = status
        self.objective = objective
        self.iterations = iterations

    def __getattr__(self, name: str) -> torch.Tensor:
        variables = self.__dict__.get("_variables", {})
        if name in variables:
            return variables[name]
        raise AttributeError(f"the model has no variable `{name}`; its variables: {', '.join(variables)}")

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._variables[name]

    def __dir__(self):
        return [*super().__dir__(), *self._variables]

    @property
    def solved(self) -> torch.Tensor:
        """True for each batch element that was solved."""
        return self.status == Status.SOLVED

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self._variables.items())
        return f"Solution({shapes}, status={self.status.tolist()})"


class QPLayer(nn.Module):
    """Solves a batch of the model's QPs; differentiable in every parameter and learnable.

    Attributes a user may set: ``options`` (SolverOptions for the solver) and
    ``check_contracts`` (check nonneg/nonpos/symmetric/psd parameters on every call; on by
    default). ``warn_on_failure`` warns when an element is not solved (on by default).
    """

    PARAMETERS: Sequence[ParameterSpec] = ()
    VARIABLES: Sequence[VariableSpec] = ()
    DUALS: Sequence[DualSpec] = ()
    SENSE: str = "minimize"

    def __init__(self) -> None:
        super().__init__()
        self.options: SolverOptions | None = None
        self.check_contracts = True
        self.warn_on_failure = True
        for spec in self.PARAMETERS:
            if spec.learnable:
                self.register_parameter(spec.name, nn.Parameter(initial_storage(spec)))

    @staticmethod
    def qp_data(p: dict, dtype: torch.dtype, device: torch.device) -> tuple:  # pragma: no cover - generated
        raise NotImplementedError

    def learnable_value(self, name: str) -> torch.Tensor:
        """The value of learnable ``name`` (its declared attributes hold by construction)."""
        spec = next(s for s in self.PARAMETERS if s.name == name)
        return storage_to_value(spec, getattr(self, name))

    def forward(self, **params) -> Solution:
        learnables = {s.name: s for s in self.PARAMETERS if s.learnable}
        for name in params:
            if name in learnables:
                raise ParameterError(
                    f"`{name}` is a learnable: the layer owns it", hint=f"read it with layer.learnable_value({name!r})"
                )
        given = dict(params)
        given.update({name: self.learnable_value(name) for name in learnables})
        prepared = prepare(self.PARAMETERS, given, check_contracts=self.check_contracts)
        Q, q, G, h, A, b, constant = self.qp_data(prepared.values, prepared.dtype, prepared.device)
        result = solve_qp(Q, q, G, h, A, b, options=self.options)
        return self._solution(result, Q, q, constant)

    def _solution(self, result, Q: torch.Tensor, q: torch.Tensor, constant: torch.Tensor) -> Solution:
        z = result.z
        batch = tuple(z.shape[:-1])
        variables = {
            v.name: z[..., v.offset : v.offset + math.prod(v.shape)].reshape(batch + v.shape) for v in self.VARIABLES
        }
        duals = {}
        for d in self.DUALS:
            parts = []
            for matrix, offset, count, sign in d.pieces:
                multipliers = result.lam if matrix == "G" else result.nu
                lead = (d.loop_rows,) if d.loop_rows is not None else ()
                parts.append(sign * multipliers[..., offset : offset + count].reshape(batch + lead + d.shape))
            duals[d.name] = parts[0] if len(parts) == 1 else torch.stack(parts, dim=len(batch))
        quadratic = 0.5 * (z.unsqueeze(-2) @ Q @ z.unsqueeze(-1)).reshape(batch) + (q * z).sum(-1)
        objective = quadratic + constant
        if self.SENSE == "maximize":
            objective = -objective
        if self.warn_on_failure:
            _warn_failures(result.status)
        return Solution(variables, duals, result.status, objective, result.iterations)


def initial_storage(spec: ParameterSpec) -> torch.Tensor:
    """The stored tensor of a learnable at construction (see the module docstring)."""
    shape = spec.shape
    dtype = torch.float64
    kind, args = spec.default if spec.default is not None else ("default", ())
    if kind in ("normal", "uniform", "default"):
        if kind == "normal":
            value = torch.randn(shape, dtype=dtype) * args[0]
        elif kind == "uniform":
            value = torch.empty(shape, dtype=dtype).uniform_(args[0], args[1])
        else:
            bound = 1 / math.sqrt(shape[-1] if shape else 1)
            low = 0.0 if "nonneg" in spec.attributes else -bound
            high = 0.0 if "nonpos" in spec.attributes else bound
            value = torch.empty(shape, dtype=dtype).uniform_(low, high)
        return value
    if kind == "constant":
        value = torch.full(shape, args[0], dtype=dtype)
    elif kind == "zeros":
        value = torch.zeros(shape, dtype=dtype)
    elif kind == "ones":
        value = torch.ones(shape, dtype=dtype)
    else:
        value = torch.eye(shape[0], dtype=dtype) if shape else torch.ones((), dtype=dtype)
    if "psd" in spec.attributes:
        eigenvalues, vectors = torch.linalg.eigh(value)
        return vectors * eigenvalues.clamp(min=0).sqrt()
    if "nonpos" in spec.attributes:
        return -value
    return value


def storage_to_value(spec: ParameterSpec, stored: torch.Tensor) -> torch.Tensor:
    if "psd" in spec.attributes:
        return stored @ stored.transpose(-1, -2)
    if "symmetric" in spec.attributes:
        stored = (stored + stored.transpose(-1, -2)) / 2
    if "nonneg" in spec.attributes:
        return stored.abs()
    if "nonpos" in spec.attributes:
        return -stored.abs()
    return stored


def _warn_failures(status: torch.Tensor) -> None:
    failed = status != Status.SOLVED
    if not bool(failed.any()):
        return
    counts = {Status(int(s)).name.lower(): int((status == s).sum()) for s in torch.unique(status[failed])}
    listed = ", ".join(f"{n} {name}" for name, n in counts.items())
    warnings.warn(
        f"{int(failed.sum())} of {status.numel()} QPs were not solved ({listed}); their outputs are NaN. "
        "See sol.status; set layer.warn_on_failure = False to silence this.",
        RuntimeWarning,
        stacklevel=3,
    )
