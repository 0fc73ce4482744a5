"""optlayer: convex QPs written in .opt files, compiled to differentiable PyTorch layers."""
