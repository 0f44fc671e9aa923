"""Run PyTorch course code unchanged on chainrule: `import chainrule.torch_shim` installs chainrule as `torch`.

Put it first in a script written for PyTorch, before anything imports torch::

    import chainrule.torch_shim  # noqa
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, TensorDataset

After it, `import torch` and the submodule imports in `MODULES` resolve to chainrule's modules (through
`sys.modules`), so the rest of the script runs on chainrule. The shim line can replace a script's
`import torch` outright: like that line, it binds the name `torch` (to chainrule) in the module that imports
it, and only on that first import. A torch name is mapped only if its chainrule
module imports; a name chainrule lacks stays unmapped and its import fails with ModuleNotFoundError, which
names it. tests/compat runs PyTorch tutorial-style programs through this shim and against real PyTorch.

It refuses (ImportError) to run in a process that has already imported the real torch: it would swap the
module under that code's feet. That is also why the test suite does not collect this file (see conftest.py).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

# torch's module name -> the chainrule module that stands in for it. Parents come before children.
MODULES: dict[str, str] = {
    "torch": "chainrule",
    "torch.nn": "chainrule.nn",
    "torch.nn.functional": "chainrule.nn.functional",
    "torch.nn.init": "chainrule.nn.init",
    "torch.nn.utils": "chainrule.nn.utils",
    "torch.nn.utils.rnn": "chainrule.nn.utils.rnn",
    "torch.optim": "chainrule.optim",
    "torch.optim.lr_scheduler": "chainrule.optim.lr_scheduler",
    "torch.utils": "chainrule.utils",
    "torch.utils.data": "chainrule.utils.data",
    "torch.autograd": "chainrule.autograd",
    "torch.cuda": "chainrule.cuda",
    "torch.linalg": "chainrule.linalg",
}

# Submodules PyTorch code imports names from (`from torch.utils.data.dataset import Dataset`) whose names chainrule
# keeps in the parent module.
ALIASES: dict[str, str] = {
    "torch.utils.data.dataset": "chainrule.utils.data",
    "torch.utils.data.dataloader": "chainrule.utils.data",
    "torch.utils.data.sampler": "chainrule.utils.data",
    "torch.nn.parameter": "chainrule.nn",
    "torch.nn.modules": "chainrule.nn",  # its submodules of the same name as chainrule's (loss, linear, ...)
    **{f"torch.nn.modules.{name}": f"chainrule.nn.{name}" for name in (
        "module", "linear", "activation", "conv", "container", "dropout", "flatten", "loss", "rnn", "sparse",
        "transformer")},
}

installed: dict[str, str] = {}  # what this process got: torch name -> chainrule module name
missing: list[str] = []  # torch names whose chainrule module does not exist (yet)


def _import_if_present(name: str) -> ModuleType | None:
    """The module `name`, or None when it (or a parent) does not exist. Errors inside an existing module raise."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            return None
        raise


def install() -> None:
    """Register every chainrule module that exists under its torch name (idempotent)."""
    present = sys.modules.get("torch")
    if present is not None and not getattr(present, "__name__", "").startswith("chainrule"):
        raise ImportError("chainrule.torch_shim: the real torch is already imported here; import the shim first")
    for torch_name, chainrule_name in {**MODULES, **ALIASES}.items():
        module = _import_if_present(chainrule_name)
        if module is None:
            missing.append(torch_name)
            continue
        sys.modules[torch_name] = module
        installed[torch_name] = chainrule_name
        parent, _, child = torch_name.rpartition(".")
        if parent in sys.modules:  # `torch.nn.functional` as an attribute, as after a real import
            setattr(sys.modules[parent], child, module)


def _bind_torch_in_importer() -> None:
    """Bind `torch` in the importing module's namespace, as the `import torch` this line replaces would."""
    frame = sys._getframe(1).f_back  # (1) is this module being executed; its caller is the import machinery
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_globals.get("__name__") == "importlib"
    ):
        frame = frame.f_back
    if frame is not None:
        frame.f_globals.setdefault("torch", sys.modules["torch"])


install()
_bind_torch_in_importer()
