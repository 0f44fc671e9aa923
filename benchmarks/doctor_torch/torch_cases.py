"""The labelled runs in PyTorch: the MLP runs of benchmarks/doctor/cases.py as torch models, plus conv,
recurrent and transformer runs.

The MLP rows are chainrule's own benchmark rows (``cases.CASES``), reused as they are: the same data, sizes,
inits, optimizers and learning rates, built here with ``torch.nn`` and ``torch.optim``. The architecture rows
(``NET_CASES``) carry the same fields plus ``arch``; their true labels are measured (torch_measure.py), never
read from ``expect``, exactly as for the MLP rows. As there, ``expect`` was extended once after the first
measurements by what the design implies (bad_initialization in deep default-init sigmoid nets).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doctor"))

import cases as mlp_cases  # benchmarks/doctor/cases.py: the MLP rows, the data (its name, not this file's)

CASES = mlp_cases.CASES
data = mlp_cases.data


@dataclass(frozen=True)
class NetCase:
    """A conv, recurrent or transformer run. The field names the data loader reads (``data``, ``scale``,
    ``n_train``, ``label_noise``) are the MLP Case's, so ``cases.data`` serves both."""

    name: str
    data: str
    arch: str  # cnn, rnn, lstm, gru, transformer
    epochs: int
    expect: frozenset[str] = frozenset()
    cause: tuple[str, ...] = ()
    activation: str = "relu"
    depth: int = 2  # conv layers (cnn)
    channels: int = 8
    width: int = 64  # recurrent width; the transformer's model width
    norm: str = ""  # "batch": BatchNorm2d after each conv
    bias: float | None = None  # a constant for every conv's bias after init
    forget_bias: float | None = None  # LSTM: the forget gate's total bias (b_ih + b_hh) after init
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 32
    n_train: int | None = None
    label_noise: float = 0.0
    scale: str = ""
    note: str = ""

    @property
    def hidden(self) -> tuple[int, ...]:
        """One entry per conv layer (per recurrent/encoder layer): what a remedy's ``hidden`` change is read
        against (fewer entries: a depth change)."""
        return (self.channels,) * self.depth if self.arch.startswith("cnn") else (self.width,)


def net_case(name: str, data: str, arch: str, epochs: int, expect: str = "", cause: str = "",
             **options: Any) -> NetCase:
    causes = tuple(c.replace("_", " ") for c in cause.split())
    if not set(causes) <= set(mlp_cases.CAUSES):
        raise ValueError(f"{name}: cause must be among {mlp_cases.CAUSES}, got {causes}")
    return NetCase(name, data, arch, epochs, frozenset(expect.split()), causes, **options)


NET_CASES: list[NetCase] = [
    # ---------------------------------------------------------------- convolutional (digits as 1x8x8 images)
    net_case("cnn-h-digits-relu-adam", "digits", "cnn", 8),
    net_case("cnn-h-digits-bn-sgdm", "digits", "cnn", 8, depth=3, norm="batch", optimizer="sgdm", lr=0.01),
    net_case("cnn-h-digits-tanh-adam", "digits", "cnn", 8, activation="tanh", channels=16),
    net_case("cnn-h-mnist1d-conv1d", "mnist1d", "cnn1d", 15, channels=16, lr=3e-3),
    net_case("cnn-van-digits-deep-sigmoid", "digits", "cnn", 4, "vanishing_gradients bad_initialization",
             "activation depth", activation="sigmoid", depth=8, optimizer="sgd", lr=0.1),
    net_case("cnn-van-mnist1d-deep-sigmoid", "mnist1d", "cnn1d", 3, "vanishing_gradients bad_initialization",
             "activation depth", activation="sigmoid", depth=8, optimizer="sgdm", lr=0.01, n_train=1000),
    net_case("cnn-dead-digits-negative-bias", "digits", "cnn", 4, "dead_relu bad_initialization", "init",
             bias=-3.0),
    net_case("cnn-dead-mnist1d-negative-bias", "mnist1d", "cnn1d", 3, "dead_relu bad_initialization", "init",
             bias=-2.0, channels=16, n_train=1000),
    net_case("cnn-nf-digits-sgd-lr", "digits", "cnn", 3, "non_finite exploding_gradients learning_rate_too_high",
             "learning_rate", depth=3, optimizer="sgd", lr=5.0),
    # ---------------------------------------------------------------- recurrent (mnist1d: 40 steps of 1 feature)
    # the vanilla RNN and the LSTM (forget-gate bias 2: Gers, Schmidhuber & Cummins 2000; Jozefowicz et al. 2015)
    # on the same data, width, rate and epochs
    net_case("rnn-van-mnist1d-vanilla", "mnist1d", "rnn", 6, "vanishing_gradients", "activation", n_train=2000,
             lr=0.01, note="a tanh RNN over 40 steps: stays at chance"),
    net_case("rnn-h-mnist1d-lstm", "mnist1d", "lstm", 6, n_train=2000, lr=0.01, forget_bias=2.0),
    net_case("rnn-nc-mnist1d-gru-short", "mnist1d", "gru", 6, "not_converged", "train_longer", n_train=2000, lr=0.01),
    net_case("rnn-h-digits-rows-rnn", "digits", "rnn_rows", 8, lr=3e-3, note="8 steps of 8 pixels: short"),
    # ---------------------------------------------------------------- transformer (digits: 8 rows as 8 tokens)
    net_case("tf-h-digits-adam", "digits", "transformer", 14, width=32, lr=3e-3),
    net_case("tf-h-digits-sgdm", "digits", "transformer", 16, width=32, optimizer="sgdm", lr=0.03),
    net_case("tf-nf-digits-sgd-lr", "digits", "transformer", 3, "non_finite exploding_gradients "
             "learning_rate_too_high", "learning_rate", width=32, optimizer="sgd", lr=20.0),
    net_case("tf-lrh-digits-adam-lr", "digits", "transformer", 6, "learning_rate_too_high", "learning_rate",
             width=32, lr=0.3),
]

# The fast subset (the CI test's; ``torch_run.py --subset fast``): every kind but through-time vanishing (the
# doctor does not measure it on torch models yet), healthy MLP, CNN and transformer controls, a few seconds each.
# benchmarks/doctor's own ``fast`` flags are not used: they were chosen by chainrule's measurements.
FAST = ("h-wine-sgdm", "h-digits-relu-adam", "nf-digits-deep-sgd-lr1", "dead-digits-adam-lr0.3",
        "van-digits-sigmoid-saturated-bias", "of-digits-small-noisy", "lrl-digits-sgd-1e-5", "nc-digits-sgd-short",
        "ui-moons-tiny-inputs", "cnn-h-digits-relu-adam", "cnn-van-digits-deep-sigmoid",
        "cnn-dead-digits-negative-bias", "tf-nf-digits-sgd-lr")


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "leaky_relu": lambda: nn.LeakyReLU(0.01)}


# ------------------------------------------------------------------------------------------------ models
class Net(nn.Module):
    """A model whose layers sit in one ``nn.Sequential`` named ``layers``: torch names them "layers.0",
    "layers.1", ... as chainrule's MLP does, so both benchmarks name the same layer the same way."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def mlp(c: mlp_cases.Case, in_features: int, classes: int) -> nn.Module:
    """The MLP of a benchmarks/doctor Case in torch: Linear, [BatchNorm1d|LayerNorm], activation, [Dropout] per
    hidden layer, then a Linear; the init of chainrule's MLPSpec (which follows torch.nn.init)."""
    layers: list[nn.Module] = []
    width = in_features
    for h in c.hidden:
        layers.append(nn.Linear(width, h))
        if c.norm:
            layers.append(nn.BatchNorm1d(h) if c.norm == "batch" else nn.LayerNorm(h))
        layers.append(ACTIVATIONS[c.activation]())
        if c.dropout:
            layers.append(nn.Dropout(c.dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    net = Net(*layers)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if c.init != "default":
        for m in linears:
            if c.init == "he":
                leaky = c.activation == "leaky_relu"
                nn.init.kaiming_normal_(m.weight, a=0.01 if leaky else 0.0,
                                        nonlinearity="leaky_relu" if leaky else "relu")
            elif c.init == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.normal_(m.weight, 0.0, float(c.init.partition(":")[2]))
            nn.init.zeros_(m.bias)
    if c.bias is not None:
        for m in linears[:-1]:
            nn.init.constant_(m.bias, c.bias)
    return net


class Sequence(nn.Module):
    """A recurrent classifier: the recurrent layer over the steps, a Linear on the last step's output."""

    def __init__(self, cell: nn.RNNBase, classes: int) -> None:
        super().__init__()
        self.rnn = cell
        self.head = nn.Linear(cell.hidden_size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class Tokens(nn.Module):
    """A transformer classifier: a Linear embedding per token, learned positions, one encoder layer, the
    tokens' mean into a Linear head."""

    def __init__(self, tokens: int, features: int, width: int, classes: int) -> None:
        super().__init__()
        self.embed = nn.Linear(features, width)
        self.position = nn.Parameter(torch.zeros(tokens, width))
        self.encoder = nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=2 * width, dropout=0.0,
                                                  batch_first=True)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x) + self.position).mean(dim=1))


def shape_of(c: NetCase, features: int) -> tuple[int, ...]:
    """How a case's flat samples are shaped for its model (digits: 8x8 pixels; mnist1d: 40 points)."""
    if c.arch == "cnn":
        side = math.isqrt(features)
        return (1, side, side)
    if c.arch == "cnn1d":
        return (1, features)
    if c.arch in ("rnn", "lstm", "gru"):
        return (features, 1)  # one value per step
    return (8, features // 8)  # rows as steps (rnn_rows) or as tokens (transformer)


def net(c: NetCase, features: int, classes: int) -> nn.Module:
    """The torch model of an architecture case (call after ``torch.manual_seed``)."""
    act = ACTIVATIONS[c.activation]
    if c.arch in ("cnn", "cnn1d"):
        conv, norm, pool = ((nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d) if c.arch == "cnn"
                            else (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d))
        shape = shape_of(c, features)
        layers: list[nn.Module] = []
        width = 1
        for i in range(c.depth):
            layers.append(conv(width, c.channels, 3, padding=1))
            if c.norm:
                layers.append(norm(c.channels))
            layers.append(act())
            if i == 0:
                layers.append(pool(2))  # one pooling: 8x8 -> 4x4, 40 -> 20
            width = c.channels
        spatial = math.prod(s // 2 for s in shape[1:])
        model: nn.Module = Net(nn.Unflatten(1, shape), *layers, nn.Flatten(), nn.Linear(width * spatial, classes))
        if c.bias is not None:
            for m in model.modules():
                if isinstance(m, conv):
                    nn.init.constant_(m.bias, c.bias)
        return model
    if c.arch == "transformer":
        tokens, per_token = shape_of(c, features)
        return Tokens(tokens, per_token, c.width, classes)
    _, per_step = shape_of(c, features)
    cells = {"rnn": nn.RNN, "rnn_rows": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    model = Sequence(cells[c.arch](per_step, c.width, batch_first=True), classes)
    if c.forget_bias is not None:  # gates are ordered (input, forget, cell, output); two biases add up
        for name, p in model.rnn.named_parameters():
            if name.startswith("bias"):
                with torch.no_grad():
                    p[c.width:2 * c.width].fill_(c.forget_bias / 2)
    return model


def build(c: Any, features: int, classes: int, seed: int = 0) -> nn.Module:
    """The case's torch model, from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return net(c, features, classes) if isinstance(c, NetCase) else mlp(c, features, classes)


def inputs(c: Any, X: Any) -> torch.Tensor:
    """A case's samples as the tensor its model takes (sequences: (batch, steps, features))."""
    x = torch.as_tensor(X)
    if isinstance(c, NetCase) and c.arch not in ("cnn", "cnn1d"):
        return x.reshape(len(x), *shape_of(c, x.shape[1]))
    return x


def optimizer(c: Any, model: nn.Module) -> torch.optim.Optimizer:
    params = model.parameters()
    if c.optimizer == "adam":
        return torch.optim.Adam(params, lr=c.lr)
    if c.optimizer == "sgd":
        return torch.optim.SGD(params, lr=c.lr)
    if c.optimizer == "sgdm":
        return torch.optim.SGD(params, lr=c.lr, momentum=0.9)
    if c.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=c.lr)
    raise ValueError(f"{c.name}: optimizer must be adam, sgd, sgdm or rmsprop, got {c.optimizer!r}")


def recurrent(c: Any) -> bool:
    return isinstance(c, NetCase) and c.arch in ("rnn", "lstm", "gru", "rnn_rows")
