"""chainrule.nn.functional against torch.nn.functional, forward and backward, float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812 - PyTorch's convention
from nn_helpers import assert_close

import chainrule as cr
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 5)) * 2
W = rng.standard_normal((3, 5))
B = rng.standard_normal(3)
G = rng.standard_normal(5)

# name: (ours, theirs, inputs); every input gets a gradient
CASES = {
    "linear": (F.linear, TF.linear, (X, W, B)),
    "relu": (F.relu, TF.relu, (X,)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1), (X,)),
    "sigmoid": (F.sigmoid, torch.sigmoid, (X,)),
    "tanh": (F.tanh, torch.tanh, (X,)),
    "gelu": (F.gelu, TF.gelu, (X,)),
    "gelu-tanh": (lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh"), (X,)),
    "softmax": (lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0), (X,)),
    "log_softmax": (F.log_softmax, lambda x: TF.log_softmax(x, dim=-1), (X,)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (5,), w, b), lambda x, w, b: TF.layer_norm(x, (5,), w, b),
                   (X, G, G[::-1].copy())),
    "mse_loss": (F.mse_loss, TF.mse_loss, (X, X[::-1].copy())),
    "l1_loss": (lambda x, y: F.l1_loss(x, y, "sum"), lambda x, y: TF.l1_loss(x, y, reduction="sum"), (X, X.T.T * 0.5)),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                        (X, 1 / (1 + np.exp(-X[::-1])))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_functional_matches_torch(name):
    ours, theirs, inputs = CASES[name]
    xs = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, tout = ours(*xs), theirs(*ts)
    assert_close(out.data, tout, 1e-9)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    for a, t in zip(xs, ts):
        assert_close(a.grad, t.grad, 1e-9)


def test_linear_without_bias_and_shape_error():
    out = F.linear(cr.tensor(X), cr.tensor(W))
    assert_close(out.data, X @ W.T, 1e-5)
    with pytest.raises(ValueError, match=r"linear: expected input with 5 features in its last dimension"):
        F.linear(cr.zeros(2, 4), cr.tensor(W))


def test_layer_norm_shape_error():
    with pytest.raises(ValueError, match=r"layer_norm: expected input whose last dimensions are \(3, 5\), got shape"):
        F.layer_norm(cr.tensor(X), (3, 5))
