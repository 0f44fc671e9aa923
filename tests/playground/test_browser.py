"""The playground in a real browser: the distribution's headless Chromium, driven by Playwright, against the
real `chainrule playground` command. One server and one browser for the module; bounded waits that say
what they were waiting for. Screenshots and frame timings land in build/screenshots/."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import playwright.sync_api as playwright_api
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The network is closed: without these Chromium waits on services it cannot reach.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
ROOT = Path(__file__).resolve().parents[2]
VANISH = "?dataset=circle&hidden=8,8,8,8,8,8&activation=sigmoid&optimizer=sgd&learning_rate=0.03"

# .ci/run installs Chromium, so CI never skips these; a machine without it says so
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real command on a free port; its printed URL. Its output goes to a file, not a pipe: a pipe nobody
    reads fills up (uvicorn logs every request) and then blocks the server in the middle of a test."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = tmp_path_factory.mktemp("playground") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-u", "-m", "chainrule", "playground", "--no-browser"],
                                   stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        match = None
        while match is None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            match = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())
        assert match, f"`chainrule playground` printed no URL within 60 s (exit code {process.poll()}): " \
                      f"{log.read_text()[-2000:]}"
        yield match.group(0)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser, server):
    """A fresh tab that fails the test on any console error or uncaught exception."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(f"console: {m.text}"))
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    yield tab
    problems = tab.problems
    context.close()
    assert not problems, problems


def open_page(page, server: str, query: str = "") -> None:
    page.goto(server + query)
    page.wait_for_function("window.playgroundStats.frames > 0 && window.playgroundStats.points", timeout=15_000)


def wait_for(page, expression: str, what: str, timeout_ms: int = 30_000) -> None:
    try:
        page.wait_for_function(expression, timeout=timeout_ms)
    except playwright_api.TimeoutError:
        frame = page.evaluate("window.playgroundStats.frame && {step: playgroundStats.frame.step, "
                              "findings: playgroundStats.frame.findings.map(f => f.kind)}")
        pytest.fail(f"waited {timeout_ms / 1000:g} s for {what}; the page was at {frame}, "
                    f"server errors {page.evaluate('window.playgroundStats.errors')}")


def screenshot(page, name: str) -> Path:
    """Save a screenshot and check it is not blank: many colours, and not one flat tone."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"playground-{name}.png"
    page.screenshot(path=str(path))
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert colours > 200 and pixels.std() > 20, f"{path} looks blank: {colours} colours, std {pixels.std():.1f}"
    return path


def controls(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(['learning_rate', 'activation', 'optimizer', 'regularization',
        'init', 'noise', 'train_ratio', 'batch_size', 'seed'].map(id => [id, document.getElementById(id).value]))""")


def node_colours(page, layer: int, unit: int) -> dict[str, list[int]]:
    """The network canvas's colours near the four edges of one node's square (RGB)."""
    return page.evaluate("""([k, j]) => {
        const n = layout()[k][j], c = document.getElementById('network').getContext('2d'), d = n.node / 2 - 4;
        const at = (x, y) => Array.from(c.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3));
        return {left: at(n.x - d, n.y), right: at(n.x + d, n.y), top: at(n.x, n.y - d), bottom: at(n.x, n.y + d)};
    }""", [layer, unit])


def test_play_advances_the_epoch_and_lowers_the_test_loss(page, server) -> None:
    open_page(page, server)
    # the input nodes show their feature over the plane: x1 orange (low) on the left to blue (high) on the right,
    # x2 blue at the top to orange at the bottom
    x1, x2 = node_colours(page, 0, 0), node_colours(page, 0, 1)
    for low, high in ((x1["left"], x1["right"]), (x2["bottom"], x2["top"])):
        assert low[0] > low[2] + 100 and high[2] > high[0] + 100, (x1, x2)
    first = page.evaluate("playgroundStats.frame.test_loss")
    page.click("#play")
    wait_for(page, "playgroundStats.frame.epoch >= 100", "100 epochs of training on circle")
    page.click("#play")  # pause
    # read the page and the frame it drew in one go (frames sent before the pause may still arrive)
    frame, epoch, test_loss = page.evaluate("""[playgroundStats.frame, document.getElementById('epoch').textContent,
        document.getElementById('test-loss').textContent]""")
    assert int(epoch) == frame["epoch"] >= 100
    assert float(test_loss) == pytest.approx(frame["test_loss"], abs=5e-4)
    assert frame["test_loss"] < 0.5 * first, f"test loss {first:.3f} → {frame['test_loss']:.3f} at epoch {epoch}"
    timings = page.evaluate("({draw: playgroundStats.drawMs, gaps: playgroundStats.gapsMs, "
                            "frames: playgroundStats.frames})")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    summary = {"frames": timings["frames"], "median_draw_ms": float(np.median(timings["draw"])),
               "p95_draw_ms": float(np.percentile(timings["draw"], 95)),
               "median_gap_ms": float(np.median(timings["gaps"])), "steps_per_second_seen": frame["steps_per_second"]}
    (ARTIFACTS / "playground-frames.json").write_text(json.dumps(summary, indent=2))
    print("frame timings:", summary)
    screenshot(page, "weights")

    # draw a point: shift+click adds an orange (0) point where the mouse is
    labelled = "playgroundStats.points.points.map((q, i) => [...q, playgroundStats.points.labels[i]])"
    before = page.evaluate(labelled)
    page.check("#draw-mode")
    box = page.locator("#boundary").bounding_box()
    page.locator("#boundary").click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.25},
                                    modifiers=["Shift"])
    wait_for(page, f"playgroundStats.points.points.length === {len(before) + 1}", "the drawn point to join the data")
    added = sorted(map(tuple, page.evaluate(labelled)))
    for point in map(tuple, before):
        added.remove(point)
    (x1, x2, label), = added
    assert x1 == pytest.approx(3, abs=0.1) and x2 == pytest.approx(3, abs=0.1) and label == 0
    # and it travels in the link, beside the data set it was drawn on
    query = dict(parse_qsl(page.evaluate("location.search").lstrip("?")))
    assert query.get("drawn") == f"{x1:g},{x2:g},0" and "dataset" not in query, query  # circle is the default


def test_sigmoid_six_layers_shows_vanishing_gradients_and_apply_fix_restarts(page, server) -> None:
    open_page(page, server, VANISH)
    page.click("#play")
    wait_for(page, "document.querySelector('#doctor .finding[data-kind=vanishing_gradients]')",
             "the doctor's vanishing-gradient finding", timeout_ms=60_000)
    page.click("#play")
    finding = next(f for f in page.evaluate("playgroundStats.frame.findings") if f["kind"] == "vanishing_gradients")
    assert finding["step"] <= 2_000, f"found only at step {finding['step']}"
    assert finding["layer"] == 0  # the lowest layer starves first
    assert page.locator("#layers .layer[data-layer='0']").get_attribute("class").split() == ["layer", "flagged"]
    assert "flagged" in page.locator("#grad-bars .bar[data-layer='0']").get_attribute("class")
    rms = [float(v) for v in page.locator("#grad-bars .bar").evaluate_all("bars => bars.map(b => b.dataset.rms)")]
    assert rms[0] < rms[-1] / 10, f"gradient RMS per layer {rms}: the lowest should be far below the output's"
    screenshot(page, "doctor")
    page.check("#gradview")
    screenshot(page, "gradients")
    page.uncheck("#gradview")

    page.click("#apply-fix")
    wait_for(page, "document.body.dataset.fixed", "the fix to be applied")
    assert document_fixed(page).startswith("vanishing_gradients: switch")
    wait_for(page, "playgroundStats.frame.step === 0", "the run to restart")
    query = page.evaluate("location.search")
    assert "activation=relu" in query and "init=he" in query, query
    assert controls(page)["activation"] == "relu" and controls(page)["init"] == "he"
    assert controls(page)["seed"] == "0"  # the same seed
    # the run before the fix stays on the loss chart, drawn grey beside the new one
    previous = page.evaluate("playgroundStats.previous")
    assert previous and previous[-1][0] >= finding["step"], "the first run's loss curve was not kept"
    # compare the two runs: two charts on one scale, each with its last losses in numbers
    page.click("#step")
    wait_for(page, "playgroundStats.frame.step > 0", "one epoch of the fixed run")
    page.click("#compare-runs")
    assert page.locator("#compare").is_visible()
    after = page.evaluate("playgroundStats.frame.history")
    for name, run in (("before", previous), ("after", after)):
        text = page.locator(f"#compare-{name}-numbers").text_content()
        assert text == f"step {run[-1][0]}: train {run[-1][1]:.3f} · test {run[-1][2]:.3f}", (name, text)
        inked = page.evaluate(f"""Array.from(document.getElementById('compare-{name}').getContext('2d')
            .getImageData(0, 0, 145, 80).data).filter((v, i) => i % 4 === 3 && v > 0).length""")
        # plotRuns clears the canvas and draws only curves (no axes), so any ink is a curve; the after run's is
        # short (a few steps on the before run's 2,000-step scale), so its pixel count is small and varies
        assert inked > 0, f"the {name} chart is blank ({inked} pixels drawn)"
    screenshot(page, "compare")


def document_fixed(page) -> str:
    return page.evaluate("document.body.dataset.fixed")


def test_a_shared_url_reproduces_the_configuration(page, browser, server) -> None:
    query = ("?dataset=xor&noise=10&train_ratio=70&batch_size=5&features=x1,x2,x1x2&hidden=3,5,2"
             "&activations=relu,tanh,relu&learning_rate=0.01&optimizer=adam&regularization=l2"
             "&regularization_rate=0.001&dropout=0.1&seed=3")
    open_page(page, server, query)
    expected = {"learning_rate": "0.01", "activation": "", "optimizer": "adam", "regularization": "l2",
                "init": "default", "noise": "10", "train_ratio": "70", "batch_size": "5", "seed": "3"}
    assert controls(page) == expected
    config = page.evaluate("playgroundStats.points.config")
    assert config["hidden"] == [3, 5, 2] and config["activations"] == ["relu", "tanh", "relu"]
    assert config["features"] == ["x1", "x2", "x1x2"] and config["dropout"] == 0.1
    # change one control; the address now carries it, and opening that address elsewhere gives the same run
    page.select_option("#init", "xavier")
    wait_for(page, "location.search.includes('init=xavier') && playgroundStats.points.config.init === 'xavier'",
             "the URL to carry the new init")
    # The server answers each change with the run's points, then its first frame, in order: once xavier's points
    # are here, every later frame is xavier's, but playgroundStats.frame may still be an earlier run's (CI read
    # one there). A reset of the same configuration brings a frame that surely comes after.
    seen = page.evaluate("playgroundStats.frames")
    page.click("#reset")
    wait_for(page, f"playgroundStats.frames > {seen}", "the reset run's first frame")
    shared = page.evaluate("location.href")
    first = page.evaluate("playgroundStats.frame")
    other = browser.new_page()
    try:
        other.goto(shared)
        # the new tab's server session starts from the defaults and then takes the URL's configuration: wait for
        # that (its points), then for a frame that surely follows it (a reset of the same configuration)
        other.wait_for_function("window.playgroundStats.points && playgroundStats.points.config.init === 'xavier'",
                                timeout=15_000)
        seen_other = other.evaluate("playgroundStats.frames")
        other.click("#reset")
        other.wait_for_function(f"playgroundStats.frames > {seen_other}", timeout=15_000)
        assert controls(other) == {**expected, "init": "xavier"}
        again = other.evaluate("playgroundStats.frame")
    finally:
        other.close()
    assert again["step"] == first["step"] == 0
    for a, b in zip(first["weights"], again["weights"]):
        np.testing.assert_array_equal(a, b)
    assert again["boundary"] == first["boundary"]


def test_step_by_step_backprop_shows_the_numbers_of_chainrule_explain(page, server, tmp_path) -> None:
    open_page(page, server)
    for _ in range(3):
        page.click("#step")
    wait_for(page, "playgroundStats.frame.epoch >= 3", "three epochs")
    page.click("#explain-start")
    x1, x2 = page.evaluate("playgroundStats.points.points[0]")
    box = page.locator("#boundary").bounding_box()
    page.mouse.click(box["x"] + (x1 + 6) / 12 * box["width"], box["y"] + (6 - x2) / 12 * box["height"])
    wait_for(page, "playgroundStats.explanation", "the explanation of the picked point")
    assert page.evaluate("playgroundStats.explanation.index") == 0
    while page.locator("#explain-next").is_enabled():
        page.click("#explain-next")
    shown = page.locator("#explain-table tr[data-quantity]").evaluate_all(
        "rows => rows.map(r => [r.dataset.phase, +r.dataset.layer, +r.dataset.unit, r.dataset.quantity, "
        "+r.dataset.value])")
    screenshot(page, "backprop")

    network = tmp_path / "network.json"
    network.write_text(json.dumps(page.evaluate("playgroundStats.explanation.network")))
    result = subprocess.run([sys.executable, "-m", "chainrule", "explain", "--network", str(network), "--json"],
                            capture_output=True, text=True, check=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    cli = json.loads(result.stdout)
    reference = {"x": cli["forward"]["x"], "y": cli["forward"]["y"][1:], "∂E/∂x": cli["backward"]["grad_x"],
                 "∂E/∂y": cli["backward"]["grad_y"][1:], "∂E/∂b": cli["backward"]["grad_biases"]}
    sizes = cli["network"]["sizes"]
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    assert len(shown) == 5 * sum(sizes[1:]) + weights, "forward x, y; backward ∂E/∂y, ∂E/∂x, ∂E/∂b, each ∂E/∂w"
    names = page.evaluate("playgroundStats.explanation.units")
    for phase, layer, unit, quantity, value in shown:
        if quantity.startswith("∂E/∂w from "):
            source = names[layer - 1].index(quantity.removeprefix("∂E/∂w from "))
            expected = cli["backward"]["grad_weights"][layer - 1][unit][source]
        else:
            expected = reference[quantity][layer - 1][unit]
        assert math.isclose(value, expected, rel_tol=1e-12, abs_tol=1e-15), (phase, layer, unit, quantity, value,
                                                                              expected)
    # and the weights it explained are the network's on the server at that moment
    frame_weights = page.evaluate("playgroundStats.frame.weights")
    for shown_w, explained_w in zip(frame_weights, cli["network"]["weights"]):
        np.testing.assert_allclose(shown_w, explained_w, atol=6e-5)


def test_regression_mode(page, server) -> None:
    open_page(page, server, "?problem=regression&dataset=multigauss&hidden=8,8&optimizer=adam")
    visible = page.locator("#datasets button:visible").evaluate_all("bs => bs.map(b => b.dataset.dataset)")
    assert visible == ["plane", "multigauss"]
    first = page.evaluate("playgroundStats.frame.test_loss")
    page.click("#play")
    wait_for(page, "playgroundStats.frame.epoch >= 40", "40 epochs of regression")
    page.click("#play")
    assert page.evaluate("playgroundStats.frame.test_loss") < 0.5 * first
    screenshot(page, "regression")
