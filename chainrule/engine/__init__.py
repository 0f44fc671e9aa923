"""The engine: tensors, ops and reverse-mode automatic differentiation. Knows nothing of layers."""

from chainrule.engine.autograd import (
    Function,
    HookHandle,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    register_op_hook,
    set_grad_enabled,
)
from chainrule.engine.backend import GraphError, get_array_module
from chainrule.engine.gradcheck import GradcheckError, gradcheck
from chainrule.engine.malloc import tune as _tune_malloc
from chainrule.engine.ops import (
    cat,
    clip,
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    logsumexp,
    matmul,
    maximum,
    minimum,
    softmax,
    split,
    stack,
    where,
)
from chainrule.engine.random import get_generator, manual_seed
from chainrule.engine.tensor import Tensor, tensor

_tune_malloc()  # once per process: a conv or LSTM step's temporaries stay mapped between steps (malloc.py)

__all__ = [
    "Function", "GradcheckError", "GraphError", "HookHandle", "Tensor", "cat", "clip", "enable_grad", "gelu",
    "get_array_module", "get_generator", "gradcheck", "inference_mode", "is_grad_enabled", "leaky_relu", "linear",
    "log_softmax", "logsumexp", "manual_seed", "matmul", "maximum", "minimum", "no_grad", "set_grad_enabled",
    "register_op_hook", "softmax", "split", "stack", "tensor", "where",
]
