"""The backprop explainer: one training step of a small network, one chain-rule step at a time.

Notation (Rumelhart, Hinton & Williams, 1986): unit ``j`` of a layer gets the weighted sum
``x_j = Σ_i w_ij·y_i + b_j`` of the outputs ``y_i`` below it and outputs ``y_j = f(x_j)``.
Backward, the chain rule gives, for every unit, weight and lower unit::

    ∂E/∂x_j  = f'(x_j)·∂E/∂y_j
    ∂E/∂w_ij = y_i·∂E/∂x_j            (and ∂E/∂b_j = ∂E/∂x_j)
    ∂E/∂y_i  = Σ_j w_ij·∂E/∂x_j

and gradient descent updates ``w ← w − α·∂E/∂w``.

Every number comes from the engine (tensors with ``requires_grad``, ``backward()``, and
``Tensor.register_hook`` for ∂E/∂x and ∂E/∂y of the inner units). Before anything is shown
the engine's numbers are checked twice: against the hand formulas above, and against central
finite differences in float64; a disagreement raises :class:`~chainrule.GradcheckError`.

The network it explains is described in :mod:`chainrule.learn.network`; the checks live in
:mod:`chainrule.learn.explain_checks`, the walk-through's text in :mod:`chainrule.learn.explain_text`
and its HTML page in :mod:`chainrule.learn.explain_html`.


Lists in results are indexed from 0: ``weights[k]`` maps ``y[k]`` (layer k, ``y[0]`` being the
"""

from __future__ import annotations

import dataclasses
import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.autograd import no_grad
from chainrule.engine.tensor import Tensor
from chainrule.learn.explain_checks import FD_STEP, check_finite_differences, check_formulas
from chainrule.learn.explain_text import Section, sections
from chainrule.learn.network import (
    ACTIVATIONS,
    DEFAULT_SIZES,
    HIDDEN_ACTIVATIONS,
    MAX_UNITS,
    Network,
    make_network,
    network_from_dict,
)

__all__ = ["HIDDEN_ACTIVATIONS", "MAX_UNITS", "Explanation", "Network", "explain", "explain_network", "loss_graph",
           "make_network", "network_from_dict"]


# ---------------------------------------------------------------------------- the engine's step


def _engine_loss(y: Tensor, net: Network) -> Tensor:
    # A named constant tensor rather than an array, so graph drawings label it.
    targets = Tensor._make(net.targets, dtype=np.float64)
    targets.name = "targets"
    if net.loss == "squared_error":
        return 0.5 * ((targets - y) ** 2).sum()
    if net.output_activation == "softmax":
        return -(targets * y.log()).sum()
    return -(targets * y.log() + (1 - targets) * (1 - y).log()).sum()


def _leaves(net: Network) -> tuple[list[Tensor], list[Tensor], Tensor]:
    def leaf(array: np.ndarray, name: str) -> Tensor:
        t = Tensor._make(array, dtype=np.float64, requires_grad=True)
        t.name = name
        return t

    weights = [leaf(w, f"W{k + 1}") for k, w in enumerate(net.weights)]
    biases = [leaf(b, f"b{k + 1}") for k, b in enumerate(net.biases)]
    return weights, biases, leaf(net.inputs, "inputs")


def _forward(net: Network, weights: list[Tensor], biases: list[Tensor], inputs: Tensor
             ) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    ys, xs = [inputs], []
    for k, (w, b) in enumerate(zip(weights, biases)):
        xs.append(ops.linear(ys[-1], w, b))
        ys.append(ACTIVATIONS[net.activation_of(k)].engine(xs[-1]))
    return _engine_loss(ys[-1], net), xs, ys


def loss_graph(net: Network | None = None, **network: Any) -> Tensor:
    """The loss of a network (a :class:`Network`, or :func:`explain`'s arguments) as an engine graph.

    >>> loss_graph().grad_fn.name
    'mul'
    """
    net = net if net is not None else make_network(**network)
    return _forward(net, *_leaves(net))[0]


# ---------------------------------------------------------------------------- the result


@dataclasses.dataclass
class Explanation:
    """One training step, every number in it, and how to show it.

    ``x``, ``grad_x``, ``weights``... hold one array per layer of weights; ``y`` and ``grad_y``
    one per layer of units, inputs first (see the module docstring for the indexing).
    ``activation_grad[k]`` is f'(x) of that layer, or for softmax the Jacobian ∂y_k/∂x_j (row k).
    """

    network: Network
    x: list[np.ndarray]
    y: list[np.ndarray]
    loss: float
    grad_y: list[np.ndarray]
    grad_x: list[np.ndarray]
    activation_grad: list[np.ndarray]
    grad_weights: list[np.ndarray]
    grad_biases: list[np.ndarray]
    new_weights: list[np.ndarray]
    new_biases: list[np.ndarray]
    loss_after: float
    max_fd_error: float
    fd_checked: int
    fd_unchecked: list[str]
    max_formula_error: float

    # the network's own fields, for convenience
    @property
    def sizes(self) -> tuple[int, ...]:
        return self.network.sizes

    @property
    def weights(self) -> list[np.ndarray]:
        return self.network.weights

    @property
    def biases(self) -> list[np.ndarray]:
        return self.network.biases

    @property
    def inputs(self) -> np.ndarray:
        return self.network.inputs

    @property
    def targets(self) -> np.ndarray:
        return self.network.targets

    @property
    def lr(self) -> float:
        return self.network.lr

    def unit_name(self, layer: int, j: int) -> str:
        """``i1``, ``h2``, ``o1``; with several hidden layers ``h1_2`` (layer 1, unit 2)."""
        last = len(self.sizes) - 1
        if layer == 0:
            return f"i{j + 1}"
        if layer == last:
            return f"o{j + 1}"
        return f"h{j + 1}" if last == 2 else f"h{layer}_{j + 1}"

    def to_dict(self) -> dict[str, Any]:
        """Every number as plain lists and floats (JSON-ready); ``network`` is a valid network file."""
        lists = lambda arrays: [a.tolist() for a in arrays]  # noqa: E731
        return {
            "network": self.network.to_dict(),
            "forward": {"x": lists(self.x), "y": lists(self.y), "loss": self.loss},
            "backward": {"grad_y": lists(self.grad_y), "grad_x": lists(self.grad_x),
                         "activation_grad": lists(self.activation_grad),
                         "grad_weights": lists(self.grad_weights), "grad_biases": lists(self.grad_biases)},
            "update": {"weights": lists(self.new_weights), "biases": lists(self.new_biases),
                       "loss": self.loss_after},
            "check": {"max_fd_error": self.max_fd_error, "fd_checked": self.fd_checked,
                      "fd_unchecked": list(self.fd_unchecked), "max_formula_error": self.max_formula_error},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        """Rebuild an explanation from :meth:`to_dict`'s output (no recomputation)."""
        arrays = lambda lists: [np.array(a, dtype=np.float64) for a in lists]  # noqa: E731
        f, b, u, c = data["forward"], data["backward"], data["update"], data["check"]
        return cls(
            network_from_dict(data["network"]), arrays(f["x"]), arrays(f["y"]), f["loss"],
            arrays(b["grad_y"]), arrays(b["grad_x"]), arrays(b["activation_grad"]),
            arrays(b["grad_weights"]), arrays(b["grad_biases"]),
            arrays(u["weights"]), arrays(u["biases"]), u["loss"],
            c["max_fd_error"], c["fd_checked"], list(c["fd_unchecked"]), c["max_formula_error"],
        )

    def sections(self) -> list[Section]:
        """The walk-through as titled sections of notes and tables (shared by text and HTML)."""
        return sections(self)

    def render(self, console: Any) -> None:
        """Print the walk-through on a ``rich`` console."""
        from rich.panel import Panel
        from rich.table import Table as RichTable
        from rich.text import Text  # plain text: numbers and names are never read as rich markup

        for section in self.sections():
            console.rule(f"[bold]{section.title}")
            for note in section.notes:
                console.print(note, highlight=False, markup=False)
            for table in section.tables:
                rich_table = RichTable(title=Text(table.title), title_justify="left", header_style="bold")
                for column in table.columns:
                    rich_table.add_column(column, overflow="fold")
                for row in table.rows:
                    rich_table.add_row(*map(Text, row))
                console.print(rich_table)
        console.print(Panel(Text(self.summary()), title="checked", expand=False))

    def render_text(self, width: int = 110) -> str:
        """The walk-through as plain text (``rich`` tables, no colours)."""
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
        self.render(console)
        return buffer.getvalue()

    def to_html(self) -> str:
        """A self-contained HTML page: the network drawn as SVG with its values and gradients, and the steps."""
        from chainrule.learn.explain_html import render_html

        return render_html(self)

    def __repr__(self) -> str:
        return (f"Explanation({'-'.join(map(str, self.sizes))} network, loss {self.loss:.6g} → {self.loss_after:.6g} "
                f"after one step at lr {self.lr:g})")

    def _repr_html_(self) -> str:
        """The step-by-step page inline in a notebook, in a frame so its styles stay its own."""
        page = html.escape(self.to_html(), quote=True)
        return f'<iframe srcdoc="{page}" style="width:100%;height:720px;border:1px solid #ddd"></iframe>'

    def summary(self) -> str:
        """One paragraph: what changed and how the numbers were checked."""
        text = (
            f"loss {self.loss:.6g} → {self.loss_after:.6g} after one step with learning rate {self.lr:g}. "
            f"Every gradient is the engine's (backward + tensor hooks), equals the hand formulas "
            f"(max difference {self.max_formula_error:.1e}) and central finite differences in float64 "
            f"(max difference {self.max_fd_error:.1e} over {self.fd_checked} numbers)."
        )
        if self.fd_unchecked:
            text += (f" Not checked by finite differences (a ReLU unit sits within {FD_STEP:g} of its kink at 0): "
                     + ", ".join(self.fd_unchecked) + ".")
        return text



# ---------------------------------------------------------------------------- explain


def explain(
    sizes: Sequence[int] = DEFAULT_SIZES,
    activation: str = "sigmoid",
    weights: Sequence[Any] | None = None,
    biases: Sequence[Any] | None = None,
    inputs: Sequence[float] | None = None,
    targets: Sequence[float] | None = None,
    lr: float = 0.5,
    loss: str = "squared_error",
    seed: int = 0,
    output_activation: str | None = None,
) -> Explanation:
    """Run one training step of a small fully-connected network with the engine and explain every number.

    Args:
        sizes: units per layer, inputs first; at most 40 units in all.
        activation: ``sigmoid``, ``tanh``, ``relu`` or ``linear``/``identity`` (hidden units, and
            output units unless ``output_activation`` or the loss says otherwise).
        weights: per layer, a matrix of shape (out, in) like ``nn.Linear.weight``; biases: per layer, length out.
        inputs: one example; targets: one number per output unit.
        lr: the learning rate α of the update w ← w − α·∂E/∂w.
        loss: ``squared_error`` (½·Σ(t − y)²) or ``cross_entropy`` (binary on one sigmoid output,
            softmax over several).
        seed: seeds the draws for whatever is left out (unless sizes is the default (2, 2, 1)), through
            ``cr.manual_seed(seed)``, so chainrule's generator is reseeded when something is drawn.
        output_activation: the output units' activation (defaults as described in the module docstring).

    Raises:
        ValueError: for a bad description (the field, the expected and received shape) or a network too large.
        GradcheckError: if the engine's gradients disagree with the hand formulas or finite differences.

    >>> e = explain()
    >>> round(float(e.grad_weights[1][0, 0]), 9)   # ∂E/∂w5 in Mazur's worked example
    0.082167041
    """
    net = make_network(sizes, activation, weights, biases, inputs, targets, lr, loss, seed, output_activation)
    return explain_network(net)


def _grad_array(t: Tensor) -> np.ndarray:
    """The gradient a backward left on the leaf ``t``."""
    assert t._grad is not None, "backward reached this leaf"
    return t._grad


def _activation_grad(act: str, x: np.ndarray) -> np.ndarray:
    """f'(x), or softmax's Jacobian (row k: ∂y_k/∂x), from the engine's own backward through f."""
    leaf = Tensor._make(x, dtype=np.float64, requires_grad=True)
    y = ACTIVATIONS[act].engine(leaf)
    if act != "softmax":
        y.backward(np.ones_like(x))  # elementwise: one backward gives every f'(x_j)
        return _grad_array(leaf).copy()
    rows = []
    for k in range(x.size):
        leaf._grad = None
        y.backward(np.eye(x.size)[k], retain_graph=True)
        rows.append(_grad_array(leaf).copy())
    return np.array(rows)


def explain_network(net: Network) -> Explanation:
    """:func:`explain` for an already checked :class:`Network`."""
    grads: dict[int, np.ndarray] = {}

    def keep(t: Tensor) -> None:
        def hook(g: np.ndarray) -> None:
            grads[id(t)] = np.array(g, dtype=np.float64)
        t._register_array_hook(hook)

    # A saturated output gives log(0): checked just below with a message that says what to do.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w_leaves, b_leaves, inputs = _leaves(net)
        loss, xs, ys = _forward(net, w_leaves, b_leaves, inputs)
        for t in xs + ys:
            keep(t)
        loss.backward()
    if not (np.isfinite(loss.item()) and all(np.isfinite(g).all() for g in grads.values())):
        raise ValueError(
            f"explain: the loss ({loss.item()}) or a gradient is not finite: an output reached exactly 0 or 1 "
            "under a log, or the weights are too large; use smaller weights or inputs"
        )
    new_w = [w._data - net.lr * _grad_array(w) for w in w_leaves]
    new_b = [b._data - net.lr * _grad_array(b) for b in b_leaves]
    with no_grad():
        as64 = lambda arrays: [Tensor._make(a, dtype=np.float64) for a in arrays]  # noqa: E731
        loss_after = _forward(net, as64(new_w), as64(new_b), Tensor._make(net.inputs, dtype=np.float64))[0]
    e = Explanation(
        network=net, x=[t._data.copy() for t in xs], y=[t._data.copy() for t in ys], loss=float(loss.item()),
        grad_y=[grads[id(t)] for t in ys], grad_x=[grads[id(t)] for t in xs],
        activation_grad=[_activation_grad(net.activation_of(k), t._data) for k, t in enumerate(xs)],
        grad_weights=[_grad_array(w).copy() for w in w_leaves], grad_biases=[_grad_array(b).copy() for b in b_leaves],
        new_weights=new_w, new_biases=new_b, loss_after=float(loss_after.item()),
        max_fd_error=0.0, fd_checked=0, fd_unchecked=[], max_formula_error=0.0,
    )
    e.max_formula_error = check_formulas(e)
    e.max_fd_error, e.fd_checked, e.fd_unchecked = check_finite_differences(e)
    return e

