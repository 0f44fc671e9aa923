"""Graph drawing: DOT that parses, one node per op, shapes, values and gradients; draw() with and without Graphviz."""

from __future__ import annotations

import re
import stat
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.learn import viz
from chainrule.learn.explain import explain, loss_graph

NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
EDGE = re.compile(r"^  (n\d+) -> (n\d+);$")


def parse_dot(dot: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]:
    """A strict little reader for what to_dot writes: every line is a header, a node, an edge or a brace."""
    assert dot.count("{") == dot.count("}") == 1
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    nodes, edges = {}, []
    for line in dot.splitlines()[1:-1]:
        if line.startswith(("  graph [", "  node [", "  edge [")):
            continue
        if m := NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} written twice"
            nodes[m.group(1)] = (m.group(2).replace("\\n", "\n"), m.group(3))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    for a, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def ops_in(tensor: cr.Tensor) -> list[str]:
    """The ops of a graph, walked independently of viz."""
    seen, stack, names = set(), [tensor], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is not None:
            names.append(t.grad_fn.name)
            stack.extend(p for p in t.grad_fn.parents if isinstance(p, cr.Tensor))
    return names


def test_one_node_per_op_with_shapes_and_names():
    loss = loss_graph()
    nodes, edges = parse_dot(viz.to_dot(loss))
    op_labels = [label for label, style in nodes.values() if style == viz.OP_STYLE]
    assert sorted(label.split("\n")[0] for label in op_labels) == sorted(ops_in(loss))
    assert len(op_labels) == 8  # 2 × (linear, sigmoid), then sub, pow, sum, mul
    leaves = {label.split("\n")[0]: label for label, style in nodes.values() if style == viz.LEAF_STYLE}
    assert set(leaves) == {"W1", "b1", "W2", "b2", "inputs"}
    assert "shape (2, 2)" in leaves["W1"] and "shape (1, 2)" in leaves["W2"]
    constants = [label for label, style in nodes.values() if style == viz.CONST_STYLE]
    assert any(label.startswith("targets") for label in constants) and any("0.5" in c for c in constants)
    assert len(edges) == len(nodes) - 1  # a tree here: every node but the loss feeds exactly one op
    assert "grad" not in "".join(label for label, _ in nodes.values())  # no backward yet


def test_gradients_of_every_node_are_recorded_and_leaves_left_alone():
    loss = loss_graph()
    leaves = {t.name: t for t in _tensors(loss) if t.is_leaf and t.requires_grad}
    grads = viz.record_grads(loss)
    assert all(t.grad is None for t in leaves.values())  # .grad restored
    e = explain()
    np.testing.assert_allclose(grads[id(leaves["W1"])], e.grad_weights[0], rtol=1e-12)
    sigmoid_out = loss.grad_fn.parents[1].grad_fn.parents[0].grad_fn.parents[0].grad_fn.parents[1]
    assert sigmoid_out.grad_fn.name == "sigmoid"
    np.testing.assert_allclose(grads[id(sigmoid_out)], e.grad_y[-1], rtol=1e-12)
    nodes, _ = parse_dot(viz.to_dot(loss, grads))
    labels = {label.split("\n")[0]: label for label, _ in nodes.values()}
    assert f"grad {viz.summarize(e.grad_weights[0])}" in labels["W1"]
    assert "grad 1" in labels["mul"]  # ∂E/∂E
    assert all("grad" in label for label, style in nodes.values() if style != viz.CONST_STYLE)


def _tensors(root):
    seen, stack = {}, [root]
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen[id(t)] = t
            if t.grad_fn is not None:
                stack.extend(p for p in t.grad_fn.parents if isinstance(p, cr.Tensor))
    return list(seen.values())


def test_leaf_grads_after_backward_are_shown_and_names_escaped():
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w.name = 'w "quoted" \\ name'
    loss = (w * 3.0).sum()
    loss.backward(retain_graph=True)
    dot = viz.to_dot(loss, title="a title")
    nodes, _ = parse_dot(dot)
    leaf = next(label for label, style in nodes.values() if style == viz.LEAF_STYLE)
    assert leaf.startswith('w \\"quoted\\" \\\\ name') and "grad mean 3 [3, 3]" in leaf
    assert 'label="a title"' in dot


def test_errors():
    with pytest.raises(TypeError, match=r"to_dot: expected a Tensor \(e.g. a loss\), got ndarray"):
        viz.to_dot(np.ones(3))
    loss = loss_graph()
    loss.backward()
    with pytest.raises(ValueError, match=r"viz: the graph through op '.*' was freed by backward\(\)"):
        viz.to_dot(loss)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"record_grads: expected a one-element tensor .* got shape \(2,\)"):
        viz.record_grads(x * 2)


def test_draw_without_graphviz_writes_dot_and_says_how_to_render(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    drawing = viz.draw(loss_graph(), tmp_path / "sub" / "loss.svg", with_grads=True)
    assert drawing.dot_path == tmp_path / "sub" / "loss.dot" and drawing.svg_path is None
    assert drawing.dot_path.is_file() and not (tmp_path / "sub" / "loss.svg").exists()
    assert f"dot -Tsvg {drawing.dot_path} -o {tmp_path / 'sub' / 'loss.svg'}" in drawing.message
    parse_dot(drawing.dot_path.read_text(encoding="utf-8"))


def test_draw_renders_svg_when_dot_is_installed(tmp_path, monkeypatch):
    # A stand-in for Graphviz that writes an SVG naming the file it was given: proves draw() calls it right.
    fake = tmp_path / "dot"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nargs = sys.argv[1:]\nassert args[0] == '-Tsvg' and args[2] == '-o'\n"
        "open(args[3], 'w').write('<svg>' + open(args[1]).read().splitlines()[0] + '</svg>')\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(viz.shutil, "which", lambda name: str(fake) if name == "dot" else None)
    drawing = viz.draw(loss_graph(), tmp_path / "graph")
    assert drawing.svg_path == tmp_path / "graph.svg"
    assert drawing.svg_path.read_text() == "<svg>digraph chainrule {</svg>"
    assert drawing.message == f"wrote {tmp_path / 'graph.dot'} and {tmp_path / 'graph.svg'}"
