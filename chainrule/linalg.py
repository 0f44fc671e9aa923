"""``torch.linalg`` under its own name: ``chainrule.linalg.norm``, ``inv``, ``det``, ``solve``, ... (the engine's)."""

from chainrule.engine.linalg import cross, det, inv, matrix_norm, norm, solve, vector_norm

__all__ = ["cross", "det", "inv", "matrix_norm", "norm", "solve", "vector_norm"]


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'chainrule.linalg' has no attribute {name!r}: torch.linalg.{name} is not available "
                         "in chainrule (the README lists what is)")
