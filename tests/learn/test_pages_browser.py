"""Every HTML page chainrule writes, opened in headless Chromium at 1280 px wide, as a reader sees it.

The pages come from the real commands (`chainrule train` on a run with a finding and on a diverged run,
`chainrule demo` for the gallery, `chainrule explain --html`). One browser for all of them; a full-page
screenshot of each lands in build/screenshots/ for a person to look at. What can be checked without a
person is checked: nothing wider than the page, no table or image sticking out of its container, every
image decoded and not one flat colour.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "screenshots"
WIDTH = 1280

# .ci/run installs Chromium, so CI never skips these; a machine without it says so
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium")

# name -> (the command's arguments, the page it writes relative to its folder). Small runs: the pages'
# layout, not the training, is under test.
COMMANDS = {
    "report-finding": (["train", "--dataset", "digits", "--hidden", "32,32,32,32", "--activation", "sigmoid",
                        "--optimizer", "sgd", "--lr", "0.01", "--epochs", "3", "--try-fixes", "--out", "{dir}"],
                       "report.html"),
    "report-diverged": (["train", "--dataset", "digits", "--optimizer", "sgd", "--lr", "10", "--epochs", "3",
                         "--out", "{dir}"], "report.html"),
    "demo-gallery": (["demo", "exploding", "dead-relu", "--out", "{dir}"], "index.html"),
    "explain": (["explain", "--html", "{dir}/explain.html"], "explain.html"),
}

# Runs in the page: the layout measurements the assertions read. An element "overflows" when its right edge
# passes its parent's content box; a picture is "blank" when a grid of sampled pixels shows one colour.
_MEASURE = """() => {
  const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
      ' "' + (e.textContent || e.alt || '').trim().slice(0, 40) + '"';
  const width = document.documentElement.clientWidth;
  const wider = [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > width + 1).map(describe);
  const sticking = [...document.querySelectorAll('table, img, svg, pre')].filter(e => {
    const parent = e.parentElement, style = getComputedStyle(parent);
    const inner = parent.getBoundingClientRect().right - parseFloat(style.paddingRight);
    return e.getBoundingClientRect().right > inner + 1;
  }).map(describe);
  const images = [...document.images].map(img => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const colours = new Set();
    if (img.naturalWidth) {
      const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.naturalWidth, img.naturalHeight).data;
      for (let y = 0; y < img.naturalHeight; y += 7) for (let x = 0; x < img.naturalWidth; x += 7) {
        const i = 4 * (y * img.naturalWidth + x); colours.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2]);
      }
    }
    return {alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
            colours: colours.size};
  });
  // the table headers a reader sees (a collapsed <details> shows none)
  const headers = [...document.querySelectorAll('th')].filter(th => !th.closest('details:not([open])'))
      .map(th => th.textContent.trim());
  const svgs = [...document.querySelectorAll('svg')].map(s => { const b = s.getBBox(); return [b.width, b.height]; });
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, wider, sticking,
          images, svgs, headers};
}"""


def write_pages(folder: Path) -> dict[str, Path]:
    """Each page written by its real command; the commands run side by side (they share nothing)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    running, paths = [], {}
    for name, (arguments, page) in COMMANDS.items():
        (folder / name).mkdir()
        command = [sys.executable, "-m", "chainrule", *(a.format(dir=folder / name) for a in arguments)]
        running.append((name, command, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                        text=True, env=env, cwd=folder / name)))
        paths[name] = folder / name / page
    for name, command, process in running:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{' '.join(command[2:])} exited {process.returncode}:\n{output[-3000:]}"
        assert paths[name].is_file(), f"{' '.join(command[2:])} wrote no {paths[name].name}:\n{output[-3000:]}"
    return paths


def look_at(browser, name: str, page: Path) -> list[str]:
    """Open ``page`` at 1280 px, save its screenshot, and say what is wrong with its layout (nothing: [])."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: m.type == "error" and problems.append(f"{name}: console: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"{name}: page error: {e}"))
    try:
        tab.goto(page.as_uri())
        tab.wait_for_load_state("load")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        layout = tab.evaluate(_MEASURE)
    finally:
        context.close()
    if layout["innerWidth"] != WIDTH:
        problems.append(f"{name}: the window is {layout['innerWidth']} px wide, not {WIDTH}")
    if layout["scrollWidth"] > layout["innerWidth"] or layout["wider"]:
        problems.append(f"{name}: the page scrolls sideways ({layout['scrollWidth']} px > {WIDTH}); past the right "
                        f"edge: {layout['wider'][:5]}")
    if layout["sticking"]:
        problems.append(f"{name}: tables or images wider than their container: {layout['sticking'][:5]}")
    if not layout["images"] and not layout["svgs"]:
        problems.append(f"{name}: the page shows no picture at all")
    for image in layout["images"]:
        if not (image["complete"] and image["width"] > 0 and image["height"] > 0):
            problems.append(f"{name}: an image was not decoded: {image}")
        # a plot has at least a background, axes, text and a line; one flat tone means nothing was drawn
        elif image["colours"] < 4:
            problems.append(f"{name}: the image {image['alt']!r} is blank ({image['colours']} colours)")
    if name.startswith("report"):
        # headers in words: a raw metric name (val_loss, grad_ratio) is for diagnoses.json, not for a reader
        raw = [h for h in layout["headers"] if re.search(r"[a-z]_[a-z]", h)]
        if raw:
            problems.append(f"{name}: table headers that are identifiers: {raw}")
    problems += [f"{name}: an <svg> drew nothing ({w}x{h})" for w, h in layout["svgs"] if not (w > 0 and h > 0)]
    return problems


def test_every_page_fits_1280_px_and_every_picture_shows(tmp_path: Path) -> None:
    # one test, not one per page: under pytest-xdist a module fixture would run the commands once per worker
    pages = write_pages(tmp_path)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            problems = [problem for name, page in pages.items() for problem in look_at(browser, name, page)]
        finally:
            browser.close()
    assert {f"{name}.png" for name in COMMANDS} <= {p.name for p in ARTIFACTS.glob("*.png")}
    assert not problems, "\n".join(problems)
