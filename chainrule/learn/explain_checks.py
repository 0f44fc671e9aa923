"""The explainer's two checks of the engine's numbers: the hand formulas and central finite differences.

Both recompute in plain NumPy, independently of the engine; a disagreement raises
:class:`~chainrule.GradcheckError` naming the quantity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from chainrule.engine.gradcheck import GradcheckError
from chainrule.learn.network import ACTIVATIONS, Network

if TYPE_CHECKING:
    from chainrule.learn.explain import Explanation

# Central differences in float64 with this step agree with the chain rule to about 1e-9.
FD_STEP = 1e-6
FD_ATOL, FD_RTOL = 1e-6, 1e-5
FORMULA_ATOL, FORMULA_RTOL = 1e-12, 1e-9


def _numpy_loss(net: Network, weights: list[np.ndarray], biases: list[np.ndarray],
                nudge: tuple[str, int, int, float] | None = None) -> tuple[float, tuple[bytes, ...]]:
    """An independent NumPy forward pass; ``nudge=('x'|'y', layer, unit, h)`` adds h to one unit.

    Returns the loss and which ReLU units are on, so a finite difference across a kink is noticed.
    """
    y = net.inputs.copy()
    if nudge and nudge[0] == "y" and nudge[1] == 0:
        y[nudge[2]] += nudge[3]
    pattern = []
    for k, (w, b) in enumerate(zip(weights, biases)):
        x = w @ y + b
        if nudge and nudge[0] == "x" and nudge[1] == k:
            x[nudge[2]] += nudge[3]
        act = net.activation_of(k)
        if act == "relu":
            pattern.append((x > 0).tobytes())
        y = ACTIVATIONS[act].numpy(x)
        if nudge and nudge[0] == "y" and nudge[1] == k + 1:
            y[nudge[2]] += nudge[3]
    t = net.targets
    if net.loss == "squared_error":
        loss = 0.5 * np.sum((t - y) ** 2)
    elif net.output_activation == "softmax":
        loss = -np.sum(t * np.log(y))
    else:
        loss = -np.sum(t * np.log(y) + (1 - t) * np.log(1 - y))
    return float(loss), tuple(pattern)


def _close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    return np.abs(a - b) <= atol + rtol * np.abs(b)


def check_finite_differences(e: Explanation) -> tuple[float, int, list[str]]:
    """Compare every gradient with central differences; raise GradcheckError on a disagreement."""
    net = e.network
    base_pattern = _numpy_loss(net, net.weights, net.biases)[1]
    worst, checked, unchecked = 0.0, 0, []

    def compare(label: str, got: float, evaluate: Callable[[float], tuple[float, tuple[bytes, ...]]]) -> None:
        nonlocal worst, checked
        plus, p_plus = evaluate(FD_STEP)
        minus, p_minus = evaluate(-FD_STEP)
        if p_plus != base_pattern or p_minus != base_pattern:
            unchecked.append(label)
            return
        numeric = (plus - minus) / (2 * FD_STEP)
        checked += 1
        worst = max(worst, float(abs(got - numeric)))
        if not abs(got - numeric) <= FD_ATOL + FD_RTOL * abs(numeric):
            raise GradcheckError(
                f"explain: the engine gives {label} = {got!r} but central finite differences give {numeric!r} "
                f"(atol={FD_ATOL}, rtol={FD_RTOL}): the engine's backward disagrees with its forward"
            )

    j: int  # np.ndindex is typed as yielding tuple[Any, ...]: its ints would index an ndarray as arrays
    i: int
    for k in range(len(net.weights)):
        for j, i in np.ndindex(net.weights[k].shape):
            def nudge_w(h: float, k: int = k, j: int = j, i: int = i) -> tuple[float, tuple[bytes, ...]]:
                weights = [w.copy() for w in net.weights]
                weights[k][j, i] += h
                return _numpy_loss(net, weights, net.biases)

            compare(f"∂E/∂w({e.unit_name(k, i)}→{e.unit_name(k + 1, j)})", e.grad_weights[k][j, i], nudge_w)
        for j in range(net.sizes[k + 1]):
            def nudge_b(h: float, k: int = k, j: int = j) -> tuple[float, tuple[bytes, ...]]:
                biases = [b.copy() for b in net.biases]
                biases[k][j] += h
                return _numpy_loss(net, net.weights, biases)

            unit = e.unit_name(k + 1, j)
            compare(f"∂E/∂b_{unit}", e.grad_biases[k][j], nudge_b)

            def nudge_x(h: float, k: int = k, j: int = j) -> tuple[float, tuple[bytes, ...]]:
                return _numpy_loss(net, net.weights, net.biases, ("x", k, j, h))

            compare(f"∂E/∂x_{unit}", e.grad_x[k][j], nudge_x)
    for layer in range(len(net.sizes)):
        for j in range(net.sizes[layer]):
            def nudge_y(h: float, layer: int = layer, j: int = j) -> tuple[float, tuple[bytes, ...]]:
                return _numpy_loss(net, net.weights, net.biases, ("y", layer, j, h))

            compare(f"∂E/∂y_{e.unit_name(layer, j)}", e.grad_y[layer][j], nudge_y)
    return worst, checked, unchecked


def output_grad_y(net: Network, y: np.ndarray) -> np.ndarray:
    """∂E/∂y at the output units, by hand."""
    t = net.targets
    if net.loss == "squared_error":
        return y - t
    if net.output_activation == "softmax":
        return -t / y
    return (y - t) / (y * (1 - y))


def check_formulas(e: Explanation) -> float:
    """Recompute every backward and update number from the hand formulas; raise on a disagreement."""
    net = e.network
    worst = 0.0

    def same(label: str, by_hand: np.ndarray | float, engine: np.ndarray | float) -> None:
        nonlocal worst
        by_hand, engine = np.asarray(by_hand, dtype=np.float64), np.asarray(engine, dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(by_hand - engine), initial=0.0)))
        if not _close(by_hand, engine, FORMULA_ATOL, FORMULA_RTOL).all():
            raise GradcheckError(
                f"explain: the hand formula {label} gives {by_hand.tolist()} but the engine gives {engine.tolist()}"
            )

    last = len(net.weights) - 1
    same("∂E/∂y = (output rule of the loss)", output_grad_y(net, e.y[-1]), e.grad_y[-1])
    for k in range(last, -1, -1):
        act = net.activation_of(k)
        x, y, dy = e.x[k], e.y[k + 1], e.grad_y[k + 1]
        if act == "softmax":
            same("∂y_k/∂x_j = y_k·(δ_kj − y_j)", np.diag(y) - np.outer(y, y), e.activation_grad[k])
            same("∂E/∂x_j = Σ_k ∂y_k/∂x_j·∂E/∂y_k", e.activation_grad[k].T @ dy, e.grad_x[k])
            same("∂E/∂x_j = y_j·(∂E/∂y_j − Σ_k y_k·∂E/∂y_k)", y * (dy - np.dot(y, dy)), e.grad_x[k])
        else:
            same(f"y_j = f(x_j) for {act}", ACTIVATIONS[act].numpy(x), y)
            prime = ACTIVATIONS[act].prime
            assert prime is not None, "every activation but softmax has an elementwise derivative"
            same(f"{ACTIVATIONS[act].derivative}", prime(x, y), e.activation_grad[k])
            same("∂E/∂x_j = f'(x_j)·∂E/∂y_j", e.activation_grad[k] * dy, e.grad_x[k])
        same("x_j = Σ_i w_ij·y_i + b_j", net.weights[k] @ e.y[k] + net.biases[k], x)
        same("∂E/∂w_ij = y_i·∂E/∂x_j", np.outer(e.grad_x[k], e.y[k]), e.grad_weights[k])
        same("∂E/∂b_j = ∂E/∂x_j", e.grad_x[k], e.grad_biases[k])
        same("∂E/∂y_i = Σ_j w_ij·∂E/∂x_j", net.weights[k].T @ e.grad_x[k], e.grad_y[k])
        same("w ← w − α·∂E/∂w", net.weights[k] - net.lr * e.grad_weights[k], e.new_weights[k])
        same("b ← b − α·∂E/∂b", net.biases[k] - net.lr * e.grad_biases[k], e.new_biases[k])
    same("E (NumPy forward)", _numpy_loss(net, net.weights, net.biases)[0], e.loss)
    same("E after the update (NumPy forward)", _numpy_loss(net, e.new_weights, e.new_biases)[0], e.loss_after)
    return worst
