"""Reverse-mode automatic differentiation: the Function base class, grad mode and op hooks.

Every op is a :class:`Function` subclass with ``forward`` (NumPy arrays in, one array out)
and ``backward`` (the output's gradient in, one gradient per input out). ``apply`` records
the op in the graph; :func:`run_backward` runs the ops newest first (a topological order) and
applies the chain rule, summing broadcast gradients back to each input's shape in one place.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from chainrule.engine.backend import GraphError, unbroadcast

if TYPE_CHECKING:
    from chainrule.engine.tensor import Tensor

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when ops record a graph for backward."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager in which no graph is recorded (evaluation, optimizer updates).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager that turns graph recording back on inside ``no_grad``."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = True
    try:
        yield
    finally:
        _grad_enabled = previous


class OpHook(Protocol):
    """Something that watches the engine: sees every op's forward and backward."""

    def on_forward(self, fn: Function, inputs: tuple[Any, ...], output: Tensor) -> None: ...

    def on_backward(self, fn: Function, grad_output: Any, grad_inputs: tuple[Any, ...]) -> None: ...


# Registered op hooks. Empty by default: ``apply`` and ``run_backward`` test it once per op.
_op_hooks: list[OpHook] = []


class HookHandle:
    """Returned by hook registration; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook: object) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        """Unregister the hook; removing it twice is harmless."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register_op_hook(hook: OpHook) -> HookHandle:
    """Watch every op's forward and backward without touching op code.

    ``hook.on_forward(fn, inputs, output)`` runs after each recorded forward and
    ``hook.on_backward(fn, grad_output, grad_inputs)`` after each backward step.
    """
    _op_hooks.append(hook)
    return HookHandle(_op_hooks, hook)


class Function:
    """One differentiable op: forward and backward live together in a subclass.

    Subclasses set ``forward(self, *arrays, **attrs) -> array`` and
    ``backward(self, grad) -> tuple`` (one gradient or None per input) and may
    save what backward needs on ``self``. ``self.needs[i]`` tells backward
    whether input ``i`` wants a gradient, so unneeded work is skipped.
    """

    __slots__ = ("parents", "needs", "seq", "__dict__")

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, grad: Any) -> tuple[Any, ...]:
        raise NotImplementedError(f"{type(self).__name__}: backward is not implemented for this op")

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run forward on the inputs' arrays and record the op if any input needs a gradient.

        Non-tensor arguments are constants: they take part in forward and get no gradient.
        """
        fn = cls.__new__(cls)
        arrays = []
        needs = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                needs.append(a.requires_grad)
            else:
                arrays.append(a)
                needs.append(False)
        out = Tensor.__new__(Tensor)
        data = fn.forward(*arrays, **kwargs)
        # NumPy turns 0-d results into scalars; a tensor always holds an ndarray
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._hooks = None
        out.name = None
        if _grad_enabled and True in needs:
            fn.parents = args
            fn.needs = tuple(needs)
            fn.seq = next(_sequence)
            out._ctx = fn
            out.requires_grad = True
        else:
            fn.parents = fn.needs = None
            out._ctx = None
            out.requires_grad = False
        if _op_hooks:
            for hook in _op_hooks:
                hook.on_forward(fn, args, out)
        return out


# Creation number of each recorded op. Inputs exist before the op that uses them, so running
# ops from the highest number down is a topological order, found without a separate graph walk.
_sequence = itertools.count()


def _run_tensor_hooks(hooks: list[Any], grad: Any) -> Any:
    """Call a tensor's gradient hooks in order; a hook that returns an array replaces the gradient."""
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def run_backward(root: Tensor, grad: Any, retain_graph: bool = False) -> None:
    """Apply the chain rule from ``root`` (seeded with ``grad``) down to every leaf.

    Ops run newest first (a heap on their creation number), each once all its output's
    gradient has arrived; leaves get their summed gradient at the end.
    """
    grads: dict[int, Any] = {id(root): grad}
    leaves: list[Tensor] = []
    heap: list[tuple[int, Tensor]] = []
    if root._ctx is None:
        leaves.append(root)
    else:
        heap.append((-root._ctx.seq, root))
    while heap:
        node = heapq.heappop(heap)[1]
        g = grads.pop(id(node))
        if node._hooks:
            g = _run_tensor_hooks(node._hooks, g)
        fn = node._ctx
        parents = fn.parents
        if parents is None:
            raise GraphError(
                f"backward: the graph through op '{fn.name}' was already freed by an earlier "
                "backward(); call backward(retain_graph=True) the first time to go through it twice"
            )
        grad_inputs = fn.backward(g)
        if _op_hooks:
            for hook in _op_hooks:
                hook.on_backward(fn, g, grad_inputs)
        for parent, pg, need in zip(parents, grad_inputs, fn.needs):
            if not need or pg is None:
                continue
            if pg.shape != parent.data.shape:
                pg = unbroadcast(pg, parent.data.shape)
            key = id(parent)
            previous = grads.get(key)
            if previous is None:
                grads[key] = pg
                ctx = parent._ctx
                if ctx is None:
                    leaves.append(parent)
                else:
                    heapq.heappush(heap, (-ctx.seq, parent))
            else:
                grads[key] = previous + pg
        if not retain_graph:
            fn.parents = None
            fn.__dict__.clear()  # drop saved arrays as soon as they are used
    # Arrays handed to a leaf's .grad must be its own: ops may return one array for two inputs.
    handed_out: set[int] = {id(grad)}
    for leaf in leaves:
        g = grads.pop(id(leaf))
        if leaf._hooks:
            g = _run_tensor_hooks(leaf._hooks, g)
        if leaf.grad is None:
            if (type(g) is not np.ndarray or id(g) in handed_out or not g.flags.owndata
                    or g.dtype != leaf.data.dtype):
                g = np.array(g, dtype=leaf.data.dtype)
            handed_out.add(id(g))
            leaf.grad = g
        else:
            leaf.grad += g


from chainrule.engine.tensor import Tensor  # noqa: E402  (Tensor uses Function; Function makes Tensors)
