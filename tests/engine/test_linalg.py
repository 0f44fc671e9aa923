"""chainrule.linalg's gradients against central finite differences computed with NumPy alone (torch's are
compared in tests/compat/test_semantics_vs_torch.py), and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def finite_difference(f, a: np.ndarray, weights: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d/da of sum(weights * f(a)), by central differences."""
    grad = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[index] = eps
        grad[index] = ((weights * f(a + step)).sum() - (weights * f(a - step)).sum()) / (2 * eps)
    return grad


RNG = np.random.default_rng(0)
BATCH = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2: det 0, gradient its cofactors
RHS = RNG.standard_normal((2, 3, 2))


@pytest.mark.parametrize(("name", "ours", "numpy_fn", "a"), [
    ("inv", cr.linalg.inv, np.linalg.inv, BATCH),
    ("det", cr.linalg.det, np.linalg.det, BATCH),
    ("det of a singular matrix", cr.linalg.det, np.linalg.det, SINGULAR),
    ("solve, A", lambda a: cr.linalg.solve(a, cr.tensor(RHS)), lambda a: np.linalg.solve(a, RHS), BATCH),
    ("solve, B", lambda b: cr.linalg.solve(cr.tensor(BATCH), b), lambda b: np.linalg.solve(BATCH, b), RHS),
])
def test_gradients_match_finite_differences(name, ours, numpy_fn, a):
    x = cr.tensor(a, requires_grad=True)
    out = ours(x)
    np.testing.assert_allclose(out.detach().numpy(), numpy_fn(a), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * cr.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), finite_difference(numpy_fn, a, weights), rtol=1e-5, atol=1e-7,
                               err_msg=name)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: cr.linalg.inv(cr.ones(2, 3)), RuntimeError, r"square matrices \(…, n, n\), got shape \(2, 3\)"),
    (lambda: cr.linalg.det(cr.ones(2, 2, dtype=cr.int64)), RuntimeError, "floating-point"),
    (lambda: cr.linalg.inv(cr.tensor([[1.0, 2.0], [2.0, 4.0]])), RuntimeError, "singular"),
    (lambda: cr.linalg.solve(cr.eye(3), cr.ones(2, 1)), RuntimeError, "needs 3 rows, got shape \\(2, 1\\)"),
    (lambda: cr.linalg.matrix_norm(cr.eye(3), ord="nuc"), NotImplementedError, "singular values"),
])
def test_errors_name_the_function_and_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()
