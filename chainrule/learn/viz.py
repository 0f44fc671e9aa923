"""Draw any engine graph with Graphviz: one node per op with its output shape, value and gradient.

Walks ``tensor.grad_fn`` and each op's ``parents`` back to the leaves. Leaves are labelled with
their ``name`` (``W1``, ``b1``...) when set; constants (arrays, tensors that need no gradient)
are small grey nodes. Gradients of inner nodes are not kept by the engine, so
``draw(loss, path, with_grads=True)`` (or :func:`record_grads`) runs ``backward(retain_graph=True)``
with a hook on every node and records them, leaving the leaves' ``.grad`` as it found them.

>>> import chainrule as cr
>>> w = cr.tensor([1.0, -2.0], requires_grad=True); w.name = "w"
>>> loss = (w * w).sum()
>>> dot = to_dot(loss, grads=record_grads(loss))
>>> dot.count("->"), "grad 1" in dot
(3, True)
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._io import atomic_write
from chainrule.engine.tensor import Tensor

OP_STYLE = 'shape=box, style="rounded,filled", fillcolor="#e8f0fe"'
LEAF_STYLE = 'shape=box, style=filled, fillcolor="#fff3c4"'
CONST_STYLE = 'shape=box, style="filled,dashed", fillcolor="#f2f2f2", fontsize=9, fontcolor="#555555"'


def summarize(array: Any) -> str:
    """A scalar's value, or mean/min/max of an array, in a few significant digits.

    >>> summarize(np.array([1.0, 2.0, 6.0]))
    'mean 3 [1, 6]'
    """
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return _number(a.item())
    return f"mean {_number(a.mean())} [{_number(a.min())}, {_number(a.max())}]"


def _number(value: float) -> str:
    text = f"{value:.4g}"
    return "0" if text == "-0" else text


def _shape(array: Any) -> str:
    shape = np.shape(array)
    return "scalar" if shape == () else f"shape {shape}"


def _quote(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, newlines as DOT's centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _parents(t: Tensor) -> tuple[Any, ...]:
    fn = t.grad_fn
    if fn is None:
        return ()
    if fn.parents is None:
        raise ValueError(
            f"viz: the graph through op '{fn.name}' was freed by backward(); draw it before backward, or call "
            "backward(retain_graph=True), or use draw(..., with_grads=True), which runs backward itself"
        )
    return fn.parents


def _walk(root: Tensor) -> Iterator[Tensor]:
    """Every tensor the root depends on, each once (iterative, so deep graphs are fine)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        yield t
        stack.extend(p for p in _parents(t) if isinstance(p, Tensor))


def _check_tensor(where: str, tensor: Any) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor (e.g. a loss), got {type(tensor).__name__}")


def record_grads(tensor: Tensor) -> dict[int, np.ndarray]:
    """Gradients of ``tensor`` with respect to every node of its graph, keyed by ``id(node)``.

    Runs ``backward(retain_graph=True)`` with a hook on every node; the leaves' ``.grad`` are restored.

    Raises:
        ValueError: if ``tensor`` is not a one-element tensor that requires grad.
    """
    _check_tensor("record_grads", tensor)
    if not tensor.requires_grad or tensor._data.size != 1:
        raise ValueError(
            f"record_grads: expected a one-element tensor that requires grad (a loss), got shape {tensor.shape} "
            f"with requires_grad={tensor.requires_grad}"
        )
    nodes = [t for t in _walk(tensor) if t.requires_grad]
    grads: dict[int, np.ndarray] = {}
    saved = {id(t): t._grad for t in nodes if t.is_leaf}
    handles = []
    for t in nodes:
        def hook(g: np.ndarray, key: int = id(t)) -> None:
            grads[key] = np.array(g)
        handles.append(t._register_array_hook(hook))
    try:
        tensor.backward(retain_graph=True)
    finally:
        for handle in handles:
            handle.remove()
        for t in nodes:
            if t.is_leaf:
                t._grad = saved[id(t)]
    return grads


def to_dot(tensor: Tensor, grads: dict[int, np.ndarray] | None = None, title: str | None = None) -> str:
    """The graph that made ``tensor`` as Graphviz DOT text.

    Args:
        tensor: usually a loss; its graph must not have been freed by ``backward()``.
        grads: gradients by ``id(node)`` (from :func:`record_grads`); leaves fall back to their ``.grad``.
        title: a caption for the drawing.

    Raises:
        TypeError: if ``tensor`` is not a Tensor. ValueError: if its graph was freed.
    """
    _check_tensor("to_dot", tensor)
    grads = grads or {}
    ids: dict[int, str] = {}
    lines = ["digraph chainrule {",
             f"  graph [rankdir=TB, fontname=Helvetica, labelloc=t, label={_quote(title or '')}];",
             "  node [fontname=Helvetica, fontsize=11];",
             "  edge [color=\"#666666\", arrowsize=0.7];"]
    edges: list[str] = []

    def node_id(obj: Any) -> str:
        return ids.setdefault(id(obj), f"n{len(ids)}")

    for t in _walk(tensor):
        grad = grads.get(id(t), t._grad if t.is_leaf else None)
        grad_line = f"\ngrad {summarize(grad)}" if grad is not None else ""
        if t.grad_fn is not None:
            fn, parents = t.grad_fn, _parents(t)
            # axes, dtypes...: shown in the op's label; None and flags (keepdims) would only add noise
            attrs = [repr(p) for p in parents if not isinstance(p, Tensor | np.ndarray | bool | None)]
            extra = f" ({', '.join(attrs)})" if attrs else ""
            label = f"{fn.name}{extra}\n{_shape(t._data)}\nvalue {summarize(t._data)}{grad_line}"
            lines.append(f"  {node_id(t)} [label={_quote(label)}, {OP_STYLE}];")
            for p in parents:
                if isinstance(p, np.ndarray) and id(p) not in ids:
                    label = f"const {_shape(p)}\n{summarize(p)}"
                    lines.append(f"  {node_id(p)} [label={_quote(label)}, {CONST_STYLE}];")
                if isinstance(p, Tensor | np.ndarray):
                    edges.append(f"  {node_id(p)} -> {node_id(t)};")
        elif t.requires_grad:
            label = f"{t.name or 'leaf'}\n{_shape(t._data)}\nvalue {summarize(t._data)}{grad_line}"
            lines.append(f"  {node_id(t)} [label={_quote(label)}, {LEAF_STYLE}];")
        else:
            label = f"{t.name or 'const'} {_shape(t._data)}\n{summarize(t._data)}"
            lines.append(f"  {node_id(t)} [label={_quote(label)}, {CONST_STYLE}];")
    return "\n".join(lines + edges + ["}"]) + "\n"


@dataclasses.dataclass
class Drawing:
    """What :func:`draw` wrote: the DOT file, the SVG (None without Graphviz) and a message saying so."""

    dot_path: Path
    svg_path: Path | None
    message: str


def draw(tensor: Tensor, path: str | Path, with_grads: bool = False, title: str | None = None) -> Drawing:
    """Write ``path.dot`` and, when Graphviz's ``dot`` program is installed, render ``path.svg``.

    Args:
        tensor: the tensor whose graph to draw (a loss for ``with_grads``).
        path: where to write, without suffix (a ``.dot`` or ``.svg`` suffix is dropped).
        with_grads: run backward (retain_graph=True) and show every node's gradient.
        title: a caption for the drawing.

    Raises:
        TypeError, ValueError: as :func:`to_dot` and :func:`record_grads`; RuntimeError if ``dot`` fails.
    """
    _check_tensor("draw", tensor)
    base = Path(path)
    if base.suffix in (".dot", ".svg"):
        base = base.with_suffix("")
    grads = record_grads(tensor) if with_grads else None
    dot_path, svg_path = base.with_name(base.name + ".dot"), base.with_name(base.name + ".svg")
    dot_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dot_path, to_dot(tensor, grads, title))
    program = shutil.which("dot")
    if program is None:
        return Drawing(dot_path, None, f"wrote {dot_path}; Graphviz is not installed, so no SVG: install it "
                                       f"(e.g. apt-get install graphviz) and run: dot -Tsvg {dot_path} -o {svg_path}")
    result = subprocess.run([program, "-Tsvg", str(dot_path), "-o", str(svg_path)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"draw: `dot -Tsvg {dot_path}` failed ({result.returncode}): {result.stderr.strip()}")
    return Drawing(dot_path, svg_path, f"wrote {dot_path} and {svg_path}")
