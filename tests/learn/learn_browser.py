"""Open an HTML page in headless Chromium and report what the browser made of it (a unique module name:
test folders are not packages)."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
from pathlib import Path

# Runs after the page has parsed; writes what the browser decoded and laid out onto <body> for --dump-dom to show.
_PROBE = """<script>
document.body.dataset.images = [...document.images].map(i => i.complete + ':' + i.naturalWidth + 'x' + i.naturalHeight)
  .join(' ');
document.body.dataset.svgs = [...document.querySelectorAll('svg')].map(s => {
  const b = s.getBBox(); return Math.round(b.width) + 'x' + Math.round(b.height); }).join(' ');
</script>"""


def browser() -> str | None:
    """The headless browser on this machine, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(page: Path) -> dict[str, list[tuple[int, int]]]:
    """Load ``page`` (a probed copy) in Chromium; the decoded size of each <img> and the laid-out box of each <svg>.

    An image the browser could not decode reports 0x0.
    """
    probed = page.with_name(f"probed-{page.name}")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = {}
    for key in ("images", "svgs"):
        match = re.search(rf'data-{key}="([^"]*)"', result.stdout)
        assert match, f"the probe did not run: {result.stdout[:500]}"
        found[key] = [tuple(int(v) for v in item.split(":")[-1].split("x")) for item in match.group(1).split()]
    return found


def png_sizes(page: str) -> list[tuple[int, int]]:
    """Width and height of every embedded base64 PNG, read from its header (a check that needs no browser)."""
    sizes = []
    for data in re.findall(r"src='data:image/png;base64,([^']+)'", page):
        raw = base64.b64decode(data, validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR", "not a PNG"
        sizes.append(struct.unpack(">II", raw[16:24]))
    return sizes
