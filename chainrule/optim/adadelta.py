"""Adadelta, as torch.optim.Adadelta: steps scaled by the ratio of running RMS of updates and of gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, signed_decayed_grad, square_avg_


class Adadelta(Optimizer):
    """Adadelta, with torch's update rule.

    ``g = grad + weight_decay * p`` (negated first with ``maximize``); ``v = rho * v + (1 - rho) * g**2``;
    ``delta = sqrt(u + eps) / sqrt(v + eps) * g``; ``u = rho * u + (1 - rho) * delta**2``; ``p -= lr * delta``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: scale of the update (>= 0; 1.0 is Adadelta as published).
        rho: decay of the running averages, in [0, 1].
        eps: added inside the square roots (>= 0).
        weight_decay: L2 penalty (>= 0).
        foreach: accepted for torch compatibility (there is one implementation).
        maximize: maximize the objective instead of minimizing it.

    Raises:
        ValueError: an option is out of range.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = Adadelta([w])
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 6)  # 1 - sqrt(1e-6) / sqrt(0.1 * 4 + 1e-6) * 2
    0.996838
    """

    def __init__(
        self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
        foreach: bool | None = None, *, maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        self._check_range(options, "eps", 0.0)
        self._check_range(options, "weight_decay", 0.0)
        rho = options["rho"]
        self._check_range(options, "rho", 0.0)
        if rho > 1:
            raise ValueError(f"{type(self).__name__}: rho must be in [0, 1], got {rho}")

    def _options(self, group: dict[str, Any]) -> tuple[float, float, float, float, bool]:
        return (float(group["lr"]), float(group["rho"]), float(group["eps"]), float(group["weight_decay"]),
                bool(group["maximize"]))

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
        options: tuple[float, float, float, float, bool], scratch: tuple[np.ndarray, np.ndarray],
    ) -> None:
        lr, rho, eps, weight_decay, maximize = options
        s1, s2 = scratch
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            state["acc_delta"] = np.zeros_like(param)
        state["step"] += 1
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        grad = signed_decayed_grad(param, grad, weight_decay, maximize, s1)
        square_avg_(square_avg, grad, rho, s2)
        np.add(square_avg, eps, out=s2)
        np.sqrt(s2, out=s2)  # std
        if grad is s1:  # s1 holds the gradient: the new delta needs a third buffer
            std, delta = s2, np.empty_like(param)
        else:
            std, delta = s2, s1
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= grad
        # acc_delta = rho * acc_delta + (1 - rho) * delta**2, with std's buffer as scratch (std is done)
        square_avg_(acc_delta, delta, rho, std)
        delta *= -lr
        param += delta
