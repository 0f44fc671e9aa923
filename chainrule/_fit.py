"""``chainrule.fit``: the training loop of ``chainrule.training``, with the doctor watching unless told not to.

That the doctor is on by default is a product decision, so it is made here, at the top, and the loop
itself knows nothing but callbacks (as Keras adds its default callbacks in ``Model.fit``, not in its loop).
``chainrule.training`` never imports the doctor; the doctor builds on training, never the reverse.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from chainrule.doctor import Doctor
from chainrule.training import trainer
from chainrule.training.tensorboard import TensorBoard


@dataclass(repr=False)
class History(trainer.History):
    """``chainrule.training.History`` plus the doctor that watched the run (None when it was off)."""

    doctor: Doctor | None = None

    def __repr__(self) -> str:
        if self.doctor is None:
            kinds = "doctor off"
        else:
            kinds = ", ".join(sorted(self.doctor.kinds())) or "none"
        return f"{super().__repr__()[:-1]}; findings: {kinds})"

    def _repr_html_(self) -> str:
        """The epochs and curves, then the doctor's findings."""
        findings = self.doctor.findings._repr_html_() if self.doctor is not None else ""
        return super()._repr_html_() + findings

    def to_dict(self) -> dict[str, Any]:
        """The training history's JSON, plus the kinds the doctor found (``findings``)."""
        return {**super().to_dict(), "findings": sorted(self.doctor.kinds()) if self.doctor is not None else []}


def fit(model: Any, train: Any, val: Any = None, *, doctor: bool | Doctor = True, **kwargs: Any) -> History:
    """Train ``model`` with ``chainrule.training.fit`` (every other argument is its), the doctor watching.

    Args:
        doctor: True (default) adds a fresh ``Doctor()``; a Doctor instance is used as is; False: none.

    Raises:
        TypeError: ``doctor`` is not True, False or a Doctor; and whatever ``chainrule.training.fit`` raises.

    >>> import numpy as np, chainrule as cr
    >>> from chainrule.training.models import MLPSpec, build_mlp
    >>> X = np.random.default_rng(0).normal(size=(64, 2)).astype("float32"); y = (X[:, 0] > 0).astype("int64")
    >>> h = cr.fit(build_mlp(MLPSpec(2, (8,), 2), seed=0), (X, y), epochs=2, verbose=0)
    >>> type(h.doctor).__name__, h.doctor.findings
    ('Doctor', [])
    """
    if doctor is True:
        watcher: Doctor | None = Doctor()
    elif doctor is False or doctor is None:
        watcher = None
    elif isinstance(doctor, Doctor):
        watcher = doctor
    else:
        raise TypeError(f"fit: doctor must be True, False or a Doctor instance, got {type(doctor).__name__}")
    callbacks = list(kwargs.pop("callbacks", ()))
    if watcher is not None and watcher not in callbacks:
        callbacks.append(watcher)
    for callback in callbacks:  # TensorBoard writes what the doctor watching this run measures
        if isinstance(callback, TensorBoard) and callback.doctor is None:
            callback.doctor = watcher
    ran = trainer.fit(model, train, val, callbacks=callbacks, **kwargs)
    fields = {f.name: getattr(ran, f.name) for f in dataclasses.fields(ran)}
    return History(**fields, doctor=watcher)
