"""A small runner for the doctor's tests: digits-sized, fixed seeds, a second or less each."""

from __future__ import annotations

import numpy as np

from chainrule import fit  # the top-level fit: doctor=True by default
from chainrule.doctor import Doctor
from chainrule.training.models import MLPSpec, build_mlp


def train(spec: MLPSpec, data, epochs: int, n: int | None = None, val=None, **fit_kwargs):
    """Fit ``build_mlp(spec, seed=0)`` on the first ``n`` training samples with a fresh Doctor; returns History."""
    X, y = data.train.X, data.train.y
    if n is not None:
        X, y = X[:n], y[:n]
    with np.errstate(all="ignore"):  # the failing runs overflow on purpose
        return fit(build_mlp(spec, seed=0), (X, y), val, epochs=epochs, verbose=0, doctor=Doctor(), seed=0,
                   **fit_kwargs)


def only(history, kind: str):
    """The findings of ``kind``."""
    return [f for f in history.doctor.findings if f.kind == kind]
