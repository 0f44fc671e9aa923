"""The walk-through: an explanation as titled sections of notes and tables, in one number format.

Shared by the terminal rendering (``Explanation.render``) and the HTML page (``explain_html``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from chainrule.learn.network import ACTIVATIONS, Network

if TYPE_CHECKING:
    from chainrule.learn.explain import Explanation


@dataclasses.dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclasses.dataclass
class Section:
    title: str
    notes: list[str]
    tables: list[Table]


def fmt(value: float) -> str:
    """Six significant digits, and no ``-0``."""
    text = f"{float(value):.6g}"
    return "0" if text == "-0" else text


def _terms(pairs: list[tuple[float, float]], extra: float | None = None) -> str:
    parts = [f"{fmt(a)}·{fmt(b)}" for a, b in pairs]
    if extra is not None:
        parts.append(fmt(extra))
    return " + ".join(parts).replace("+ -", "− ")


def _loss_formula(net: Network) -> str:
    if net.loss == "squared_error":
        return "E = ½·Σ_j (t_j − y_j)²"
    if net.output_activation == "softmax":
        return "E = −Σ_j t_j·log y_j (softmax cross-entropy)"
    return "E = −[t·log y + (1 − t)·log(1 − y)] (binary cross-entropy)"


def sections(e: Explanation) -> list[Section]:
    net = e.network
    name = e.unit_name
    layers = len(net.sizes) - 1
    out: list[Section] = []

    acts = ", ".join(dict.fromkeys(ACTIVATIONS[net.activation_of(k)].formula for k in range(layers)))
    out.append(Section("The network", [
        f"Layers {'-'.join(map(str, net.sizes))}: hidden units use {net.activation}, output units use "
        f"{net.output_activation} ({acts}).",
        f"Loss {_loss_formula(net)}; learning rate α = {net.lr:g}.",
        "Each unit j computes the weighted sum x_j = Σ_i w_ij·y_i + b_j of the outputs y_i below it, "
        "then outputs y_j = f(x_j). w(a→b) is the weight from unit a to unit b.",
    ], [Table("one training example", ["", *[name(0, j) for j in range(net.sizes[0])], "→ targets",
                                           *[name(layers, j) for j in range(net.sizes[-1])]],
              [["value", *map(fmt, net.inputs), "", *map(fmt, net.targets)]])]))

    forward = []
    for k in range(layers):
        act = net.activation_of(k)
        rows = []
        for j in range(net.sizes[k + 1]):
            pairs = [(net.weights[k][j, i], e.y[k][i]) for i in range(net.sizes[k])]
            rows.append([name(k + 1, j), f"{_terms(pairs, net.biases[k][j])} = {fmt(e.x[k][j])}",
                         fmt(e.x[k][j]), fmt(e.y[k + 1][j])])
        y_head = "y_j = softmax(x)_j" if act == "softmax" else f"y_j = {act}(x_j)"
        forward.append(Table(f"layer {k + 1}", ["unit", "x_j = Σ w_ij·y_i + b_j", "x_j", y_head], rows))
    out.append(Section("Step 1 · forward pass", ["Inputs flow up, layer by layer."], forward))

    rows = []
    for j in range(net.sizes[-1]):
        rows.append([name(layers, j), fmt(net.targets[j]), fmt(e.y[-1][j]), fmt(e.grad_y[-1][j])])
    dy_rule = {"squared_error": "∂E/∂y_j = −(t_j − y_j) = y_j − t_j",
               "softmax": "∂E/∂y_j = −t_j / y_j",
               "sigmoid": "∂E/∂y = −t/y + (1 − t)/(1 − y) = (y − t) / (y·(1 − y))"}
    rule = dy_rule["squared_error" if net.loss == "squared_error" else net.output_activation]
    out.append(Section("Step 2 · the loss", [
        f"{_loss_formula(net)} = {fmt(e.loss)}", f"At the output, {rule}.",
    ], [Table("output units", ["unit", "target t_j", "output y_j", "∂E/∂y_j"], rows)]))

    backward = []
    for k in range(layers - 1, -1, -1):
        act = net.activation_of(k)
        unit_rows = []
        for j in range(net.sizes[k + 1]):
            u = name(k + 1, j)
            if act == "softmax":
                how = f"{fmt(e.y[-1][j])}·({fmt(e.grad_y[-1][j])} − {fmt(np.dot(e.y[-1], e.grad_y[-1]))})"
                unit_rows.append([u, fmt(e.grad_y[k + 1][j]), "(softmax Jacobian)",
                                  f"{how} = {fmt(e.grad_x[k][j])}".replace("− -", "+ ")])
            else:
                prime = e.activation_grad[k][j]
                unit_rows.append([u, fmt(e.grad_y[k + 1][j]), fmt(prime),
                                  f"{fmt(prime)}·{fmt(e.grad_y[k + 1][j])} = {fmt(e.grad_x[k][j])}"])
        head = ("∂E/∂x_j = y_j·(∂E/∂y_j − Σ_k y_k·∂E/∂y_k)" if act == "softmax"
                else "∂E/∂x_j = f'(x_j)·∂E/∂y_j")
        backward.append(Table(f"layer {k + 1} units (f' = {ACTIVATIONS[act].derivative})",
                              ["unit", "∂E/∂y_j", "f'(x_j)", head], unit_rows))
        weight_rows = []
        for j in range(net.sizes[k + 1]):
            for i in range(net.sizes[k]):
                weight_rows.append([f"w({name(k, i)}→{name(k + 1, j)})", fmt(e.y[k][i]), fmt(e.grad_x[k][j]),
                                    fmt(e.grad_weights[k][j, i])])
            weight_rows.append([f"b_{name(k + 1, j)}", "1", fmt(e.grad_x[k][j]), fmt(e.grad_biases[k][j])])
        backward.append(Table(f"weights into layer {k + 1} (a bias is a weight from a unit that is always 1)",
                              ["weight", "y_i", "∂E/∂x_j", "∂E/∂w_ij = y_i·∂E/∂x_j"], weight_rows))
        if k > 0:
            rows = []
            for i in range(net.sizes[k]):
                pairs = [(net.weights[k][j, i], e.grad_x[k][j]) for j in range(net.sizes[k + 1])]
                rows.append([name(k, i), f"{_terms(pairs)} = {fmt(e.grad_y[k][i])}"])
            backward.append(Table(f"passing the error down to layer {k}",
                                  ["unit", "∂E/∂y_i = Σ_j w_ij·∂E/∂x_j"], rows))
    notes = ["The chain rule, from the output down: first each unit's ∂E/∂x_j, then each weight's ∂E/∂w_ij, "
             "then the error ∂E/∂y_i that the layer below receives."]
    if net.loss == "cross_entropy":
        simple = ", ".join(f"{fmt(y)} − {fmt(t)}" for y, t in zip(e.y[-1], net.targets))
        notes.append(f"With cross-entropy the output rule simplifies to ∂E/∂x_j = y_j − t_j: {simple}.")
    out.append(Section("Step 3 · backward pass", notes, backward))

    rows = []
    for k in range(layers):
        for j in range(net.sizes[k + 1]):
            for i in range(net.sizes[k]):
                rows.append([f"w({name(k, i)}→{name(k + 1, j)})", fmt(net.weights[k][j, i]),
                             fmt(e.grad_weights[k][j, i]), fmt(e.new_weights[k][j, i])])
            rows.append([f"b_{name(k + 1, j)}", fmt(net.biases[k][j]), fmt(e.grad_biases[k][j]),
                         fmt(e.new_biases[k][j])])
    change = e.loss_after - e.loss
    out.append(Section("Step 4 · update", [
        f"Gradient descent: w ← w − α·∂E/∂w with α = {net.lr:g}.",
        f"Loss before: {fmt(e.loss)}; after: {fmt(e.loss_after)} ({'+' if change >= 0 else '−'}"
        f"{fmt(abs(change))}).",
    ], [Table("every weight and bias", ["parameter", "w", "∂E/∂w", "w − α·∂E/∂w"], rows)]))
    return out

