"""The labelled runs: one row per training run, built from chainrule's own MLP with fixed seeds.

A row says how the run is configured, which labels it was DESIGNED to show (``expect``) and which knob
was turned to break it (``cause``: init, learning rate, activation, depth, normalization, data,
regularization, train longer). The true labels are not taken from here: ``measure.label`` measures
them, and ``run.py`` reports any run whose measurement disagrees with ``expect``. ``expect`` was written
with the design, then extended once after the first measurements by consequences the design implies
(dead ReLUs after a learning-rate blow-up, bad_initialization in deep default-init sigmoid nets, ...);
the two runs whose measurement still differs from their design keep a ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from chainrule import nn, optim
from chainrule.data import Dataset, load_dataset, standardize, train_val_test_split
from chainrule.training.models import MLPSpec, build_mlp

CAUSES = ("init", "learning rate", "activation", "depth", "normalization", "data", "regularization",
          "train longer")


@dataclass(frozen=True)
class Case:
    name: str
    data: str
    hidden: tuple[int, ...]
    epochs: int
    expect: frozenset[str] = frozenset()  # the labels the run was designed to show (healthy: none)
    cause: tuple[str, ...] = ()  # what was broken, one or more of CAUSES
    activation: str = "relu"
    init: str = "default"  # MLPSpec.init: default (PyTorch's), he, xavier, normal:<std>
    norm: str = ""  # "", "batch" or "layer": after each hidden Linear
    dropout: float = 0.0
    bias: float | None = None  # a constant for every hidden Linear's bias after init
    optimizer: str = "adam"  # adam, sgd, sgdm (momentum 0.9), rmsprop
    lr: float = 1e-3
    batch_size: int = 32
    n_train: int | None = None  # the first n training samples only
    label_noise: float = 0.0  # this fraction of training labels redrawn at random
    scale: str = ""  # "": standardized inputs; "raw": the data set's own units; "x1000", "spread", "x0.001"
    fast: bool = False  # in the test's fast subset
    note: str = ""


def case(name: str, data: str, hidden: tuple[int, ...], epochs: int, expect: str = "", cause: str = "",
         **options: object) -> Case:
    """A Case with ``expect`` and ``cause`` as space-separated words (cause words use '_' for ' ')."""
    causes = tuple(c.replace("_", " ") for c in cause.split())
    if not set(causes) <= set(CAUSES):
        raise ValueError(f"{name}: cause must be among {CAUSES}, got {causes}")
    return Case(name, data, hidden, epochs, frozenset(expect.split()), causes, **options)  # type: ignore[arg-type]


CASES: list[Case] = [
    # ---------------------------------------------------------------- healthy controls (no label)
    case("h-digits-relu-adam", "digits", (64, 64), 8, fast=True),
    case("h-digits-he-sgdm", "digits", (128, 64), 8, init="he", optimizer="sgdm", lr=0.01),
    case("h-digits-gelu-xavier", "digits", (64, 64), 8, activation="gelu", init="xavier"),
    case("h-digits-tanh-xavier-sgdm", "digits", (64,), 8, activation="tanh", init="xavier", optimizer="sgdm",
         lr=0.01),
    case("h-digits-deep-he", "digits", (64,) * 6, 8, init="he", lr=5e-4),
    case("h-digits-deep-bn-sgdm", "digits", (64,) * 6, 8, norm="batch", optimizer="sgdm", lr=0.01),
    case("h-digits-layernorm", "digits", (64, 64, 64), 8, norm="layer"),
    case("h-digits-wide", "digits", (512,), 6),
    case("h-digits-noisy-dropout", "digits", (64, 64), 8, label_noise=0.2, dropout=0.2),
    case("h-mnist1d-relu-adam", "mnist1d", (128, 128), 15),
    case("h-mnist1d-gelu-ln", "mnist1d", (128, 128), 10, activation="gelu", norm="layer", lr=0.003),
    case("h-iris-narrow-tanh", "iris", (8,), 60, activation="tanh", lr=0.01, batch_size=16),
    case("h-wine-sgdm", "wine", (32,), 40, optimizer="sgdm", lr=0.01, batch_size=16, fast=True),
    case("h-cancer-relu-he", "breast_cancer", (32, 16), 15, init="he"),
    case("h-circle-tanh", "circle", (8, 8), 60, activation="tanh", lr=0.01, batch_size=10),
    case("h-xor-relu-he", "xor", (16, 16), 60, init="he", lr=0.01, batch_size=10),
    case("h-gauss-noisy-narrow", "gauss", (8,), 40, lr=0.01, label_noise=0.2, batch_size=10,
         note="2 of 8 units dead: below the label's 50%"),
    case("h-spiral-deep-he", "spiral", (32, 32, 32), 120, init="he", lr=0.003, batch_size=10),
    case("h-moons-relu-sgdm", "moons", (16, 16), 40, optimizer="sgdm", lr=0.05),
    case("h-classif-gelu-bn", "classification", (64, 64), 15, activation="gelu", norm="batch"),
    case("h-xor-sigmoid-slow-start", "xor", (8, 8), 100, activation="sigmoid", init="xavier", optimizer="sgdm",
         lr=0.02, batch_size=10, note="loss stays at chance for ~5 epochs, then learns"),
    # ---------------------------------------------------------------- non-finite values (with their build-up)
    case("nf-digits-sgd-lr10", "digits", (64, 64), 3, "non_finite exploding_gradients learning_rate_too_high",
         "learning_rate", optimizer="sgd", lr=10.0, fast=True),
    case("nf-digits-deep-sgd-lr1", "digits", (64,) * 4, 3, "non_finite exploding_gradients "
         "learning_rate_too_high", "learning_rate", init="he", optimizer="sgd", lr=1.0),
    case("nf-mnist1d-deep-leaky-sgdm", "mnist1d", (64,) * 5, 3, "non_finite exploding_gradients "
         "learning_rate_too_high", "learning_rate", activation="leaky_relu", init="he", optimizer="sgdm", lr=0.5,
         n_train=1000),
    case("nf-wine-raw-leaky-sgd", "wine", (32,), 10, "non_finite exploding_gradients learning_rate_too_high "
         "unscaled_inputs", "data", activation="leaky_relu", scale="raw", optimizer="sgd", lr=0.1, batch_size=16),
    case("nf-cancer-raw-leaky-sgdm", "breast_cancer", (32, 32), 10, "non_finite exploding_gradients "
         "learning_rate_too_high unscaled_inputs", "data", activation="leaky_relu", scale="raw", optimizer="sgdm",
         lr=0.01),
    case("nf-moons-leaky-sgdm-lr", "moons", (32, 32), 20, "non_finite exploding_gradients "
         "learning_rate_too_high", "learning_rate", activation="leaky_relu", optimizer="sgdm", lr=2.0),
    # ---------------------------------------------------------------- exploding gradients without a NaN
    case("ex-classif-rmsprop-lr1", "classification", (64, 64), 5, "exploding_gradients learning_rate_too_high",
         "learning_rate", optimizer="rmsprop", lr=1.0, fast=True),
    case("ex-classif-leaky-rmsprop-lr1", "classification", (64, 64), 5, "exploding_gradients "
         "learning_rate_too_high", "learning_rate", activation="leaky_relu", optimizer="rmsprop", lr=1.0),
    case("ex-wine-rmsprop-lr", "wine", (32, 32), 20, "exploding_gradients learning_rate_too_high",
         "learning_rate", optimizer="rmsprop", lr=0.3, batch_size=16),
    case("ex-iris-sgdm-lr", "iris", (16,), 40, "exploding_gradients learning_rate_too_high", "learning_rate",
         optimizer="sgdm", lr=3.0, batch_size=16),
    # ---------------------------------------------------------------- vanishing gradients
    case("van-digits-deep-sigmoid-sgd", "digits", (32,) * 8, 3, "vanishing_gradients bad_initialization",
         "activation", activation="sigmoid", optimizer="sgd", lr=0.1, n_train=640),
    case("van-cancer-deep-sigmoid-adam", "breast_cancer", (32,) * 8, 10, "vanishing_gradients "
         "bad_initialization", "activation", activation="sigmoid"),
    case("van-iris-deep-sigmoid-sgdm", "iris", (16,) * 6, 40, "vanishing_gradients bad_initialization",
         "activation", activation="sigmoid", optimizer="sgdm", lr=0.01, batch_size=16),
    case("van-classif-deep-relu-default-sgd", "classification", (32,) * 10, 5, "vanishing_gradients "
         "bad_initialization dead_relu", "init depth", optimizer="sgd", lr=0.05, fast=True),
    case("van-mnist1d-deep-tanh-small-init", "mnist1d", (64,) * 6, 3, "vanishing_gradients bad_initialization",
         "init", activation="tanh", init="normal:0.03", optimizer="sgdm", lr=0.01, n_train=1000,
         note="designed as vanishing; the forward signal shrinks as fast as the backward one"),
    case("van-digits-sigmoid-saturated-bias", "digits", (64, 64), 5, "saturation vanishing_gradients "
         "bad_initialization", "init", activation="sigmoid", bias=8.0, optimizer="sgd", lr=0.05, fast=True),
    # ---------------------------------------------------------------- dead ReLUs
    case("dead-digits-adam-lr0.3", "digits", (64, 64), 4, "dead_relu learning_rate_too_high exploding_gradients",
         "learning_rate", lr=0.3, fast=True),
    case("dead-mnist1d-negative-bias", "mnist1d", (64, 64), 4, "dead_relu bad_initialization", "init", bias=-3.0,
         n_train=1000),
    case("dead-classif-sgd-lr3", "classification", (64, 64), 6, "dead_relu learning_rate_too_high",
         "learning_rate", optimizer="sgd", lr=3.0),
    case("dead-xor-deep-narrow", "xor", (3,) * 8, 40, "dead_relu bad_initialization", "depth init", init="he",
         lr=0.01, batch_size=10, note="born dead: Lu et al. 2019"),
    case("dead-moons-sgdm-lr2", "moons", (32, 32), 20, "dead_relu learning_rate_too_high", "learning_rate",
         optimizer="sgdm", lr=2.0),
    case("dead-cancer-raw-adam", "breast_cancer", (32, 32), 10, "dead_relu unscaled_inputs", "data", scale="raw"),
    # ---------------------------------------------------------------- saturation
    case("sat-digits-tanh-large-init", "digits", (64, 64), 3, "saturation bad_initialization", "init",
         activation="tanh", init="normal:3.0", n_train=640,
         note="designed as bad init too; the scale is uniformly too large, not changing with depth"),
    case("sat-cancer-raw-sigmoid", "breast_cancer", (32,), 10, "saturation unscaled_inputs", "data",
         activation="sigmoid", scale="raw"),
    case("sat-moons-x1000-tanh", "moons", (16, 16), 10, "saturation unscaled_inputs", "data", activation="tanh",
         scale="x1000"),
    case("sat-cancer-raw-tanh-sgdm", "breast_cancer", (32, 32), 10, "saturation vanishing_gradients "
         "unscaled_inputs", "data", activation="tanh", scale="raw", optimizer="sgdm", lr=0.01),
    case("sat-mnist1d-tanh-sgd-lr5", "mnist1d", (128, 128), 4, "saturation learning_rate_too_high "
         "exploding_gradients", "learning_rate", activation="tanh", optimizer="sgd", lr=5.0, n_train=1000),
    # ---------------------------------------------------------------- overfitting
    case("of-digits-small-noisy", "digits", (256, 256), 30, "overfitting", "regularization data", n_train=200,
         label_noise=0.2, fast=True),
    case("of-cancer-small", "breast_cancer", (256, 256), 60, "overfitting", "regularization data", n_train=40),
    case("of-mnist1d-small", "mnist1d", (256, 256), 40, "overfitting", "regularization data", n_train=400),
    case("of-wine-noisy", "wine", (256, 256), 60, "overfitting", "regularization data", label_noise=0.3,
         batch_size=16),
    case("of-classif-small-noisy", "classification", (256, 256), 60, "overfitting", "regularization data",
         n_train=150, label_noise=0.2),
    # ---------------------------------------------------------------- learning rate too high
    case("lrh-digits-adam-lr1", "digits", (64, 64), 4, "learning_rate_too_high exploding_gradients dead_relu",
         "learning_rate", lr=1.0),
    case("lrh-mnist1d-sgd-lr2", "mnist1d", (64, 64), 4, "learning_rate_too_high dead_relu", "learning_rate",
         optimizer="sgd", lr=2.0, n_train=1000),
    case("lrh-circle-rmsprop-lr", "circle", (16, 16), 20, "learning_rate_too_high exploding_gradients dead_relu",
         "learning_rate", optimizer="rmsprop", lr=0.5, batch_size=10),
    case("lrh-digits-tanh-sgdm-lr", "digits", (64, 64), 6, "learning_rate_too_high saturation", "learning_rate",
         activation="tanh", optimizer="sgdm", lr=1.0),
    case("lrh-wine-gelu-adam-lr", "wine", (64, 64), 20, "learning_rate_too_high exploding_gradients", "learning_rate",
         activation="gelu", lr=0.1, batch_size=16),
    # ---------------------------------------------------------------- learning rate too low
    case("lrl-digits-sgd-1e-5", "digits", (64, 64), 3, "learning_rate_too_low", "learning_rate", optimizer="sgd",
         lr=1e-5, n_train=640, fast=True),
    case("lrl-mnist1d-adam-1e-6", "mnist1d", (128, 128), 3, "learning_rate_too_low", "learning_rate", lr=1e-6,
         n_train=1000),
    case("lrl-wine-sgdm-1e-5", "wine", (32,), 20, "learning_rate_too_low", "learning_rate", optimizer="sgdm",
         lr=1e-5, batch_size=16),
    case("lrl-moons-rmsprop-1e-6", "moons", (16, 16), 10, "learning_rate_too_low", "learning_rate",
         optimizer="rmsprop", lr=1e-6),
    case("lrl-iris-tanh-sgd-1e-4", "iris", (16,), 20, "learning_rate_too_low", "learning_rate", activation="tanh",
         optimizer="sgd", lr=1e-4, batch_size=16),
    # ---------------------------------------------------------------- bad initialization (scale by depth at step 0)
    case("bi-digits-deep-default-relu", "digits", (32,) * 8, 3, "bad_initialization dead_relu", "init",
         optimizer="sgdm", lr=0.01),
    case("bi-mnist1d-deep-growing", "mnist1d", (64,) * 5, 3, "bad_initialization", "init", init="normal:1.0",
         n_train=1000, fast=True),
    case("bi-classif-deep-tanh-small", "classification", (64,) * 6, 5, "bad_initialization learning_rate_too_low",
         "init", activation="tanh", init="normal:0.02", optimizer="sgdm", lr=0.01),
    case("bi-cancer-deep-xavier-relu", "breast_cancer", (32,) * 14, 10, "bad_initialization", "init",
         init="xavier"),
    # ---------------------------------------------------------------- not converged (stopped while still learning)
    case("nc-mnist1d-short", "mnist1d", (128, 128), 4, "not_converged", "train_longer", lr=3e-4, batch_size=16,
         fast=True),
    case("nc-digits-sgd-short", "digits", (64, 64), 4, "not_converged", "train_longer", optimizer="sgd", lr=0.01,
         batch_size=16),
    case("nc-circle-tanh-short", "circle", (8, 8), 8, "not_converged", "train_longer", activation="tanh",
         lr=0.003, batch_size=10),
    case("nc-classif-sgdm-short", "classification", (64, 64), 3, "not_converged", "train_longer",
         optimizer="sgdm", lr=0.003, batch_size=16),
    # ---------------------------------------------------------------- unscaled inputs
    case("ui-wine-raw-adam", "wine", (32,), 30, "unscaled_inputs", "data", scale="raw", batch_size=16),
    case("ui-digits-raw", "digits", (64, 64), 5, "unscaled_inputs", "data", scale="raw"),
    case("ui-moons-tiny-inputs", "moons", (16, 16), 10, "unscaled_inputs dead_relu", "data", scale="x0.001",
         fast=True),
    case("ui-classif-spread", "classification", (64, 64), 10, "unscaled_inputs overfitting", "data",
         scale="spread"),
    case("ui-iris-x100-sgdm", "iris", (16,), 20, "unscaled_inputs", "data", scale="x100", optimizer="sgdm",
         lr=0.001, batch_size=16),
]


# ------------------------------------------------------------------------------------------------ data
def _sklearn_generated(name: str, standardized: bool):
    from sklearn import datasets

    if name == "moons":
        X, y = datasets.make_moons(n_samples=600, noise=0.2, random_state=0)
    else:
        X, y = datasets.make_classification(n_samples=1000, n_features=20, n_informative=8, n_redundant=4,
                                            n_classes=3, random_state=0)
    splits = train_val_test_split(Dataset(X.astype(np.float32), y.astype(np.int64), name=name), val=0.2,
                                  test=0.0, seed=0)
    return standardize(splits) if standardized else splits


@cache
def splits(name: str, standardized: bool = True):
    """The data set's (train, val) Datasets, standardized on the training set unless asked not to be."""
    if name in ("moons", "classification"):
        s = _sklearn_generated(name, standardized)
    elif name in ("circle", "xor", "gauss", "spiral"):
        s = load_dataset(name, n_samples=600, noise=10 if name != "spiral" else 5, standardize=standardized)
    elif name == "mnist1d":
        s = load_dataset("mnist1d", standardize=standardized)
    else:
        s = load_dataset(name, standardize=standardized)
    return s.train, s.val


def data(c: Case) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """((X, y) train, (X, y) validation, number of classes) for a case, from fixed seeds."""
    train, val = splits(c.data, c.scale != "raw")
    X, y, Xv, yv = train.X.copy(), train.y.copy(), val.X.copy(), val.y.copy()
    if c.n_train is not None:
        X, y = X[: c.n_train], y[: c.n_train]
    classes = int(max(train.y.max(), val.y.max())) + 1
    if c.label_noise:
        rng = np.random.default_rng(1)
        flip = rng.random(len(y)) < c.label_noise
        y[flip] = rng.integers(0, classes, int(flip.sum()))
    if c.scale.startswith("x"):
        factor = np.float32(float(c.scale[1:]))
        X, Xv = X * factor, Xv * factor
    elif c.scale == "spread":  # feature j multiplied by 10^(-2 ... +3)
        factors = (10.0 ** np.linspace(-2, 3, X.shape[1])).astype(np.float32)
        X, Xv = X * factors, Xv * factors
    return (X, y), (Xv, yv), classes


# ------------------------------------------------------------------------------------------------ model
def model(c: Case, in_features: int, classes: int, seed: int = 0) -> nn.Module:
    """chainrule's MLP for the case (LayerNorm spliced in after each hidden Linear when asked)."""
    spec = MLPSpec(in_features, c.hidden, classes, activation=c.activation, batch_norm=c.norm == "batch",
                   dropout=c.dropout, init=c.init)
    net = build_mlp(spec, seed=seed)
    hidden = [m for m in net.layers if isinstance(m, nn.Linear)][:-1]
    if c.bias is not None:
        for m in hidden:
            m.bias.data.fill_(c.bias)
    if c.norm == "layer":
        layers = []
        for m in net.layers:
            layers.append(m)
            if any(m is h for h in hidden):
                layers.append(nn.LayerNorm(m.out_features))
        net.layers = nn.Sequential(*layers)
    return net


def optimizer(c: Case, net: nn.Module):
    """The case's optimizer; fit builds the named ones, SGD with momentum 0.9 is built here."""
    if c.optimizer == "sgdm":
        return optim.SGD(net.parameters(), lr=c.lr, momentum=0.9), None
    return c.optimizer, c.lr
