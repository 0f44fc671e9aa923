"""glibc's malloc tuning at import (chainrule/engine/malloc.py): a recurrent or convolutional training step's
temporaries stay mapped between steps instead of being faulted in page by page every step.

Each case runs in a fresh interpreter (the thresholds are per process, and this one's were set at import) and
counts the process's minor page faults (getrusage) over a few training steps after a warm-up: a count, not a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

STEPS = """
import json, resource
import numpy as np
import chainrule as cr
from chainrule import nn
from chainrule.engine import malloc

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

rng = np.random.default_rng(0)
lstm, head = nn.LSTM(16, 64, batch_first=True), nn.Linear(64, 1)
conv = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                     nn.Linear(8 * 14 * 14, 10))
params = [*lstm.parameters(), *head.parameters(), *conv.parameters()]
opt = cr.optim.SGD(params, lr=0.01)
x_seq = cr.from_numpy(rng.standard_normal((32, 50, 16), dtype=np.float32))
x_img = cr.from_numpy(rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
labels = cr.from_numpy(rng.integers(0, 10, 64))

def step():
    opt.zero_grad()
    out, _ = lstm(x_seq)
    loss = head(out[:, -1]).square().mean() + nn.functional.cross_entropy(conv(x_img), labels)
    loss.backward()
    opt.step()

for _ in range(3):
    step()
before = faults()
for _ in range(5):
    step()
print(json.dumps({"status": malloc.status, "faults_per_step": (faults() - before) / 5}))
"""


def run_steps(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GLIBC_TUNABLES", "CHAINRULE_MALLOC_TUNING") and not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", STEPS], env={**clean, **env}, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux only")
def test_training_steps_do_not_fault_their_temporaries_in_again():
    tuned = run_steps()
    assert tuned["status"] == "tuned"
    # an LSTM over 50 steps and a small CNN: a few MB of temporaries a step, under a dozen faults once tuned
    assert tuned["faults_per_step"] < 50
    untuned = run_steps(CHAINRULE_MALLOC_TUNING="0")
    assert untuned["status"] == "off: CHAINRULE_MALLOC_TUNING=0"
    # what the tuning is for: with glibc's own thresholds the same steps map their temporaries afresh each time
    assert untuned["faults_per_step"] > 10 * max(tuned["faults_per_step"], 10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux only")
def test_malloc_parameters_the_user_set_are_left_alone():
    assert run_steps(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1048576")["status"].startswith("left as the user")
    assert run_steps(MALLOC_TRIM_THRESHOLD_="1048576")["status"].startswith("left as the user")
