"""Module and Parameter: PyTorch's container for layers, with hooks the doctor watches through."""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from chainrule.engine import dtypes
from chainrule.engine.autograd import HookHandle, is_grad_enabled
from chainrule.engine.tensor import Device, Tensor, check_device, owned_array


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the ones it did not expect (torch's repr too)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class StateDictKeyError(KeyError, RuntimeError):
    """``load_state_dict(strict=True)`` found missing or unexpected keys (a RuntimeError, as in torch)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModuleInitError(AttributeError, RuntimeError):
    """An attribute assigned before ``super().__init__()``: an AttributeError, as PyTorch raises."""


class ModeError(TypeError, ValueError):
    """``train(mode)`` with a mode that is not a bool: a ValueError, as PyTorch raises (and a TypeError)."""


class StateDictShapeError(ValueError, RuntimeError):
    """``load_state_dict`` found a value whose shape differs from the model's (a RuntimeError, as in torch)."""


class Parameter(Tensor):
    """A tensor a Module learns: it requires grad and is listed by ``parameters()``.

    >>> from chainrule.nn import Parameter
    >>> Parameter([1.0, 2.0]).requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        # not the legacy constructor Tensor(data) (float32 whatever the data): a parameter keeps its data's dtype
        self._fill(owned_array(np.empty(0, np.float32) if data is None else data, where="Parameter"))
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        """A new Parameter with a copy of the values and no gradient, as torch's (a copied model starts clean)."""
        if id(self) in memo:
            return memo[id(self)]
        copied = type(self)(self._data.copy(), self.requires_grad)
        memo[id(self)] = copied
        return copied


ForwardPreHook = Callable[["Module", tuple[Any, ...]], Any]
ForwardHook = Callable[["Module", tuple[Any, ...], Any], Any]
BackwardHook = Callable[["Module", tuple[Any, ...], tuple[Any, ...]], Any]  # (module, grad_input, grad_output)
BackwardPreHook = Callable[["Module", tuple[Any, ...]], Any]  # (module, grad_output)


class BackwardHooks:
    """One forward call's full backward hooks, as torch's: the pre-hooks see ``grad_output`` (∂loss/∂output, as a
    tuple of tensors) and may replace it; the hooks then see ``grad_input`` (∂loss/∂input) with it and may replace
    ``grad_input``. The input's gradient is read on a copy of the input made for this call (a new node in the
    graph), so it is the module's whole contribution; an input that needs no gradient gives ``(None,)``, the hooks
    then running when ``grad_output`` is known."""

    def __init__(self, module: Module, input_needs_grad: bool) -> None:
        self.module, self.input_needs_grad = module, input_needs_grad
        self.grad_output: tuple[Any, ...] = ()

    def output_gradient(self, g: np.ndarray) -> np.ndarray:
        grad_output: tuple[Any, ...] = (Tensor._wrap(g),)
        for pre_hook in list(self.module._backward_pre_hooks):
            grad_output = _replaced(pre_hook(self.module, grad_output), grad_output, "backward pre-hook")
        self.grad_output = grad_output
        if not self.input_needs_grad:
            if self.module._backward_hooks:
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients (as in PyTorch): grad_input is (None,)",
                              UserWarning, stacklevel=2)
            for hook in list(self.module._backward_hooks):
                hook(self.module, (None,), grad_output)
        return grad_output[0]._data

    def input_gradient(self, g: np.ndarray) -> np.ndarray:
        grad_input: tuple[Any, ...] = (Tensor._wrap(g),)
        for hook in list(self.module._backward_hooks):
            grad_input = _replaced(hook(self.module, grad_input, self.grad_output), grad_input, "backward hook")
        return grad_input[0]._data


def _replaced(result: Any, current: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    """A hook's return value as the gradient tuple it replaces (None: no change)."""
    if result is None:
        return current
    result = tuple(result) if isinstance(result, list | tuple) else (result,)
    if len(result) != len(current) or not all(isinstance(r, Tensor) and r.shape == c.shape
                                              for r, c in zip(result, current, strict=False) if c is not None):
        raise ValueError(f"{what}: returned {len(result)} value(s) of shapes "
                         f"{[getattr(r, 'shape', None) for r in result]}; expected a tuple of tensors shaped as "
                         f"{[getattr(c, 'shape', None) for c in current]}")
    return result


class Module:
    """Base class for layers and models, as ``torch.nn.Module``.

    Assigning a Parameter, a Module or a buffer (``register_buffer``) to an attribute
    registers it, so ``parameters()``, ``state_dict()`` and ``train()/eval()`` find it.
    """

    # Set through __dict__ in __init__ (``__setattr__`` needs the registries to exist before any assignment).
    training: bool
    #: Parameters by attribute name (assigning None to one removes it, so no value is None).
    _parameters: OrderedDict[str, Parameter]
    #: Buffers by attribute name; a buffer assigned None keeps its entry (and is left out of ``state_dict()``).
    _buffers: OrderedDict[str, Tensor | None]
    #: Child modules by attribute name; ``add_module(name, None)`` keeps a None entry, as torch.
    _modules: OrderedDict[str, Module | None]
    _forward_pre_hooks: list[ForwardPreHook]
    _forward_hooks: list[ForwardHook]
    _backward_hooks: list[BackwardHook]
    _backward_pre_hooks: list[BackwardPreHook]

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = []
        d["_forward_pre_hooks"] = []
        d["_backward_hooks"] = []
        d["_backward_pre_hooks"] = []

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise ModuleInitError(
                f"{type(self).__name__}: call super().__init__() in __init__ before assigning attributes"
            )
        params, modules, buffers = self._parameters, self._modules, self._buffers
        kind: dict[str, Any] | None
        if name in params and value is not None and not isinstance(value, Parameter):
            raise TypeError(
                f"{type(self).__name__}: cannot assign a {type(value).__name__} to parameter {name!r}; "
                "expected a Parameter or None (to change its values, assign to .data)"
            )
        # A registry keeps its entry (and so its order) when the same kind of value is reassigned.
        if isinstance(value, Parameter):
            kind = params
        elif isinstance(value, Module):
            kind = modules
        elif name in self.__dict__.get("_buffer_names", ()):
            kind = buffers
            if value is not None and not isinstance(value, Tensor):  # as PyTorch: no silent conversion
                raise TypeError(f"{type(self).__name__}: cannot assign '{type(value).__name__}' object to buffer "
                                f"'{name}' (a Tensor or None required; cr.tensor(...) makes one)")
        else:
            kind = None
        for registry in (params, modules, buffers):
            if registry is not kind:
                registry.pop(name, None)
        if kind is not None:
            kind[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (None removes it, as for ``Linear(bias=False)``)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register state that is saved with the model but not learned (e.g. running means).

        The buffer is a Tensor (kept itself) or None, as in PyTorch; ``persistent=False`` leaves it out of
        ``state_dict()``.

        Raises:
            TypeError: ``name`` is not a string, or the value is neither a Tensor nor None.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        """
        self._check_name(name, "register_buffer", "buffer")
        if name in self.__dict__ and name not in self._buffers and name not in self.__dict__.get("_buffer_names", ()):
            raise KeyError(f"attribute '{name}' already exists")
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        non_persistent = self.__dict__.setdefault("_non_persistent_buffers", set())
        if persistent:
            non_persistent.discard(name)
        else:
            non_persistent.add(name)
        setattr(self, name, tensor)

    def _check_name(self, name: Any, where: str, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{where}: {kind} name should be a string, got {type(name).__name__} {name!r}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child named ``name``.

        Raises:
            TypeError: ``module`` is not a Module, or ``name`` not a string.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._check_name(name, "add_module", "module")
        if name not in self._modules and (name in self.__dict__ or hasattr(type(self), name)):
            raise KeyError(f"attribute '{name}' already exists")
        if module is None:
            self._modules[name] = None
            object.__setattr__(self, name, None)
            return
        setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``''`` is this module), as torch.

        Raises:
            AttributeError: no such submodule, naming the part that is missing.
        """
        module: Module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}` (looking up {target!r})")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (e.g. ``'layers.0.weight'``).

        Raises:
            AttributeError: no such parameter.
        """
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters or module._parameters[name] is None:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}` (looking up {target!r})")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Any:
        """The buffer at the dotted path ``target`` (e.g. ``'bn.running_mean'``).

        Raises:
            AttributeError: no such buffer.
        """
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}` (looking up {target!r})")
        return module._buffers[name]

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        for pre_hook in self._forward_pre_hooks:
            result = pre_hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        hooks = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            args, hooks = self._with_backward_hooks(args)
        output = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:
            result = hook(self, args, output)
            if result is not None:
                output = result
        if hooks is not None:
            if not isinstance(output, Tensor):
                raise NotImplementedError(f"{type(self).__name__}: backward hooks on a module whose output is a "
                                          f"{type(output).__name__}, not one tensor, are not available in chainrule")
            if output.requires_grad:
                output._register_array_hook(hooks.output_gradient)
        return output

    def _with_backward_hooks(self, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], BackwardHooks]:
        """The args with the (one) tensor input replaced by a copy whose gradient the hooks read."""
        if not self._backward_hooks:  # pre-hooks only: grad_output is all they read, no input copy needed
            return args, BackwardHooks(self, True)
        tensors = [k for k, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if len(tensors) > 1:
            raise NotImplementedError(f"{type(self).__name__}: backward hooks on a module called with "
                                      f"{len(tensors)} tensors that require grad are not available in chainrule "
                                      "(one is)")
        hooks = BackwardHooks(self, bool(tensors))
        if tensors:
            k = tensors[0]
            copied = args[k].clone()  # a node of its own: its gradient is all the module's inputs get
            copied._register_array_hook(hooks.input_gradient)
            args = (*args[:k], copied, *args[k + 1:])
        return args, hooks

    def register_forward_pre_hook(self, hook: ForwardPreHook) -> HookHandle:
        """Call ``hook(module, args)`` before forward; a returned value replaces the args."""
        self._forward_pre_hooks.append(hook)
        return HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: ForwardHook) -> HookHandle:
        """Call ``hook(module, args, output)`` after forward; a returned value replaces the output."""
        self._forward_hooks.append(hook)
        return HookHandle(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook: BackwardHook) -> HookHandle:
        """Call ``hook(module, grad_input, grad_output)`` when ∂loss/∂input is known (tuples of tensors, as
        torch's); a returned tuple replaces ``grad_input``. For modules called with one tensor that requires grad
        and returning one tensor (layers, activations); others raise NotImplementedError when called."""
        self._backward_hooks.append(hook)
        return HookHandle(self._backward_hooks, hook)

    def register_full_backward_pre_hook(self, hook: BackwardPreHook) -> HookHandle:
        """Call ``hook(module, grad_output)`` when ∂loss/∂output is known; a returned tuple replaces it."""
        self._backward_pre_hooks.append(hook)
        return HookHandle(self._backward_pre_hooks, hook)

    def register_backward_hook(self, hook: BackwardHook) -> HookHandle:
        """torch's older form, ``hook(module, grad_input, grad_output)``: here the same as
        ``register_full_backward_hook`` (torch's own gives the gradients of the module's last operation instead,
        which it documents as misleading and deprecates)."""
        return self.register_full_backward_hook(hook)

    # ------------------------------------------------------------------ traversal
    def children(self) -> Iterator[Module]:
        """The direct submodules, in registration order (a child registered as None is skipped, as torch)."""
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their attribute names (None entries skipped; a module registered under
        two names is listed once, under the first, as torch)."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def named_modules(self, memo: set[Any] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module in the tree, this one first (named ``prefix``, ``''`` by default), with dotted names.

        A module reached twice is listed once unless ``remove_duplicate=False``; ``memo`` (a set of modules
        already seen, as torch) skips those.
        """
        if isinstance(memo, str):  # named_modules("prefix"): chainrule's earlier (prefix) signature
            memo, prefix = None, memo
        seen: set[int] = {id(m) for m in memo} if memo else set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
                if memo is not None:
                    memo.add(module)
            yield name, module
            stack.extend(
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in reversed(module._modules.items())
                if child is not None
            )

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names like ``layers.0.weight``; shared ones appear once (unless
        ``remove_duplicate=False``)."""
        seen: set[int] = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                   else iter([(prefix, self)]))
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or (remove_duplicate and id(param) in seen):
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every learnable Parameter (what an optimizer takes), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Buffers (saved, not learned: e.g. ``running_mean``) with dotted names, as Tensors."""
        seen: set[int] = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                   else iter([(prefix, self)]))
        for module_name, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is None or (remove_duplicate and id(buffer) in seen):
                    continue
                seen.add(id(buffer))
                yield (f"{module_name}.{name}" if module_name else name), buffer

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (a Tensor)."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule and then on this module (as PyTorch)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout drops, batch norm uses batch statistics."""
        if not isinstance(mode, bool | np.bool_):
            raise ModeError(f"{type(self).__name__}.train: mode must be a bool, got {type(mode).__name__} {mode!r}")
        for module in self.modules():
            module.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (None by default, or zeros in place)."""
        for param in self.parameters():
            if set_to_none or param._grad is None:
                param._grad = None
            else:
                param._grad.fill(0)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast every floating-point parameter, gradient and buffer to a dtype in place, as torch's ``Module.to``:
        ``to(dtype)``, ``to(device)`` (the CPU only), ``to(device, dtype)``, ``to(tensor)`` or with keywords.

        Parameters stay the same objects (optimizers keep their references). Returns self.

        Raises:
            TypeError: the dtype is not a floating-point type, or an unknown keyword.
            RuntimeError: a device other than the CPU.
        """
        where = f"{type(self).__name__}.to"
        dtype = kwargs.pop("dtype", None)
        check_device(kwargs.pop("device", None), where)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str | Device):
                check_device(a, where)
            elif not isinstance(a, bool):
                dtype = a
        if dtype is None:
            return self
        dtype = dtypes.as_dtype(dtype, where) if not isinstance(dtype, np.dtype) else dtype
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: dtype must be a floating-point type, got {dtype}")
        for module in self.modules():
            for param in module._parameters.values():
                param._data = param._data.astype(dtype, copy=False)
                if param._grad is not None:
                    param._grad = param._grad.astype(dtype, copy=False)
            for buffer in module._buffers.values():
                if buffer is not None and buffer._data.dtype.kind == "f":
                    buffer._data = buffer._data.astype(dtype, copy=False)
        return self

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64 (as ``torch.nn.Module.double``)."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self.to(np.float32)

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self.to(np.float16)

    def type(self, dst_type: Any) -> Module:
        """Cast every parameter and buffer to ``dst_type`` (a floating-point dtype)."""
        return self.to(dst_type)

    def cpu(self) -> Module:
        """The module itself: chainrule runs on the CPU."""
        return self

    def cuda(self, device: Any = None) -> Module:
        """Raises: chainrule runs on the CPU only."""
        check_device("cuda", f"{type(self).__name__}.cuda")
        return self

    # ------------------------------------------------------------------ state
    def _state_entries(self, dot: str = "") -> Iterator[tuple[str, Tensor, bool]]:
        """(dotted name, tensor, is_parameter) for everything a state dict holds, in PyTorch's order: a module
        registered under two names is there under both (torch walks ``_modules`` without removing duplicates)."""
        for name, param in self._parameters.items():
            if param is not None:
                yield dot + name, param, True
        non_persistent = self.__dict__.get("_non_persistent_buffers", ())
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in non_persistent:
                yield dot + name, buffer, False
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_entries(f"{dot}{name}.")

    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter and buffer as a Tensor keyed by dotted name (``layers.0.weight``), in torch's order.

        As in torch, the values share memory with the parameters and buffers, detached from the graph: a later
        training step changes them too, and writing into them (``state_dict()["weight"].copy_(w)``) writes into
        the model. Keep a snapshot with ``copy.deepcopy(model.state_dict())``. ``keep_vars=True`` gives the
        Parameters themselves. ``destination`` (a dict to fill) and ``prefix`` (put before every name) are as in
        torch.
        """
        if args:  # torch's deprecated positional form: state_dict(destination, prefix, keep_vars)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        state: Any = OrderedDict() if destination is None else destination
        for key, tensor, is_param in self._state_entries():
            # (detached aliases: ``.detach()``'s, sharing the version counter, so a change through one is seen)
            if is_param and keep_vars:
                state[prefix + key] = tensor
            else:
                state[prefix + key] = Tensor._wrap(tensor._data, tensor._version_counter())
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy values into this module's parameters and buffers in place (so optimizers keep their references).

        Args:
            state_dict: name -> Tensor (or array), as made by ``state_dict()``.
            strict: if True, missing or unexpected keys raise.
            assign: if True, each parameter and buffer takes the given array itself (no copy; it keeps the
                state dict's dtype), as torch's ``assign=True``; if False, values are copied into the existing
                arrays.

        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)`` (a named pair, as torch). Raises
        ``KeyError`` naming the keys that do not match (strict only) and ``ValueError`` on a shape mismatch
        (both are RuntimeErrors too, as torch raises); nothing is copied when it raises.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected state_dict to be dict-like, got {type(state_dict).__name__}")
        targets = {key: tensor for key, tensor, _ in self._state_entries()}
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            raise StateDictKeyError(
                f"load_state_dict: {type(self).__name__} state does not match: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        updates: list[tuple[Tensor, np.ndarray, np.ndarray]] = []
        for key, tensor in targets.items():
            if key not in state_dict:
                continue
            given = state_dict[key]
            value = np.asarray(given._data if isinstance(given, Tensor) else given)
            current = tensor._data
            if current.shape != value.shape:
                raise StateDictShapeError(
                    f"load_state_dict: {key} has shape {current.shape} in the model "
                    f"but {value.shape} in the state dict"
                )
            updates.append((tensor, current, value))
        for tensor, current, value in updates:
            if assign:
                tensor._data = value
            else:
                current[...] = value
            tensor._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def _child_reprs(self) -> list[tuple[str, str]]:
        """(name, indented repr) of each child, for ``__repr__``."""
        return [(name, repr(module).replace("\n", "\n  ")) for name, module in self._modules.items()]

    def extra_repr(self) -> str:
        """The settings shown inside this layer's repr, e.g. ``in_features=4, out_features=3``."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {child}" for name, child in self._child_reprs()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"
