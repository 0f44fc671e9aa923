"""`chainrule playground` while it streams: training steps per second and frames per second seen by a client.

Starts the real command on a free port, connects one WebSocket client (as the page does), presses play for
a few seconds on each net, and reads the step counter of the frames that arrive. No browser: the page's own
drawing times come from tests/playground/test_browser.py (build/screenshots/playground-frames.json).

    python benchmarks/playground_stream.py            # 2-4-2-1 (the default) and 6×8, 5 s each
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

from websockets.sync.client import connect

NETS = {"2-4-2-1 (default)": {}, "6×8": {"hidden": [8] * 6}}


def measure(url: str, config: dict, seconds: float) -> dict[str, float]:
    host = url.split("//")[1].rstrip("/")
    with connect(f"ws://{host}/ws", origin=f"http://{host}", max_size=None) as socket:
        socket.send(json.dumps({"type": "config", "config": config}))
        socket.send(json.dumps({"type": "play"}))
        frames = []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            message = json.loads(socket.recv())
            if message["type"] == "frame":
                frames.append((time.perf_counter(), message["step"]))
        socket.send(json.dumps({"type": "pause"}))
    (t0, s0), (t1, s1) = frames[1], frames[-1]  # from the second frame: the first follows the reset
    return {"steps_per_second": (s1 - s0) / (t1 - t0), "frames_per_second": (len(frames) - 2) / (t1 - t0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--no-browser"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        match = re.search(r"http://[^ ]+/", line)
        if not match:
            raise SystemExit(f"the server printed {line!r}")
        print("| net | steps/s while streaming | frames/s |\n|---|---|---|")
        for name, config in NETS.items():
            result = measure(match.group(0), config, args.seconds)
            print(f"| {name} | {result['steps_per_second']:,.0f} | {result['frames_per_second']:.1f} |")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
