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

Network description (the keyword arguments of :func:`explain`, and the keys of a JSON file):

- ``sizes``: units per layer, inputs first, e.g. ``[2, 2, 1]``; at most 40 units in all.
- ``activation``: ``sigmoid``, ``tanh``, ``relu`` or ``linear`` (alias ``identity``) for hidden units.
- ``output_activation``: for the output units; defaults to ``activation`` (squared error) or to
  what cross-entropy needs (see ``loss``).
- ``loss``: ``squared_error``, E = ½·Σ_j (t_j − y_j)²; or ``cross_entropy``: with one output
  unit, binary cross-entropy on a sigmoid output, E = −[t·log y + (1 − t)·log(1 − y)], t in
  [0, 1]; with several, softmax cross-entropy, y = softmax(x), E = −Σ_j t_j·log y_j, targets
  a probability vector (e.g. one-hot). Either way ∂E/∂x_j = y_j − t_j at the output.
- ``weights``: one matrix per layer of shape (out, in), like ``nn.Linear.weight``: row j holds
  the weights into unit j. ``biases``: one vector per layer, of length out.
- ``inputs``: one example, a list of ``sizes[0]`` numbers; ``targets``: ``sizes[-1]`` numbers.
- ``lr``: the learning rate α; ``seed``: for whatever is left out.

Whatever is left out is filled in: for the default sizes (2, 2, 1) from a fixed worked example
(the network of Matt Mazur's "A Step by Step Backpropagation Example", keeping output o1), for
other sizes drawn from ``cr.manual_seed(seed)`` and rounded to two decimals so they read well.

Lists in results are indexed from 0: ``weights[k]`` maps ``y[k]`` (layer k, ``y[0]`` being the
inputs) to ``x[k]``, and ``y[k + 1] = f(x[k])``; ``grad_y[k]`` is ∂E/∂y[k] (layer 0 included).
"""

from __future__ import annotations

import dataclasses
import html
import io
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.autograd import no_grad
from chainrule.engine.gradcheck import GradcheckError
from chainrule.engine.random import manual_seed
from chainrule.engine.tensor import Tensor

MAX_UNITS = 40
DEFAULT_SIZES = (2, 2, 1)
LOSSES = ("squared_error", "cross_entropy")
# Matt Mazur's worked example (2015) with its first output unit: gradients a learner can compare.
WORKED_EXAMPLE = {
    "weights": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45]]],
    "biases": [[0.35, 0.35], [0.60]],
    "inputs": [0.05, 0.10],
    "targets": [0.01],
}
NETWORK_KEYS = ("sizes", "activation", "output_activation", "loss", "lr", "seed",
                "weights", "biases", "inputs", "targets")

# Central differences in float64 with this step agree with the chain rule to about 1e-9.
FD_STEP = 1e-6
FD_ATOL, FD_RTOL = 1e-6, 1e-5
FORMULA_ATOL, FORMULA_RTOL = 1e-12, 1e-9


@dataclasses.dataclass(frozen=True)
class Activation:
    """An activation in three forms: NumPy, the engine, and the derivative in words and numbers."""

    formula: str
    derivative: str
    numpy: Callable[[np.ndarray], np.ndarray]
    engine: Callable[[Tensor], Tensor]
    # f'(x) from x and y = f(x); elementwise activations only
    prime: Callable[[np.ndarray, np.ndarray], np.ndarray] | None


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("σ(x) = 1/(1 + e^−x)", "σ'(x) = y·(1 − y)", lambda x: 0.5 + 0.5 * np.tanh(0.5 * x),
                          lambda t: t.sigmoid(), lambda x, y: y * (1 - y)),
    "tanh": Activation("tanh(x)", "tanh'(x) = 1 − y²", np.tanh, lambda t: t.tanh(), lambda x, y: 1 - y * y),
    "relu": Activation("relu(x) = max(0, x)", "relu'(x) = 1 if x > 0 else 0", lambda x: x * (x > 0),
                       lambda t: t.relu(), lambda x, y: (x > 0).astype(np.float64)),
    "linear": Activation("x (identity)", "1", lambda x: x.copy(), lambda t: t, lambda x, y: np.ones_like(x)),
    "softmax": Activation("softmax: y_j = e^x_j / Σ_k e^x_k", "∂y_k/∂x_j = y_k·(δ_kj − y_j)", _softmax,
                          lambda t: ops.softmax(t, -1), None),
}
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")


# ---------------------------------------------------------------------------- the network description


@dataclasses.dataclass
class Network:
    """A validated network description: every array float64, every shape checked."""

    sizes: tuple[int, ...]
    activation: str
    output_activation: str
    loss: str
    lr: float
    seed: int
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    inputs: np.ndarray
    targets: np.ndarray

    def activation_of(self, k: int) -> str:
        """The activation of the layer that ``weights[k]`` feeds."""
        return self.output_activation if k == len(self.weights) - 1 else self.activation

    def to_dict(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes), "activation": self.activation, "output_activation": self.output_activation,
            "loss": self.loss, "lr": self.lr, "seed": self.seed,
            "weights": [w.tolist() for w in self.weights], "biases": [b.tolist() for b in self.biases],
            "inputs": self.inputs.tolist(), "targets": self.targets.tolist(),
        }


def _array(where: str, field: str, value: Any, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: {field} ({meaning}) must be a nested list of numbers of shape {shape}; got {value!r}"
        ) from None
    if array.shape != shape:
        raise ValueError(f"{where}: {field} ({meaning}) must have shape {shape}; got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: {field} must hold finite numbers; got {array.tolist()}")
    return array


def _per_layer(where: str, field: str, value: Any, count: int) -> list[Any]:
    if isinstance(value, np.ndarray) or not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(
            f"{where}: {field} must be a list with one entry per layer ({count}); got {type(value).__name__}"
        )
    if len(value) != count:
        raise ValueError(f"{where}: {field} must have one entry per layer, {count} in all; got {len(value)}")
    return list(value)


def _random_fill(net_sizes: tuple[int, ...], out_act: str, loss: str, seed: int) -> dict[str, Any]:
    """Readable random values (two decimals) for whatever the user left out, all drawn in one fixed order."""
    rng = manual_seed(seed)
    weights = [np.round(rng.standard_normal((n_out, n_in)) / math.sqrt(n_in), 2)
               for n_in, n_out in itertools.pairwise(net_sizes)]
    biases = [np.round(0.1 * rng.standard_normal(n_out), 2) for n_out in net_sizes[1:]]
    inputs = np.round(rng.uniform(-1, 1, net_sizes[0]), 2)
    n_out = net_sizes[-1]
    if out_act == "softmax":
        targets = np.eye(n_out)[rng.integers(n_out)]
    elif loss == "cross_entropy":
        targets = rng.integers(0, 2, n_out).astype(np.float64)
    elif out_act in ("sigmoid", "relu"):
        targets = np.round(rng.uniform(0, 1, n_out), 2)
    else:
        targets = np.round(rng.uniform(-1, 1, n_out), 2)
    return {"weights": weights, "biases": biases, "inputs": inputs, "targets": targets}


def make_network(
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
    *,
    where: str = "explain",
) -> Network:
    """Check a network description and fill in what is missing (see the module docstring).

    Raises:
        ValueError: naming the field, what was expected and what was received.
        TypeError: for a learning rate or seed that is not a number.

    >>> make_network(sizes=(2, 2, 1)).weights[1].tolist()
    [[0.4, 0.45]]
    """
    if isinstance(sizes, str) or not isinstance(sizes, Sequence) or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise ValueError(f"{where}: sizes must be a list of positive ints such as [2, 2, 1]; got {sizes!r}")
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < 2:
        raise ValueError(f"{where}: sizes must name at least 2 layers (inputs and outputs), e.g. [2, 2, 1]; "
                         f"got {list(sizes)}")
    if sum(sizes) > MAX_UNITS:
        raise ValueError(
            f"{where}: a network with sizes {list(sizes)} has {sum(sizes)} units, too many to explain step by "
            f"step (at most {MAX_UNITS}); try a smaller one, e.g. sizes [2, 3, 1]"
        )
    activation = "linear" if activation == "identity" else activation
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"{where}: activation must be one of {', '.join(HIDDEN_ACTIVATIONS)} (or identity); "
                         f"got {activation!r}")
    if loss not in LOSSES:
        raise ValueError(f"{where}: loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    output_activation = "linear" if output_activation == "identity" else output_activation
    n_out = sizes[-1]
    if loss == "cross_entropy":
        needed = "sigmoid" if n_out == 1 else "softmax"
        if output_activation not in (None, needed):
            raise ValueError(
                f"{where}: cross_entropy with {n_out} output unit{'s' * (n_out > 1)} needs output_activation "
                f"{needed!r} (binary cross-entropy on a sigmoid for 1 output, softmax cross-entropy for more); "
                f"got {output_activation!r}"
            )
        output_activation = needed
    elif output_activation is None:
        output_activation = activation
    elif output_activation not in ACTIVATIONS:
        raise ValueError(f"{where}: output_activation must be one of {', '.join(ACTIVATIONS)}; "
                         f"got {output_activation!r}")
    for name, value in (("lr", lr), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{where}: {name} must be a number; got {type(value).__name__} {value!r}")
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"{where}: lr must be a finite number >= 0; got {lr!r}")
    if not (isinstance(seed, numbers.Integral) and seed >= 0):
        raise ValueError(f"{where}: seed must be a non-negative int; got {seed!r}")

    given = {"weights": weights, "biases": biases, "inputs": inputs, "targets": targets}
    if any(v is None for v in given.values()):
        fill = WORKED_EXAMPLE if sizes == DEFAULT_SIZES else _random_fill(sizes, output_activation, loss, int(seed))
        given = {k: fill[k] if v is None else v for k, v in given.items()}
    layers = len(sizes) - 1
    w_list = _per_layer(where, "weights", given["weights"], layers)
    b_list = _per_layer(where, "biases", given["biases"], layers)
    checked_w, checked_b = [], []
    for k, (n_in, n_out_k) in enumerate(itertools.pairwise(sizes)):
        layer = f"the weights into layer {k + 1}, {n_in} → {n_out_k} units, as (out, in) like nn.Linear.weight"
        checked_w.append(_array(where, f"weights[{k}]", w_list[k], (n_out_k, n_in), layer))
        checked_b.append(_array(where, f"biases[{k}]", b_list[k], (n_out_k,), f"the biases of layer {k + 1}"))
    x_in = _array(where, "inputs", given["inputs"], (sizes[0],), "one example with one number per input unit")
    t = _array(where, "targets", given["targets"], (n_out,), "one number per output unit")
    if loss == "cross_entropy":
        if ((t < 0) | (t > 1)).any():
            raise ValueError(f"{where}: targets for cross_entropy must lie in [0, 1]; got {t.tolist()}")
        if n_out > 1 and not math.isclose(t.sum(), 1.0, abs_tol=1e-9):
            raise ValueError(
                f"{where}: targets for softmax cross_entropy must be a probability vector summing to 1 "
                f"(e.g. one-hot); got {t.tolist()} (sum {t.sum():g})"
            )
    return Network(sizes, activation, output_activation, loss, float(lr), int(seed), checked_w, checked_b, x_in, t)


def network_from_dict(data: Any, where: str = "network") -> Network:
    """A :class:`Network` from a dict with the keys of :func:`explain` (e.g. a parsed JSON file).

    Raises:
        ValueError: for a non-object, an unknown key, or a bad field (named, with expected and received shape).
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with keys such as {list(NETWORK_KEYS[:3])}; "
                         f"got {type(data).__name__}")
    unknown = sorted(set(data) - set(NETWORK_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; the fields are {', '.join(NETWORK_KEYS)}")
    return make_network(**{k: data[k] for k in NETWORK_KEYS if k in data}, where=where)


# ---------------------------------------------------------------------------- the engine's step


def _engine_loss(y: Tensor, net: Network) -> Tensor:
    # A named constant tensor rather than an array, so graph drawings label it.
    targets = Tensor(net.targets, dtype=np.float64)
    targets.name = "targets"
    if net.loss == "squared_error":
        return 0.5 * ((targets - y) ** 2).sum()
    if net.output_activation == "softmax":
        return -(targets * y.log()).sum()
    return -(targets * y.log() + (1 - targets) * (1 - y).log()).sum()


def _leaves(net: Network) -> tuple[list[Tensor], list[Tensor], Tensor]:
    def leaf(array: np.ndarray, name: str) -> Tensor:
        t = Tensor(array, dtype=np.float64, requires_grad=True)
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
        return _sections(self)

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


# ---------------------------------------------------------------------------- checks


def _numpy_loss(net: Network, weights: list[np.ndarray], biases: list[np.ndarray],
                nudge: tuple[str, int, int, float] | None = None) -> tuple[float, tuple[bytes, ...]]:
    """An independent NumPy forward pass; ``nudge=('x'|'y', layer, unit, h)`` adds h to one unit.

    Returns the loss and which ReLU units are on, so a finite difference across a kink is noticed.
    """
    y = net.inputs.copy()
    if nudge and nudge[0] == "y" and nudge[1] == 0:
        y[nudge[2]] += nudge[3]
    pattern = []
    for k, (w, b) in enumerate(zip(weights, biases)):
        x = w @ y + b
        if nudge and nudge[0] == "x" and nudge[1] == k:
            x[nudge[2]] += nudge[3]
        act = net.activation_of(k)
        if act == "relu":
            pattern.append((x > 0).tobytes())
        y = ACTIVATIONS[act].numpy(x)
        if nudge and nudge[0] == "y" and nudge[1] == k + 1:
            y[nudge[2]] += nudge[3]
    t = net.targets
    if net.loss == "squared_error":
        loss = 0.5 * np.sum((t - y) ** 2)
    elif net.output_activation == "softmax":
        loss = -np.sum(t * np.log(y))
    else:
        loss = -np.sum(t * np.log(y) + (1 - t) * np.log(1 - y))
    return float(loss), tuple(pattern)


def _close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    return np.abs(a - b) <= atol + rtol * np.abs(b)


def _check_finite_differences(e: Explanation) -> tuple[float, int, list[str]]:
    """Compare every gradient with central differences; raise GradcheckError on a disagreement."""
    net = e.network
    base_pattern = _numpy_loss(net, net.weights, net.biases)[1]
    worst, checked, unchecked = 0.0, 0, []

    def compare(label: str, got: float, evaluate: Callable[[float], tuple[float, tuple[bytes, ...]]]) -> None:
        nonlocal worst, checked
        plus, p_plus = evaluate(FD_STEP)
        minus, p_minus = evaluate(-FD_STEP)
        if p_plus != base_pattern or p_minus != base_pattern:
            unchecked.append(label)
            return
        numeric = (plus - minus) / (2 * FD_STEP)
        checked += 1
        worst = max(worst, float(abs(got - numeric)))
        if not abs(got - numeric) <= FD_ATOL + FD_RTOL * abs(numeric):
            raise GradcheckError(
                f"explain: the engine gives {label} = {got!r} but central finite differences give {numeric!r} "
                f"(atol={FD_ATOL}, rtol={FD_RTOL}): the engine's backward disagrees with its forward"
            )

    j: int  # np.ndindex is typed as yielding tuple[Any, ...]: its ints would index an ndarray as arrays
    i: int
    for k in range(len(net.weights)):
        for j, i in np.ndindex(net.weights[k].shape):
            def nudge_w(h: float, k: int = k, j: int = j, i: int = i) -> tuple[float, tuple[bytes, ...]]:
                weights = [w.copy() for w in net.weights]
                weights[k][j, i] += h
                return _numpy_loss(net, weights, net.biases)

            compare(f"∂E/∂w({e.unit_name(k, i)}→{e.unit_name(k + 1, j)})", e.grad_weights[k][j, i], nudge_w)
        for j in range(net.sizes[k + 1]):
            def nudge_b(h: float, k: int = k, j: int = j) -> tuple[float, tuple[bytes, ...]]:
                biases = [b.copy() for b in net.biases]
                biases[k][j] += h
                return _numpy_loss(net, net.weights, biases)

            unit = e.unit_name(k + 1, j)
            compare(f"∂E/∂b_{unit}", e.grad_biases[k][j], nudge_b)

            def nudge_x(h: float, k: int = k, j: int = j) -> tuple[float, tuple[bytes, ...]]:
                return _numpy_loss(net, net.weights, net.biases, ("x", k, j, h))

            compare(f"∂E/∂x_{unit}", e.grad_x[k][j], nudge_x)
    for layer in range(len(net.sizes)):
        for j in range(net.sizes[layer]):
            def nudge_y(h: float, layer: int = layer, j: int = j) -> tuple[float, tuple[bytes, ...]]:
                return _numpy_loss(net, net.weights, net.biases, ("y", layer, j, h))

            compare(f"∂E/∂y_{e.unit_name(layer, j)}", e.grad_y[layer][j], nudge_y)
    return worst, checked, unchecked


def output_grad_y(net: Network, y: np.ndarray) -> np.ndarray:
    """∂E/∂y at the output units, by hand."""
    t = net.targets
    if net.loss == "squared_error":
        return y - t
    if net.output_activation == "softmax":
        return -t / y
    return (y - t) / (y * (1 - y))


def _check_formulas(e: Explanation) -> float:
    """Recompute every backward and update number from the hand formulas; raise on a disagreement."""
    net = e.network
    worst = 0.0

    def same(label: str, by_hand: np.ndarray | float, engine: np.ndarray | float) -> None:
        nonlocal worst
        by_hand, engine = np.asarray(by_hand, dtype=np.float64), np.asarray(engine, dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(by_hand - engine), initial=0.0)))
        if not _close(by_hand, engine, FORMULA_ATOL, FORMULA_RTOL).all():
            raise GradcheckError(
                f"explain: the hand formula {label} gives {by_hand.tolist()} but the engine gives {engine.tolist()}"
            )

    last = len(net.weights) - 1
    same("∂E/∂y = (output rule of the loss)", output_grad_y(net, e.y[-1]), e.grad_y[-1])
    for k in range(last, -1, -1):
        act = net.activation_of(k)
        x, y, dy = e.x[k], e.y[k + 1], e.grad_y[k + 1]
        if act == "softmax":
            same("∂y_k/∂x_j = y_k·(δ_kj − y_j)", np.diag(y) - np.outer(y, y), e.activation_grad[k])
            same("∂E/∂x_j = Σ_k ∂y_k/∂x_j·∂E/∂y_k", e.activation_grad[k].T @ dy, e.grad_x[k])
            same("∂E/∂x_j = y_j·(∂E/∂y_j − Σ_k y_k·∂E/∂y_k)", y * (dy - np.dot(y, dy)), e.grad_x[k])
        else:
            same(f"y_j = f(x_j) for {act}", ACTIVATIONS[act].numpy(x), y)
            prime = ACTIVATIONS[act].prime
            assert prime is not None, "every activation but softmax has an elementwise derivative"
            same(f"{ACTIVATIONS[act].derivative}", prime(x, y), e.activation_grad[k])
            same("∂E/∂x_j = f'(x_j)·∂E/∂y_j", e.activation_grad[k] * dy, e.grad_x[k])
        same("x_j = Σ_i w_ij·y_i + b_j", net.weights[k] @ e.y[k] + net.biases[k], x)
        same("∂E/∂w_ij = y_i·∂E/∂x_j", np.outer(e.grad_x[k], e.y[k]), e.grad_weights[k])
        same("∂E/∂b_j = ∂E/∂x_j", e.grad_x[k], e.grad_biases[k])
        same("∂E/∂y_i = Σ_j w_ij·∂E/∂x_j", net.weights[k].T @ e.grad_x[k], e.grad_y[k])
        same("w ← w − α·∂E/∂w", net.weights[k] - net.lr * e.grad_weights[k], e.new_weights[k])
        same("b ← b − α·∂E/∂b", net.biases[k] - net.lr * e.grad_biases[k], e.new_biases[k])
    same("E (NumPy forward)", _numpy_loss(net, net.weights, net.biases)[0], e.loss)
    same("E after the update (NumPy forward)", _numpy_loss(net, e.new_weights, e.new_biases)[0], e.loss_after)
    return worst


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
    leaf = Tensor(x, dtype=np.float64, requires_grad=True)
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
        as64 = lambda arrays: [Tensor(a, dtype=np.float64) for a in arrays]  # noqa: E731
        loss_after = _forward(net, as64(new_w), as64(new_b), Tensor(net.inputs, dtype=np.float64))[0]
    e = Explanation(
        network=net, x=[t._data.copy() for t in xs], y=[t._data.copy() for t in ys], loss=float(loss.item()),
        grad_y=[grads[id(t)] for t in ys], grad_x=[grads[id(t)] for t in xs],
        activation_grad=[_activation_grad(net.activation_of(k), t._data) for k, t in enumerate(xs)],
        grad_weights=[_grad_array(w).copy() for w in w_leaves], grad_biases=[_grad_array(b).copy() for b in b_leaves],
        new_weights=new_w, new_biases=new_b, loss_after=float(loss_after.item()),
        max_fd_error=0.0, fd_checked=0, fd_unchecked=[], max_formula_error=0.0,
    )
    e.max_formula_error = _check_formulas(e)
    e.max_fd_error, e.fd_checked, e.fd_unchecked = _check_finite_differences(e)
    return e


# ---------------------------------------------------------------------------- the walk-through


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


def _sections(e: Explanation) -> list[Section]:
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
