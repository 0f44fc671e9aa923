"""Utilities with PyTorch's names: ``chainrule.utils.data`` is ``torch.utils.data``."""

from chainrule.utils import data

__all__ = ["data"]
