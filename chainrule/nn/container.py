"""Containers: Sequential (a chain of layers) and ModuleList (a list whose layers are registered)."""

from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from chainrule.nn.module import Module


def _check_module(module: Any, where: str, name: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: entry {name} must be a Module (e.g. nn.Linear(2, 3)), got {type(module).__name__}")
    return module


def _index(index: Any, length: int, where: str) -> int:
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"{where}: index must be an int or a slice, got {type(index).__name__} {index!r}")
    if not -length <= index < length:
        raise IndexError(f"{where}: index {index} is out of range for {length} modules")
    return int(index) % length


class Sequential(Module):
    """Layers applied one after another; children are named "0", "1", ... (or by an OrderedDict's keys).

    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> len(model), type(model[0]).__name__
    (2, 'Linear')
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential", repr(name)))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module(module, "Sequential", str(i)))

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


class ModuleList(Module):
    """A list of modules whose parameters the parent sees; it has no forward of its own.

    >>> from chainrule import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> len(list(layers.parameters()))
    6
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

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
        for module in modules:
            self.append(module)
        return self
