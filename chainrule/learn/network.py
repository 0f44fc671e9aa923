"""The network a learner explains: its description, checked field by field, and its activations.


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
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.engine import ops
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

