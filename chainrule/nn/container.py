"""Containers, as torch.nn: Sequential (a chain of layers), ModuleList and ModuleDict (registered layers),
ParameterList and ParameterDict (registered parameters)."""

from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chainrule.engine.tensor import Tensor
from chainrule.nn.module import Module, Parameter


def _check_module(module: Any, where: str, name: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: entry {name} must be a Module (e.g. nn.Linear(2, 3)), got {type(module).__name__}")
    return module


def _index(index: Any, length: int, where: str) -> int:
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"{where}: index must be an int or a slice, got {type(index).__name__} {index!r}")
    i = int(index)
    if not -length <= i < length:
        raise IndexError(f"{where}: index {index} is out of range for {length} modules")
    return i % length


class Sequential(Module):
    """Layers applied one after another; children are named "0", "1", ... (or by an OrderedDict's keys).

    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> len(model), type(model[0]).__name__
    (2, 'Linear')
    """

    # Entries are Modules (each is checked when added): the registry narrowed from Module | None, as torch does
    _modules: OrderedDict[str, Module]  # type: ignore[assignment]  # a dict's value type can't narrow in a subclass

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential", repr(name)))
        else:
            for i, entry in enumerate(modules):
                self.add_module(str(i), _check_module(entry, "Sequential", str(i)))

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(module, "Sequential.append", str(len(self))))
        return self

    def __setitem__(self, index: int, module: Module) -> None:
        items = list(self._modules)
        name = items[_index(index, len(items), "Sequential")]
        setattr(self, name, _check_module(module, "Sequential", name))

    def __delitem__(self, index: int | slice) -> None:
        items = list(self._modules.items())
        if isinstance(index, slice):
            del items[index]
        else:
            del items[_index(index, len(items), "Sequential")]
        # renumbered afterwards, as torch: "0", "1", ... (an OrderedDict's names too)
        _replace_modules(self, [(str(i), m) for i, (_, m) in enumerate(items)])

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index``; returns self."""
        modules = list(self._modules.values())
        n = len(modules)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index!r} is out of range for {n} modules")
        modules.insert(int(index) + n if index < 0 else int(index),
                       _check_module(module, "Sequential.insert", str(index)))
        _replace_modules(self, [(str(i), m) for i, m in enumerate(modules)])
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        """Append each module of ``sequential``; returns self."""
        for module in sequential:
            self.append(module)
        return self

    def pop(self, key: int | slice) -> Module:
        """Remove and return the module at ``key``."""
        module = self[key]
        del self[key]
        return module

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential: can only add another Sequential, got {type(other).__name__}")
        return Sequential(*self, *other)

    def __iadd__(self, other: Sequential) -> Sequential:
        """``seq += other``: other's modules appended to this Sequential itself, as torch."""
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential: can only add another Sequential, got {type(other).__name__}")
        return self.extend(list(other))


class ModuleList(Module):
    """A list of modules whose parameters the parent sees; it has no forward of its own.

    >>> from chainrule import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> len(list(layers.parameters()))
    6
    """

    # Entries are Modules (each is checked when added): the registry narrowed from Module | None, as torch does
    _modules: OrderedDict[str, Module]  # type: ignore[assignment]  # a dict's value type can't narrow in a subclass

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _child_reprs(self) -> list[tuple[str, str]]:
        """Runs of equal children shown once, as PyTorch prints a stack of copies: ``(0-5): 6 x Block(...)``."""
        runs: list[tuple[int, int, str]] = []  # (first index, last index, repr)
        for index, (_, child) in enumerate(super()._child_reprs()):
            if runs and runs[-1][2] == child:
                runs[-1] = (runs[-1][0], index, child)
            else:
                runs.append((index, index, child))
        return [(str(first), child) if first == last else (f"{first}-{last}", f"{last - first + 1} x {child}")
                for first, last, child in runs]

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_index(index, len(values), "ModuleList")]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(module, "ModuleList.append", str(len(self))))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, ModuleList | Sequential):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def __setitem__(self, index: int, module: Module) -> None:
        n = len(self._modules)
        setattr(self, str(_index(index, n, "ModuleList")), _check_module(module, "ModuleList", str(index)))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), "ModuleList")]
        _replace_modules(self, [(str(i), m) for i, m in enumerate(modules)])

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(index, _check_module(module, "ModuleList.insert", str(index)))
        _replace_modules(self, [(str(i), m) for i, m in enumerate(modules)])

    def pop(self, key: int | slice) -> Module:
        """Remove and return the module at ``key``."""
        module = self[key]
        del self[key]
        return module

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward: iterate over it in your module's forward "
                                  "(for layer in self.layers: x = layer(x))")


def _replace_modules(container: Module, items: list[tuple[str, Module]]) -> None:
    """Give ``container`` exactly the children ``items``, in order (attributes and registry together)."""
    for name in list(container._modules):
        delattr(container, name)
    for name, module in items:
        container.add_module(name, module)


class ModuleDict(Module):
    """A dict of modules whose parameters the parent sees (insertion order kept), as ``torch.nn.ModuleDict``.

    Raises:
        TypeError: a value is not a Module, or a key is not a string.

    >>> from chainrule import nn
    >>> heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    >>> list(heads), [name for name, _ in heads.named_parameters()][:2]
    (['a', 'b'], ['a.weight', 'a.bias'])
    """

    # Entries are Modules (each is checked when added): the registry narrowed from Module | None, as torch does
    _modules: OrderedDict[str, Module]  # type: ignore[assignment]  # a dict's value type can't narrow in a subclass

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}; it has {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict", repr(key)))

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}; it has {list(self._modules)}")
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            delattr(self, key)

    def pop(self, key: str) -> Module:
        """Remove the module named ``key`` and return it."""
        module = self[key]
        del self[key]
        return module

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) modules from a mapping or from (name, module) pairs."""
        pairs = modules.items() if isinstance(modules, Mapping | ModuleDict) else modules
        for j, pair in enumerate(pairs):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise ValueError(f"ModuleDict.update: element #{j} should be a (name, module) pair, got {pair!r}")
            self[pair[0]] = pair[1]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward: call its modules by name in your module's forward")


def _as_parameter(value: Any, where: str) -> Any:
    """Tensors become Parameters (a Parameter stays itself), as torch's ParameterList/ParameterDict do."""
    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, Tensor):
        return Parameter(value, requires_grad=value.requires_grad or value.is_floating_point())
    raise TypeError(f"{where}: expected a Parameter or Tensor, got {type(value).__name__}")


def _parameter_line(name: str, p: Parameter) -> str:
    size = "x".join(str(n) for n in p.shape)
    return f"({name}): Parameter containing: [chainrule.{p.dtype} of size {size}]"


class ParameterList(Module):
    """A list of Parameters registered with the module (Tensors are turned into Parameters), as torch.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> params = nn.ParameterList([cr.zeros(2), cr.ones(3)])
    >>> len(params), [name for name, _ in params.named_parameters()]
    (2, ['0', '1'])
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, index: int | slice) -> Any:
        values = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(values[index])
        return values[_index(index, len(values), "ParameterList")]

    def __setitem__(self, index: int, value: Any) -> None:
        name = str(_index(index, len(self._parameters), "ParameterList"))
        setattr(self, name, _as_parameter(value, "ParameterList"))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._parameters.values())

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` (a Parameter, or a Tensor made one) at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList.append"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each of ``values``; returns self."""
        if isinstance(values, Tensor):
            raise TypeError("ParameterList.extend should be called with an iterable, but got Tensor")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_parameter_line(name, p) for name, p in self._parameters.items())

    def __repr__(self) -> str:
        body = self.extra_repr()
        if not body:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + body.replace("\n", "\n  ") + "\n)"

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward")


class ParameterDict(Module):
    """A dict of Parameters registered with the module (Tensors are turned into Parameters), as torch.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> params = nn.ParameterDict({"scale": cr.ones(2)})
    >>> params["scale"].requires_grad, "scale" in params
    (True, True)
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._parameters:
            raise KeyError(f"ParameterDict: no parameter named {key!r}; it has {list(self._parameters)}")
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        _check_name(key, "ParameterDict")
        self.register_parameter(key, _as_parameter(value, "ParameterDict"))

    def __delitem__(self, key: str) -> None:
        if key not in self._parameters:
            raise KeyError(f"ParameterDict: no parameter named {key!r}; it has {list(self._parameters)}")
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> Iterable[str]:
        return self._parameters.keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._parameters.items()

    def values(self) -> Iterable[Any]:
        return self._parameters.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Any:
        """Remove the parameter named ``key`` and return it."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._parameters):
            delattr(self, key)

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add (or replace) parameters from a mapping or from (name, tensor) pairs."""
        pairs = parameters.items() if isinstance(parameters, Mapping | ParameterDict) else parameters
        for j, pair in enumerate(pairs):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise ValueError(f"ParameterDict.update: element #{j} should be a (name, tensor) pair, got {pair!r}")
            self[pair[0]] = pair[1]

    def extra_repr(self) -> str:
        return "\n".join(_parameter_line(name, p) for name, p in self._parameters.items())

    __repr__ = ParameterList.__repr__

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterDict has no forward")


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{where}: keys must be strings, got {type(name).__name__} {name!r}")
