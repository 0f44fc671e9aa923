"""PyTorch's function forms (``torch.exp(x)``, ``torch.sum(x, dim=1)``, ``torch.max(x, 1)``) from the Tensor methods.

One table of names: every function here calls the tensor method of the same name, so an op is
defined once (as a method or an ops.py function) and both spellings stay in step. The first
argument may be anything ``cr.tensor`` takes (``torch.exp(2.0)`` is not an error in PyTorch either,
for 0-d inputs it makes a tensor first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.engine import creation, elementwise, ops
from chainrule.engine.tensor import Tensor

#: Tensor methods that PyTorch also offers as ``torch.<name>(input, ...)``.
METHOD_FUNCTIONS = (
    "abs", "absolute", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "clamp", "clip", "neg", "negative",
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "matmul",
    "maximum", "minimum", "sum", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "var", "std",
    "logsumexp", "softmax", "log_softmax", "reshape", "flatten", "transpose", "swapaxes", "swapdims", "t",
    "permute", "squeeze", "unsqueeze", "split", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
    "less", "less_equal", "not_equal", "logical_not", "logical_and", "logical_or", "logical_xor",
    "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf", "isfinite", "all", "any",
    "equal", "allclose", "isclose", "numel", "clone", "detach", "is_floating_point",
)


def _from_method(name: str) -> Callable[..., Any]:
    method = getattr(Tensor, name)

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - PyTorch's argument name
        return method(input if isinstance(input, Tensor) else Tensor._make(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``.\n\n{method.__doc__ or ''}"
    return function


def function_table(names: tuple[str, ...] = METHOD_FUNCTIONS) -> dict[str, Callable[..., Any]]:
    """The function form of each named method that Tensor has (names it lacks are left out)."""
    return {name: _from_method(name) for name in names if hasattr(Tensor, name)}


#: ops.py functions that PyTorch offers under the same name at the top level (``torch.gather``, ``torch.einsum``).
OPS_FUNCTIONS = (
    "prod", "cumsum", "cumprod", "norm", "sort", "argsort", "topk", "mm", "bmm", "dot", "outer", "einsum", "flip",
    "roll", "tile", "gather", "scatter", "scatter_add", "index_select", "index_add", "index_put", "bincount",
    "diag", "diagonal", "trace", "nonzero", "unique", "masked_select", "repeat_interleave", "hstack", "vstack",
    "meshgrid", "masked_fill", "chunk",
    "narrow", "movedim", "unflatten", "unbind", "tril", "triu", "where", "cat", "stack", "split", "matmul",
    "maximum", "minimum", "softmax", "log_softmax", "clip", "gelu", "leaky_relu",  # logsumexp: the method form (dim=)
    "median", "kthvalue", "var_mean", "std_mean", "count_nonzero", "isin", "mv", "addmm", "lerp", "diff", "cdist",
    "remainder", "cummax", "cummin", "searchsorted", "histc", "unique_consecutive", "tensordot", "cross",
    "take_along_dim",
)
#: Factories (creation.py), all under PyTorch's names.
CREATION = (
    "tensor", "as_tensor", "from_numpy", "empty", "zeros", "ones", "full", "empty_like", "zeros_like", "ones_like",
    "full_like", "eye", "arange", "linspace", "logspace", "rand", "randn", "rand_like", "randn_like", "randint",
    "randperm", "normal", "bernoulli", "multinomial",
)


def torch_namespace() -> dict[str, Callable[..., Any]]:
    """Every function ``import chainrule as torch`` offers at the top level, by name: the Tensor methods' function
    forms, then the elementwise table, the ops and the factories (a later source wins a shared name)."""
    names: dict[str, Callable[..., Any]] = dict(function_table())
    names.update(elementwise.FUNCTIONS)
    names.update({name: getattr(ops, name) for name in OPS_FUNCTIONS})
    names.update(ger=ops.outer, moveaxis=ops.movedim, concat=ops.cat, concatenate=ops.cat)
    names.update({name: getattr(creation, name) for name in CREATION if hasattr(creation, name)})
    return names
