"""``torch.autograd`` for chainrule: custom functions in PyTorch's form, and ``grad``.

A custom op is written as in PyTorch::

    class Exp(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y

    y = Exp.apply(x)

Forward and backward see tensors and run without recording a graph (as in PyTorch); the engine
records one node for the whole function. The engine's own ops use the array-level
``chainrule.engine.Function`` instead, which avoids wrapping arrays in tensors.

>>> import chainrule as cr
>>> class Square(Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * g
>>> x = cr.tensor([3.0], requires_grad=True)
>>> Square.apply(x).sum().backward(); x.grad.tolist()
[6.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np

from chainrule.engine import autograd as _engine
from chainrule.engine.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.engine.backend import GraphError
from chainrule.engine.tensor import Tensor

__all__ = ["Function", "FunctionCtx", "enable_grad", "grad", "inference_mode", "is_grad_enabled", "no_grad",
           "set_grad_enabled"]


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors and any attributes set on it."""

    def __init__(self, needs: tuple[bool, ...]) -> None:
        self._saved: tuple[Any, ...] = ()
        self._versions: list[tuple[int, list[int], int]] = []  # per saved tensor: (position, its counter, version)
        self.needs_input_grad = needs

    def save_for_backward(self, *tensors: Any) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: can only save tensors (or None), got {type(t).__name__}")
        self._saved = tensors
        # what they are now: backward refuses them changed in place since (PyTorch's version check)
        self._versions = [(k, counter, counter[0]) for k, t in enumerate(tensors)
                          if t is not None and (counter := t._version_counter()) is not None]

    def check_saved(self, function: str) -> None:
        """Raise if a saved tensor was changed in place after ``save_for_backward`` (its gradient would be wrong)."""
        for k, counter, version in self._versions:
            if counter[0] != version:
                raise GraphError(
                    f"{function}.backward: saved tensor {k} (shape {self._saved[k].shape}) was modified by an "
                    f"in-place operation after save_for_backward (it is at version {counter[0]}, it was saved at "
                    f"{version}), so its gradient would be wrong; use an out-of-place op or .clone() it first")

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        raise NotImplementedError("mark_non_differentiable: not available in chainrule (one output per Function)")


class _CustomNode(_engine.Function):
    """The engine node that stands for one call of a user's Function: backward calls the user's backward."""

    saves_inputs = False  # the user's ctx holds what backward needs, and checks their versions (``check_saved``)

    def forward(self, *arrays: Any, user: type[Function], ctx: FunctionCtx, output: np.ndarray) -> np.ndarray:
        self.user, self.ctx = user, ctx
        return output

    @property
    def name(self) -> str:
        return type(self).__name__

    def backward(self, g: np.ndarray) -> tuple[Any, ...]:
        self.ctx.check_saved(self.user.__name__)
        with no_grad():
            result = self.user.backward(self.ctx, Tensor._wrap(g))
        grads = result if isinstance(result, tuple) else (result,)
        if len(grads) != len(self.needs):
            raise GraphError(
                f"{self.user.__name__}.backward returned {len(grads)} gradient(s) but forward took {len(self.needs)} "
                "input(s); return one gradient (or None) per input of forward, in order"
            )
        assert self.parents is not None, "backward runs only on nodes recorded with a graph"
        arrays: list[np.ndarray | None] = []
        for k, (gr, need, parent) in enumerate(zip(grads, self.needs, self.parents)):
            if gr is None or not need:
                arrays.append(None)
                continue
            if not isinstance(gr, Tensor):
                raise GraphError(f"{self.user.__name__}.backward: gradient {k} must be a Tensor or None, got "
                                 f"{type(gr).__name__}")
            if gr.shape != parent.shape:
                try:
                    np.broadcast_shapes(gr.shape, parent.shape)
                except ValueError:
                    raise GraphError(f"{self.user.__name__}.backward: gradient {k} has shape {gr.shape} but input "
                                     f"{k} has shape {parent.shape}") from None
            arrays.append(gr._data)
        return tuple(arrays)


class Function:
    """Base class of custom differentiable functions in PyTorch's form: static ``forward(ctx, *args)`` and
    ``backward(ctx, *grad_outputs)``, called through ``apply``. One output tensor per function."""

    _node_class: ClassVar[type[_CustomNode]]  # set by the first ``apply`` that records a graph

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function.forward: subclasses define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("Function.backward: subclasses define backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if isinstance(out, tuple | list):
            raise NotImplementedError(f"{cls.__name__}.forward returned {len(out)} outputs; chainrule's custom "
                                      "functions return one tensor")
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out).__name__}")
        if not (is_grad_enabled() and any(needs)):
            return out
        node: type[_CustomNode] | None = cls.__dict__.get("_node_class")
        if node is None:  # one engine node class per user Function, named after it: <Legendre3Backward>
            node = cast(type[_CustomNode], type(cls.__name__, (_CustomNode,), {"__slots__": ()}))
            cls._node_class = node
        result = node.apply(*args, user=cls, ctx=ctx, output=out._data)
        if any(t is out for t in ctx.saved_tensors):  # forward saved its own output: the one returned is that tensor
            result._version = out._version_counter()
        return result


def grad(
    outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor], grad_outputs: Any = None,
    retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, without touching any ``.grad`` (as
    ``torch.autograd.grad``)."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): chainrule does not build graphs of gradients "
                                  "(no higher-order derivatives)")
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if len(outs) != 1:
        raise NotImplementedError("autograd.grad: chainrule takes one output tensor; sum the outputs first")
    for k, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise GraphError(f"autograd.grad: input {k} does not require grad, so it has no gradient")
    out = outs[0]
    if not out.requires_grad:
        raise GraphError("autograd.grad: the output does not require grad and has no graph")
    seeds = grad_outputs[0] if isinstance(grad_outputs, list | tuple) else grad_outputs
    captured = _engine.run_backward(out, out._seed(seeds, "autograd.grad"), retain_graph=bool(retain_graph),
                                    capture=ins)
    assert captured is not None
    result: list[Tensor | None] = []
    for k, (g, t) in enumerate(zip(captured, ins)):
        if g is None:
            if not allow_unused:
                raise GraphError(f"autograd.grad: input {k} was not used to compute the output; pass "
                                 "allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(Tensor._wrap(np.array(g, dtype=t.dtype)))
    return tuple(result)
