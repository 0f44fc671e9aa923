"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as torch.optim.SGD."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.engine.dtypes import constant
from chainrule.optim.optimizer import Optimizer, ParamsT, decayed_grad


class SGD(Optimizer):
    """Stochastic gradient descent, with torch's update rule.

    ``g = grad + weight_decay * p``; with momentum ``buf = momentum * buf + (1 - dampening) * g``
    (``buf = g`` on the first step) and ``g = buf`` (or ``g + momentum * buf`` with nesterov);
    then ``p -= lr * g``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: learning rate (>= 0).
        momentum: momentum factor (>= 0).
        dampening: dampening for momentum.
        weight_decay: L2 penalty (>= 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).

    Raises:
        ValueError: an option is out of range.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.5)
    >>> w.grad = w.data.clone()
    >>> opt.step()
    >>> w.data.tolist()
    [0.5, 1.0]
    """

    def __init__(
        self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
        weight_decay: float = 0, nesterov: bool = False,
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov}
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        self._check_range(options, "momentum", 0.0)
        self._check_range(options, "weight_decay", 0.0)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                "SGD: nesterov=True requires momentum > 0 and dampening = 0, "
                f"got momentum={options['momentum']}, dampening={options['dampening']}"
            )

    def _options(self, group: dict[str, Any]) -> tuple[float, float, float, float, bool]:
        # Python floats: a NumPy float64 lr would make float32 updates round through float64
        return (float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
                float(group["weight_decay"]), bool(group["nesterov"]))

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
        options: tuple[float, float, float, float, bool], scratch: tuple[np.ndarray, np.ndarray],
    ) -> None:
        lr, momentum, dampening, weight_decay, nesterov = options
        s1, s2 = scratch
        if weight_decay != 0:
            grad = decayed_grad(param, grad, weight_decay, s1)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, dtype=param.dtype)
            else:
                buf *= constant(momentum, buf.dtype)
                if dampening == 0:
                    buf += grad
                else:
                    np.multiply(grad, constant(1.0 - dampening, grad.dtype), out=s2)
                    buf += s2
            if nesterov:
                np.multiply(buf, constant(momentum, buf.dtype), out=s2)
                s2 += grad
                grad = s2
            else:
                grad = buf
        np.multiply(grad, constant(-lr, grad.dtype), out=s2)  # a typed -lr: see dtypes.constant
        param += s2
