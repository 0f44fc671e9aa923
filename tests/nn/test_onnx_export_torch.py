"""``cr.onnx.export`` of the layers whose ONNX ops have conventions of their own (Embedding's integer input,
Upsample's coordinates, the recurrent layers' and cells' gate orders and outputs): each model, exported with a smaller
batch (and a shorter sequence) than it runs on, passes ``onnx.checker``, and onnxruntime's outputs agree to
1e-5 with chainrule's eval-mode forward pass and with PyTorch's twin of the model on the same weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from nn_helpers import torch_state

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5
RNG = np.random.default_rng(0)


def _floats(*shape: int) -> np.ndarray:
    return (RNG.normal(size=shape) * 2.0).astype(np.float32)  # the saturating regions of tanh and sigmoid too


def _indices(high: int, *shape: int, dtype: type = np.int64) -> np.ndarray:
    return RNG.integers(0, high, size=shape).astype(dtype)


def _pair(name: str, *args, **kwargs) -> tuple[nn.Module, torch.nn.Module]:
    """The chainrule layer ``name`` and its torch twin, built with the same arguments."""
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def _chain(*pairs: tuple[nn.Module, torch.nn.Module]) -> tuple[nn.Module, torch.nn.Module]:
    return nn.Sequential(*(p[0] for p in pairs)), torch.nn.Sequential(*(p[1] for p in pairs))


# The recurrent layers: input 3, hidden 5 (odd, so a wrong gate split shows); sequence 6, batch 4 at run time,
# exported with sequence 2 and batch 1. (mode, constructor arguments)
RECURRENT = [
    (name, dict(extra, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional, bias=bias))
    for (name, extra), (layers, batch_first, bidirectional, bias) in itertools.product(
        [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})],
        [(1, False, False, True), (2, True, True, True), (2, False, True, False), (1, True, False, False)])
]


def _sequence(batch_first: bool, features: int, length: int = 6, batch: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The run input and the (smaller) export input of a recurrent model."""
    x = _floats(batch, length, features) if batch_first else _floats(length, batch, features)
    return x, (x[:1, :2] if batch_first else x[:2, :1])


def _recurrent_case(name: str, kwargs: dict):
    pair = _pair(name, 3, 5, **kwargs)
    return (pair, *_sequence(kwargs["batch_first"], 3))


def _embedding_then(name: str, batch_first: bool):
    """Token ids (int64) through an Embedding into a recurrent layer: the usual text model's front."""
    x = _indices(11, 4, 6) if batch_first else _indices(11, 6, 4)
    pair = _chain(_pair("Embedding", 11, 3, padding_idx=0), _pair(name, 3, 5, batch_first=batch_first))
    return pair, x, (x[:1, :2] if batch_first else x[:2, :1])


def _steps(pair, features: int = 3):
    """One step of a cell: (batch, features)."""
    x = _floats(4, features)
    return pair, x, x[:1]


def _images(pair, channels: int = 2, height: int = 5, width: int = 4):
    x = _floats(3, channels, height, width)
    return pair, x, x[:1]


def _signals(pair, channels: int = 2, length: int = 7):
    x = _floats(3, channels, length)
    return pair, x, x[:1]


def _tokens(pair, high: int = 9, dtype: type = np.int64):
    x = _indices(high, 5, 3, dtype=dtype)
    return pair, x, x[:1] * 0  # exported on index 0 alone: renorming at export time touches no other row


# (case id, builder of ((chainrule model, torch model), run input, export input))
CASES = [(f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}", lambda n=name, k=kwargs: _recurrent_case(n, k))
         for name, kwargs in RECURRENT] + [
    ("rnncell-tanh", lambda: _steps(_pair("RNNCell", 3, 5))),
    ("rnncell-relu-no-bias", lambda: _steps(_pair("RNNCell", 3, 5, bias=False, nonlinearity="relu"))),
    ("lstmcell", lambda: _steps(_pair("LSTMCell", 3, 5))),
    ("lstmcell-no-bias", lambda: _steps(_pair("LSTMCell", 3, 5, bias=False))),
    ("grucell", lambda: _steps(_pair("GRUCell", 3, 5))),
    ("grucell-no-bias", lambda: _steps(_pair("GRUCell", 3, 5, bias=False))),
    ("linear-grucell-linear", lambda: _steps(_chain(_pair("Linear", 3, 4), _pair("GRUCell", 4, 5),
                                                    _pair("Linear", 5, 2)))),
    ("embedding-lstmcell", lambda: _tokens(_chain(_pair("Embedding", 9, 4), _pair("Flatten"),
                                                  _pair("LSTMCell", 12, 5)))),
    ("embedding-lstm-batch_first", lambda: _embedding_then("LSTM", True)),
    ("embedding-gru", lambda: _embedding_then("GRU", False)),
    ("embedding-padding_idx", lambda: _tokens(_pair("Embedding", 9, 4, padding_idx=2))),
    ("embedding-int32", lambda: _tokens(_pair("Embedding", 9, 4), dtype=np.int32)),
    ("embedding-max_norm", lambda: _tokens(_pair("Embedding", 9, 6, max_norm=1.0))),
    ("embedding-max_norm-p1", lambda: _tokens(_pair("Embedding", 9, 6, max_norm=2.5, norm_type=1.0))),
    ("embedding-flatten-linear", lambda: _tokens(_chain(_pair("Embedding", 9, 4), _pair("Flatten"),
                                                        _pair("Linear", 12, 2)))),
    ("upsample-nearest-x2", lambda: _images(_pair("Upsample", scale_factor=2))),
    ("upsample-nearest-size", lambda: _images(_pair("Upsample", size=(7, 3)))),  # 5→7 up, 4→3 down
    ("upsample-nearest-x1.7", lambda: _images(_pair("Upsample", scale_factor=(1.7, 2.5)))),
    ("upsample-bilinear-x1.5", lambda: _images(_pair("Upsample", scale_factor=1.5, mode="bilinear"))),
    ("upsample-bilinear-size-align_corners", lambda: _images(_pair("Upsample", size=(9, 7), mode="bilinear",
                                                                   align_corners=True))),
    ("upsample-bilinear-size-1", lambda: _images(_pair("Upsample", size=(1, 9), mode="bilinear"))),
    ("upsample-bilinear-recompute", lambda: _images(_pair("Upsample", scale_factor=1.7, mode="bilinear",
                                                          recompute_scale_factor=True))),
    ("upsample-linear-1d", lambda: _signals(_pair("Upsample", scale_factor=2.5, mode="linear"))),
    ("upsample-linear-1d-align_corners", lambda: _signals(_pair("Upsample", size=11, mode="linear",
                                                                align_corners=True))),
    ("upsample-nearest-1d", lambda: _signals(_pair("Upsample", size=4))),
    ("conv-upsample-conv", lambda: _images(_chain(_pair("Conv2d", 2, 3, 3, padding=1),
                                                  _pair("Upsample", scale_factor=2, mode="bilinear"),
                                                  _pair("ReLU"), _pair("Conv2d", 3, 2, 3)))),
]


def _flat(value) -> list:
    """A model's outputs in order, nested tuples flattened: LSTM's (output, (h_n, c_n))."""
    return [t for item in value for t in _flat(item)] if isinstance(value, tuple | list) else [value]


@pytest.mark.parametrize(("case", "build"), CASES, ids=[c[0] for c in CASES])
def test_onnxruntime_agrees_with_chainrule_and_torch(case, build, tmp_path):
    cr.manual_seed(0)
    (model, twin), x, example = build()
    twin.load_state_dict(torch_state(model), strict=True)  # before export: max_norm renorms the weight in place
    twin.eval()
    path = tmp_path / "model.onnx"
    cr.onnx.export(model, cr.tensor(example), path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert onnx.helper.tensor_dtype_to_np_dtype(proto.graph.input[0].type.tensor_type.elem_type) == x.dtype
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})
    model.eval()
    with cr.no_grad():
        mine = [t.numpy() for t in _flat(model(cr.tensor(x)))]
    with torch.no_grad():
        theirs = [t.numpy() for t in _flat(twin(torch.from_numpy(x)))]
    last = type(list(model.modules())[-1]).__name__
    names = {"LSTM": ["h_n", "c_n"], "RNN": ["h_n"], "GRU": ["h_n"], "LSTMCell": ["c_1"]}.get(last, [])
    assert [o.name for o in session.get_outputs()] == ["output", *names]
    for k, (runtime, chainrule_output, torch_output) in enumerate(zip(got, mine, theirs, strict=True)):
        assert runtime.shape == torch_output.shape, f"output {k}"
        # the declared shape: free where the run's sizes differ from the export's (batch, sequence), else equal
        declared = [d.dim_param or d.dim_value for d in proto.graph.output[k].type.tensor_type.shape.dim]
        assert len(declared) == runtime.ndim and all(
            isinstance(d, str) or d == size for d, size in zip(declared, runtime.shape)), (k, declared, runtime.shape)
        np.testing.assert_allclose(runtime, chainrule_output, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"output {k}")
        np.testing.assert_allclose(runtime, torch_output, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"output {k}")
