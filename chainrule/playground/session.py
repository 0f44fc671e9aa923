"""One learner's run in the playground: its configuration, data, network, optimizer, doctor, and frames.

Nothing here knows about the web: the server (server.py) feeds a Session the page's messages and sends
its frames back. A frame is what the page draws after a burst of training steps: the decision boundary
as a small byte grid, each unit's output as a smaller one, the weights and their gradients, per-layer
gradient RMS, dead units, the losses and the doctor's findings.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from chainrule import nn, optim
from chainrule.data.playground import GENERATORS, make_playground
from chainrule.doctor import Doctor, Finding
from chainrule.engine.autograd import no_grad
from chainrule.engine.random import manual_seed
from chainrule.engine.tensor import Tensor

# The TensorFlow Playground's inputs, computed from the point (x1, x2).
FEATURES = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1sq": lambda p: p[:, 0] ** 2,
    "x2sq": lambda p: p[:, 1] ** 2,
    "x1x2": lambda p: p[:, 0] * p[:, 1],
    "sinx1": lambda p: np.sin(p[:, 0]),
    "sinx2": lambda p: np.sin(p[:, 1]),
}
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity,
               "leaky_relu": nn.LeakyReLU}
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
INITS = ("default", "he", "xavier")


# More data sets than the Playground's four (its users asked for them); points in [-6, 6]², labels 0/1, and
# as in the Playground the label comes from the point moved by the noise while the clean point is kept.
def _sine(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-5, 5, (n, 2))
    noisy = points + rng.uniform(-5, 5, (n, 2)) * noise
    return points, noisy[:, 1] > 3 * np.sin(noisy[:, 0])


def _checkerboard(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-5, 5, (n, 2))
    noisy = points + rng.uniform(-5, 5, (n, 2)) * noise
    return points, (np.floor(noisy[:, 0] / 2.5) + np.floor(noisy[:, 1] / 2.5)) % 2 == 0


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn's two moons (radius 1, centres (0, 0) and (1, 0.5)), scaled by 3 and centred
    angle = rng.uniform(0, np.pi, n)
    upper = np.arange(n) < n // 2
    clean = np.where(upper[:, None], np.stack([np.cos(angle), np.sin(angle)], axis=1),
                     np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1))
    points = (clean - [0.5, 0.25]) * 3 + rng.normal(0, 1, (n, 2)) * noise * 2
    return points, upper


MORE_GENERATORS = {"sine": _sine, "checkerboard": _checkerboard, "moons": _moons}


# The Playground's two regression sets (dataset.ts): targets in [-1, 1], points uniform in [-6, 6]².
def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6, 6, (n, 2))
    noisy = points + rng.uniform(-6, 6, (n, 2)) * noise
    return points, np.clip((noisy[:, 0] + noisy[:, 1]) / 10, -1, 1)  # x1 + x2 from [-10, 10] to [-1, 1]


GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _multigauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6, 6, (n, 2))
    noisy = points + rng.uniform(-6, 6, (n, 2)) * noise
    # each centre's sign times a bump that falls from 1 at the centre to 0 at distance 2; the largest wins
    bumps = np.stack([sign * np.clip(1 - np.hypot(noisy[:, 0] - cx, noisy[:, 1] - cy) / 2, 0, 1)
                      for cx, cy, sign in GAUSSIANS], axis=1)
    return points, bumps[np.arange(n), np.abs(bumps).argmax(axis=1)]


REGRESSION_GENERATORS = {"plane": _plane, "multigauss": _multigauss}
DATASETS = (*GENERATORS, *MORE_GENERATORS, *REGRESSION_GENERATORS, "upload")
PROBLEMS = ("classification", "regression")
MAX_LAYERS, MAX_UNITS = 6, 8
N_POINTS = 500
DOMAIN = 6.0  # the heat map covers [-6, 6]², as the Playground's
GRID, UNIT_GRID = 40, 20  # a unit's map takes every other point of the boundary's
# Upload limits: a small CSV of 2-D points, read with chainrule train's own CSV rules.
MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS = 64 * 1024, 2000
# Points drawn with the mouse travel in the configuration (so in the link, ~15 characters a point); an
# uploaded CSV (up to 64 KB) does not: the page says so. The cap keeps a link shorter than ~3,000 characters.
MAX_DRAWN_POINTS = 200
# The doctor keeps every step's statistics (its reports need them): ~160 bytes a step. A tab left playing
# would grow without end, so the doctor watches a run's first DOCTOR_STEPS steps (~8 MB; the failures it
# names show within a few thousand) and then lets go; its findings stay on the page.
DOCTOR_STEPS = 50_000


@dataclasses.dataclass(frozen=True)
class PlaygroundConfig:
    """Everything the page can set; the page keeps it in its URL, so a link reproduces a run (same seed: same
    data, weights and batches).

    >>> PlaygroundConfig().hidden
    (4, 2)
    """

    dataset: str = "circle"
    problem: str = "classification"
    noise: int = 0
    train_ratio: int = 50
    batch_size: int = 10
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activations: tuple[str, ...] = ("tanh", "tanh")
    learning_rate: float = 0.03
    optimizer: str = "sgd"
    regularization: str = "none"
    regularization_rate: float = 0.0
    dropout: float = 0.0
    batch_norm: bool = False
    init: str = "default"
    residual: bool = False
    clip_grad_norm: float = 0.0
    seed: int = 0
    drawn: str = ""  # points drawn with the mouse, added to the data set: "x1,x2,label;x1,x2,label"

    # the doctor words some remedies from its model's spec (activation, init, batch_norm, dropout, hidden)
    @property
    def activation(self) -> str:
        return self.activations[0] if self.activations else "linear"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["features"], d["hidden"], d["activations"] = list(self.features), list(self.hidden), list(self.activations)
        return d

    def replace(self, **changes: Any) -> PlaygroundConfig:
        return config_from_dict({**self.to_dict(), **changes})


def _choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"playground: {field} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def _number(field: str, value: Any, low: float, high: float, kind: type = float) -> Any:
    try:
        number = kind(value) if kind is float else int(str(value))
    except (TypeError, ValueError):
        raise ValueError(
            f"playground: {field} must be a {kind.__name__} in [{low:g}, {high:g}]; got {value!r}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"playground: {field} must be in [{low:g}, {high:g}]; got {value!r}")
    return number


def _list(field: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    if not isinstance(value, list | tuple):
        raise ValueError(f"playground: {field} must be a list (or comma-separated text); got {value!r}")
    return list(value)


def _flag(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("1", "true", 1):
        return True
    if value in ("0", "false", 0):
        return False
    raise ValueError(f"playground: {field} must be true or false (1 or 0); got {value!r}")


def config_from_dict(data: Any) -> PlaygroundConfig:
    """A checked configuration from the page's fields (JSON values or URL text); missing fields keep defaults.

    ``activation`` (one name) sets every hidden layer's activation at once.

    Raises:
        ValueError: an unknown field, or a value out of range, naming the field, what it accepts and what it got.

    >>> config_from_dict({"hidden": "8,8", "activation": "relu"}).activations
    ('relu', 'relu')
    """
    if not isinstance(data, dict):
        raise ValueError(f"playground: the configuration must be an object; got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(PlaygroundConfig)}
    unknown = sorted(set(data) - names - {"activation"})
    if unknown:
        raise ValueError(f"playground: unknown field {unknown[0]!r}; the fields are {', '.join(sorted(names))}")
    d = {**PlaygroundConfig().to_dict(), **{k: v for k, v in data.items() if k != "activation"}}
    if d["problem"] == "regression" and "dataset" not in data:
        d["dataset"] = "plane"
    hidden = tuple(_number("hidden", h, 1, MAX_UNITS, int) for h in _list("hidden", d["hidden"]))
    if len(hidden) > MAX_LAYERS:
        raise ValueError(f"playground: at most {MAX_LAYERS} hidden layers; got {len(hidden)}")
    if "activation" in data:
        activations = [data["activation"]] * len(hidden)
    else:
        activations = _list("activations", d["activations"])
        activations = (activations + [activations[-1] if activations else "tanh"] * len(hidden))[:len(hidden)]
    features = tuple(_choice("features", f, tuple(FEATURES)) for f in _list("features", d["features"]))
    if not features:
        raise ValueError(f"playground: pick at least one input feature of {', '.join(FEATURES)}")
    problem, dataset = _choice("problem", d["problem"], PROBLEMS), _choice("dataset", d["dataset"], DATASETS)
    if (problem == "regression") != (dataset in REGRESSION_GENERATORS) and dataset != "upload":
        wanted = REGRESSION_GENERATORS if problem == "regression" else (*GENERATORS, *MORE_GENERATORS)
        raise ValueError(f"playground: {problem} uses the data sets {', '.join(wanted)}; got dataset {dataset!r}")
    return PlaygroundConfig(
        dataset=dataset, problem=problem,
        noise=_number("noise", d["noise"], 0, 50, int),
        train_ratio=_number("train_ratio", d["train_ratio"], 10, 90, int),
        batch_size=_number("batch_size", d["batch_size"], 1, 30, int),
        features=tuple(dict.fromkeys(features)),
        hidden=hidden,
        activations=tuple(_choice("activations", a, tuple(ACTIVATIONS)) for a in activations),
        learning_rate=_number("learning_rate", d["learning_rate"], 0, 10),
        optimizer=_choice("optimizer", d["optimizer"], OPTIMIZERS),
        regularization=_choice("regularization", d["regularization"], REGULARIZATIONS),
        regularization_rate=_number("regularization_rate", d["regularization_rate"], 0, 10),
        dropout=_number("dropout", d["dropout"], 0, 1),
        batch_norm=_flag("batch_norm", d["batch_norm"]),
        init=_choice("init", d["init"], INITS),
        residual=_flag("residual", d["residual"]),
        clip_grad_norm=_number("clip_grad_norm", d["clip_grad_norm"], 0, 1e6),
        seed=_number("seed", d["seed"], 0, 2**31 - 1, int),
        drawn=_drawn_text(_drawn_points(d["drawn"], problem)),
    )


def _drawn_points(value: Any, problem: str) -> np.ndarray:
    """Drawn points (rows x1, x2, label) from their text "x1,x2,label;...", checked for ``problem``."""
    if not isinstance(value, str):
        raise ValueError(f"playground: drawn must be text \"x1,x2,label;x1,x2,label\"; got {value!r}")
    rows = [row for row in value.split(";") if row]
    if len(rows) > MAX_DRAWN_POINTS:
        raise ValueError(f"playground: drawn holds at most {MAX_DRAWN_POINTS} points; got {len(rows)}")
    low = -1 if problem == "regression" else 0
    points = np.zeros((len(rows), 3))
    for i, row in enumerate(rows):
        cells = row.split(",")
        if len(cells) != 3:
            raise ValueError(f"playground: drawn point {i + 1} must be x1,x2,label; got {row!r}")
        points[i] = [_number("drawn x1", cells[0], -DOMAIN, DOMAIN), _number("drawn x2", cells[1], -DOMAIN, DOMAIN),
                     _number("drawn label", cells[2], low, 1)]
        if problem == "classification" and points[i, 2] not in (0, 1):
            raise ValueError(f"playground: drawn label must be 0 or 1 for classification; got {cells[2]!r}")
    return points


def _drawn_text(points: np.ndarray) -> str:
    return ";".join(",".join(f"{v:g}" for v in row) for row in points)


def apply_remedy(config: PlaygroundConfig, change: dict[str, Any]) -> PlaygroundConfig | None:
    """The configuration with a doctor remedy's ``change`` applied; None when the playground cannot apply it.

    >>> apply_remedy(PlaygroundConfig(), {"activation": "relu", "init": "he"}).activations
    ('relu', 'relu')
    """
    fields: dict[str, Any] = {}
    for key, value in change.items():
        if key == "lr":
            fields["learning_rate"] = value
        elif key == "lr_factor":
            fields["learning_rate"] = config.learning_rate * value
        elif key == "activation":
            fields["activations"] = [value] * len(config.hidden)
        elif key in ("init", "batch_norm", "dropout", "optimizer", "clip_grad_norm"):
            fields[key] = value
        elif key == "hidden":
            fields["hidden"] = list(value)[:MAX_LAYERS]
            fields["activations"] = [config.activation] * len(fields["hidden"])
        else:
            return None  # e.g. early stopping or more data: nothing on the page to change
    if not fields:
        return None
    try:
        return config.replace(**fields)
    except ValueError:
        return None


def read_upload(text: str) -> np.ndarray:
    """Points from an uploaded CSV (x1, x2, label 0/1 per row), read with ``chainrule train``'s CSV rules.

    Raises:
        ValueError: too large, too many rows, not 2 numeric columns and a 0/1 label, or unreadable.
    """
    from chainrule.data.files import load_file

    if not isinstance(text, str):
        raise ValueError(f"upload: expected the CSV's text; got {type(text).__name__}")
    size = len(text.encode("utf-8"))
    if size > MAX_UPLOAD_BYTES:
        raise ValueError(f"upload: the CSV is {size:,} bytes; at most {MAX_UPLOAD_BYTES:,} are accepted")
    rows = text.count("\n") + 1
    if rows > MAX_UPLOAD_ROWS + 1:
        raise ValueError(f"upload: the CSV has {rows:,} lines; at most {MAX_UPLOAD_ROWS:,} points are accepted")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.csv"
        path.write_text(text, encoding="utf-8")
        try:
            data = load_file(path, task="classification")
        except ValueError as error:
            raise ValueError(str(error).replace(str(path), "the uploaded CSV").replace("load_file", "upload")) from None
    if data.X.shape[1] != 2:
        raise ValueError(f"upload: expected 2 feature columns (x1, x2) and a label; got {data.X.shape[1]} features")
    labels = np.asarray(data.y)
    if data.num_classes != 2:
        raise ValueError(f"upload: expected labels of 2 classes; got {data.num_classes}")
    if len(labels) < 4:
        raise ValueError(f"upload: expected at least 4 points; got {len(labels)}")
    points = np.asarray(data.X, dtype=np.float64)
    if not np.isfinite(points).all() or np.abs(points).max() > 1e6:
        raise ValueError("upload: the coordinates must be finite numbers (the page shows [-6, 6])")
    return np.column_stack([points, labels.astype(np.float64)])


def with_point(config: PlaygroundConfig, x1: Any, x2: Any, label: Any) -> PlaygroundConfig:
    """``config`` with one more point drawn with the mouse: a label 0/1 (classification) or a target in
    [-1, 1] (regression). The point joins the data set and the link.

    Raises:
        ValueError: a coordinate outside the drawing area [-6, 6], a label the problem does not take, or too many
        drawn points.

    >>> with_point(PlaygroundConfig(), 1.5, -2, 1).drawn
    '1.5,-2,1'
    """
    for name, value in (("x1", x1), ("x2", x2)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not -DOMAIN <= value <= DOMAIN:
            raise ValueError(f"add point: {name} must be a number in [-{DOMAIN:g}, {DOMAIN:g}]; got {value!r}")
    regression = config.problem == "regression"
    if isinstance(label, bool) or not isinstance(label, int | float) or (
            not -1 <= label <= 1 if regression else label not in (0, 1)):
        wanted = "a target in [-1, 1] (regression)" if regression else "0 or 1 (classification)"
        raise ValueError(f"add point: label must be {wanted}; got {label!r}")
    drawn = _drawn_points(config.drawn, config.problem)
    if len(drawn) >= MAX_DRAWN_POINTS:
        raise ValueError(f"add point: at most {MAX_DRAWN_POINTS} drawn points (they travel in the link); "
                         f"this run has {len(drawn)}")
    return config.replace(drawn=_drawn_text(np.vstack([drawn, [[float(x1), float(x2), float(label)]]])))


def features_of(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.stack([FEATURES[name](points) for name in names], axis=1).astype(np.float32)


class TabDropout(nn.Dropout):
    """``nn.Dropout`` whose masks come from one tab's generator: tabs train interleaved on one server, and a
    shared generator would make each tab's masks depend on what the others drew."""

    def __init__(self, p: float, generator: np.random.Generator) -> None:
        super().__init__(p)
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.drop(x, self.p, self.generator) if self.training and self.p > 0 else x


class PlaygroundNet(nn.Module):
    """Hidden blocks Linear → [BatchNorm1d] → activation → [Dropout], one output logit; optional residuals.

    A residual block adds its input to its output when both have the same width.
    """

    def __init__(self, config: PlaygroundConfig, dropout_generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.spec = config  # the doctor reads batch_norm, dropout, init, hidden from it to word its remedies
        blocks, width = [], len(config.features)
        for units, activation in zip(config.hidden, config.activations):
            layers: list[nn.Module] = [nn.Linear(width, units)]
            if config.batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(ACTIVATIONS[activation]())
            if config.dropout > 0:
                layers.append(TabDropout(config.dropout, dropout_generator or np.random.default_rng(config.seed + 2)))
            blocks.append(nn.Sequential(*layers))
            width = units
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, 1)
        self.residual = config.residual
        for linear in self.linears():
            if config.init == "he":
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
                nn.init.zeros_(linear.bias)
            elif config.init == "xavier":
                nn.init.xavier_uniform_(linear.weight)
                nn.init.zeros_(linear.bias)

    def linears(self) -> list[nn.Linear]:
        return [cast(nn.Linear, cast(nn.Sequential, block)[0]) for block in self.blocks] + [self.head]

    def hidden_outputs(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The output logit and every hidden block's output."""
        outputs = []
        for block in self.blocks:
            y = block(x)
            x = x + y if self.residual and x.shape == y.shape else y
            outputs.append(x)
        return self.head(x), outputs

    def forward(self, x: Tensor) -> Tensor:
        return self.hidden_outputs(x)[0]


def _rms(array: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(array, dtype=np.float64))))


def _bytes(values: np.ndarray) -> str:
    """Values in [0, 1] as a base64 byte grid (0..255): a 40×40 boundary is 1,600 bytes."""
    values = np.nan_to_num(values, nan=0.5)  # a diverged run shows grey, not noise
    return base64.b64encode(np.clip(np.round(values * 255), 0, 255).astype(np.uint8).tobytes()).decode("ascii")


class Session:
    """One run: ``train_steps`` trains, ``frame`` reports; ``reset`` starts again from the configuration's seed."""

    def __init__(self, config: PlaygroundConfig | None = None, uploaded: np.ndarray | None = None) -> None:
        self.uploaded = uploaded
        self.config: PlaygroundConfig = config or PlaygroundConfig()
        self.reset()

    # ------------------------------------------------------------------ set up
    def reset(self, config: PlaygroundConfig | None = None) -> None:
        """A fresh network, optimizer and doctor; the same seed gives the same data, weights, batches and
        dropout masks."""
        config = config or self.config
        if config.dataset == "upload" and self.uploaded is None:  # checked first: the run before stays whole
            raise ValueError("playground: dataset 'upload' needs a CSV uploaded first (an uploaded CSV is not "
                             "carried in the link: upload it again, or pick another data set)")
        self.config = config
        if config.dataset == "upload":
            assert self.uploaded is not None
            points, labels = self.uploaded[:, :2], self.uploaded[:, 2]
        elif config.dataset in MORE_GENERATORS or config.dataset in REGRESSION_GENERATORS:
            generate = {**MORE_GENERATORS, **REGRESSION_GENERATORS}[config.dataset]
            points, values = generate(N_POINTS, config.noise / 100, np.random.default_rng(config.seed))
            labels = values.astype(np.float64)
        else:
            data = make_playground(config.dataset, N_POINTS, config.noise, seed=config.seed)
            points, labels = np.asarray(data.X, dtype=np.float64), np.asarray(data.y, dtype=np.float64)
        drawn = _drawn_points(config.drawn, config.problem)
        points, labels = np.concatenate([points, drawn[:, :2]]), np.concatenate([labels, drawn[:, 2]])
        order = np.random.default_rng(config.seed).permutation(len(points))
        n_train = max(1, min(len(points) - 1, round(len(points) * config.train_ratio / 100)))
        self.points, self.labels = points[order], labels[order]
        self.n_train = n_train
        inputs = features_of(self.points, config.features)
        self.train_x, self.test_x = inputs[:n_train], inputs[n_train:]
        self.train_y = self.labels[:n_train, None].astype(np.float32)
        self.test_y = self.labels[n_train:, None].astype(np.float32)
        axis = np.linspace(-DOMAIN, DOMAIN, GRID)
        self.grid_points = np.stack(np.meshgrid(axis, -axis), axis=-1).reshape(-1, 2)  # row by row, top first
        self.grid_x = features_of(self.grid_points, config.features)
        manual_seed(config.seed)  # the weights: drawn now, before any other tab can draw
        # dropout draws while training, interleaved with other tabs: from this tab's own generator
        self.dropout_generator = np.random.default_rng(config.seed + 2)
        self.model = PlaygroundNet(config, self.dropout_generator)
        params = self.model.parameters()
        if config.optimizer == "adam":
            self.optimizer: optim.Optimizer = optim.Adam(params, lr=config.learning_rate)
        else:
            self.optimizer = optim.SGD(params, lr=config.learning_rate,
                                       momentum=0.9 if config.optimizer == "momentum" else 0.0)
        # regression: the Playground's ½(y − t)², the explainer's squared error; classification: cross-entropy
        self.regression = config.problem == "regression"
        self.loss_fn = (lambda y, t: 0.5 * nn.functional.mse_loss(y, t)) if self.regression else nn.BCEWithLogitsLoss()
        self.doctor = Doctor().watch(self.model, self.optimizer)
        self.batches = np.random.default_rng(config.seed + 1)
        self.step = 0
        self.last_loss = math.nan
        self.history: list[tuple[int, float, float]] = []  # (step, train loss, test loss) per frame, thinned
        self._steps_at_frame, self._time_at_frame = 0, time.perf_counter()
        self.steps_per_second = 0.0

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.config.batch_size)

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    # ------------------------------------------------------------------ train
    def _penalty(self) -> Tensor | None:
        cfg = self.config
        if cfg.regularization == "none" or cfg.regularization_rate == 0:
            return None
        weights = [linear.weight for linear in self.model.linears()]
        # the Playground's penalties: rate·Σ|w| (L1) or rate·½Σw² (L2), on the weights only
        terms = [w.abs().sum() if cfg.regularization == "l1" else 0.5 * (w * w).sum() for w in weights]
        return cfg.regularization_rate * sum(terms[1:], terms[0])

    def train_steps(self, count: int) -> None:
        """``count`` minibatch steps; the doctor checks each and judges every ``window_steps`` steps."""
        # a diverging run (the "explode it" preset) overflows: the doctor and the page report it, NumPy need not
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._train_steps(count)

    def _train_steps(self, count: int) -> None:
        cfg, model = self.config, self.model
        model.train()
        for _ in range(count):
            index = self.batches.integers(0, self.n_train, cfg.batch_size)
            self.optimizer.zero_grad()
            loss = self.loss_fn(model(Tensor._make(self.train_x[index])), Tensor._make(self.train_y[index]))
            penalty = self._penalty()
            total = loss + penalty if penalty is not None else loss
            total.backward()
            self.last_loss = loss.item()
            watching = self.step < DOCTOR_STEPS
            if watching:
                self.doctor.check(model, loss=self.last_loss)
            if cfg.clip_grad_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad_norm)
            self.optimizer.step()
            self.step += 1
            if watching and self.step % self.doctor.config.window_steps == 0:
                train_loss, test_loss = self.losses()
                self.doctor.end_epoch(train_loss=train_loss, val_loss=test_loss)
            if self.step == DOCTOR_STEPS:
                self.doctor.unwatch()

    def train_for(self, seconds: float) -> int:
        """Train in bursts until ``seconds`` have passed; the steps taken."""
        start, steps = time.perf_counter(), 0
        burst = 10
        while time.perf_counter() - start < seconds:
            self.train_steps(burst)
            steps += burst
        return steps

    # ------------------------------------------------------------------ report
    def _predict(self, inputs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        self.model.eval()
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # NaN weights: a diverged run
            logit, hidden = self.model.hidden_outputs(Tensor._make(inputs))
        self.model.train()
        return logit.numpy()[:, 0].astype(np.float64), [h.numpy().astype(np.float64) for h in hidden]

    def evaluate(self) -> tuple[float, float, list[list[bool]]]:
        """One pass over every point (evaluation mode): the mean binary cross-entropy on the training and on
        the test points, and per hidden layer the units whose output is the same on every training point
        (dead: they pass no signal)."""
        with np.errstate(over="ignore", invalid="ignore"):  # NaN on a diverged run: shown as "diverged"
            logit, hidden = self._predict(np.concatenate([self.train_x, self.test_x]))
            labels = self.labels.astype(np.float64)
            if self.regression:
                per_point = 0.5 * (logit - labels) ** 2
            else:  # log(1 + e^z) − y·z, stable for large |z|
                per_point = np.logaddexp(0, logit) - labels * logit
        n = self.n_train
        test_loss = float(np.mean(per_point[n:])) if len(per_point) > n else math.nan
        return float(np.mean(per_point[:n])), test_loss, [(np.ptp(h[:n], axis=0) < 1e-6).tolist() for h in hidden]

    def losses(self) -> tuple[float, float]:
        """Mean binary cross-entropy on the training and the test points."""
        return self.evaluate()[:2]

    def layer_index(self, module_name: str | None) -> int | None:
        """The page's layer (0 = first hidden, len(hidden) = output) of a module: ``blocks.1.2`` → 1."""
        if module_name is None:
            return None
        if module_name.startswith("head"):
            return len(self.config.hidden)
        parts = module_name.split(".")
        return int(parts[1]) if parts[0] == "blocks" and len(parts) > 1 and parts[1].isdigit() else None

    def page_words(self, text: str) -> str:
        """The doctor's text with the page's layer names for module names: ``blocks.0.1–blocks.5.1`` → hidden
        layers 1–6, ``blocks.1.0`` → hidden layer 2, ``head`` → the output layer."""
        text = re.sub(r"\bblocks\.(\d+)(?:\.\d+)?–blocks\.(\d+)(?:\.\d+)?",
                      lambda m: f"hidden layers {int(m[1]) + 1}–{int(m[2]) + 1}", text)
        text = re.sub(r"\bblocks\.(\d+)(?:\.\d+)?", lambda m: f"hidden layer {int(m[1]) + 1}", text)
        return re.sub(r"\b(?:the )?head\b", "the output layer", text)

    def findings(self) -> list[dict[str, Any]]:
        shown = []
        for finding in self.doctor.findings:
            change = finding.remedies[0].change if finding.remedies else {}
            shown.append({
                "kind": finding.kind, "title": finding.title, "severity": finding.severity,
                "layer": self.layer_index(finding.layer),
                "step": finding.step, "explanation": self.page_words(finding.explanation),
                "remedies": [self.page_words(r.description) for r in finding.remedies],
                "fixable": bool(finding.remedies) and apply_remedy(self.config, change) is not None})
        return shown

    def first_fix(self) -> tuple[Finding, PlaygroundConfig] | None:
        """The newest finding whose first remedy the playground can apply, and the configuration it gives."""
        for finding in reversed(self.doctor.findings):
            if finding.remedies:
                fixed = apply_remedy(self.config, finding.remedies[0].change)
                if fixed is not None:
                    return finding, fixed
        return None

    def frame(self) -> dict[str, Any]:
        """What the page draws now (compact: byte grids in base64, numbers rounded)."""
        now = time.perf_counter()
        if now > self._time_at_frame and self.step > self._steps_at_frame:
            self.steps_per_second = (self.step - self._steps_at_frame) / (now - self._time_at_frame)
        self._steps_at_frame, self._time_at_frame = self.step, now
        logit, hidden = self._predict(self.grid_x)
        train_loss, test_loss, dead = self.evaluate()
        if not self.history or self.history[-1][0] != self.step:
            self.history.append((self.step, train_loss, test_loss))
            if len(self.history) > 400:  # thin to every other point: bounded memory on a long run
                self.history = self.history[::2]
        units = []
        for h in hidden:
            # each unit's output on a coarser grid, scaled to its own range so its shape shows
            coarse = h.reshape(GRID, GRID, -1)[:: GRID // UNIT_GRID, :: GRID // UNIT_GRID]
            low, high = coarse.min(axis=(0, 1)), coarse.max(axis=(0, 1))
            with np.errstate(invalid="ignore"):
                scaled = (coarse - low) / np.where(high > low, high - low, 1.0)
            units.append([_bytes(scaled[:, :, j]) for j in range(h.shape[1])])
        linears = self.model.linears()
        grads = [np.zeros_like(lin.weight.detach().numpy()) if lin.weight.grad is None else lin.weight.grad.numpy()
                 for lin in linears]
        round4 = lambda a: np.round(np.nan_to_num(a.astype(np.float64)), 4).tolist()  # noqa: E731
        return {
            "type": "frame", "step": self.step, "epoch": self.epoch,
            "train_loss": train_loss, "test_loss": test_loss,
            "steps_per_second": round(self.steps_per_second), "doctor_watching": self.step < DOCTOR_STEPS,
            "boundary": _bytes((np.clip(logit, -1, 1) + 1) / 2 if self.regression
                               else 1 / (1 + np.exp(-np.clip(logit, -30, 30)))), "grid": GRID,
            "units": units, "unit_grid": UNIT_GRID,
            "weights": [round4(lin.weight.detach().numpy()) for lin in linears],
            "grads": [[[float(f"{v:.3g}") for v in row] for row in g.astype(np.float64).tolist()] for g in grads],
            "grad_rms": [_rms(g) for g in grads],
            "dead": dead,
            "findings": self.findings(),
            "history": [[s, round(a, 5), round(b, 5)] for s, a, b in self.history[-200:]],
        }

    def feature_maps(self) -> list[str]:
        """Each input feature over the plane, on the units' coarser grid and scaled to its own range (as the
        Playground's input nodes): x1 runs left to right, x1² is a valley, sin x1 stripes."""
        step = GRID // UNIT_GRID
        coarse = self.grid_x.astype(np.float64).reshape(GRID, GRID, -1)[::step, ::step]
        low, high = coarse.min(axis=(0, 1)), coarse.max(axis=(0, 1))
        scaled = (coarse - low) / np.where(high > low, high - low, 1.0)
        return [_bytes(scaled[:, :, j]) for j in range(coarse.shape[2])]

    def points_message(self) -> dict[str, Any]:
        """The data set's points (sent once per reset): x1, x2, label, and whether each is a training point;
        and the input features' heat maps, which change only with the configuration."""
        return {"type": "points", "points": np.round(self.points, 3).tolist(), "labels": self.labels.tolist(),
                "n_train": self.n_train, "config": self.config.to_dict(), "domain": DOMAIN,
                "feature_maps": self.feature_maps(), "unit_grid": UNIT_GRID}

    def explain(self, index: int) -> dict[str, Any]:
        """``chainrule explain`` for training point ``index`` with the current weights: every number of its
        forward and backward pass (one plain SGD step on that point, the regularization left out).

        Raises:
            ValueError: the point does not exist, or the network is one the explainer cannot show
            (mixed activations, batch norm, dropout, residuals, or more than its 40 units).
        """
        from chainrule.learn.explain import explain_network
        from chainrule.learn.network import HIDDEN_ACTIVATIONS, MAX_UNITS, make_network

        cfg = self.config
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.n_train:
            raise ValueError(f"explain: pick a training point, an index in [0, {self.n_train}); got {index!r}")
        sizes = (len(cfg.features), *cfg.hidden, 1)
        reasons = [why for why, holds in (
            ("the hidden layers must share one activation", len(set(cfg.activations)) > 1),
            (f"the activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}",
             cfg.activation not in HIDDEN_ACTIVATIONS),
            ("batch norm must be off", cfg.batch_norm), ("dropout must be 0", cfg.dropout > 0),
            ("residual connections must be off", cfg.residual),
            (f"the network must have at most {MAX_UNITS} units (it has {sum(sizes)})", sum(sizes) > MAX_UNITS))
            if holds]
        if reasons:
            raise ValueError("explain: step-by-step backprop shows plain networks only: " + "; ".join(reasons))
        linears = self.model.linears()
        network = make_network(
            sizes=sizes, activation=cfg.activation, lr=cfg.learning_rate,
            loss="squared_error" if self.regression else "cross_entropy",
            output_activation="linear" if self.regression else None,
            weights=[lin.weight.detach().numpy().astype(np.float64).tolist() for lin in linears],
            biases=[lin.bias.detach().numpy().astype(np.float64).tolist() for lin in linears],
            inputs=self.train_x[index].astype(np.float64).tolist(), targets=[float(self.train_y[index, 0])],
            where="explain")
        result = explain_network(network)
        return {"type": "explanation", "index": index, "point": self.points[index].tolist(),
                "label": float(self.labels[index]), "units": [[result.unit_name(k, j) for j in range(n)]
                                                              for k, n in enumerate(sizes)],
                "summary": result.summary(), **result.to_dict()}
