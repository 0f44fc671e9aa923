"""Residual blocks written the PyTorch way (``x + self.branch(x)`` in a Module's forward) against torch in float64:
forward, the input's gradient (which sums the skip path's and the branch's) and every parameter's gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_helpers import compare_with_torch

from chainrule import nn


def block(lib, kind: str):
    """The same residual block in chainrule (lib=chainrule.nn) or torch (lib=torch.nn)."""
    relu = lib.functional.relu

    class Block(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            if kind in ("pre-activation mlp", "identity skip"):
                self.branch = lib.Sequential(lib.ReLU(), lib.Linear(6, 6))
                self.skip = lib.Identity()
            elif kind == "post-activation mlp":
                self.branch = lib.Sequential(lib.Linear(6, 6), lib.ReLU(), lib.Linear(6, 6))
            elif kind == "conv, same padding":
                self.branch = lib.Sequential(lib.BatchNorm2d(3), lib.ReLU(), lib.Conv2d(3, 3, 3, padding="same"))
            else:  # a projection on the skip path where the branch halves the size and doubles the channels
                self.branch = lib.Sequential(lib.Conv2d(3, 6, 3, stride=2, padding=1), lib.ReLU(),
                                             lib.Conv2d(6, 6, 3, padding=1))
                self.skip = lib.Conv2d(3, 6, 1, stride=2)

        def forward(self, x):
            if kind == "pre-activation mlp":
                return x + self.branch(x)
            if kind == "identity skip":
                return self.skip(x) + self.branch(x)
            if kind == "post-activation mlp":
                return relu(x + self.branch(x))
            if kind == "conv, same padding":
                return self.branch(x) + x
            return self.skip(x) + self.branch(x)

    return Block()


KINDS = {"pre-activation mlp": (4, 6), "identity skip": (1, 6), "post-activation mlp": (4, 6),
         "conv, same padding": (2, 3, 5, 5), "projection skip": (2, 3, 7, 7)}


@pytest.mark.parametrize("kind", list(KINDS))
def test_residual_block_matches_torch(kind):
    torch.manual_seed(0)
    x = np.random.default_rng(1).normal(size=KINDS[kind])
    compare_with_torch(block(nn, kind), block(torch.nn, kind), x)


def test_two_stacked_blocks_pass_the_gradient_through_both_skips():
    ours = nn.Sequential(block(nn, "pre-activation mlp"), block(nn, "pre-activation mlp"))
    twin = torch.nn.Sequential(block(torch.nn, "pre-activation mlp"), block(torch.nn, "pre-activation mlp"))
    compare_with_torch(ours, twin, np.random.default_rng(2).normal(size=(3, 6)))
