"""Adagrad, as torch.optim.Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT, signed_decayed_grad


class Adagrad(Optimizer):
    """Adagrad, with torch's update rule.

    ``g = grad + weight_decay * p`` (negated first with ``maximize``); ``clr = lr / (1 + (t - 1) * lr_decay)``;
    ``sum += g**2``; ``p -= clr * g / (sqrt(sum) + eps)``. The state (``step``, ``sum`` starting at
    ``initial_accumulator_value``) is created for every parameter at construction, as torch does.

    Args:
        params: Tensors or parameter-group dicts.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay per step (>= 0).
        weight_decay: L2 penalty (>= 0).
        initial_accumulator_value: the starting value of the sum of squares (>= 0).
        eps: added to the denominator (>= 0).
        foreach: accepted for torch compatibility (there is one implementation).
        maximize: maximize the objective instead of minimizing it.

    Raises:
        ValueError: an option is out of range.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(x, 4) for x in w.data.tolist()]  # the first step moves each weight by lr
    [0.9, -1.9]
    """

    def __init__(
        self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
        initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps, "foreach": foreach,
                    "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._initial_state(p._data, group)

    @staticmethod
    def _initial_state(param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            self._check_range(options, key, 0.0)

    def _options(self, group: dict[str, Any]) -> tuple[float, float, float, float, bool, dict[str, Any]]:
        return (float(group["lr"]), float(group["lr_decay"]), float(group["weight_decay"]), float(group["eps"]),
                bool(group["maximize"]), group)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
        options: tuple[float, float, float, float, bool, dict[str, Any]], scratch: tuple[np.ndarray, np.ndarray],
    ) -> None:
        lr, lr_decay, weight_decay, eps, maximize, group = options
        s1, s2 = scratch
        if not state:  # a parameter group added after construction
            state.update(self._initial_state(param, group))
        state["step"] = step = state["step"] + 1
        grad = signed_decayed_grad(param, grad, weight_decay, maximize, s1)
        clr = lr / (1 + (step - 1) * lr_decay)
        total = state["sum"]
        np.multiply(grad, grad, out=s2)
        total += s2
        np.sqrt(total, out=s2)
        s2 += eps
        np.divide(grad, s2, out=s2)
        s2 *= -clr
        param += s2
