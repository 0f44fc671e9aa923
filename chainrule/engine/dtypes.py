"""dtypes with PyTorch's names and PyTorch's promotion rules (not NumPy's).

chainrule's dtype objects are NumPy dtypes (``cr.float32 is np.dtype('float32')``), so a tensor's
``dtype`` compares equal to both. What differs from NumPy is how two operands combine: PyTorch
ranks the operands (tensors with dimensions, then 0-d tensors, then Python numbers) and lets a
lower-ranked operand change the result only when it is of a higher *category* (bool < integer <
float). So ``int32 tensor + 0.5`` is float32 (Python floats count as the default dtype),
``int32 tensor + 1`` stays int32, ``float32 tensor * float64 0-d tensor`` stays float32, and an
integer meets a float as that float (NumPy would give float64 for ``int64 + float16``).
This mirrors ``at::native::result_type`` (c10/core/ScalarType.h, aten/src/ATen/native/TypeProperties.cpp).

>>> import numpy as np
>>> from chainrule.engine.dtypes import result_type
>>> result_type(np.zeros(2, np.int32), 0.5), result_type(np.zeros(2, np.float32), np.float64(1.0))
(dtype('float32'), dtype('float32'))
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

bool_ = np.dtype(np.bool_)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
half, double, short, long = float16, float64, int16, int64

#: PyTorch's names (and aliases) for the dtypes chainrule supports.
NAMES: dict[str, np.dtype] = {
    "bool": bool_, "uint8": uint8, "int8": int8, "int16": int16, "short": int16, "int32": int32, "int": int32,
    "int64": int64, "long": int64, "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64,
}
SUPPORTED = frozenset(NAMES.values())
FLOAT_DTYPES = (float16, float32, float64)

_default_float = float32


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless :func:`set_default_dtype` changed it)."""
    return _default_float


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64, as in PyTorch) the dtype of tensors made from Python floats."""
    global _default_float
    d = as_dtype(dtype, "set_default_dtype")
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {d}")
    _default_float = d


def as_dtype(dtype: Any, where: str = "dtype") -> np.dtype:
    """A supported dtype from a dtype object, a NumPy type, a Python type (float, int, bool) or a name."""
    if isinstance(dtype, str) and dtype in NAMES:
        return NAMES[dtype]
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {dtype!r} is not a dtype; use one of cr.float32, cr.float64, cr.int64, "
                        "cr.bool, ...") from None
    if d not in SUPPORTED:
        raise TypeError(f"{where}: dtype {d} is not supported; chainrule has "
                        f"{', '.join(sorted({str(x) for x in SUPPORTED}))}")
    return d


def category(d: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats: the ranks PyTorch's promotion compares first."""
    return 2 if d.kind == "f" else 0 if d.kind == "b" else 1


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype both convert to, by PyTorch's table (``torch.promote_types``)."""
    if a == b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b  # an integer meets a float as that float; bool meets anything as it
    if ca == 2:
        return a if a.itemsize >= b.itemsize else b
    return np.promote_types(a, b)  # integers: NumPy's table agrees (uint8 + int8 -> int16)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's combine_categories: a lower-ranked group counts only when its category is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def _python_number_dtype(x: Any) -> np.dtype:
    if isinstance(x, bool | np.bool_):
        return bool_
    if isinstance(x, numbers.Integral):
        return int64
    if isinstance(x, numbers.Real):
        return _default_float
    raise TypeError(f"expected a real number, got {type(x).__name__} {x!r}")


def result_type(*operands: Any) -> np.dtype:
    """The dtype of an op's result from its operands: arrays (their ``ndim`` ranks them) or Python numbers.

    NumPy scalars of a dtype (``np.float64(1.0)``) count as 0-d tensors, as ``torch.tensor(1.0,
    dtype=torch.float64)`` does.
    """
    dim = zero = wrapped = None
    for x in operands:
        if isinstance(x, np.ndarray | np.generic):
            d = x.dtype
            if x.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = _python_number_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    result = _combine(dim, _combine(zero, wrapped))
    if result is None:
        raise TypeError("result_type: expected at least one operand")
    return result


def float_result(d: np.dtype) -> np.dtype:
    """The dtype a floating-point op (exp, sqrt, true division, mean) gives for input dtype ``d``: floats
    stay, integers and bool become the default float dtype (PyTorch's rule for ``torch.exp(int_tensor)``)."""
    return d if d.kind == "f" else _default_float


# Typed constants, reused: a Python float in a ufunc call is converted on every call (about 2,500 instructions,
# as much as a 16x16 float32 multiply itself); a 0-d array of the other operand's dtype is taken as it is.
_constants: dict[tuple[float, np.dtype], np.ndarray] = {}


def constant(value: float, dtype: np.dtype) -> np.ndarray:
    """``value`` as a read-only 0-d array of ``dtype``, made once and kept (a bounded cache).

    In a ufunc with an array of the same ``dtype`` it gives the result the Python number gives (NumPy casts a
    Python number to the array's dtype too) at less cost. Zeros are not kept: ``-0.0 == 0.0`` as a key.

    >>> constant(0.5, float32) * np.ones(2, float32)
    array([0.5, 0.5], dtype=float32)
    """
    key = (value, dtype)
    found = _constants.get(key)
    if found is None:
        found = np.array(value, dtype)
        found.flags.writeable = False
        if value:
            if len(_constants) >= 256:  # step-dependent values (bias corrections) would grow it forever
                _constants.clear()
            _constants[key] = found
    return found
