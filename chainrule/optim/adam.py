"""Adam and AdamW (decoupled weight decay), with AMSGrad, as torch.optim.Adam and torch.optim.AdamW."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from chainrule.engine.dtypes import constant
from chainrule.optim.optimizer import Optimizer, ParamsT, decayed_grad, lerp_, square_avg_


class Adam(Optimizer):
    """Adam, with torch's update rule.

    ``g = grad + weight_decay * p`` (or, decoupled, ``p *= 1 - lr * weight_decay``);
    ``m = lerp(m, g, 1 - beta1)``; ``v = beta2 * v + (1 - beta2) * g**2`` (``v_max = max(v_max, v)`` with amsgrad);
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates (beta1, beta2) of the moment averages, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty (>= 0).
        amsgrad: normalize by the largest second moment seen so far.
        decoupled_weight_decay: decay the weights directly (AdamW) instead of through the gradient.

    Raises:
        ValueError: an option is out of range.
        TypeError: betas is not a pair of numbers.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = w.data * 3
    >>> opt.step()
    >>> [round(x, 4) for x in w.data.tolist()]  # the first Adam step moves each weight by about lr
    [0.9, -0.9]
    """

    def __init__(
        self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 0, amsgrad: bool = False, *, decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        betas = options["betas"]
        if not (isinstance(betas, tuple | list) and len(betas) == 2
                and all(isinstance(b, numbers.Real) for b in betas)):
            raise TypeError(f"{type(self).__name__}: betas must be a pair of numbers (beta1, beta2), got {betas!r}")
        options["betas"] = (betas[0], betas[1])
        for i, beta in enumerate(betas):
            self._check_range({f"betas[{i}]": beta}, f"betas[{i}]", 0.0, 1.0)
        self._check_range(options, "eps", 0.0)
        self._check_range(options, "weight_decay", 0.0)

    def _options(self, group: dict[str, Any]) -> tuple[float, float, float, float, float, bool, bool]:
        beta1, beta2 = group["betas"]
        return (float(group["lr"]), float(group["weight_decay"]), float(group["eps"]), float(beta1), float(beta2),
                bool(group["decoupled_weight_decay"]), bool(group["amsgrad"]))

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
        options: tuple[float, float, float, float, float, bool, bool], scratch: tuple[np.ndarray, np.ndarray],
    ) -> None:
        s1, s2 = scratch
        lr, weight_decay, eps, beta1, beta2, decoupled_weight_decay, amsgrad = options
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] = step = state["step"] + 1

        if decoupled_weight_decay:
            if weight_decay != 0:
                param *= constant(1.0 - lr * weight_decay, param.dtype)
        else:
            grad = decayed_grad(param, grad, weight_decay, s1)
        lerp_(exp_avg, grad, 1.0 - beta1, s2)
        square_avg_(exp_avg_sq, grad, beta2, s2)

        step_size = lr / (1.0 - beta1**step)
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        if amsgrad:
            max_sq = state.get("max_exp_avg_sq")
            if max_sq is None:
                max_sq = state["max_exp_avg_sq"] = np.zeros_like(param)
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            np.sqrt(max_sq, out=s2)
        else:
            np.sqrt(exp_avg_sq, out=s2)
        dtype = param.dtype  # typed constants: see dtypes.constant
        s2 /= constant(bias_correction2_sqrt, dtype)
        s2 += constant(eps, dtype)
        np.divide(exp_avg, s2, out=s2)
        s2 *= constant(-step_size, dtype)
        param += s2


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam step), as torch.

    Args:
        params: Tensors or parameter-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates (beta1, beta2), each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: decoupled weight decay (>= 0).
        amsgrad: normalize by the largest second moment seen so far.

    Raises:
        ValueError: an option is out of range.
    """

    def __init__(
        self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 1e-2, amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)
