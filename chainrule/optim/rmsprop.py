"""RMSprop with momentum and the centered variant, as torch.optim.RMSprop."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, decayed_grad, lerp_, square_avg_


class RMSprop(Optimizer):
    """RMSprop, with torch's update rule.

    ``g = grad + weight_decay * p``; ``v = alpha * v + (1 - alpha) * g**2``;
    ``avg = sqrt(v) + eps`` (centered: ``sqrt(v - mean_g**2) + eps`` with ``mean_g = lerp(mean_g, g, 1 - alpha)``);
    ``p -= lr * g / avg``, or with momentum ``buf = momentum * buf + g / avg; p -= lr * buf``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the squared-gradient average (>= 0).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalize by the estimated variance of the gradient instead of its second moment.

    Raises:
        ValueError: an option is out of range.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01)
    >>> w.grad = w.data.clone()
    >>> opt.step()
    >>> round(float(w.data[0]), 4)  # 1 - 0.01 / sqrt(0.01)
    0.9
    """

    def __init__(
        self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
        momentum: float = 0, centered: bool = False,
    ) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum,
                    "centered": centered}
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        for key in ("eps", "momentum", "weight_decay", "alpha"):
            self._check_range(options, key, 0.0)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any],
        scratch: tuple[np.ndarray, np.ndarray],
    ) -> None:
        s1, s2 = scratch
        alpha, momentum = float(group["alpha"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
        state["step"] += 1
        square_avg = state["square_avg"]

        grad = decayed_grad(param, grad, float(group["weight_decay"]), s1)
        square_avg_(square_avg, grad, alpha, s2)
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = np.zeros_like(param)
            lerp_(grad_avg, grad, 1.0 - alpha, s2)
            np.multiply(grad_avg, grad_avg, out=s2)
            np.subtract(square_avg, s2, out=s2)
            np.sqrt(s2, out=s2)
        else:
            np.sqrt(square_avg, out=s2)
        s2 += float(group["eps"])
        np.divide(grad, s2, out=s2)
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.zeros_like(param)
            buf *= momentum
            buf += s2
            np.multiply(buf, -float(group["lr"]), out=s2)
        else:
            s2 *= -float(group["lr"])
        param += s2
