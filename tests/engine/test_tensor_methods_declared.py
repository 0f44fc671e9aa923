"""The methods install_tensor_methods adds to Tensor at import are the ones tensor.py declares for type checkers."""

from __future__ import annotations

import ast
import inspect
import sys

from chainrule.engine.elementwise import install_tensor_methods
from chainrule.engine.tensor import Tensor


def _declared_for_type_checkers() -> set[str]:
    """Names bound in the ``if TYPE_CHECKING:`` block of class Tensor."""
    tree = ast.parse(inspect.getsource(sys.modules[Tensor.__module__]))  # chainrule.engine.tensor is also a function
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    blocks = [n for n in cls.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    assert len(blocks) == 1
    names: set[str] = set()
    for node in blocks[0].body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def test_every_installed_method_is_declared_and_nothing_else():
    class Bare:
        pass

    install_tensor_methods(Bare)  # a bare class: only the names it is given
    installed = {name for name in vars(Bare) if not name.startswith("__")}
    assert _declared_for_type_checkers() == installed
