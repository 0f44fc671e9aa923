"""Shared by the nn tests: run a chainrule layer and its torch twin on the same weights and inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import chainrule as cr

TOLERANCE = {np.float64: 1e-6, np.float32: 1e-4}


def torch_state(module: cr.nn.Module) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(v)) for k, v in module.state_dict().items()}


def assert_close(actual: Any, expected: Any, tol: float, what: str = "") -> None:
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=tol, atol=tol, err_msg=what)


def compare_with_torch(
    layer: cr.nn.Module,
    twin: torch.nn.Module,
    x: np.ndarray,
    seed: int = 0,
    forward: Callable[[Any, Any], Any] | None = None,
) -> tuple[cr.Tensor, torch.Tensor]:
    """Copy ``layer``'s state into ``twin``, run both forward and backward, compare output and every gradient."""
    tol = TOLERANCE[x.dtype.type]
    if x.dtype == np.float64:
        layer.double()
        twin.double()
    twin.load_state_dict(torch_state(layer), strict=True)  # also checks the state dicts have the same keys
    xc = cr.tensor(x, dtype=x.dtype, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out = layer(xc) if forward is None else forward(layer, xc)
    tout = twin(xt) if forward is None else forward(twin, xt)
    assert out.dtype == x.dtype, f"{layer}: output dtype {out.dtype} for input dtype {x.dtype}"
    assert_close(out.data, tout, tol, f"{layer}: forward")
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    assert_close(xc.grad, xt.grad, tol, f"{layer}: input gradient")
    torch_params = dict(twin.named_parameters())
    for name, param in layer.named_parameters():
        assert_close(param.grad, torch_params[name].grad, tol, f"{layer}: gradient of {name}")
    return out, tout
