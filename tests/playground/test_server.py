"""The playground server without a browser: who it answers, what it refuses, and a long run's memory."""

from __future__ import annotations

import json
import math
import re
import time
import tracemalloc

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chainrule.playground import session as session_module
from chainrule.playground.server import create_app
from chainrule.playground.session import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS, Session, config_from_dict

OWN = "127.0.0.1:8765"  # the address the app is told it serves
OWN_PAGE = {"host": OWN, "origin": f"http://{OWN}"}  # what a browser sends from the server's own page


@pytest.fixture()
def client() -> TestClient:
    return TestClient(create_app({OWN}), base_url=f"http://{OWN}")


def receive(socket, kind: str, limit: int = 50) -> dict:
    """The next message of type ``kind`` (frames in between are skipped), or a failure naming what came."""
    seen = []
    for _ in range(limit):
        message = json.loads(socket.receive_text())
        if message["type"] == kind:
            return message
        seen.append(message["type"])
    raise AssertionError(f"no {kind!r} message among {limit}: got {seen}")


# ------------------------------------------------------------------ who may talk to the server
@pytest.mark.parametrize(("host", "status"), [
    (OWN, 200),
    ("localhost:8765", 403),           # not in the set it was given
    ("evil.example", 403),             # DNS rebinding: a foreign name that resolves to 127.0.0.1
    ("127.0.0.1:9999", 403),           # another port
])
def test_host_header_is_checked(client: TestClient, host: str, status: int) -> None:
    response = client.get("/", headers={"host": host})
    assert response.status_code == status, response.text
    if status == 403:
        assert f"refused Host {host!r}" in response.text


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999", "null", None])
def test_foreign_websocket_origin_is_refused(client: TestClient, origin: str | None) -> None:
    headers = {"host": OWN} if origin is None else {"host": OWN, "origin": origin}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws", headers=headers) as socket:
        socket.receive_text()
    assert refused.value.code == 1008
    assert "refused WebSocket Origin" in refused.value.reason


def test_own_origin_gets_a_run(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        points = receive(socket, "points")
        assert points["config"]["dataset"] == "circle" and len(points["points"]) == 500


@pytest.mark.parametrize("path", ["/static/../../../etc/passwd", "/static/session.py", "/static/%2e%2e%2fserver.py",
                                  "/etc/passwd"])
def test_the_page_cannot_name_files(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text and "import" not in response.text


def test_the_page_and_its_files_are_served(client: TestClient) -> None:
    for path, kind in [("/", "text/html"), ("/static/playground.js", "text/javascript"),
                       ("/static/playground.css", "text/css")]:
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert "https://" not in client.get("/").text, "the page must work offline: no CDN"


# ------------------------------------------------------------------ bad input gets a clear error
def good_csv(n: int = 20) -> str:
    rng = np.random.default_rng(0)
    rows = [f"{x:.3f},{y:.3f},{int(x * y > 0)}" for x, y in rng.uniform(-4, 4, (n, 2))]
    return "x1,x2,label\n" + "\n".join(rows)


UPLOAD_ERRORS = [
    ("x1,x2,label\n" + "1.0,2.0,1\n" * (MAX_UPLOAD_BYTES // 10 + 1), f"at most {MAX_UPLOAD_BYTES:,} are accepted"),
    ("\n".join(["1,2,1", "2,1,0"] * (MAX_UPLOAD_ROWS // 2 + 1)), f"at most {MAX_UPLOAD_ROWS:,} points"),
    ("x1,x2,label\n1,2,1\n3,four,0\n", "row 3, column 'x2': expected a number, got 'four'"),
    ("x1,x2,label\n1,2,1\n3,4\n", "row 3 has 2 cells; expected 3"),
    ("a,b,c,label\n1,2,3,1\n4,5,6,0\n1,1,1,1\n2,2,2,0\n", "expected 2 feature columns"),
    ("x1,x2,label\n1,2,0\n3,4,1\n5,6,2\n7,8,1\n", "expected labels of 2 classes; got 3"),
    ("", "has no rows"),
]


@pytest.mark.parametrize(("text", "message"), UPLOAD_ERRORS, ids=[
    "oversize", "too-many-rows", "not-a-number", "ragged", "three-features", "three-classes", "empty"])
def test_bad_upload_gets_a_clear_error(client: TestClient, text: str, message: str) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "upload", "csv": text}))
        error = receive(socket, "error")
    assert message in error["message"], error["message"]
    assert error["message"].startswith("upload:")
    assert "/tmp" not in error["message"], "the temporary file's path is ours, not the learner's"


def test_good_upload_trains_on_those_points(client: TestClient) -> None:
    text = good_csv(40)
    expected = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()[1:]])
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "upload", "csv": text}))
        points = receive(socket, "points")
    assert points["config"]["dataset"] == "upload"
    got = np.column_stack([points["points"], points["labels"]])
    # the same rows, shuffled into train and test
    assert sorted(map(tuple, got.round(3))) == sorted(map(tuple, expected.round(3)))


@pytest.mark.parametrize(("message", "error"), [
    ({"type": "config", "config": {"hidden": [9]}}, "hidden must be in [1, 8]; got 9"),
    ({"type": "config", "config": {"hidden": [2] * 7}}, "at most 6 hidden layers; got 7"),
    ({"type": "config", "config": {"activation": "swish"}}, "activations must be one of"),
    ({"type": "config", "config": {"path": "/etc/passwd"}}, "unknown field 'path'"),
    ({"type": "config", "config": {"learning_rate": "fast"}}, "learning_rate must be a float"),
    ({"type": "explain", "index": 10_000}, "pick a training point"),
    ({"type": "launch"}, "unknown message type 'launch'"),
])
def test_bad_messages_get_clear_errors(client: TestClient, message: dict, error: str) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps(message))
        got = receive(socket, "error")["message"]
    assert error in got, got


def test_a_huge_message_gets_a_clear_error(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "upload", "csv": "1,2,1\n" * 50_000}))
        assert "bytes is too large; at most" in receive(socket, "error")["message"]


def test_not_json_gets_a_clear_error(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text("play!")
        assert "a message must be JSON" in receive(socket, "error")["message"]


# ------------------------------------------------------------------ a run
def test_play_streams_frames_and_pause_stops_them(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "play"}))
        steps = [receive(socket, "frame")["step"] for _ in range(5)]
        socket.send_text(json.dumps({"type": "pause"}))
    assert steps == sorted(steps) and steps[-1] > steps[0], steps


@pytest.mark.timeout(60)  # a failure here was a hang: the app raising leaves the test client waiting
@pytest.mark.parametrize("command", ["play", "step"])
def test_a_failed_training_step_is_reported_and_the_tab_stays_connected(
        client: TestClient, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    def fail(self, count):
        raise RuntimeError("backward: this tensor does not require grad")

    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        monkeypatch.setattr(Session, "train_steps", fail)
        socket.send_text(json.dumps({"type": command}))
        assert receive(socket, "error")["message"] == \
            "playground: training stopped: backward: this tensor does not require grad"
        monkeypatch.undo()
        socket.send_text(json.dumps({"type": "step"}))  # the same tab trains on
        assert receive(socket, "frame")["step"] == 25


def test_the_same_seed_gives_the_same_run() -> None:
    config = config_from_dict({"dataset": "xor", "hidden": [3, 3], "activation": "relu", "seed": 7})
    a, b = Session(config), Session(config)
    a.train_steps(50)
    b.train_steps(50)
    for wa, wb in zip(a.frame()["weights"], b.frame()["weights"]):
        np.testing.assert_array_equal(wa, wb)


def test_frames_carry_the_numbers_of_the_network() -> None:
    """The frame's weights, gradient RMS and boundary agree with a plain NumPy forward pass of the same weights."""
    session = Session()
    session.train_steps(30)
    frame = session.frame()
    linears = session.model.linears()
    for k, linear in enumerate(linears):
        np.testing.assert_allclose(frame["weights"][k], linear.weight.detach().numpy(), atol=6e-5)
        grad = linear.weight.grad.numpy().astype(np.float64)
        assert frame["grad_rms"][k] == pytest.approx(np.sqrt(np.mean(grad**2)))
    h = session.grid_x.astype(np.float64)
    for linear in linears[:-1]:
        h = np.tanh(h @ linear.weight.detach().numpy().T + linear.bias.detach().numpy())
    logit = h @ linears[-1].weight.detach().numpy().T + linears[-1].bias.detach().numpy()
    boundary = np.frombuffer(__import__("base64").b64decode(frame["boundary"]), dtype=np.uint8)
    np.testing.assert_allclose(boundary, np.round(255 / (1 + np.exp(-logit[:, 0]))), atol=1)


def test_a_long_run_keeps_its_memory_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 steps with a frame every 50: once the doctor has let go (after DOCTOR_STEPS, here 2,000), the
    memory held does not grow; and the doctor's own share up to then is bounded by that budget."""
    monkeypatch.setattr(session_module, "DOCTOR_STEPS", 2_000)
    session = Session()
    session.train_steps(4_000)
    tracemalloc.start()  # counts what is allocated from here on and still held
    try:
        for _ in range(60):
            session.train_steps(100)
            json.dumps(session.frame())
        growth = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert session.step == 10_000
    assert growth < 100_000, f"memory grew by {growth:,} bytes from step 4,000 to 10,000"


def test_dead_units_are_the_ones_numpy_finds_silent() -> None:
    """After a learning rate that kills ReLUs, the frame's dead units are exactly those whose ReLU output is 0 on
    every training point in a plain NumPy forward pass of the same weights."""
    session = Session(config_from_dict({"dataset": "xor", "hidden": [8, 8, 8], "activation": "relu",
                                        "learning_rate": 3}))
    session.train_steps(300)
    dead = session.frame()["dead"]
    h = session.train_x.astype(np.float64)
    expected = []
    for linear in session.model.linears()[:-1]:
        h = np.maximum(h @ linear.weight.detach().numpy().T + linear.bias.detach().numpy(), 0)
        expected.append((h == 0).all(axis=0).tolist())
    assert dead == expected
    assert sum(map(sum, dead)) > 0, "the preset should kill some units"


@pytest.mark.timeout(60)
def test_each_tab_has_its_own_run_and_a_closed_tab_stops_it() -> None:
    app = create_app({OWN})
    client = TestClient(app, base_url=f"http://{OWN}")
    tabs = app.app.state.connections
    with client.websocket_connect("/ws", headers=OWN_PAGE) as first, \
            client.websocket_connect("/ws", headers=OWN_PAGE) as second:
        receive(first, "points")
        receive(second, "points")
        second.send_text(json.dumps({"type": "config", "config": {"dataset": "spiral", "hidden": [3]}}))
        assert receive(second, "points")["config"]["dataset"] == "spiral"
        assert receive(second, "frame")["step"] == 0
        first.send_text(json.dumps({"type": "play"}))
        assert receive(first, "frame")["step"] > 0
        second.send_text(json.dumps({"type": "step"}))
        assert receive(second, "frame")["step"] == 25  # one epoch of its own: 250 points in batches of 10
        assert len(tabs) == 2
        sessions = [tab.session for tab in tabs]
        assert sorted(s.config.dataset for s in sessions) == ["circle", "spiral"]
    # both closed (the first while playing): their runs end and hold nothing
    for _ in range(100):
        if not tabs:
            break
        time.sleep(0.02)
    assert not tabs, "a closed tab's run is still registered"
    steps = [s.step for s in sessions]
    time.sleep(0.2)
    assert [s.step for s in sessions] == steps, "a closed tab's run kept training"


def test_residual_blocks_add_their_input_as_numpy_does() -> None:
    """hidden 3, 3, 3 with residuals: block 0 changes the width (no skip), blocks 1 and 2 add their input."""
    session = Session(config_from_dict({"hidden": [3, 3, 3], "activation": "relu", "residual": True}))
    x = session.train_x[:7].astype(np.float64)
    linears = [(lin.weight.detach().numpy(), lin.bias.detach().numpy()) for lin in session.model.linears()]
    h = np.maximum(x @ linears[0][0].T + linears[0][1], 0)
    for w, b in linears[1:3]:
        h = h + np.maximum(h @ w.T + b, 0)
    expected = h @ linears[3][0].T + linears[3][1]
    logit = session._predict(session.train_x[:7])[0]
    np.testing.assert_allclose(logit, expected[:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("kind", "penalty_grad"), [("l1", np.sign), ("l2", lambda w: w)])
def test_regularization_adds_the_playground_penalty_gradient(kind: str, penalty_grad) -> None:
    """With rate r, each weight's gradient gains r·sign(w) (L1) or r·w (L2); biases gain nothing."""
    rate = 0.1
    plain, regular = (Session(config_from_dict({"regularization": kind, "regularization_rate": r, "learning_rate": 0}))
                      for r in (0, rate))
    for session in (plain, regular):
        session.train_steps(1)  # the same seed: the same batch; lr 0 keeps the weights
    for a, b in zip(plain.model.linears(), regular.model.linears()):
        w = a.weight.detach().numpy()
        np.testing.assert_allclose(b.weight.grad.numpy() - a.weight.grad.numpy(), rate * penalty_grad(w), atol=1e-6)
        np.testing.assert_allclose(b.bias.grad.numpy(), a.bias.grad.numpy(), atol=1e-7)


@pytest.mark.parametrize("dataset", ["sine", "checkerboard", "moons"])
def test_the_extra_data_sets_follow_their_definitions(dataset: str) -> None:
    """Without noise each label is its boundary's side: x2 > 3·sin x1; squares of 2.5 alternating; the
    moon (scikit-learn's, scaled by 3 and centred) whose circle of radius 3 the point lies on."""
    session = Session(config_from_dict({"dataset": dataset, "noise": 0}))
    p, labels = session.points, session.labels.astype(bool)
    assert p.shape == (500, 2) and 0.3 < labels.mean() < 0.7 and np.abs(p).max() <= 6
    if dataset == "sine":
        np.testing.assert_array_equal(labels, p[:, 1] > 3 * np.sin(p[:, 0]))
    elif dataset == "checkerboard":
        np.testing.assert_array_equal(labels, (np.floor(p[:, 0] / 2.5) + np.floor(p[:, 1] / 2.5)) % 2 == 0)
    else:
        upper_centre, lower_centre = (np.array([0.0, 0.0]) - [0.5, 0.25]) * 3, (np.array([1.0, 0.5]) - [0.5, 0.25]) * 3
        np.testing.assert_allclose(np.linalg.norm(p[labels] - upper_centre, axis=1), 3)
        np.testing.assert_allclose(np.linalg.norm(p[~labels] - lower_centre, axis=1), 3)
        assert (p[labels, 1] >= upper_centre[1] - 1e-9).all() and (p[~labels, 1] <= lower_centre[1] + 1e-9).all()


@pytest.mark.parametrize(("argv", "message"), [
    (["--port", "70000"], "--port must be in [0, 65535]; got 70000"),
    (["--host", "256.1.1.1"], "--host/--port: cannot listen on 256.1.1.1:0"),
])
def test_the_command_reports_a_bad_address(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    from chainrule.cli import main

    assert main(["playground", "--no-browser", *argv]) == 2
    err = capsys.readouterr().err
    assert f"chainrule playground: error: {message}" in err, err
    if "--host" in argv:  # another address than 127.0.0.1 is said out loud
        assert "warning: listening on 256.1.1.1, not 127.0.0.1" in err


PRESETS = {"make the gradients vanish": "vanishing_gradients", "kill the ReLUs": "dead_relu",
           "explode it": "exploding_gradients", "overfit, then add dropout": "overfitting"}


@pytest.mark.parametrize(("name", "kind"), PRESETS.items())
def test_each_preset_link_shows_its_failure(name: str, kind: str) -> None:
    """The page's preset links, read from the page itself, give the doctor's finding they promise."""
    from importlib import resources
    from urllib.parse import parse_qsl

    page = resources.files("chainrule.playground").joinpath("static", "index.html").read_text(encoding="utf-8")
    links = {title: query for query, title in re.findall(r'href="\?([^"]+)">([^<]+)<', page)}
    session = Session(config_from_dict(dict(parse_qsl(links[name]))))
    while kind not in session.doctor.kinds() and session.step < 2_000:
        session.train_steps(100)
    assert kind in session.doctor.kinds(), f"{name}: after {session.step} steps only {session.doctor.kinds()}"
    if kind == "overfitting":
        fix = session.first_fix()
        assert fix is not None and fix[1].dropout > 0, "the overfitting preset's fix is dropout"


def test_a_point_drawn_with_the_mouse_joins_the_data_and_the_link(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        before = receive(socket, "points")
        socket.send_text(json.dumps({"type": "add_point", "x1": 1.25, "x2": -3.5, "label": 0}))
        after = receive(socket, "points")
        socket.send_text(json.dumps({"type": "add_point", "x1": 7, "x2": 0, "label": 1}))
        error = receive(socket, "error")["message"]
        socket.send_text(json.dumps({"type": "add_point", "x1": 0, "x2": 0, "label": 0.5}))
        half = receive(socket, "error")["message"]
    # the data set stays circle, with every one of its points, plus the drawn one
    assert after["config"]["dataset"] == "circle" and after["config"]["drawn"] == "1.25,-3.5,0"
    got = sorted(map(tuple, np.column_stack([after["points"], after["labels"]]).tolist()))
    expected = sorted([*map(tuple, np.column_stack([before["points"], before["labels"]]).tolist()), (1.25, -3.5, 0.0)])
    assert got == expected
    assert error == "add point: x1 must be a number in [-6, 6]; got 7"
    assert half == "add point: label must be 0 or 1 (classification); got 0.5"
    # the link: a new tab opened with that configuration (as the page sends it from its URL) gets the same data
    with client.websocket_connect("/ws", headers=OWN_PAGE) as other:
        receive(other, "points")
        other.send_text(json.dumps({"type": "config", "config": {"drawn": after["config"]["drawn"]}}))
        again = receive(other, "points")
    assert again["points"] == after["points"] and again["labels"] == after["labels"]


def test_drawing_keeps_regression_and_an_upload_there_is_refused_in_words(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "config", "config": {"problem": "regression"}}))
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "add_point", "x1": -2, "x2": 4.5, "label": -0.75}))
        after = receive(socket, "points")
        socket.send_text(json.dumps({"type": "upload", "csv": good_csv(20)}))
        error = receive(socket, "error")["message"]
    assert after["config"]["problem"] == "regression" and after["config"]["dataset"] == "plane"
    assert [(p, t) for p, t in zip(after["points"], after["labels"]) if p == [-2, 4.5]] == [([-2, 4.5], -0.75)]
    assert error.startswith("upload: an uploaded CSV holds classification points") and "switch the problem" in error


@pytest.mark.parametrize(("drawn", "error"), [
    ("1,2", "drawn point 1 must be x1,x2,label; got '1,2'"),
    ("1,2,1;9,0,1", "drawn x1 must be in [-6, 6]; got '9'"),
    ("1,2,0.5", "drawn label must be 0 or 1 for classification; got '0.5'"),
    (";".join(["1,1,1"] * 201), "drawn holds at most 200 points; got 201"),
])
def test_a_bad_drawn_link_gets_a_clear_error(drawn: str, error: str) -> None:
    with pytest.raises(ValueError) as raised:
        config_from_dict({"drawn": drawn})
    assert error in str(raised.value)


def test_a_link_to_an_upload_says_the_csv_is_not_in_it(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "config", "config": {"dataset": "upload"}}))
        error = receive(socket, "error")["message"]
        socket.send_text(json.dumps({"type": "step"}))  # the run before is intact
        frame = receive(socket, "frame")
    assert "an uploaded CSV is not carried in the link" in error
    assert frame["step"] == 25


# The Playground's input features, written out here from their definitions.
FEATURE_DEFINITIONS = {"x1": lambda a, b: a, "x2": lambda a, b: b, "x1sq": lambda a, b: a * a,
                       "x2sq": lambda a, b: b * b, "x1x2": lambda a, b: a * b, "sinx1": lambda a, b: np.sin(a),
                       "sinx2": lambda a, b: np.sin(b)}


def test_each_input_feature_has_its_heat_map_over_the_plane() -> None:
    """Each input node's map: the feature on the units' 20×20 grid (every other point of the boundary's 40
    over [-6, 6]; x1 left to right, x2 top to bottom from 6 down), scaled from its least (0) to its greatest
    (255) value."""
    session = Session(config_from_dict({"features": list(FEATURE_DEFINITIONS)}))
    maps = session.points_message()["feature_maps"]
    axis = np.linspace(-6, 6, 40)
    x1, x2 = np.meshgrid(axis[::2], -axis[::2])
    assert len(maps) == len(FEATURE_DEFINITIONS)
    for (name, feature), encoded in zip(FEATURE_DEFINITIONS.items(), maps):
        values = feature(x1, x2)
        expected = np.round((values - values.min()) / (values.max() - values.min()) * 255)
        got = np.frombuffer(__import__("base64").b64decode(encoded), dtype=np.uint8).reshape(20, 20)
        np.testing.assert_allclose(got, expected, atol=1, err_msg=name)


def test_the_doctor_speaks_of_the_page_layers() -> None:
    """The findings on the page name layers as the page does (hidden layer 1, the output layer), never the
    modules' names (blocks.0.0, head)."""
    session = Session(config_from_dict({"hidden": [8] * 6, "activation": "sigmoid"}))
    while "vanishing_gradients" not in session.doctor.kinds() and session.step < 1_000:
        session.train_steps(100)
    module_names = [name for name, _ in session.model.named_modules() if name]
    shown = session.findings()
    texts = [text for f in shown for text in (f["explanation"], *f["remedies"])]
    for text in texts:
        assert not [name for name in module_names if re.search(rf"\b{re.escape(name)}\b", text)], text
    vanishing = next(f for f in shown if f["kind"] == "vanishing_gradients")
    assert "hidden layer 1 receives" in vanishing["explanation"] and "the output layer gets" in vanishing["explanation"]
    assert vanishing["remedies"][0].startswith("switch hidden layers 1–6 from Sigmoid to ReLU")
    # and the raw findings did name modules: the translation is what the test sees
    assert any("blocks." in f.explanation for f in session.doctor.findings)


def test_dropout_masks_are_each_tabs_own() -> None:
    """A tab with dropout trains the same whether or not another tab trains (and reseeds) in between."""
    config = config_from_dict({"dataset": "xor", "hidden": [8, 8], "dropout": 0.5, "seed": 4})
    alone = Session(config)
    alone.train_steps(60)
    interleaved, other = Session(config), Session(config_from_dict({"dropout": 0.3, "seed": 9}))
    for _ in range(3):
        interleaved.train_steps(20)
        other.train_steps(15)
        other.reset()  # a reset seeds the library's generator again
    for a, b in zip(alone.model.linears(), interleaved.model.linears()):
        np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    # the masks are random all the same: another seed trains differently
    third = Session(config.replace(seed=5))
    third.train_steps(60)
    assert not np.array_equal(third.model.linears()[0].weight.detach().numpy(),
                              alone.model.linears()[0].weight.detach().numpy())


def test_the_fix_sends_the_first_runs_losses_for_the_comparison(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=OWN_PAGE) as socket:
        receive(socket, "points")
        socket.send_text(json.dumps({"type": "config", "config": {"hidden": [8] * 6, "activation": "sigmoid"}}))
        receive(socket, "frame")
        for _ in range(4):
            socket.send_text(json.dumps({"type": "step"}))
            last = receive(socket, "frame")
        socket.send_text(json.dumps({"type": "fix"}))
        fixed = receive(socket, "fixed")
        restarted = receive(socket, "frame")
    assert last["step"] == 100 and fixed["previous"][-1][0] == 100
    np.testing.assert_allclose(fixed["previous"], last["history"], atol=1e-5)
    assert restarted["step"] == 0 and [row[0] for row in restarted["history"]] == [0]


@pytest.mark.parametrize("dataset", ["plane", "multigauss"])
def test_regression_learns_the_playground_regression_sets(dataset: str) -> None:
    """Targets as the Playground defines them (noise 0), the loss ½(y − t)² as NumPy computes it from the
    network's outputs, and training lowers the test loss."""
    session = Session(config_from_dict({"problem": "regression", "dataset": dataset, "hidden": [8, 8],
                                        "optimizer": "adam", "learning_rate": 0.03}))
    p, t = session.points, session.labels
    if dataset == "plane":
        np.testing.assert_allclose(t, np.clip((p[:, 0] + p[:, 1]) / 10, -1, 1))
    else:
        centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
        for (x1, x2), target in zip(p, t):
            bumps = [sign * max(0.0, 1 - math.dist((x1, x2), (cx, cy)) / 2) for cx, cy, sign in centres]
            assert target == pytest.approx(max(bumps, key=abs))
    first = session.losses()[1]
    output = session._predict(session.test_x)[0]
    assert first == pytest.approx(np.mean(0.5 * (output - t[session.n_train:]) ** 2))
    session.train_steps(1_500)
    assert session.losses()[1] < 0.5 * first, (first, session.losses())


def test_regression_needs_a_regression_data_set() -> None:
    with pytest.raises(ValueError, match="regression uses the data sets plane, multigauss; got dataset 'circle'"):
        config_from_dict({"problem": "regression", "dataset": "circle"})
    assert config_from_dict({"problem": "regression"}).dataset == "plane"


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_explain_walks_through_the_network_as_numpy_computes_it(problem: str) -> None:
    """The step-by-step numbers for a training point: NumPy's forward pass of the same weights and its loss
    (cross-entropy on a sigmoid output, or ½(y − t)² on a linear one)."""
    session = Session(config_from_dict({"problem": problem}))
    session.train_steps(100)
    result = session.explain(3)
    h = session.train_x[3].astype(np.float64)
    linears = session.model.linears()
    for k, linear in enumerate(linears):
        x = linear.weight.detach().numpy().astype(np.float64) @ h + linear.bias.detach().numpy()
        np.testing.assert_allclose(result["forward"]["x"][k], x, rtol=1e-6, atol=1e-7)
        h = np.tanh(x) if k < len(linears) - 1 else x
    t = session.labels[3]
    expected = 0.5 * (h[0] - t) ** 2 if problem == "regression" else np.logaddexp(0, h[0]) - t * h[0]
    assert result["forward"]["loss"] == pytest.approx(expected, rel=1e-6)
