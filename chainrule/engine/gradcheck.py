"""Check the engine's gradients against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule.engine.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare the engine's gradients of ``fn(*inputs)`` with central finite differences.

    The inputs are copied to float64. A non-scalar output is reduced with fixed random
    weights, so the whole vector-Jacobian product is checked. Returns True, or raises
    :class:`GradcheckError` naming the input, the element and both values.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> cr.gradcheck(lambda t: t.tanh() * t, [x])
    True
    """
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    leaves = [Tensor._make(t._data if isinstance(t, Tensor) else t, dtype=np.float64) for t in inputs]
    wanted = [isinstance(t, Tensor) and t.requires_grad for t in inputs]
    if not any(wanted):
        raise ValueError("gradcheck: none of the inputs requires grad, so there is nothing to check")
    for leaf, want in zip(leaves, wanted):
        leaf.requires_grad = want

    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def objective() -> float:
        return float(np.sum(np.asarray(fn(*leaves)._data, dtype=np.float64) * weights))

    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    out.backward(weights)
    for k, (leaf, want) in enumerate(zip(leaves, wanted)):
        if not want:
            continue
        analytic = leaf._grad if leaf._grad is not None else np.zeros_like(leaf._data)
        flat = leaf._data.reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            plus = objective()
            flat[i] = original - eps
            minus = objective()
            flat[i] = original
            numeric = (plus - minus) / (2 * eps)
            got = analytic.reshape(-1)[i]
            if not abs(got - numeric) <= atol + rtol * abs(numeric):
                index = np.unravel_index(i, leaf.shape) if leaf.ndim else ()
                raise GradcheckError(
                    f"gradcheck: gradient of input {k} at index {tuple(int(j) for j in index)} is {got!r} "
                    f"from backward but {numeric!r} from finite differences (atol={atol}, rtol={rtol})"
                )
    return True
