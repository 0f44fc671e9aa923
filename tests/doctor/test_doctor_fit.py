"""The top-level ``chainrule.fit``: the doctor on by default, a Doctor of your own, or none."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.doctor import Doctor
from chainrule.training.models import MLPSpec, build_mlp


def _data():
    X = np.random.default_rng(0).normal(size=(96, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _model():
    return build_mlp(MLPSpec(4, (16,), 2), seed=0)


def test_doctor_is_on_by_default_and_reachable_from_the_history():
    history = cr.fit(_model(), _data(), _data(), epochs=2, verbose=0)
    assert isinstance(history.doctor, Doctor) and history.callback(Doctor) is history.doctor
    mine = Doctor()
    assert cr.fit(_model(), _data(), epochs=1, verbose=0, doctor=mine).doctor is mine
    assert "findings" in history.to_dict()


def test_doctor_false_adds_no_doctor_and_a_doctor_in_callbacks_is_not_added_twice():
    history = cr.fit(_model(), _data(), epochs=1, verbose=0, doctor=False)
    assert history.doctor is None and history.callback(Doctor) is None
    assert history.to_dict()["findings"] == []
    mine = Doctor()
    history = cr.fit(_model(), _data(), epochs=1, verbose=0, doctor=mine, callbacks=[mine])
    assert [cb for cb in history.callbacks if isinstance(cb, Doctor)] == [mine]


def test_a_bad_doctor_argument_is_a_clear_error():
    with pytest.raises(TypeError, match="doctor must be True, False or a Doctor instance, got str"):
        cr.fit(_model(), _data(), verbose=0, doctor="yes")
