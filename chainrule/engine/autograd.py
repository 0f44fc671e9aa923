"""Reverse-mode automatic differentiation: the Function base class, grad mode and op hooks.

Every op is a :class:`Function` subclass with ``forward`` (NumPy arrays in, one array out)
and ``backward`` (the output's gradient in, one gradient per input out). ``apply`` records
the op in the graph; :func:`run_backward` runs the ops newest first (a topological order) and
applies the chain rule, summing broadcast gradients back to each input's shape in one place.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from chainrule.engine.backend import GraphError, unbroadcast

if TYPE_CHECKING:
    from chainrule.engine.tensor import Tensor

class _ThreadGradMode(threading.local):
    """Whether ops record a graph, per thread as PyTorch's grad mode is: a ``no_grad`` block in one thread (a
    playground tab drawing its frame, a notebook's background job) must not stop another thread's training. A
    new thread starts with recording on."""

    enabled = True


_mode = _ThreadGradMode()


def is_grad_enabled() -> bool:
    """True when ops record a graph for backward (in this thread)."""
    return _mode.enabled


class _GradMode:
    """A context manager that sets whether ops record a graph, and restores it on exit; also a decorator, with or
    without parentheses (``@torch.no_grad`` and ``@torch.no_grad()``), as PyTorch's grad-mode managers are."""

    mode = False

    def __new__(cls, *args: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # @no_grad without parentheses: the decorated function
        return super().__new__(cls)

    def __init__(self) -> None:
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(_mode.enabled)
        _mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _mode.enabled = self.previous.pop()

    def _fresh(self) -> _GradMode:
        """A copy with its own stack of saved modes: a decorated function may run in several threads at once."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.previous = []
        return copy

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def in_mode(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return in_mode


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) in which no graph is recorded (evaluation, optimizer updates).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Context manager (and decorator) that turns graph recording back on inside ``no_grad``."""

    mode = True


class inference_mode(_GradMode):  # noqa: N801
    """``torch.inference_mode``: no graph is recorded, as in ``no_grad`` (``inference_mode(False)``: no change).

    PyTorch also marks the tensors made inside as inference tensors, which autograd refuses later; chainrule has
    no such tensors, so code that runs under PyTorch runs the same here."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.active = bool(mode)

    def __enter__(self) -> None:
        self.previous.append(_mode.enabled)
        if self.active:
            _mode.enabled = False


class set_grad_enabled(_GradMode):  # noqa: N801
    """``torch.set_grad_enabled(mode)``: sets grad mode at once (as a plain call it stays set); as a context
    manager or decorator, restores the previous mode on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self.before = _mode.enabled
        _mode.enabled = self.mode

    def __enter__(self) -> None:
        self.previous.append(self.before)
        _mode.enabled = self.mode

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        _mode.enabled = self.before  # a decorator: the mode applies inside the function only

        @functools.wraps(func)
        def in_mode(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):
                return func(*args, **kwargs)

        return in_mode


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


class AccumulateGrad:
    """Where a leaf's gradient lands, as PyTorch shows it in ``grad_fn.next_functions``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


class Function:
    """One differentiable op: forward and backward live together in a subclass.

    Subclasses set ``forward(self, *arrays, **attrs) -> array`` and
    ``backward(self, grad) -> tuple`` (one gradient or None per input) and may
    save what backward needs on ``self``. ``self.needs[i]`` tells backward
    whether input ``i`` wants a gradient, so unneeded work is skipped.

    Class flags: ``saves_inputs`` (backward reads the inputs' arrays, so an in-place change to an
    input before backward is an error), ``saves_output`` (the same for the output's array) and
    ``is_view`` (the output may share the input's memory, so the two share a version counter).
    """

    __slots__ = ("parents", "edges", "needs", "seq", "hooks", "__dict__")
    # Set by ``apply``. ``parents`` and ``edges`` are None on an op recorded without a graph
    # (``parents`` also once backward freed it); each edge is the input's node, None for a tensor
    # that needs no gradient, False for a constant. ``needs`` is read by backward, which runs only
    # on ops recorded with a graph. ``seq``: when the op was recorded, on the clock in-place changes
    # also read (see ``last_inplace_change``): an input changed later carries a larger time in its version counter.
    parents: tuple[Any, ...] | None
    edges: list[Function | Tensor | Literal[False] | None] | None
    needs: list[bool]
    seq: int
    hooks: list[Callable[[Any], Any]] | None  # a non-leaf tensor's gradient hooks (set on first hook)
    out_version: list[int]  # in __dict__, only on ops with ``saves_output``
    saves_inputs = True
    saves_output = False
    is_view = False
    shares_version = False  # saves_output or is_view: apply has version bookkeeping to do (one test, not two)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.shares_version = cls.saves_output or cls.is_view

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, grad: Any) -> tuple[Any, ...]:
        raise NotImplementedError(f"{type(self).__name__}: backward is not implemented for this op")

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The nodes the gradient goes to next, one per input, as PyTorch's ``grad_fn.next_functions``:
        an op, an :class:`AccumulateGrad` for a leaf that requires grad, or None."""
        if self.edges is None:
            return ()
        return tuple(
            ((edge if isinstance(edge, Function) else AccumulateGrad(edge) if edge is not None else None), 0)
            for edge in self.edges if edge is not False
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run forward on the inputs' arrays and record the op if any input needs a gradient.

        Non-tensor arguments are constants: they take part in forward and get no gradient.
        """
        fn = cls.__new__(cls)
        arrays: list[Any] = []
        needs: list[bool] = []
        # each input's node as it is now: a later in-place op gives the tensor a new node, not this op
        edges: list[Function | Tensor | Literal[False] | None] = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a.requires_grad:
                    needs.append(True)
                    edges.append(a._ctx or a)  # its node, or the leaf itself
                else:
                    needs.append(False)
                    edges.append(None)  # a tensor that needs no gradient
            else:
                arrays.append(a)
                needs.append(False)
                edges.append(False)  # a constant: left out of next_functions
        out = Tensor.__new__(Tensor)
        data = fn.forward(*arrays, **kwargs)
        # NumPy turns 0-d results into scalars; a tensor always holds an ndarray
        out._data = data if type(data) is np.ndarray else np.asarray(data)
        out._grad = out._hooks = out.name = out._version = None
        if _mode.enabled and True in needs:
            fn.parents = args
            fn.needs = needs  # lists as built: backward only indexes them (a tuple() each costs ~50 ns an op)
            fn.edges = edges
            fn.hooks = None
            fn.seq = next(_sequence)
            out._ctx = fn
            out.requires_grad = True
        else:
            fn.parents = fn.edges = None
            # no backward ever runs on this op, so nothing reads needs; None keeps it an unrecorded op
            fn.needs = None  # type: ignore[assignment]
            out._ctx = None
            out.requires_grad = False
        if cls.shares_version:
            if cls.is_view and isinstance(args[0], Tensor):
                out._version = args[0]._version or args[0]._version_counter()
            elif cls.saves_output and out.requires_grad:
                out._version = fn.out_version = [0, 0]
        if _op_hooks:
            for hook in _op_hooks:
                hook.on_forward(fn, args, out)
        return out

    def saved_inputs(self) -> range | tuple[int, ...]:
        """Which inputs' arrays backward reads (all, unless an op knows better: ``a * b`` needs ``a`` only for
        ``b``'s gradient), so an in-place change to an input is an error only where it would change a gradient."""
        assert self.parents is not None, "only ops recorded with a graph save inputs"
        return range(len(self.parents))

    def _check_versions(self) -> None:
        """Raise if a tensor this op saved for backward was changed in place since (PyTorch's version check).

        A tensor's version counter is ``[version, time of its last change]`` on the clock of ``seq``: an input
        whose last change came after this op's ``seq`` was changed after the op used it.
        """
        parents = self.parents
        if type(self).saves_inputs and parents is not None:  # backward checked parents is not None
            for k in self.saved_inputs():
                parent = parents[k]
                box = parent._version if isinstance(parent, Tensor) else None
                if box is not None and box[1] > self.seq:
                    raise GraphError(
                        f"backward: input {k} of op '{self.name}' (shape {parent.shape}) was modified by an in-place "
                        f"operation after the op used it (it is at version {box[0]} now), so its gradient would be "
                        "wrong; use an out-of-place op (x = x + 1 instead of x += 1) or .clone() the tensor first"
                    )
        out_version = self.__dict__.get("out_version")
        if out_version is not None and out_version[0] != 0:
            raise GraphError(
                f"backward: the output of op '{self.name}' was modified by an in-place operation, and the op "
                "needs it for its gradient; use an out-of-place op or .clone() the output first"
            )


# Creation number of each recorded op. Inputs exist before the op that uses them, so running
# ops from the highest number down is a topological order, found without a separate graph walk.
# In-place changes take their time from the same clock (``inplace_time``).
_sequence = itertools.count()

# The time of the latest in-place change anywhere (Tensor._bump_version, optimizers' steps). If it is older than an
# op (its ``seq``) when backward reaches the op, nothing the op saved can have changed: no check needed.
last_inplace_change = [-1]


def inplace_time() -> int:
    """A time for an in-place change happening now, recorded as the latest one."""
    last_inplace_change[0] = now = next(_sequence)
    return now


def _run_hooks(hooks: list[Any], grad: Any) -> Any:
    """Call gradient hooks in order; a hook that returns an array replaces the gradient."""
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def run_backward(
    root: Tensor, grad: Any, retain_graph: bool = False, capture: list[Tensor] | None = None
) -> list[Any] | None:
    """Apply the chain rule from ``root`` (seeded with ``grad``) down to every leaf.

    Ops run newest first (a heap on their creation number), each once all its output's
    gradient has arrived; leaves get their summed gradient at the end. With ``capture``
    (``autograd.grad``), no ``.grad`` is touched: the gradients reaching those tensors are returned.
    """
    if capture is not None:
        return _run_capturing(root, grad, retain_graph, capture)
    _backward(root, grad, retain_graph, accumulate=True)
    return None


def _backward(root: Tensor, grad: Any, retain_graph: bool, accumulate: bool) -> None:
    """run_backward's walk; with ``accumulate`` False, leaves' gradients go to their hooks only, not to ``.grad``."""
    # keyed by the node itself (identity hashes, computed in C for ops and tensors alike: no id() call per lookup)
    grads: dict[Function | Tensor, Any] = {}
    leaves: list[Tensor] = []
    heap: list[tuple[int, Function]] = []
    pop, push, last_change = heapq.heappop, heapq.heappush, last_inplace_change[0]
    start = root._ctx
    if start is None:
        leaves.append(root)
        grads[root] = grad
    else:
        heap.append((-start.seq, start))
        grads[start] = grad
    while heap:
        fn = pop(heap)[1]
        g = grads.pop(fn)
        if fn.hooks:
            g = _run_hooks(fn.hooks, g)
        parents, edges = fn.parents, fn.edges
        if parents is None:  # edges is None only where parents is too
            raise GraphError(
                f"backward: the graph through op '{fn.name}' was already freed by an earlier "
                "backward(); call backward(retain_graph=True) the first time to go through it twice"
            )
        if last_change > fn.seq:  # something changed in place since this op ran: check what it saved
            fn._check_versions()
        grad_inputs = fn.backward(g)
        if len(grad_inputs) < len(parents) and True in fn.needs[len(grad_inputs):]:
            raise GraphError(
                f"backward of op '{fn.name}' returned {len(grad_inputs)} gradient(s), but input "
                f"{fn.needs.index(True, len(grad_inputs))} needs one too; it must return one gradient "
                "(or None) per input of forward"
            )
        if _op_hooks:
            for hook in _op_hooks:
                hook.on_backward(fn, g, grad_inputs)
        for parent, edge, pg in zip(parents, edges, grad_inputs):  # type: ignore[arg-type]  # None only with parents
            if pg is None or edge is None or edge is False:
                continue
            if pg.shape != parent._data.shape:
                pg = unbroadcast(pg, parent._data.shape)
            previous = grads.get(edge)
            if previous is None:
                grads[edge] = pg
                if isinstance(edge, Function):
                    push(heap, (-edge.seq, edge))
                else:
                    leaves.append(edge)
            else:
                grads[edge] = previous + pg
        if not retain_graph:
            fn.parents = None  # the graph's shape (edges) stays for next_functions, as in PyTorch
            fn.__dict__.clear()  # drop saved arrays as soon as they are used
    if not accumulate:
        for leaf in leaves:
            if leaf._hooks:
                _run_hooks(leaf._hooks, grads.pop(leaf))
        return
    # Arrays handed to a leaf's .grad must be its own: ops may return one array for two inputs.
    handed_out: set[int] = {id(grad)}
    for leaf in leaves:
        g = grads.pop(leaf)
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
        if leaf._grad is None:
            if (type(g) is not np.ndarray or id(g) in handed_out or not g.flags.owndata
                    or g.dtype != leaf._data.dtype):
                g = np.array(g, dtype=leaf._data.dtype)
            handed_out.add(id(g))
            leaf._grad = g
        else:
            leaf._grad += g


def _run_capturing(root: Tensor, grad: Any, retain_graph: bool, capture: list[Tensor]) -> list[Any]:
    """``run_backward`` for ``autograd.grad``: the gradients reaching ``capture`` are returned, no ``.grad`` is
    touched. A capture is a last hook on each target's node, for the run only; leaves are kept out of ``.grad``
    as the walk runs without touching ``.grad``."""
    captured: list[Any] = [None] * len(capture)
    restore: list[tuple[Any, str, Any]] = []
    try:
        for k, t in enumerate(capture):
            node = t._ctx if t._ctx is not None else t
            slot = "hooks" if isinstance(node, Function) else "_hooks"
            before = getattr(node, slot)
            restore.append((node, slot, before))

            def take(g: Any, k: int = k) -> None:
                captured[k] = g

            setattr(node, slot, [*(before or ()), take])
        _backward(root, grad, retain_graph, accumulate=False)
    finally:
        for node, slot, before in reversed(restore):  # reversed: a tensor captured twice gets its first hooks back
            setattr(node, slot, before)
    return captured


from chainrule.engine.tensor import Tensor  # noqa: E402  (Tensor uses Function; Function makes Tensors)
