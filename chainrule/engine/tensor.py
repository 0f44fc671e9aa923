"""The Tensor: a NumPy array that remembers how it was made, so gradients can flow back.

It follows PyTorch's semantics: ``.data`` and ``.grad`` are tensors, comparisons give bool tensors,
in-place ops (``+=``, ``add_``, ``t[i] = v``) change the tensor itself and bump a version counter that
backward checks, and dtypes combine by PyTorch's promotion rules (``dtypes.result_type``).
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.engine import autograd, dtypes
from chainrule.engine.backend import DtypeError, GraphError, IndexingError, ShapeError

if TYPE_CHECKING:
    from chainrule.engine import ops  # imported at the end at run time (ops build Tensors)

_KIND_NAMES = {"O": "Python objects", "U": "strings", "S": "bytes", "c": "complex numbers", "V": "raw records",
               "M": "datetimes", "m": "timedeltas"}

Dim = int | Sequence[int] | None

#: What ``max(dim)``, ``min(dim)``, ``sort`` and ``topk`` return, as ``torch.return_types``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


class Size(tuple[int, ...]):
    """``torch.Size``: a tuple of ints, printed as PyTorch prints it. A tensor's ``.shape`` is a plain tuple here,
    equal to the ``Size`` of the same sizes (``x.shape == torch.Size([2, 3])``).

    >>> Size([2, 3]).numel()
    6
    """

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self)


class Device:
    """Where a tensor lives: always the CPU for chainrule (``cr.device("cpu")``)."""

    __slots__ = ()
    type = "cpu"
    index = None

    def __new__(cls, kind: Any = "cpu", index: Any = None) -> Device:
        check_device(kind, "device")
        return _CPU

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) or other == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")


_CPU = object.__new__(Device)


def owned_array(data: Any, dtype: Any = None, where: str = "tensor") -> np.ndarray:
    """``data`` as an array a new tensor owns: a tensor's or an array's values are copied (as ``torch.tensor``)."""
    array = to_array(data._data if isinstance(data, Tensor) else data, dtype, where=where)
    return array.copy() if isinstance(data, Tensor) or array is data else array


def legacy_array(args: tuple[Any, ...], dtype: Any, where: str) -> np.ndarray:
    """The array of PyTorch's legacy constructors (``torch.Tensor(...)``, ``torch.LongTensor(...)``) in ``dtype``:
    ints are a shape (zeros, where torch leaves memory unset; none: an empty tensor), one sequence or array is
    the data."""
    if all(isinstance(a, numbers.Integral) and not isinstance(a, builtins.bool | np.bool_) for a in args):
        shape = tuple(builtins.int(a) for a in args) if args else (0,)  # Tensor(): empty, not 0-d
        if any(n < 0 for n in shape):
            raise ValueError(f"{where}: negative dimension in shape {shape}")
        return np.zeros(shape, dtype)
    if len(args) > 1:
        raise TypeError(f"{where}: expected data (a sequence, array or tensor) or a shape of ints, got "
                        f"{len(args)} arguments of types {', '.join(type(a).__name__ for a in args)}; "
                        "torch.tensor(data, dtype=...) makes a tensor of another dtype")
    data = args[0]
    if isinstance(data, numbers.Number) or (isinstance(data, np.ndarray | np.generic) and np.ndim(data) == 0):
        raise TypeError(f"{where}: expected a sequence, array or tensor, or ints for a shape, got the number "
                        f"{data!r}; torch.tensor({data!r}) makes a 0-d tensor of it")
    array = to_array(data._data if isinstance(data, Tensor) else data, None, where=where)
    return array.astype(dtype, copy=array is data or array.dtype != dtype)


def check_device(device: Any, where: str) -> None:
    """Accept the CPU in any spelling; anything else is an error saying chainrule runs on the CPU."""
    if device is None or isinstance(device, Device):
        return
    name = str(device)
    if name.split(":")[0] != "cpu":
        raise RuntimeError(
            f"{where}: chainrule runs on the CPU only (NumPy), so device {name!r} is not available; "
            "use 'cpu' (code written as .to(device) works with device = 'cpu')"
        )


def to_array(data: Any, dtype: Any = None, *, where: str = "tensor") -> np.ndarray:
    """Turn user data into a numeric NumPy array, or raise an error that says what was wrong.

    NumPy arrays and tensors keep their dtype (as ``torch.tensor(ndarray)``); Python floats become
    the default dtype (float32), Python ints int64 and bools bool, unless ``dtype`` says otherwise.
    """
    if isinstance(data, Tensor):
        data = data._data
    if dtype is None and type(data) is np.ndarray and data.dtype in dtypes.SUPPORTED:
        return data  # the common case (a batch sliced from a data set's array): nothing to check or convert
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{where}: expected numbers, got a {type(data).__name__} {data!r}")
    from_numpy = isinstance(data, np.ndarray | np.generic)
    if not from_numpy and isinstance(data, list | tuple) and any(isinstance(d, Tensor) for d in data):
        data = [d._data if isinstance(d, Tensor) else d for d in data]  # a list of 0-d tensors, as torch takes
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(
            f"{where}: expected a rectangular nested sequence of numbers, got a ragged one "
            f"(rows of different lengths): {error}"
        ) from None
    kind = array.dtype.kind
    if kind in _KIND_NAMES:
        raise TypeError(
            f"{where}: expected real numbers (float, int or bool), got {_KIND_NAMES[kind]} "
            f"(NumPy dtype {array.dtype})"
        )
    if dtype is not None:
        target = dtypes.as_dtype(dtype, where)
        if array.dtype != target:
            array = array.astype(target)
    elif not from_numpy and kind == "f" and array.dtype != dtypes.get_default_dtype():
        array = array.astype(dtypes.get_default_dtype())
    elif array.dtype not in dtypes.SUPPORTED:
        # unsigned beyond uint8 and the like: the nearest supported type that holds every value
        array = array.astype(np.int64 if kind in "ui" else dtypes.get_default_dtype())
    return array


def _dims(dim: Any, axis: Any, where: str) -> Any:
    """PyTorch's ``dim=`` with NumPy's ``axis=`` as an alias: one scheme inside (the axes)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{where}: give dim or its alias axis, not both")
        return axis
    return dim


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    # _data: the ndarray; _grad: the gradient's ndarray (``.grad`` wraps it); _version: a one-item list
    # shared by tensors that share memory, counting in-place changes (None until first needed).
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_hooks", "name", "_version", "__weakref__")
    __array_priority__ = 1000  # ndarray + Tensor defers to our reflected operators (as torch); ufuncs see arrays

    def __init__(self, *args: Any, device: Any = None) -> None:
        """PyTorch's legacy constructor, as ``torch.Tensor(...)`` behaves: ``Tensor(data)`` is the data in the
        default dtype (float32, whatever the data's own), ``Tensor(2, 3)`` (or a ``Size``) a tensor of that shape
        (zeros, where torch leaves memory uninitialised), ``Tensor()`` an empty one, ``Tensor(t)`` for a tensor
        ``t`` an alias of it (same memory). ``torch.tensor(data, dtype=..., requires_grad=...)`` is the factory that
        keeps the data's dtype; this one takes neither keyword, as in PyTorch."""
        if device is not None:
            check_device(device, "Tensor")
        if len(args) == 1 and isinstance(args[0], Tensor):
            other = args[0]  # an alias: the same memory and version counter, no graph
            self._fill(other._data, other._version_counter())
            return
        self._fill(legacy_array(args, dtypes.get_default_dtype(), "Tensor"))

    def _fill(self, array: np.ndarray, version: list[builtins.int] | None = None) -> None:
        self._data = array
        self._grad: np.ndarray | None = None
        self._ctx: autograd.Function | None = None
        self._hooks: list[Callable[[np.ndarray], Any]] | None = None
        self.name: str | None = None
        self._version: list[int] | None = version
        self.requires_grad = False

    @classmethod
    def _make(cls, data: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
        """``torch.tensor``: a new leaf owning a copy of ``data`` in its own dtype (or ``dtype``)."""
        t = cls.__new__(cls)
        t._fill(owned_array(data, dtype))
        if requires_grad:
            t.requires_grad_(True)
        return t

    @classmethod
    def _wrap(cls, array: np.ndarray, version: list[builtins.int] | None = None) -> Tensor:
        """A leaf tensor around ``array`` itself: no copy, no dtype change, no grad (detach, from_numpy)."""
        t = cls.__new__(cls)
        t._data, t._grad, t._ctx, t._hooks, t.name, t.requires_grad, t._version = (
            array, None, None, None, None, False, version)
        return t

    def _bump_version(self) -> None:
        """Count an in-place change of this tensor's values, and when it happened (the count of in-place changes
        on the clock recorded ops take their ``seq`` from: see ``Function._check_versions``)."""
        now = autograd.inplace_time()
        box = self._version
        if box is None:
            self._version = [1, now]
        else:
            box[0] += 1
            box[1] = now

    def _version_counter(self) -> list[builtins.int]:
        """The version counter ``[version, when last changed]``, created on first need; views and ``.data`` share it."""
        if self._version is None:
            self._version = [0, 0]
        return self._version

    # ------------------------------------------------------------------ basics
    @property
    def data(self) -> Tensor:
        """This tensor's values outside the graph: a tensor sharing memory that does not require grad.

        Changes made through it are not recorded and not counted (PyTorch's ``.data``: a version counter of
        its own, so backward does not see them, unlike ``.detach()``'s); assigning a tensor to ``.data``
        replaces the values (shape and dtype included).
        """
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assigned value must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()`` (a tensor of this shape), or None."""
        g = self._grad
        return None if g is None else Tensor._wrap(g)

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        if not isinstance(value, Tensor):
            raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got {type(value).__name__}")
        if value.shape != self.shape:
            raise ShapeError(f"grad: assigned grad has shape {value.shape} but the tensor has shape {self.shape}")
        if value.dtype != self.dtype:
            raise DtypeError(f"grad: assigned grad has dtype {value.dtype} but the tensor has dtype {self.dtype}")
        self._grad = value._data

    @property
    def shape(self) -> tuple[builtins.int, ...]:
        """The size of each dimension, as a tuple."""
        return self._data.shape

    @property
    def ndim(self) -> builtins.int:
        """The number of dimensions."""
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The dtype (chainrule's dtype objects are NumPy's: ``cr.float32 == np.float32``)."""
        return self._data.dtype

    @property
    def device(self) -> Device:
        """Always the CPU."""
        return _CPU

    @property
    def is_cuda(self) -> builtins.bool:
        return False

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors made by the user rather than by an op."""
        return self._ctx is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        """The op that made this tensor (None for leaves), as in PyTorch; walk it with ``next_functions``."""
        return self._ctx

    def is_floating_point(self) -> builtins.bool:
        return self._data.dtype.kind == "f"

    def size(self, dim: builtins.int | None = None) -> tuple[builtins.int, ...] | builtins.int:
        """The shape, or the size of dimension ``dim`` (PyTorch's ``size``)."""
        if dim is None:
            return self._data.shape
        return self._data.shape[ops.normalize_axis(dim, self.ndim, "size")]

    def numel(self) -> builtins.int:
        """The number of elements."""
        return int(self._data.size)

    nelement = numel

    def dim(self) -> builtins.int:
        """The number of dimensions (PyTorch's ``dim``)."""
        return self._data.ndim

    ndimension = dim

    def element_size(self) -> builtins.int:
        return self._data.itemsize

    def __len__(self) -> builtins.int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no length (use .item() for its value)")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iter(): iteration over a 0-d tensor: it has no elements to go through (use .item())")
        return (self[i] for i in range(len(self._data)))

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self._data.dtype != dtypes.get_default_dtype() and not (
                self._data.dtype in (dtypes.int64, dtypes.bool_) and self._data.size):
            extras.append(f"dtype={self._data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{', ' if extras else ''}{', '.join(extras)})"

    def __array__(self, dtype: Any = None, copy: builtins.bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Any:
        return self._data.__dlpack_device__()

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise ShapeError(
                f"bool(): the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        if self._data.size == 1 and spec:  # f"{loss:.4f}" on a one-element tensor formats its value, as torch
            return format(self._data.reshape(()).item(), spec)
        return format(repr(self), spec)

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self._data)

    # Identity, as PyTorch's (which returns id(self)), computed in C: optimizers' state and backward's gradient
    # table look tensors up by it on every step. Distinct live objects never share this hash, so a lookup never
    # falls back to __eq__ (which compares elementwise).
    __hash__ = object.__hash__

    def item(self) -> builtins.float | builtins.int | builtins.bool:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ShapeError(
                f"item(): a Tensor with {self._data.size} elements cannot be converted to a Python scalar "
                f"(shape {self._data.shape})")
        return self._data.item()  # NumPy's item() takes any one-element array, whatever its shape

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied), as ``torch.Tensor.numpy``."""
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self._data

    def tolist(self) -> Any:
        """The data as nested Python lists (a Python number for a 0-d tensor)."""
        return self._data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data that is cut off from the graph."""
        return Tensor._wrap(self._data, self._version_counter())

    def detach_(self) -> Tensor:
        """Cut this tensor off from the graph, in place."""
        self._ctx = None
        self.requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A copy with its own memory that stays in the graph (gradients flow back to this tensor)."""
        return ops.Cast.apply(self, dtype=self._data.dtype)  # astype copies; a reshape would share memory

    def __getattr__(self, name: str) -> Any:
        """Only for names Tensor lacks (found attributes never come here): say it is chainrule's gap, not a typo."""
        if name.startswith("__") or name in Tensor.__slots__:  # protocols (copy, pickle) and unset slots probe
            raise AttributeError(name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}: torch.Tensor.{name} is not "
                             "available in chainrule (the README lists what is)")

    # ``x.new_zeros(2, 3)``: a new tensor with this one's dtype (its device too, chainrule having one)
    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        return _creation().new_filled(self, "new_zeros", size, 0, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return _creation().new_filled(self, "new_ones", size, 1, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        return _creation().new_filled(self, "new_empty", size, None, dtype, device, requires_grad)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return _creation().new_filled(self, "new_full", (size,), fill_value, dtype, device, requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: builtins.bool = False) -> Tensor:
        """``torch.tensor(data)`` in this tensor's dtype (unless ``dtype``), a copy."""
        check_device(device, "new_tensor")
        return Tensor._make(data, dtype=self._data.dtype if dtype is None else dtype, requires_grad=requires_grad)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is row-major without gaps, else a copy that is (in the graph, as ``clone``)."""
        return self if self._data.flags.c_contiguous else ops.Contiguous.apply(self)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Start (or stop) recording ops on this tensor for backward; raises TypeError for non-float dtypes."""
        if requires_grad and self._data.dtype not in dtypes.FLOAT_DTYPES:
            raise DtypeError(
                f"requires_grad: only floating-point tensors can require gradients, got dtype "
                f"{self._data.dtype}; create the tensor from floats or pass dtype=cr.float32"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False): you can only change requires_grad of leaf tensors; "
                               "use .detach() to get a tensor without a graph")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward, as ``torch.Tensor.retain_grad``."""
        if self._ctx is None:
            if not self.requires_grad:
                raise GraphError("retain_grad: can't retain_grad on a tensor that does not require grad")
            return  # leaves keep their gradient anyway

        def keep(g: np.ndarray) -> None:
            self._grad = g.copy() if self._grad is None else self._grad + g

        self._register_array_hook(keep)

    # ------------------------------------------------------------------ dtype and device
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor converted to a dtype and/or device (only the CPU), or to another tensor's dtype."""
        dtype = kwargs.pop("dtype", None)
        check_device(kwargs.pop("device", None), "to")
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str | Device):
                check_device(a, "to")
            else:
                dtype = a
        return self if dtype is None else self.type(dtype)

    def type(self, dtype: Any = None) -> Any:
        """This tensor converted to ``dtype`` (differentiable between float types); without one, the type's name."""
        if dtype is None:
            return f"chainrule.{self._data.dtype}"
        target = dtypes.as_dtype(dtype, "type")
        if target == self._data.dtype:
            return self
        if target.kind != "f":  # integers and booleans carry no gradient, as in PyTorch
            return Tensor._wrap(self._data.astype(target))
        return ops.Cast.apply(self, dtype=target)

    astype = type  # noqa: A003

    def float(self) -> Tensor:
        """This tensor as float32 (differentiable)."""
        return self.type(dtypes.float32)

    def double(self) -> Tensor:
        """This tensor as float64 (differentiable)."""
        return self.type(dtypes.float64)

    def half(self) -> Tensor:
        return self.type(dtypes.float16)

    def long(self) -> Tensor:
        return self.type(dtypes.int64)

    def int(self) -> Tensor:
        return self.type(dtypes.int32)

    def short(self) -> Tensor:
        return self.type(dtypes.int16)

    def byte(self) -> Tensor:
        return self.type(dtypes.uint8)

    def bool(self) -> Tensor:
        return self.type(dtypes.bool_)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        check_device("cuda", "cuda")
        return self

    def type_as(self, other: Tensor) -> Tensor:
        return self.type(other.dtype)

    # ------------------------------------------------------------------ hooks
    def _register_array_hook(self, hook: Callable[[np.ndarray], Any]) -> autograd.HookHandle:
        """Call ``hook(grad_array)`` when this tensor's gradient is computed; a returned array replaces it.

        The engine's own observers (the doctor, the explainer) use this: no tensor is wrapped per call.
        """
        if not self.requires_grad:
            raise GraphError("register_hook: this tensor does not require grad, so no gradient will reach it")
        # a leaf keeps its hooks; a non-leaf's hooks live on the op that made it (the node its gradient reaches)
        hooks: list[Any]
        if self._ctx is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self._ctx.hooks is None:
                self._ctx.hooks = []
            hooks = self._ctx.hooks
        hooks.append(hook)
        return autograd.HookHandle(hooks, hook)

    def register_hook(self, hook: Callable[[Tensor], Any]) -> autograd.HookHandle:
        """Call ``hook(grad)`` with the gradient (a tensor) when it is computed; a returned tensor replaces it."""

        def call(g: np.ndarray) -> Any:
            result = hook(Tensor._wrap(g))
            if result is None:
                return None
            if not isinstance(result, Tensor) or result.shape != g.shape:
                raise GraphError(f"register_hook: a hook must return None or a tensor of shape {g.shape}, "
                                 f"got {result!r}")
            return result._data

        return self._register_array_hook(call)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self._grad = None

    # ------------------------------------------------------------------ backward
    def backward(self, gradient: Any = None, retain_graph: builtins.bool | None = None,
                 create_graph: builtins.bool = False, inputs: Any = None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``gradient`` is the gradient of some scalar with respect to this tensor; it may be left
        out only when this tensor holds a single element.
        """
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): chainrule does not build graphs of gradients "
                                      "(no higher-order derivatives)")
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...): not available in chainrule; use cr.autograd.grad")
        if not self.requires_grad:
            raise GraphError(
                "backward: this tensor does not require grad and has no graph (PyTorch: element 0 of tensors does not "
                "require grad); create the inputs with requires_grad=True (and not inside no_grad())"
            )
        autograd.run_backward(self, self._seed(gradient, "backward"), retain_graph=bool(retain_graph))

    def _seed(self, gradient: Any, where: str) -> np.ndarray:
        if gradient is None:
            if self._data.size != 1:
                raise GraphError(
                    f"{where}: grad can be implicitly created only for a tensor with one element, got "
                    f"shape {self.shape}; reduce it first (e.g. .sum()) or pass a gradient of the same shape"
                )
            seed = np.empty(self._data.shape, self._data.dtype)  # np.ones_like costs three Python-level calls
            seed.fill(1)
            return seed
        grad = to_array(gradient, self._data.dtype, where=where)
        if grad.shape != self._data.shape:
            raise ShapeError(f"{where}: grad must have shape {self.shape}, got {grad.shape}")
        return grad

    # ------------------------------------------------------------------ in place
    def _check_inplace(self, where: str) -> None:
        if autograd.is_grad_enabled() and self.requires_grad:
            if self._ctx is None:
                raise GraphError(
                    f"{where}: a leaf tensor that requires grad is being used in an in-place operation; "
                    "update it inside `with cr.no_grad():` (as optimizers do) or use an out-of-place op"
                )
            if self._ctx.is_view:
                raise GraphError(
                    f"{where}: in-place change of a view ({self._ctx.name}) of a tensor that requires grad is not "
                    "supported by chainrule; use an out-of-place op, or index assignment on the tensor itself "
                    "(x[i] = v and x[i] += v work)"
                )

    def _assign(self, result: Tensor, where: str) -> Tensor:
        """Make this tensor hold ``result`` in place: same memory, version bumped, and, when recording,
        ``result``'s node as its own (so the graph sees the op PyTorch's in-place op would record)."""
        try:
            np.copyto(self._data, np.broadcast_to(result._data, self._data.shape), casting="same_kind")
        except TypeError:
            raise DtypeError(
                f"{where}: result type {result.dtype} can't be cast to the desired output type {self.dtype}"
            ) from None
        except ValueError:
            raise ShapeError(
                f"{where}: output with shape {self.shape} doesn't match the broadcast shape {result.shape}"
            ) from None
        self._bump_version()
        if result.requires_grad:
            if result.dtype != self.dtype:
                result = result.type(self.dtype)
            self._ctx, self.requires_grad = result._ctx, True
            self._hooks = None
        return self

    def _inplace(self, op: Callable[..., Tensor], *args: Any, where: str, augmented: builtins.bool = False) -> Tensor:
        """``self = op(self, *args)`` written into this tensor's memory, with PyTorch's checks.

        ``augmented`` (``x[i] += v``): Python follows the in-place op on the view ``x[i]`` with
        ``x[i] = result``, so on a recorded view the op is done out of place and the index assignment
        writes it into ``x`` with its graph.
        """
        recording = autograd.is_grad_enabled() and (self.requires_grad or builtins.any(
            isinstance(a, Tensor) and a.requires_grad for a in args))
        if augmented and recording and self._ctx is not None and self._ctx.is_view:
            return op(self, *args)
        self._check_inplace(where)
        if recording:
            # The op sees a copy of the old values: we are about to overwrite this tensor's memory.
            before = Tensor._wrap(self._data.copy())
            before._ctx, before.requires_grad = self._ctx, self.requires_grad
            return self._assign(op(before, *args), where)
        with autograd.no_grad():
            return self._assign(op(self, *args), where)

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(ops.add, other, where="add_", augmented=True)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(ops.sub, other, where="sub_", augmented=True)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(ops.mul, other, where="mul_", augmented=True)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(ops.div, other, where="div_", augmented=True)

    def __ipow__(self, other: Any) -> Tensor:
        return self._inplace(ops.pow, other, where="pow_", augmented=True)

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._inplace(ops.add, other if alpha == 1 else other * alpha, where="add_")

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._inplace(ops.sub, other if alpha == 1 else other * alpha, where="sub_")

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(ops.mul, other, where="mul_")

    def div_(self, other: Any) -> Tensor:
        return self._inplace(ops.div, other, where="div_")

    def pow_(self, other: Any) -> Tensor:
        return self._inplace(ops.pow, other, where="pow_")

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return self._inplace(ops.clip, min, max, where="clamp_")

    clip_ = clamp_

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        return ops.clip(self, min, None)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return ops.clip(self, None, max)

    def clamp_min_(self, min: Any) -> Tensor:  # noqa: A002
        return self._inplace(ops.clip, min, None, where="clamp_min_")

    def clamp_max_(self, max: Any) -> Tensor:  # noqa: A002
        return self._inplace(ops.clip, None, max, where="clamp_max_")

    def relu_(self) -> Tensor:
        """max(x, 0) written into this tensor."""
        return self._inplace(ops.ReLU.apply, where="relu_")

    def zero_(self) -> Tensor:
        """Set every element to 0, in place."""
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value``, in place (a recorded op when this tensor is in a graph)."""
        if isinstance(value, Tensor):
            value = value.item() if not value.requires_grad else value
        if isinstance(value, Tensor) or (autograd.is_grad_enabled() and self.requires_grad):
            return self._inplace(lambda t, v: ops.where(np.zeros(t.shape, builtins.bool), t, v), value, where="fill_")
        self._check_inplace("fill_")
        self._data.fill(value)
        self._bump_version()
        return self

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src``'s values (broadcast, converted to this dtype) into this tensor, in place."""
        src = src if isinstance(src, Tensor) else Tensor._make(src)
        return self._inplace(lambda t, s: s if s.dtype == t.dtype else s.type(t.dtype), src, where="copy_")

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples from N(mean, std²) drawn from the seeded generator, in place."""
        self._check_inplace("normal_")
        self._data[...] = _rng(generator).normal(mean, std, self.shape)
        self._bump_version()
        return self

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples from U(a, b) drawn from the seeded generator, in place."""
        self._check_inplace("uniform_")
        self._data[...] = _rng(generator).uniform(a, b, self.shape)
        self._bump_version()
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace("setitem")
        if (isinstance(value, Tensor) and value.requires_grad) or self.requires_grad:
            if autograd.is_grad_enabled():
                self._inplace(ops.setitem, index, value, where="setitem")
                return
        value = value._data if isinstance(value, Tensor) else value
        view, index = ops.split_index(self._data, ops.as_index(index))
        try:
            view[index] = value
        except (IndexError, ValueError) as error:
            raise IndexingError(f"setitem: can't assign a value of shape {np.shape(value)} to index {index!r} of a "
                             f"tensor of shape {self.shape}: {error}") from None
        self._bump_version()

    # ------------------------------------------------------------------ operators
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.remainder(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        if self._data.dtype.kind == "b":
            raise DtypeError("neg: negation, the `-` operator, on a bool tensor is not supported; "
                            "use the `~` operator or logical_not()")
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self + alpha·other (``torch.add``)."""
        return ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self - alpha·other (``torch.sub``)."""
        return ops.sub(self, other if alpha == 1 else other * alpha)

    subtract = sub
    mul = multiply = __mul__

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other; ``rounding_mode`` "floor" rounds toward minus infinity, "trunc" toward zero (then, as
        in PyTorch, integers stay integers and there is no gradient)."""
        if rounding_mode is None:
            return ops.div(self, other)
        if rounding_mode == "floor":
            return ops.floor_divide(self, other)
        if rounding_mode == "trunc":
            floored = ops.floor_divide(self, other)
            exact = ops.div(self, other)
            return ops.where(exact._data < 0, ops.floor_divide(-self, other).neg(), floored)
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    divide = div
    true_divide = __truediv__
    matmul = __matmul__

    def pow(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    # ------------------------------------------------------------------ comparisons and logic (bool tensors)
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.compare(np.equal, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.compare(np.not_equal, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return ops.compare(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.compare(np.greater_equal, self, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, greater_equal, less, less_equal, not_equal = __gt__, __ge__, __lt__, __le__, __ne__

    def __invert__(self) -> Tensor:
        return ops.bitwise("invert", np.invert, self)

    def __and__(self, other: Any) -> Tensor:
        return ops.bitwise("and", np.bitwise_and, self, other)

    def __or__(self, other: Any) -> Tensor:
        return ops.bitwise("or", np.bitwise_or, self, other)

    def __xor__(self, other: Any) -> Tensor:
        return ops.bitwise("xor", np.bitwise_xor, self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__
    bitwise_not, bitwise_and, bitwise_or, bitwise_xor = __invert__, __and__, __or__, __xor__

    def logical_not(self) -> Tensor:
        return Tensor._wrap(np.logical_not(self._data))

    def logical_and(self, other: Any) -> Tensor:
        return ops.compare(np.logical_and, self, other)

    def logical_or(self, other: Any) -> Tensor:
        return ops.compare(np.logical_or, self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return ops.compare(np.logical_xor, self, other)

    def isnan(self) -> Tensor:
        return Tensor._wrap(np.isnan(self._data))

    def isinf(self) -> Tensor:
        return Tensor._wrap(np.isinf(self._data))

    def isfinite(self) -> Tensor:
        return Tensor._wrap(np.isfinite(self._data))

    def all(self, dim: Any = None, keepdim: builtins.bool = False, *, axis: Any = None,
            keepdims: builtins.bool | None = None) -> Tensor:
        """True where every element (over ``dim``) is non-zero, as a bool tensor."""
        axes = ops.normalize_axes(_dims(dim, axis, "all"), self.ndim, "all")
        return Tensor._wrap(np.asarray(np.all(self._data, axis=axes, keepdims=_keep(keepdim, keepdims))))

    def any(self, dim: Any = None, keepdim: builtins.bool = False, *, axis: Any = None,
            keepdims: builtins.bool | None = None) -> Tensor:
        """True where some element (over ``dim``) is non-zero, as a bool tensor."""
        axes = ops.normalize_axes(_dims(dim, axis, "any"), self.ndim, "any")
        return Tensor._wrap(np.asarray(np.any(self._data, axis=axes, keepdims=_keep(keepdim, keepdims))))

    def equal(self, other: Tensor) -> builtins.bool:
        """True when both have the same shape and elements (``torch.equal``)."""
        return self.shape == other.shape and builtins.bool(np.array_equal(self._data, other._data))

    def allclose(self, other: Tensor, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8,
                 equal_nan: builtins.bool = False) -> builtins.bool:
        return builtins.bool(np.allclose(self._data, np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isclose(self, other: Any, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8,
                equal_nan: builtins.bool = False) -> Tensor:
        return Tensor._wrap(np.isclose(self._data, np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    # ------------------------------------------------------------------ elementwise

    def relu(self) -> Tensor:
        """max(x, 0) for each element (gradient 0 at 0, as PyTorch)."""
        return ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope: builtins.float = 0.01) -> Tensor:
        """x for x > 0, else negative_slope * x."""
        return ops.leaky_relu(self, negative_slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        """The Gaussian error linear unit; ``approximate='tanh'`` for the tanh form."""
        return ops.gelu(self, approximate)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Limit values to [min, max]; raises ValueError if both are None."""
        return ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other: Any) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.minimum(self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim: Dim = None, keepdim: builtins.bool = False, *, dtype: Any = None, axis: Dim = None,
            keepdims: builtins.bool | None = None) -> Tensor:
        """Sum over ``dim`` (an int, a tuple, or None for all); integers and bool sum as int64."""
        x = self if dtype is None else self.type(dtype)
        return ops.sum(x, _dims(dim, axis, "sum"), _keep(keepdim, keepdims))

    def mean(self, dim: Dim = None, keepdim: builtins.bool = False, *, dtype: Any = None, axis: Dim = None,
             keepdims: builtins.bool | None = None) -> Tensor:
        """Mean over ``dim`` (an int, a tuple, or None for all); raises for integer tensors, as PyTorch."""
        x = self if dtype is None else self.type(dtype)
        return ops.mean(x, _dims(dim, axis, "mean"), _keep(keepdim, keepdims))

    def amax(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        """Largest value over ``dim``; tied elements share the gradient."""
        return ops.max(self, dim, keepdim)

    def amin(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        """Smallest value over ``dim``; tied elements share the gradient."""
        return ops.min(self, dim, keepdim)

    def max(self, dim: Any = None, keepdim: builtins.bool = False, *, axis: Any = None,
            keepdims: builtins.bool | None = None) -> Any:
        """The largest value; with ``dim`` a (values, indices) pair; with a tensor, the elementwise maximum."""
        return ops.max_or_min(self, _dims(dim, axis, "max"), _keep(keepdim, keepdims), largest=True)

    def min(self, dim: Any = None, keepdim: builtins.bool = False, *, axis: Any = None,
            keepdims: builtins.bool | None = None) -> Any:
        """The smallest value; with ``dim`` a (values, indices) pair; with a tensor, the elementwise minimum."""
        return ops.max_or_min(self, _dims(dim, axis, "min"), _keep(keepdim, keepdims), largest=False)

    def argmax(self, dim: builtins.int | None = None, keepdim: builtins.bool = False, *,
               axis: builtins.int | None = None) -> Tensor:
        """Indices (int64) of the largest values along ``dim`` (of the flattened tensor without one)."""
        return ops.arg_extreme(self, _dims(dim, axis, "argmax"), keepdim, largest=True)

    def argmin(self, dim: builtins.int | None = None, keepdim: builtins.bool = False, *,
               axis: builtins.int | None = None) -> Tensor:
        """Indices (int64) of the smallest values along ``dim`` (of the flattened tensor without one)."""
        return ops.arg_extreme(self, _dims(dim, axis, "argmin"), keepdim, largest=False)

    def var(self, dim: Dim = None, unbiased: builtins.bool | None = None, keepdim: builtins.bool = False, *,
            correction: builtins.int | None = None, axis: Dim = None, keepdims: builtins.bool | None = None) -> Tensor:
        """Variance over ``dim``, divided by N - correction (1 by default: ``unbiased``, as ``torch.var``)."""
        if isinstance(dim, builtins.bool | np.bool_) and unbiased is None:  # torch's overload var(unbiased)
            dim, unbiased = None, builtins.bool(dim)
        if isinstance(unbiased, builtins.bool | np.bool_) or unbiased is None:
            corr = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
        else:  # var(dim, keepdim) positionally where torch's overload takes dim then unbiased
            raise TypeError(f"var: unbiased must be a bool, got {unbiased!r}")
        return ops.var(self, _dims(dim, axis, "var"), _keep(keepdim, keepdims), corr)

    def std(self, dim: Dim = None, unbiased: builtins.bool | None = None, keepdim: builtins.bool = False, *,
            correction: builtins.int | None = None, axis: Dim = None, keepdims: builtins.bool | None = None) -> Tensor:
        """Standard deviation over ``dim`` (the square root of :meth:`var`, with the same arguments)."""
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims).sqrt()

    def softmax(self, dim: builtins.int = -1, *, axis: builtins.int | None = None) -> Tensor:
        """exp(x) / sum(exp(x)) along ``dim``, stable for any input size."""
        return ops.softmax(self, _dims(dim, axis, "softmax"))

    def log_softmax(self, dim: builtins.int = -1, *, axis: builtins.int | None = None) -> Tensor:
        """log(softmax(x)) along ``dim``, stable for any input size."""
        return ops.log_softmax(self, _dims(dim, axis, "log_softmax"))

    def logsumexp(self, dim: Dim = None, keepdim: builtins.bool = False, *, axis: Dim = None,
                  keepdims: builtins.bool | None = None) -> Tensor:
        """log(sum(exp(x))) over ``dim``, without overflow."""
        return ops.logsumexp(self, _dims(dim, axis, "logsumexp"), _keep(keepdim, keepdims))

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape; one size may be -1; raises if the sizes don't fit."""
        return ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """The same elements in a new shape (a dtype instead of a shape is not supported)."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral | list | tuple):
            raise NotImplementedError("view(dtype): reinterpreting memory as another dtype is not available in "
                                      "chainrule; use .to(dtype)")
        return self._viewed(ops.reshape(self, *shape))

    def view_as(self, other: Tensor) -> Tensor:
        return self._viewed(ops.reshape(self, *other.shape))

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, *other.shape)

    def _viewed(self, out: Tensor) -> Tensor:
        """``out``, a reshape of this tensor, if it shares this tensor's memory; an error where PyTorch's view
        raises (a transposed or sliced tensor whose strides can't take the new shape), not a silent copy that
        writes through the "view" would never reach."""
        if out._data.size > 1 and not np.may_share_memory(out._data, self._data):
            raise ShapeError(f"view: shape {out.shape} is not compatible with the input's size and strides (shape "
                             f"{self.shape}, not contiguous: at least one dimension spans across two contiguous "
                             "subspaces); use .reshape(...) instead, or .contiguous().view(...)")
        return out

    def is_contiguous(self) -> builtins.bool:
        """Whether the elements lie in memory in row-major order without gaps (``torch.Tensor.is_contiguous``)."""
        return builtins.bool(self._data.flags.c_contiguous)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        """Dimensions ``start_dim`` to ``end_dim`` merged into one."""
        if self.ndim == 0:
            return ops.reshape(self, 1)
        start = ops.normalize_axis(start_dim, self.ndim, "flatten")
        end = ops.normalize_axis(end_dim, self.ndim, "flatten")
        if start > end:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        merged = math.prod(self.shape[start:end + 1])  # not -1: a size-0 tensor has no size to infer
        return ops.reshape(self, *self.shape[:start], merged, *self.shape[end + 1:])

    def transpose(self, dim0: builtins.int = -2, dim1: builtins.int = -1) -> Tensor:
        """Swap dimensions ``dim0`` and ``dim1``."""
        return ops.transpose(self, dim0, dim1)

    swapaxes = swapdims = transpose

    def t(self) -> Tensor:
        """The transpose of a matrix (a 0-d or 1-d tensor is returned as is)."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got {self.ndim}; use transpose(dim0, dim1)")
        return ops.transpose(self, 0, -1) if self.ndim == 2 else self

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions: output dimension i is input dimension ``dims[i]``."""
        return ops.permute(self, *dims)

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """All dimensions in reverse order."""
        return ops.permute(self, *reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dimensions swapped."""
        return ops.transpose(self, -2, -1)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast size-1 dimensions to ``shape`` without copying; -1 keeps a size."""
        return ops.expand(self, *shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand(self, *other.shape)

    def split(self, split_size_or_sections: builtins.int | Sequence[builtins.int], dim: builtins.int | None = None,
              *, axis: builtins.int | None = None) -> list[Tensor]:
        """Chunks of ``split_size`` along ``dim`` (0 by default; the last may be smaller), or of the given sizes."""
        dim = _dims(dim, axis, "split")
        return ops.split(self, split_size_or_sections, 0 if dim is None else dim)

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """Drop size-1 dimensions (all of them, or only those in ``dim``)."""
        dim = _dims(dim, axis, "squeeze")
        if dim is None:
            return ops.reshape(self, *[n for n in self.shape if n != 1])
        axes = ops.normalize_axes(dim, self.ndim, "squeeze") or ()
        keep = [n for i, n in enumerate(self.shape) if not (i in axes and n == 1)]
        return self if len(keep) == self.ndim else ops.reshape(self, *keep)

    def unsqueeze(self, dim: builtins.int | None = None, *, axis: builtins.int | None = None) -> Tensor:
        """Insert a size-1 dimension at ``dim``."""
        d = _dims(dim, axis, "unsqueeze")
        d = ops.normalize_axis(d, self.ndim + 1, "unsqueeze")
        return ops.reshape(self, *self.shape[:d], 1, *self.shape[d:])

    if TYPE_CHECKING:
        # Installed after the class by elementwise.install_tensor_methods (from the op table and from ops.py);
        # declared here for type checkers only. tests/engine/test_tensor_methods_declared.py keeps the two in step.
        def exp(self) -> Tensor: ...
        exp_ = exp2 = exp2_ = expm1 = expm1_ = log = log_ = log2 = log2_ = log10 = exp
        log10_ = log1p = log1p_ = sqrt = sqrt_ = rsqrt = rsqrt_ = reciprocal = reciprocal_ = square = exp
        square_ = sin = sin_ = cos = cos_ = tan = tan_ = asin = asin_ = arcsin = exp
        arcsin_ = acos = acos_ = arccos = arccos_ = atan = atan_ = arctan = arctan_ = sinh = exp
        sinh_ = cosh = cosh_ = tanh = tanh_ = asinh = asinh_ = arcsinh = arcsinh_ = acosh = exp
        acosh_ = arccosh = arccosh_ = atanh = atanh_ = arctanh = arctanh_ = erf = erf_ = erfc = exp
        erfc_ = erfinv = erfinv_ = neg = neg_ = negative = negative_ = abs = abs_ = absolute = exp
        absolute_ = sign = sign_ = sgn = sgn_ = floor = floor_ = ceil = ceil_ = trunc = exp
        trunc_ = fix = fix_ = frac = frac_ = sigmoid = sigmoid_ = exp

        def round(self, decimals: builtins.int = 0) -> Tensor: ...
        round_ = round  # noqa: A003

        def nan_to_num(self, nan: builtins.float = 0.0, posinf: builtins.float | None = None,
                       neginf: builtins.float | None = None) -> Tensor: ...
        nan_to_num_ = nan_to_num

        def atan2(self, other: Any) -> Tensor: ...
        atan2_ = arctan2 = arctan2_ = fmod = fmod_ = hypot = hypot_ = atan2

        prod, cumsum, cumprod, norm, sort, argsort, topk = (
            ops.prod, ops.cumsum, ops.cumprod, ops.norm, ops.sort, ops.argsort, ops.topk)
        mm, bmm, dot, outer, ger = ops.mm, ops.bmm, ops.dot, ops.outer, ops.outer
        roll, gather, scatter, scatter_add, index_select, index_add, masked_fill = (
            ops.roll, ops.gather, ops.scatter, ops.scatter_add, ops.index_select, ops.index_add, ops.masked_fill)
        chunk, narrow, movedim, moveaxis, unflatten, unbind, tril, triu = (
            ops.chunk, ops.narrow, ops.movedim, ops.movedim, ops.unflatten, ops.unbind, ops.tril, ops.triu)
        masked_fill_, scatter_, scatter_add_, index_add_, tril_, triu_ = (
            ops.masked_fill, ops.scatter, ops.scatter_add, ops.index_add, ops.tril, ops.triu)
        index_put = index_put_ = ops.index_put
        bincount, diag, diagonal, trace = ops.bincount, ops.diag, ops.diagonal, ops.trace
        nonzero, unique, masked_select, repeat_interleave = (
            ops.nonzero, ops.unique, ops.masked_select, ops.repeat_interleave)
        median, kthvalue, count_nonzero, isin, mv, addmm, lerp, diff, remainder = (
            ops.median, ops.kthvalue, ops.count_nonzero, ops.isin, ops.mv, ops.addmm, ops.lerp, ops.diff,
            ops.remainder)
        cummax, cummin, histc, index_fill, index_copy, cross, take_along_dim = (
            ops.cummax, ops.cummin, ops.histc, ops.index_fill, ops.index_copy, ops.cross, ops.take_along_dim)

        def where(self, condition: Any, other: Any) -> Tensor: ...
        def flip(self, *dims: builtins.int | Sequence[builtins.int]) -> Tensor: ...
        def repeat(self, *sizes: builtins.int | Sequence[builtins.int]) -> Tensor: ...
        def tile(self, *dims: builtins.int | Sequence[builtins.int]) -> Tensor: ...


def _creation() -> Any:
    from chainrule.engine import creation  # (creation builds Tensors: imported when first needed)

    return creation


def _rng(generator: Any) -> np.random.Generator:
    from chainrule.engine.random import as_numpy_generator

    return as_numpy_generator(generator)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Create a tensor from a number, a (nested) sequence, a NumPy array or a tensor (copied).

    Python floats become the default dtype (float32), Python ints int64; NumPy arrays keep their dtype.

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4]], dtype=cr.float32).shape
    (2, 2)
    """
    if device is not None:
        check_device(device, "tensor")
    return Tensor._make(data, dtype=dtype, requires_grad=requires_grad)


from chainrule.engine import ops  # noqa: E402  (ops build Tensors; Tensor methods call ops)
from chainrule.engine.elementwise import install_tensor_methods  # noqa: E402  (the table's ops as methods)

install_tensor_methods(Tensor)
