"""chainrule: backpropagation you can watch.

A from-scratch reverse-mode autodiff engine on NumPy with PyTorch's names, plus layers,
optimizers, a training loop, and a doctor that explains why a network won't train.

>>> import chainrule as cr
>>> w = cr.tensor([[0.5, -0.5]], requires_grad=True)
>>> loss = (w @ cr.tensor([1.0, 2.0])).sum() ** 2
>>> loss.backward()
>>> w.grad.tolist()
[[-1.0, -2.0]]
"""

from __future__ import annotations

import builtins
import importlib
import math
from typing import Any

from chainrule._version import __version__
from chainrule.engine import (
    Function,
    GradcheckError,
    GraphError,
    Tensor,
    cat,
    clip,
    enable_grad,
    gelu,
    get_generator,
    gradcheck,
    inference_mode,
    is_grad_enabled,
    leaky_relu,
    log_softmax,
    logsumexp,
    manual_seed,
    matmul,
    maximum,
    minimum,
    no_grad,
    register_op_hook,
    set_grad_enabled,
    softmax,
    split,
    stack,
    tensor,
    where,
)
from chainrule.engine.creation import (
    LEGACY_TYPES,
    arange,
    from_numpy,
    full,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from chainrule.engine.dtypes import (
    bool_ as bool,  # noqa: A004 - PyTorch's names for its dtypes
)
from chainrule.engine.dtypes import (
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from chainrule.engine.dtypes import float32 as float  # noqa: A004
from chainrule.engine.dtypes import int32 as int  # noqa: A004
from chainrule.engine.functions import torch_namespace
from chainrule.engine.random import Generator
from chainrule.engine.tensor import Device as device  # noqa: N813 - PyTorch spells the class torch.device
from chainrule.engine.tensor import Size, ValuesIndices

# torch.exp(x), torch.sum(x, 1), torch.max(x, 1), torch.linspace, torch.gather, ...: one table (engine/functions.py)
globals().update(torch_namespace())
globals().update(LEGACY_TYPES)  # torch.FloatTensor([1, 2]), torch.LongTensor(...), ...
inf, nan, pi, e = math.inf, math.nan, math.pi, math.e  # torch.inf, torch.nan, torch.pi, torch.e
dtype = type(float32)


def is_tensor(obj: Any) -> builtins.bool:  # bool here is chainrule.bool, the dtype
    """True for chainrule tensors (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def result_type(a: Any, b: Any) -> Any:
    """The dtype of ``a op b`` by PyTorch's promotion rules (``torch.result_type``)."""
    from chainrule.engine.dtypes import result_type as _result_type

    return _result_type(*(x._data if isinstance(x, Tensor) else x for x in (a, b)))

# Higher layers load on first use, so `import chainrule` stays fast and the engine stands alone.
_LAZY = {
    "nn": "chainrule.nn",
    "optim": "chainrule.optim",
    "data": "chainrule.data",
    "autograd": "chainrule.autograd",
    "utils": "chainrule.utils",
    "cuda": "chainrule.cuda",
    "linalg": "chainrule.linalg",
    "fit": "chainrule._fit:fit",  # the training loop with the doctor on by default (chainrule/_fit.py)
    "callbacks": "chainrule.training.callbacks",
    "save": "chainrule.serialization:save",
    "load": "chainrule.serialization:load",
    "Doctor": "chainrule.doctor:Doctor",
    "doctor": "chainrule.doctor",
    "explain": "chainrule.learn.explain:explain",
    "viz": "chainrule.learn.viz",
    "demos": "chainrule.learn.demos",
    "onnx": "chainrule.onnx",  # cr.onnx.export(model, example_input, "model.onnx"); needs the onnx package
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'chainrule' has no attribute {name!r}: torch.{name} is not available in "
                             "chainrule (the README lists what is)")
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:  # hasattr(cr, name) must stay a plain False
        raise AttributeError(f"module 'chainrule' has no attribute {name!r} ({error})") from None
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Function", "GradcheckError", "GraphError", "Tensor", "__version__", "arange", "cat", "clip", "enable_grad",
    "from_numpy", "full", "gelu", "get_generator", "gradcheck", "inference_mode", "is_grad_enabled", "leaky_relu",
    "log_softmax", "logsumexp", "manual_seed", "matmul", "maximum", "minimum", "no_grad", "set_grad_enabled", "ones",
    "ones_like", "rand", "randn", "register_op_hook", "softmax", "split", "stack", "tensor", "where",
    "zeros", "zeros_like", "bool", "double", "float", "float16", "float32", "float64", "half", "int", "int8",
    "int16", "int32", "int64", "long", "short", "uint8", "dtype", "device", "Generator", "ValuesIndices", "Size",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type", "is_tensor", *torch_namespace(),
    *LEGACY_TYPES, "inf", "nan", "pi", "e",
    *_LAZY,
]
