"""The backprop explainer: its numbers against PyTorch, finite differences, hand formulas and a published example."""

from __future__ import annotations

import dataclasses
import html.parser
import itertools
import json
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
from learn_browser import browser, render

import chainrule as cr
from chainrule.learn import explain as ex
from chainrule.learn import explain_checks, explain_text

SHAPES = [(2, 3, 1), (3, 4, 2), (2, 3, 3, 2)]
ACTIVATIONS = ["sigmoid", "tanh", "relu", "linear"]
LOSSES = ["squared_error", "cross_entropy"]

# Mazur, "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid network and its published numbers.
MAZUR = {
    "sizes": [2, 2, 2],
    "weights": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
    "biases": [[0.35, 0.35], [0.60, 0.60]],
    "inputs": [0.05, 0.10],
    "targets": [0.01, 0.99],
    "lr": 0.5,
}


def torch_step(net: ex.Network) -> dict:
    """The same step in PyTorch (float64): an independent oracle for every number."""
    t = torch.tensor(net.targets)
    weights = [torch.tensor(w, requires_grad=True) for w in net.weights]
    biases = [torch.tensor(b, requires_grad=True) for b in net.biases]
    ys, xs = [torch.tensor(net.inputs, requires_grad=True)], []
    functions = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda x: x,
                 "softmax": lambda x: torch.softmax(x, 0)}
    for k, (w, b) in enumerate(zip(weights, biases)):
        x = w @ ys[-1] + b
        x.retain_grad()
        y = functions[net.activation_of(k)](x)
        y.retain_grad()
        xs.append(x)
        ys.append(y)
    y = ys[-1]
    if net.loss == "squared_error":
        loss = 0.5 * ((t - y) ** 2).sum()
    elif net.output_activation == "softmax":
        loss = -(t * y.log()).sum()
    else:
        loss = -(t * y.log() + (1 - t) * (1 - y).log()).sum()
    loss.backward()
    with torch.no_grad():
        new_w = [w - net.lr * w.grad for w in weights]
        new_b = [b - net.lr * b.grad for b in biases]
        y_after = torch.tensor(net.inputs)
        for k, (w, b) in enumerate(zip(new_w, new_b)):
            y_after = functions[net.activation_of(k)](w @ y_after + b)
        if net.loss == "squared_error":
            loss_after = 0.5 * ((t - y_after) ** 2).sum()
        elif net.output_activation == "softmax":
            loss_after = -(t * y_after.log()).sum()
        else:
            loss_after = -(t * y_after.log() + (1 - t) * (1 - y_after).log()).sum()
    arrays = lambda tensors: [a.detach().numpy() for a in tensors]  # noqa: E731
    return {
        "x": arrays(xs), "y": arrays(ys), "loss": loss.item(), "grad_x": arrays(x.grad for x in xs),
        "grad_y": arrays(y.grad for y in ys), "grad_weights": arrays(w.grad for w in weights),
        "grad_biases": arrays(b.grad for b in biases), "new_weights": arrays(new_w), "new_biases": arrays(new_b),
        "loss_after": loss_after.item(),
    }


CASES = [(sizes, act, loss, seed) for sizes in SHAPES for act in ACTIVATIONS for loss in LOSSES for seed in (0, 1)]


@pytest.mark.parametrize(("sizes", "activation", "loss", "seed"), CASES)
def test_numbers_match_pytorch_and_hand_formulas(sizes, activation, loss, seed):
    e = cr.explain(sizes=sizes, activation=activation, loss=loss, seed=seed, lr=0.3)
    reference = torch_step(e.network)
    for field, expected in reference.items():
        got = getattr(e, field)
        if isinstance(expected, float):
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-14), field
        else:
            assert len(got) == len(expected), field
            for k, (a, b) in enumerate(zip(got, expected)):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14, err_msg=f"{field}[{k}]")
    # the hand formulas hold on the reported numbers
    net = e.network
    for k in range(len(net.weights)):
        act = net.activation_of(k)
        x, y, dy = e.x[k], e.y[k + 1], e.grad_y[k + 1]
        np.testing.assert_allclose(x, net.weights[k] @ e.y[k] + net.biases[k], rtol=1e-12)
        if act != "softmax":
            prime = {"sigmoid": y * (1 - y), "tanh": 1 - y * y, "relu": (x > 0) * 1.0, "linear": np.ones_like(x)}
            np.testing.assert_allclose(e.activation_grad[k], prime[act], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(e.grad_x[k], prime[act] * dy, rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_allclose(e.activation_grad[k], np.diag(y) - np.outer(y, y), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(e.grad_weights[k], np.outer(e.grad_x[k], e.y[k]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(e.grad_biases[k], e.grad_x[k], rtol=1e-12)
        np.testing.assert_allclose(e.grad_y[k], net.weights[k].T @ e.grad_x[k], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(e.new_weights[k], net.weights[k] - 0.3 * e.grad_weights[k], rtol=1e-12)
    if loss == "cross_entropy":  # both cross-entropies give the famous y − t at the output
        np.testing.assert_allclose(e.grad_x[-1], e.y[-1] - e.targets, rtol=1e-9, atol=1e-12)
    assert e.fd_checked + len(e.fd_unchecked) == (
        sum(w.size + 2 * w.shape[0] for w in net.weights) + sum(net.sizes))
    assert e.max_fd_error < 1e-6


def finite_difference(net: ex.Network, k: int, j: int, i: int, h: float = 1e-6) -> float:
    """∂E/∂w by central differences, through PyTorch's forward in float64."""
    def loss_with(delta: float) -> float:
        weights = [w.copy() for w in net.weights]
        weights[k][j, i] += delta
        return torch_step(dataclasses.replace(net, weights=weights))["loss"]

    return (loss_with(h) - loss_with(-h)) / (2 * h)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_weight_gradients_match_finite_differences(activation):
    e = cr.explain(sizes=(2, 3, 2), activation=activation, seed=4)
    for k, w in enumerate(e.weights):
        for j, i in np.ndindex(w.shape):
            assert e.grad_weights[k][j, i] == pytest.approx(finite_difference(e.network, k, j, i), abs=1e-8)


def test_default_network_is_mazurs_worked_example():
    e = cr.explain()
    assert e.sizes == (2, 2, 1)
    assert e.y[1].tolist() == pytest.approx([0.593269992, 0.596884378], abs=1e-9)
    assert e.y[2][0] == pytest.approx(0.75136507, abs=1e-8)
    assert e.grad_weights[1][0].tolist() == pytest.approx([0.082167041, 0.082667628], abs=1e-9)
    assert e.new_weights[1][0, 0] == pytest.approx(0.35891648, abs=1e-8)
    assert e.loss_after < e.loss


def test_mazurs_full_network_reproduces_the_published_numbers():
    e = cr.explain(**MAZUR)
    assert e.loss == pytest.approx(0.298371109, abs=1e-9)
    assert e.new_weights[0].ravel().tolist() == pytest.approx(
        [0.149780716, 0.19956143, 0.24975114, 0.29950229], abs=1e-8)
    assert e.new_weights[1].ravel().tolist() == pytest.approx(
        [0.35891648, 0.408666186, 0.511301270, 0.561370121], abs=1e-8)


def test_user_network_is_reproduced_exactly():
    described = {**MAZUR, "lr": 0.1234567891, "activation": "tanh", "loss": "squared_error", "seed": 7,
                 "weights": [[[0.1, -0.7], [1e-3, 0.3333333333333333]], [[2.5, -1.25], [0.2, 0.1]]]}
    e = cr.explain(**described)
    network = e.to_dict()["network"]
    for key, value in described.items():
        assert network[key] == value, key
    assert e.lr == 0.1234567891
    from_dict = ex.network_from_dict(json.loads(json.dumps(described)))
    assert from_dict.to_dict() == network


def test_random_fill_is_seeded():
    a, b = cr.explain(sizes=(3, 4, 2), seed=5), cr.explain(sizes=(3, 4, 2), seed=5)
    assert a.to_dict() == b.to_dict()
    assert cr.explain(sizes=(3, 4, 2), seed=6).to_dict()["network"] != a.to_dict()["network"]
    given = cr.explain(sizes=(3, 4, 2), seed=5, inputs=[1.0, 2.0, 3.0])
    assert given.inputs.tolist() == [1.0, 2.0, 3.0]
    assert [w.tolist() for w in given.weights] == [w.tolist() for w in a.weights]


def test_json_round_trips():
    e = cr.explain(sizes=(2, 3, 2), loss="cross_entropy", seed=2)
    d = e.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert ex.Explanation.from_dict(json.loads(json.dumps(d))).to_dict() == d
    assert cr.explain(**d["network"]).to_dict() == d


def test_too_large_network_is_refused():
    with pytest.raises(ValueError, match=r"sizes \[20, 20, 10\] has 50 units, too many .*at most 40.*smaller"):
        cr.explain(sizes=(20, 20, 10))


BAD = [
    ({"sizes": (2,)}, ValueError, r"sizes must name at least 2 layers"),
    ({"sizes": (2, 0, 1)}, ValueError, r"sizes must be a list of positive ints"),
    ({"activation": "softsign"}, ValueError, r"activation must be one of sigmoid, tanh, relu, linear.*'softsign'"),
    ({"loss": "hinge"}, ValueError, r"loss must be one of squared_error, cross_entropy; got 'hinge'"),
    ({"weights": [[[0.1, 0.2]], [[0.3, 0.4]]]}, ValueError,
     r"weights\[0\] \(the weights into layer 1, 2 → 2 units, .*\) must have shape \(2, 2\); got shape \(1, 2\)"),
    ({"weights": [[[0.1, 0.2], [0.3, 0.4]]]}, ValueError, r"weights must have one entry per layer, 2 in all; got 1"),
    ({"biases": [[0.1, 0.2], [0.3, 0.4]]}, ValueError, r"biases\[1\] .* must have shape \(1,\); got shape \(2,\)"),
    ({"inputs": [1.0, 2.0, 3.0]}, ValueError, r"inputs .* must have shape \(2,\); got shape \(3,\)"),
    ({"targets": ["a"]}, ValueError, r"targets .* must be a nested list of numbers of shape \(1,\); got \['a'\]"),
    ({"inputs": [1.0, float("nan")]}, ValueError, r"inputs must hold finite numbers"),
    ({"lr": -0.1}, ValueError, r"lr must be a finite number >= 0; got -0.1"),
    ({"lr": "fast"}, TypeError, r"lr must be a number; got str 'fast'"),
    ({"loss": "cross_entropy", "targets": [1.5]}, ValueError, r"targets for cross_entropy must lie in \[0, 1\]"),
    ({"sizes": (2, 2, 2), "loss": "cross_entropy", "targets": [0.5, 0.6]}, ValueError,
     r"probability vector summing to 1 .* got \[0.5, 0.6\]"),
    ({"loss": "cross_entropy", "output_activation": "tanh"}, ValueError,
     r"cross_entropy with 1 output unit needs output_activation 'sigmoid'.*got 'tanh'"),
]


def test_a_saturated_output_is_a_clear_error():
    with pytest.raises(ValueError, match=r"explain: the loss \(inf\) or a gradient is not finite.*smaller weights"):
        cr.explain(loss="cross_entropy", targets=[0.0], weights=[[[1, 1], [1, 1]], [[50, 50]]])


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_descriptions_name_the_field(kwargs, error, match):
    with pytest.raises(error, match=match):
        cr.explain(**kwargs)


def test_bad_dicts_name_the_field():
    with pytest.raises(ValueError, match=r"net.json: unknown field 'weight'; the fields are sizes"):
        ex.network_from_dict({"sizes": [2, 2, 1], "weight": []}, where="net.json")
    with pytest.raises(ValueError, match=r"net.json: expected a JSON object .* got list"):
        ex.network_from_dict([2, 2, 1], where="net.json")


def test_a_wrong_engine_gradient_is_an_error(monkeypatch):
    from chainrule.engine import ops

    monkeypatch.setattr(ops.Sigmoid, "backward", lambda self, g: (g * self.out,))  # forgot the (1 − y)
    with pytest.raises(cr.GradcheckError, match=r"hand formula σ'\(x\) = y·\(1 − y\) gives"):
        cr.explain()


def test_the_checks_catch_a_tampered_number():
    e = cr.explain(sizes=(2, 3, 1), seed=1)
    bumped = [g.copy() for g in e.grad_weights]
    bumped[0][1, 0] += 1e-3
    tampered = dataclasses.replace(e, grad_weights=bumped)
    with pytest.raises(cr.GradcheckError, match=r"∂E/∂w\(i1→h2\) = .* finite differences give"):
        explain_checks.check_finite_differences(tampered)
    with pytest.raises(cr.GradcheckError, match=r"∂E/∂w_ij = y_i·∂E/∂x_j"):
        explain_checks.check_formulas(tampered)


def test_relu_kink_is_reported_not_checked():
    # Unit h1 sums to exactly 0: its finite differences straddle the kink, so they are listed, not compared.
    e = cr.explain(sizes=(2, 2, 1), activation="relu", weights=[[[1.0, -1.0], [0.5, 0.5]], [[0.3, 0.7]]],
                   biases=[[0.0, 0.1], [0.0]], inputs=[0.5, 0.5], targets=[1.0])
    assert e.x[0][0] == 0.0 and e.grad_x[0][0] == 0.0
    assert "∂E/∂x_h1" in e.fd_unchecked
    assert "∂E/∂x_h1" in e.render_text()


def test_text_output_has_every_step():
    text = cr.explain().render_text()
    for line in [
        "Layers 2-2-1", "E = ½·Σ_j (t_j − y_j)²",
        "0.15·0.05 + 0.2·0.1 + 0.35 = 0.3775",          # a weighted sum with its terms
        "∂E/∂y_j = −(t_j − y_j) = y_j − t_j",
        "∂E/∂x_j = f'(x_j)·∂E/∂y_j", "0.186816·0.741365 = 0.138499",
        "∂E/∂w_ij = y_i·∂E/∂x_j", "w(h1→o1)", "0.082167",
        "∂E/∂y_i = Σ_j w_ij·∂E/∂x_j", "0.4·0.138499 = 0.0553994",
        "Loss before: 0.274811; after: 0.258015",
        "finite differences",
    ]:
        assert line in text, line
    softmax = cr.explain(sizes=(2, 2, 3), loss="cross_entropy").render_text()
    assert "∂E/∂x_j = y_j·(∂E/∂y_j − Σ_k y_k·∂E/∂y_k)" in softmax and "softmax cross-entropy" in softmax
    assert "simplifies to ∂E/∂x_j = y_j − t_j" in softmax


class _Structure(html.parser.HTMLParser):
    """Counts what a browser would draw: the svg, its unit circles, edges, and the step tables."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.units = self.edges = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        cls = dict(attrs).get("class")
        self.units += tag == "circle" and cls == "unit"
        self.edges += tag == "line" and cls == "edge"

    def handle_data(self, data):
        self.text.append(data)


def _structure(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    parser.close()
    return parser


@pytest.mark.parametrize("sizes", [(2, 2, 1), (3, 4, 2), (2, 3, 3, 2)])
def test_html_draws_every_unit_and_edge(sizes):
    e = cr.explain(sizes=sizes)
    page = e.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    s = _structure(page)
    assert s.tags.get("svg") == 1
    assert s.units == sum(sizes)
    assert s.edges == sum(a * b for a, b in itertools.pairwise(sizes))
    assert s.tags["table"] >= 5
    text = "".join(s.text)
    assert f"∂E/∂x={explain_text.fmt(e.grad_x[0][0])}" in text and f"y={explain_text.fmt(e.y[-1][0])}" in text
    svg = ElementTree.fromstring(page[page.index("<svg"):page.index("</svg>") + 6])  # well-formed XML too
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}circle")) == sum(sizes)


def test_html_opens_in_a_headless_browser(tmp_path):
    """Chromium lays out the drawing of the network; the page's structure is checked with or without it."""
    path = tmp_path / "explain.html"
    path.write_text(cr.explain().to_html(), encoding="utf-8")
    s = _structure(path.read_text(encoding="utf-8"))
    assert s.tags.get("svg") == 1 and s.units == 5 and s.edges == 6
    assert "One step of backpropagation" in "".join(s.text)
    if browser():
        (width, height), = render(path)["svgs"]  # exactly one drawing, and the browser gave it an area
        assert width > 100 and height > 50
