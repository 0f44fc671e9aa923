"""Must show: every hostile input of issue 11 as a row; each gets a clear error naming the file and the field.

A row is (file name, bytes, reader, expected message). The reader runs on the file written to a temporary
folder; the row passes when a ValueError (or FileNotFoundError) matches the message and names the file, so no
row may end in a traceback from inside NumPy, a MemoryError, a wrapped value or a silent conversion.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.checks import MAX_WIDTH, hidden_widths
from chainrule.data import Dataset, load_file
from chainrule.data.idx import read_idx
from chainrule.doctor.report import load_run
from chainrule.training.checkpoint import load_checkpoint
from chainrule.training.models import MLPSpec
from tests.hostile.crafted import (
    SMALL_DATA_FILES,
    SMALL_MODEL_FILES,
    checkpoint_file,
    idx_claiming,
    linear,
    model_file,
    nested,
    npz_bytes,
    object_file,
)


def report(path: Path) -> Any:
    if not (path.parent / "diagnoses.json").exists():
        (path.parent / "diagnoses.json").write_text('{"findings": []}')
    return load_run(path.parent)


def csv_rows(rows: int, label: str) -> bytes:
    lines = [f"{i % 7},{i % 5},{i % 3}" for i in range(rows)]
    return ("a,b,label\n" + "\n".join(lines[:-1]) + f"\n1,2,{label}\n").encode()


EMPTY = {"type": "Sequential", "layers": []}  # a model without tensors: the checks after the weights are reached
# (file name, contents, reader, regex the error must match)
ROWS: list[tuple[str, bytes, Callable[[Path], Any], str]] = [
    # ---- model files: the architecture is checked against the tensors before a layer is built
    *((f"{name}.safetensors", data, load_checkpoint if name.startswith("checkpoint") else cr.load,
       r"load_checkpoint" if name.startswith("checkpoint") else r"chainrule\.load")
      for name, data in SMALL_MODEL_FILES.items()),
    ("above_limit.safetensors", model_file(linear(2**31 + 1, 1)), cr.load,
     r"architecture\.in_features is 2147483649, above the limit of 2147483648 .*max_elements="),
    ("missing_key.safetensors", model_file({"type": "Linear", "out_features": 3}), cr.load,
     r"architecture\.in_features: expected a non-negative int, got None"),
    ("wrong_type.safetensors", model_file(linear("8", 3)), cr.load,  # type: ignore[arg-type]
     r"architecture\.in_features: expected a non-negative int, got '8'"),
    ("bool_flag.safetensors", model_file({**linear(2, 3), "bias": "yes"}), cr.load,
     r"architecture\.bias: expected true or false, got 'yes'"),
    ("not_an_object.safetensors", model_file([1, 2]), cr.load,
     r"architecture: expected an object with a string 'type'"),
    ("mlp_spec_missing.safetensors", model_file({"type": "MLP"}), cr.load, r"architecture\.spec: expected an object"),
    ("mlp_width_8.7.safetensors", model_file({"type": "MLP", "spec": {"in_features": 1, "hidden": [8.7],
                                                                       "out_features": 1}}), cr.load,
     r"architecture\.spec\[0\]\.hidden: expected a non-negative int, got 8\.7"),
    ("sequential_layers_not_list.safetensors", model_file({"type": "Sequential", "layers": {"0": 1}}), cr.load,
     r"architecture\.layers: expected a list of layers"),
    ("nested_100_sequentials.safetensors", model_file(nested(100)), cr.load, r"nested more than 64 levels deep"),
    ("json_nested_100000.safetensors", model_file(None, raw_json="[" * 100000 + "]" * 100000), cr.load,
     r"unreadable JSON in its metadata field 'chainrule\.architecture': nested too deeply"),
    ("json_broken.safetensors", model_file(None, raw_json='{"type": '), cr.load,
     r"unreadable JSON in its metadata field 'chainrule\.architecture'"),
    ("unknown_layer.safetensors", model_file({"type": "Exec", "code": "import os"}, tensors={}), cr.load,
     r"unknown layer type 'Exec'"),
    ("float64_1e300.safetensors", model_file(linear(1, 1), {"weight": np.full((1, 1), 1e300),
                                                            "bias": np.zeros(1, np.float32)}), cr.load,
     r"weight holds float64 values beyond the range of the model's float32 .*1e\+300.*inf"),
    ("object_dict_is_list.safetensors", object_file('{"__dict__": [1]}'), cr.load,
     r"unreadable object description in its metadata field 'chainrule\.object'"),
    ("object_unknown_tensor.safetensors", object_file('{"__tensor__": "nope"}'), cr.load,
     r"unreadable object description"),
    ("object_nested_100.safetensors", object_file("[" * 100 + "]" * 100), cr.load, r"nested more than 64 levels"),
    # ---- checkpoints: the same checks, and a schema for their metadata
    ("checkpoint_list.safetensors", checkpoint_file(raw_json="[1]"), load_checkpoint,
     r"metadata field 'chainrule\.checkpoint': expected an object, got a JSON list"),
    ("checkpoint_no_rng.safetensors", checkpoint_file(raw_json='{"epoch": 0}'), load_checkpoint,
     r"missing the field 'history'"),
    ("checkpoint_epoch_text.safetensors", checkpoint_file(epoch="3"), load_checkpoint,
     r"field 'epoch' should be int, got 3"),
    ("checkpoint_epoch_bool.safetensors", checkpoint_file(epoch=True), load_checkpoint, r"field 'epoch' should be int"),
    ("checkpoint_rng_garbage.safetensors", checkpoint_file(empty=True, architecture=EMPTY,
                                                           rng={"bit_generator": "nope"}), load_checkpoint,
     r"field 'rng' is malformed"),
    ("checkpoint_history_array.safetensors", checkpoint_file(empty=True, architecture=EMPTY,
                                                             history=[{"__array__": "x"}]), load_checkpoint,
     r"field 'history' is malformed"),
    ("checkpoint_nested.safetensors", checkpoint_file(extra=json.loads("[" * 80 + "]" * 80)), load_checkpoint,
     r"nested more than 64 levels"),
    ("checkpoint_bad_layer.safetensors", checkpoint_file(architecture=linear(1, "x")), load_checkpoint,  # type: ignore[arg-type]
     r"'chainrule\.checkpoint\.architecture': architecture\.out_features: expected a non-negative int"),
    # ---- data files
    ("label_10^8.csv", csv_rows(30, "100000000"), load_file,
     r"largest label is 100000000, which would make 100000001 classes for 30 samples.*num_classes="),
    ("label_1e20.csv", csv_rows(30, "1e20"), load_file, r"label 1e\+20 is outside the int64 range"),
    ("latin1.csv", "a,b,label\n1,2,café\n".encode("latin-1"), load_file, r"is not UTF-8 text \(byte 17"),
    ("field_200KiB.csv", b"a,b,label\n1," + b"9" * 200_000 + b",0\n", load_file,
     r"line 2: not readable as CSV \(field larger than field limit"),
    ("truncated.npz", npz_bytes({"X": np.ones((50, 4)), "y": np.zeros(50, np.int64)})[:300], load_file,
     r"not a readable \.npz archive|truncated or corrupt \.npz"),
    ("truncated_member.npz", npz_bytes({"X": np.ones((50, 4)), "y": np.zeros(50, np.int64)})[:-150], load_file,
     r"not a readable \.npz archive|truncated or corrupt \.npz"),
    ("complex_features.npz", npz_bytes({"X": np.ones((4, 2)) * 1j, "y": np.zeros(4, np.int64)}), load_file,
     r"expected real numbers, got complex features"),
    ("complex_labels.npz", npz_bytes({"X": np.ones((4, 2)), "y": np.ones(4) * 1j}), load_file,
     r"got complex labels"),
    ("uint64_labels.npz", npz_bytes({"X": np.ones((2, 2)), "y": np.array([0, 2**63], np.uint64)}), load_file,
     r"label 9223372036854775808 is too large for an int64 class label"),
    ("float64_1e300.npz", npz_bytes({"X": np.array([[1.0, 1e300]]), "y": np.zeros(1, np.int64)}), load_file,
     r"feature value 1e\+300 at row 0, column 1 is beyond float32's range"),
    *((f"{name}{suffix}", data, read_idx if "idx" in suffix else load_file, r"truncated|more than deflate can expand")
      for name, (suffix, data) in SMALL_DATA_FILES.items()),
    ("overflow-idx3-ubyte", idx_claiming([2**31, 2**31, 2**31]), read_idx,
     r"shape \(2147483648, 2147483648, 2147483648\) needs 9903520314283042199192993792 bytes of data, found 8"),
    # ---- a run folder's diagnoses.json, read by `chainrule report`
    ("diagnoses.json", b"[1, 2]", report, r"holds a JSON list; expected a dict"),
    ("diagnoses.json", b"[" * 100000 + b"]" * 100000, report, r"is not valid JSON: nested too deeply"),
    ("diagnoses.json", b'{"findings": {"a": 1}}', report, r"field 'findings': expected a list, got dict"),
    ("diagnoses.json", b'{"findings": [[1]]}', report, r"field 'findings\[0\]': expected an object, got list"),
    ("diagnoses.json", b'{"findings": [{"kind": "dead_relu"}]}', report, r"field 'findings\[0\]': .*missing key"),
    ("diagnoses.json", b'{"findings": [{"kind": "dead_relu", "severity": "x", "step": "a", "epoch": 0}]}', report,
     r"field 'findings\[0\]'"),
    ("diagnoses.json", b"\xff\xfe{}", report, r"is not valid JSON"),
    ("metrics.json", b'{"grad_rms": [1, 2]}', report,
     r"metrics\.json, field 'grad_rms': expected an object of per-layer"),
    ("metrics.json", b'{"loss": [0.5, "x"]}', report, r"field 'loss\[1\]': expected a number or null, got 'x'"),
    ("metrics.json", b'{"dead_fraction": {"0": 1}}', report, r"field 'dead_fraction\.0': expected a list"),
    ("metrics.json", b'{"epochs": [1]}', report, r"field 'epochs': expected a list of objects"),
]


@pytest.mark.parametrize(("name", "data", "reader", "message"), ROWS,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(ROWS)])
def test_hostile_file_gets_a_clear_error_naming_the_file(tmp_path: Path, name: str, data: bytes,
                                                         reader: Callable[[Path], Any], message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as caught:
        reader(path)
    assert name in str(caught.value) or str(path.parent) in str(caught.value), caught.value


@pytest.mark.parametrize("reader", [cr.load, load_file, read_idx, report])
def test_fifos_and_devices_are_not_regular_files(tmp_path: Path, reader: Callable[[Path], Any]) -> None:
    fifo = tmp_path / ("diagnoses.json" if reader is report else "pipe.csv")
    os.mkfifo(fifo)  # reading it would block forever
    message = "is not a regular file" if reader is not report else "expected"
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        reader(fifo)
    if reader is not report:
        with pytest.raises(ValueError, match=r"'/dev/zero' is not a regular file \(it is a character device\)"):
            reader(Path("/dev/zero"))  # reading it would never end


def test_limit_can_be_raised_for_a_trusted_file(tmp_path: Path) -> None:
    model = cr.nn.Linear(3, 2)
    cr.save(model, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match=r"describes a model of 8 elements, above the limit of 7"):
        cr.load(tmp_path / "m.safetensors", max_elements=7)
    np.testing.assert_array_equal(cr.load(tmp_path / "m.safetensors", max_elements=8).weight.data, model.weight.data)


# ---- values keep their meaning outside files too: widths and labels


@pytest.mark.parametrize(("text", "widths"), [("88", (88,)), ("8,8", (8, 8)), (" 8 , 8 ", (8, 8)), ("", ()),
                                              (str(MAX_WIDTH), (MAX_WIDTH,))])
def test_hidden_widths_parse_unambiguously(text: str, widths: tuple[int, ...]) -> None:
    assert hidden_widths(text) == widths


@pytest.mark.parametrize("text", ["8.7", "1e3", "-3", "0", "8,,8", "8 8", "x", "100000000", str(MAX_WIDTH + 1)])
def test_hidden_widths_refuse_what_is_not_a_whole_positive_capped_width(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(repr(text))):
        hidden_widths(text)


@pytest.mark.parametrize("hidden", [(8.7,), (8.0,), (True,), "88"])
def test_mlp_spec_refuses_non_integral_widths(hidden: Any) -> None:
    with pytest.raises(ValueError, match="MLPSpec: hidden must be a tuple of whole-number widths"):
        MLPSpec(2, hidden, 1)


@pytest.mark.parametrize(("X", "y", "message"), [
    (np.ones((2, 2)) * 1j, [0, 1], "expected real features, got complex"),
    (np.ones((2, 2)), np.array([0, 1j]), "expected real labels, got complex"),
    (np.ones((2, 2)), np.array([0, 2**64 - 1], np.uint64), "too large for an int64 class label"),
    (np.ones((30, 2)), np.r_[np.zeros(29), 1e8].astype(np.int64), "100000001 classes for 30 samples"),
    (np.full((1, 1), 1e300), [0], "beyond float32's range"),
])
def test_dataset_refuses_conversions_that_change_values(X: Any, y: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Dataset(X, y, name="hostile")


def test_many_classes_are_fine_when_asked_for() -> None:
    assert Dataset(np.ones((2, 1)), [0, 5000], num_classes=5001).num_classes == 5001


def test_diagnoses_round_trip_still_reads(tmp_path: Path) -> None:
    (tmp_path / "diagnoses.json").write_text(json.dumps({"findings": []}))
    assert load_run(tmp_path)[0] == []
