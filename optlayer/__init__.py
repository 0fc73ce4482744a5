"""optlayer: convex QPs written in .opt files, compiled to differentiable PyTorch layers.

layer = optlayer.load("portfolio.opt", n=50)     # an nn.Module
sol = layer(mu=mu, F=F)                          # sol.w, sol.duals["budget"], sol.status, sol.objective
"""

from optlayer.errors import OptError
from optlayer.runtime.status import Status

from .api import compile, generate, load

__version__ = "0.1.0"

__all__ = ["OptError", "Status", "__version__", "compile", "generate", "load"]
