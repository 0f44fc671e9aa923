"""The multilayer perceptron every command and demo builds: one spec, one class, one builder."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

from chainrule import nn
from chainrule.engine.random import manual_seed

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")


@dataclass
class MLPSpec:
    """What an MLP is made of; ``MLP(spec)`` builds it and ``spec.to_dict()`` saves it.

    >>> MLPSpec(4, (8,), 3).replace(activation="tanh").activation
    'tanh'
    """

    in_features: int
    hidden: tuple[int, ...]
    out_features: int
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0
    init: str = "default"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, tuple | list) or not all(
                isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in self.hidden):
            raise ValueError(f"MLPSpec: hidden must be a tuple of whole-number widths, got {self.hidden!r}")
        self.hidden = tuple(int(h) for h in self.hidden)
        for name in ("in_features", "out_features"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"MLPSpec: {name} must be a positive int, got {value!r}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"MLPSpec: hidden widths must be positive ints, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"MLPSpec: activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not 0.0 <= self.dropout <= 1.0:  # 1.0 is allowed: the gallery shows it learns nothing
            raise ValueError(f"MLPSpec: dropout must be in [0, 1], got {self.dropout!r}")
        _parse_init(self.init)

    def replace(self, **changes: Any) -> MLPSpec:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields (``hidden`` as a list)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MLPSpec:
        """Rebuild a spec from ``to_dict()``'s output.

        Raises:
            ValueError: unknown or missing fields.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"MLPSpec.from_dict: unknown fields {unknown}; expected some of {sorted(names)}")
        try:
            return cls(**d)
        except TypeError as error:
            raise ValueError(f"MLPSpec.from_dict: {error}") from None


def _parse_init(init: str) -> tuple[str, float]:
    if init in ("default", "he", "xavier"):
        return init, 0.0
    if isinstance(init, str) and init.startswith("normal:"):
        try:
            std = float(init.partition(":")[2])
        except ValueError:
            std = -1.0
        if 0 < std < math.inf:
            return "normal", std
    raise ValueError(f"MLPSpec: init must be 'default', 'he', 'xavier' or 'normal:<std>' (e.g. 'normal:1.0'), "
                     f"got {init!r}")


def _activation(spec: MLPSpec) -> nn.Module:
    if spec.activation == "leaky_relu":
        return nn.LeakyReLU(spec.negative_slope)
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}[spec.activation]()


class MLP(nn.Module):
    """Linear → [BatchNorm1d] → activation → [Dropout], repeated per hidden width, then a Linear head.

    The layers live in ``self.layers`` (an ``nn.Sequential``), so parameters are named
    ``layers.0.weight``, ``layers.0.bias``, ...

    >>> MLP(MLPSpec(2, (3,), 1))
    MLP(
      (layers): Sequential(
        (0): Linear(in_features=2, out_features=3, bias=True)
        (1): ReLU()
        (2): Linear(in_features=3, out_features=1, bias=True)
      )
    )
    """

    def __init__(self, spec: MLPSpec) -> None:
        super().__init__()
        if not isinstance(spec, MLPSpec):
            raise TypeError(f"MLP: expected an MLPSpec, got {type(spec).__name__}")
        self.spec = spec
        layers: list[nn.Module] = []
        width = spec.in_features
        for hidden in spec.hidden:
            layers.append(nn.Linear(width, hidden))
            if spec.batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(_activation(spec))
            if spec.dropout > 0:
                layers.append(nn.Dropout(spec.dropout))
            width = hidden
        layers.append(nn.Linear(width, spec.out_features))
        self.layers = nn.Sequential(*layers)
        self._init_weights()

    def _init_weights(self) -> None:
        kind, std = _parse_init(self.spec.init)
        if kind == "default":
            return  # nn.Linear already drew PyTorch's default
        nonlinearity = "leaky_relu" if self.spec.activation == "leaky_relu" else "relu"
        for module in self.layers:
            if not isinstance(module, nn.Linear):
                continue
            if kind == "he":
                nn.init.kaiming_normal_(module.weight, a=self.spec.negative_slope if nonlinearity == "leaky_relu"
                                        else 0.0, nonlinearity=nonlinearity)
            elif kind == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:
                nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: Any) -> Any:
        return self.layers(x)


def build_mlp(spec: MLPSpec, seed: int | None = None) -> MLP:
    """Build ``MLP(spec)``, seeding chainrule's generator first when ``seed`` is given.

    >>> a, b = build_mlp(MLPSpec(2, (4,), 2), seed=1), build_mlp(MLPSpec(2, (4,), 2), seed=1)
    >>> bool((a.layers[0].weight.data == b.layers[0].weight.data).all())
    True
    """
    if seed is not None:
        manual_seed(seed)
    return MLP(spec)
