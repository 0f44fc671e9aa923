"""Layers, losses and initializers with PyTorch's names. Knows nothing of the doctor."""

from chainrule.nn.module import Module, Parameter

__all__ = ["Module", "Parameter"]
