"""optlayer: convex QPs written in .opt files, compiled to differentiable PyTorch layers."""

from optlayer.errors import OptError

__version__ = "0.1.0"

__all__ = ["OptError", "__version__"]
