"""``chainrule.onnx.export``: write a model as an ONNX file that onnxruntime (or any ONNX runtime) can run.

The graph is built with the ``onnx`` package's helper API (an optional dependency, imported when
``export`` runs). A model is a chain of layers: a ``Sequential`` (nested ones too) or an ``MLP``; each
layer class has one entry in ``CONVERTERS`` that emits its ONNX nodes. The model is exported as it
runs in eval mode (Dropout passes through, BatchNorm uses its running statistics), as ``torch.onnx.export``
does by default. The batch dimension is left free (``batch``); the other sizes come from ``example_input``.

A recurrent layer (RNN, LSTM, GRU) returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``), which no
next layer of a Sequential can take (as in PyTorch); so it is the model itself or the last layer of the chain
(after an ``Embedding``, say), and the graph has the outputs ``output``, ``h_n`` (and ``c_n``); as LSTMCell's
``(h_1, c_1)`` becomes ``output`` and ``c_1``. The initial state is zeros (what ``forward(x)`` starts from; the
graph has no state input), and with a recurrent layer the sequence length is left free too (``sequence``).
The cells run as the same ONNX ops over a sequence of one step.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import nn
from chainrule._io import atomic_write
from chainrule.engine import conv as _conv
from chainrule.engine.autograd import no_grad
from chainrule.engine.tensor import Tensor
from chainrule.nn.rnn import RNNBase

OPSET = 17  # ONNX 1.12 (2022): LayerNormalization is in it; every runtime of the last years reads it
IR_VERSION = 8


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as error:
        raise ImportError(f"onnx.export: needs the onnx package, which is not installed ({error}); install it with: "
                          "pip install 'chainrule[onnx]' (or pip install onnx==1.23.2)") from None
    return onnx


class Graph:
    """The nodes and weights of the graph being built; every value gets a unique name."""

    def __init__(self, onnx: Any) -> None:
        self.onnx, self.nodes, self.initializers = onnx, [], []  # type: ignore[var-annotated]
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, array: Any, dtype: Any = np.float32) -> str:
        """A weight (or any constant) as an initializer; returns its name."""
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attributes: Any) -> str:
        """One node with one output; returns the output's name."""
        return self.node_outputs(op, inputs, hint, 1, **attributes)[0]

    def node_outputs(self, op: str, inputs: list[str], hint: str, count: int, **attributes: Any) -> list[str]:
        """One node with ``count`` outputs; returns their names."""
        outputs = [self.name(hint) for _ in range(count)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outputs, name=outputs[0], **attributes))
        return outputs

    def rename(self, old: str, new: str) -> None:
        """Give a value another name (a graph output its public one), wherever nodes make or read it."""
        for node in self.nodes:
            for names in (node.input, node.output):
                for k, name in enumerate(names):
                    if name == old:
                        names[k] = new


# ---------------------------------------------------------------------------- one converter per layer class
# Each takes (graph, layer, input name, input shape, layer path) and returns the output's name.


def _linear(g: Graph, m: nn.Linear, x: str, shape: tuple[int, ...], path: str) -> str:
    y = g.node("MatMul", [x, g.constant(f"{path}.weight_t", m.weight._data.T)], path)
    return y if m.bias is None else g.node("Add", [y, g.constant(f"{path}.bias", m.bias._data)], path)


def _unary(op: str, **attributes: Any) -> Callable[..., str]:
    return lambda g, m, x, shape, path: g.node(op, [x], path, **attributes)


def _scalar(g: Graph, value: float) -> str:
    return g.constant("const", np.array(value, dtype=np.float32))


def _softplus_beta(g: Graph, x: str, beta: float, threshold: float, path: str) -> str:
    """torch's softplus: log(1 + exp(βx)) / β, and x itself where βx > threshold."""
    bx = g.node("Mul", [x, _scalar(g, beta)], path)
    soft = g.node("Div", [g.node("Softplus", [bx], path), _scalar(g, beta)], path)
    return g.node("Where", [g.node("Greater", [bx, _scalar(g, threshold)], path), x, soft], path)


def _gelu(g: Graph, m: nn.GELU, x: str, shape: tuple[int, ...], path: str) -> str:
    if m.approximate == "tanh":  # 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        cube = g.node("Mul", [g.node("Mul", [x, x], path), x], path)
        inner = g.node("Add", [x, g.node("Mul", [cube, _scalar(g, 0.044715)], path)], path)
        gate = g.node("Tanh", [g.node("Mul", [inner, _scalar(g, math.sqrt(2 / math.pi))], path)], path)
    else:  # 0.5·x·(1 + erf(x/√2)); GELU is an ONNX op only from opset 20
        gate = g.node("Erf", [g.node("Div", [x, _scalar(g, math.sqrt(2))], path)], path)
    half_x = g.node("Mul", [x, _scalar(g, 0.5)], path)
    return g.node("Mul", [half_x, g.node("Add", [gate, _scalar(g, 1.0)], path)], path)


def _silu(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x], path)], path)


def _mish(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    return g.node("Mul", [x, g.node("Tanh", [_softplus_beta(g, x, 1.0, 20.0, path)], path)], path)


def _softplus(g: Graph, m: nn.Softplus, x: str, shape: tuple[int, ...], path: str) -> str:
    return _softplus_beta(g, x, m.beta, m.threshold, path)


def _hardtanh(g: Graph, m: nn.Hardtanh, x: str, shape: tuple[int, ...], path: str) -> str:
    return g.node("Clip", [x, _scalar(g, m.min_val), _scalar(g, m.max_val)], path)


def _tanhshrink(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    return g.node("Sub", [x, g.node("Tanh", [x], path)], path)


def _logsigmoid(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:  # -softplus(-x)
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x], path)], path)], path)


def _softmax(op: str) -> Callable[..., str]:
    def convert(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
        if m.dim is None:
            raise ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}(dim=None)) leaves the axis to an "
                             f"implicit choice; give dim explicitly, e.g. {type(m).__name__}(dim=1)")
        return g.node(op, [x], path, axis=m.dim)
    return convert


def _identity(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    return g.node("Identity", [x], path)  # Dropout and Identity in eval mode


def _batch_norm(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    if m.running_mean is None:
        raise ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}(track_running_stats=False)) normalizes "
                         "with each batch's own statistics in eval mode, which an exported graph cannot; train it "
                         "with track_running_stats=True")
    c = m.num_features
    scale = m.weight._data if m.weight is not None else np.ones(c)
    bias = m.bias._data if m.bias is not None else np.zeros(c)
    inputs = [x, g.constant(f"{path}.weight", scale), g.constant(f"{path}.bias", bias),
              g.constant(f"{path}.running_mean", m.running_mean._data),
              g.constant(f"{path}.running_var", m.running_var._data)]
    return g.node("BatchNormalization", inputs, path, epsilon=float(m.eps))


def _layer_norm(g: Graph, m: nn.LayerNorm, x: str, shape: tuple[int, ...], path: str) -> str:
    dims = m.normalized_shape
    scale = m.weight._data if m.weight is not None else np.ones(dims)
    bias = m.bias._data if m.bias is not None else np.zeros(dims)
    return g.node("LayerNormalization", [x, g.constant(f"{path}.weight", scale), g.constant(f"{path}.bias", bias)],
                  path, axis=-len(dims), epsilon=float(m.eps))


def _flatten(g: Graph, m: nn.Flatten, x: str, shape: tuple[int, ...], path: str) -> str:
    rank = len(shape)
    start, end = m.start_dim % rank, m.end_dim % rank
    if start == 0:
        raise ValueError(f"onnx.export: layer {path!r} (Flatten(start_dim={m.start_dim})) folds the batch "
                         "dimension into the others; the exported graph keeps the batch free (start_dim >= 1)")
    # Reshape: 0 keeps an input dimension (the batch among them), -1 takes what the flattened ones hold.
    target = [0] * start + [-1] + list(shape[end + 1:])
    return g.node("Reshape", [x, g.constant(f"{path}.shape", target, np.int64)], path)


def _unflatten(g: Graph, m: nn.Unflatten, x: str, shape: tuple[int, ...], path: str) -> str:
    dim = m.dim % len(shape)
    if dim == 0:
        raise ValueError(f"onnx.export: layer {path!r} (Unflatten(dim=0)) splits the batch dimension")
    target = [0] * dim + list(m.unflattened_size) + list(shape[dim + 1:])
    return g.node("Reshape", [x, g.constant(f"{path}.shape", target, np.int64)], path)


def _onnx_pads(padding: Any, nd: int, kernel: tuple[int, ...], dilation: tuple[int, ...], stride: tuple[int, ...],
               op: str) -> list[int]:
    """ONNX's pads (all begins, then all ends) from torch's padding."""
    top, bottom, left, right = _conv.conv_padding(padding, nd, kernel, dilation, stride, op)
    return [left, right] if nd == 1 else [top, left, bottom, right]


def _conv_layer(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    _batched(m, shape, path)
    inputs = [x, g.constant(f"{path}.weight", m.weight._data)]
    if m.bias is not None:
        inputs.append(g.constant(f"{path}.bias", m.bias._data))
    pads = _onnx_pads(m.padding, m.nd, m.kernel_size, m.dilation, m.stride, type(m).__name__)
    return g.node("Conv", inputs, path, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  dilations=list(m.dilation), pads=pads, group=m.groups)


def _pool_geometry(m: Any, with_dilation: bool) -> dict[str, Any]:
    name, nd = type(m).__name__, m.nd
    kernel = _conv.ntuple(m.kernel_size, nd, "kernel_size", name)
    stride = _conv.ntuple(m.stride, nd, "stride", name)
    dilation = _conv.ntuple(m.dilation, nd, "dilation", name) if with_dilation else (1,) * nd
    pads = [p for p in _conv.ntuple(m.padding, nd, "padding", name, minimum=0)] * 2
    geometry = {"kernel_shape": list(kernel), "strides": list(stride), "pads": pads, "ceil_mode": int(m.ceil_mode)}
    if with_dilation:
        geometry["dilations"] = list(dilation)
    return geometry


def _batched(m: Any, shape: tuple[int, ...], path: str) -> None:
    if len(shape) != m.nd + 2:
        raise ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}) gets unbatched input of shape {shape}; "
                         f"export with a batch dimension first, e.g. example_input of shape (1, *{shape})")


def _max_pool(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    _batched(m, shape, path)
    if m.return_indices:
        raise ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}(return_indices=True)) returns two "
                         "tensors; only single-output layers can be chained")
    return g.node("MaxPool", [x], path, **_pool_geometry(m, with_dilation=True))


def _avg_pool(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    _batched(m, shape, path)
    if m.divisor_override is not None:
        raise ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}(divisor_override=...)) has no ONNX "
                         "equivalent")
    return g.node("AveragePool", [x], path, count_include_pad=int(m.count_include_pad),
                  **_pool_geometry(m, with_dilation=False))


def _adaptive_avg_pool(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str:
    _batched(m, shape, path)
    sizes = shape[2:]
    out = _conv.ntuple(m.output_size, m.nd, "output_size", type(m).__name__)
    if all(o == 1 for o in out):
        return g.node("GlobalAveragePool", [x], path)
    if any(s % o for s, o in zip(sizes, out)):
        raise ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}(output_size={m.output_size})) on input "
                         f"of size {sizes} uses windows of unequal sizes, which ONNX pooling cannot express; use "
                         "an input size divisible by output_size")
    kernel = [s // o for s, o in zip(sizes, out)]
    return g.node("AveragePool", [x], path, kernel_shape=kernel, strides=kernel)


def _embedding(g: Graph, m: nn.Embedding, x: str, shape: tuple[int, ...], path: str) -> str:
    # padding_idx only keeps that row from learning; the lookup itself is the same for every row
    rows = g.node("Gather", [g.constant(f"{path}.weight", m.weight._data), x], path, axis=0)
    return rows if m.max_norm is None else _max_norm(g, rows, m.max_norm, m.norm_type, path)


def _max_norm(g: Graph, rows: str, max_norm: float, p: float, path: str) -> str:
    """torch's embedding_renorm_, on the looked-up rows: a row whose p-norm exceeds max_norm is scaled by
    max_norm / (norm + 1e-7). Chainrule (as torch) also writes the scaled rows back into the weight; scaling a
    row twice changes nothing, so the graph's outputs are the layer's for every later call too."""
    if not (math.isfinite(p) and p > 0):
        raise ValueError(f"onnx.export: layer {path!r} (Embedding(max_norm={max_norm}, norm_type={p})) needs a "
                         "finite positive norm_type to be exported; got one the graph cannot compute as "
                         "(sum |x|^p)^(1/p)")
    powered = g.node("Pow", [g.node("Abs", [rows], path), _scalar(g, p)], path)
    summed = g.node("ReduceSum", [powered, g.constant(f"{path}.axes", [-1], np.int64)], path, keepdims=1)
    norm = g.node("Pow", [summed, _scalar(g, 1.0 / p)], path)
    scale = g.node("Div", [_scalar(g, max_norm), g.node("Add", [norm, _scalar(g, 1e-7)], path)], path)
    too_long = g.node("Greater", [norm, _scalar(g, max_norm)], path)
    return g.node("Where", [too_long, g.node("Mul", [rows, scale], path), rows], path)


def _upsample(g: Graph, m: nn.Upsample, x: str, shape: tuple[int, ...], path: str) -> str:
    """ONNX Resize with the coordinates torch uses (and torch.onnx.export writes): nearest reads floor(i / scale)
    ('asymmetric'); (bi)linear reads (i + 0.5) / scale - 0.5 clamped at 0 ('half_pixel': torch does not
    special-case an output of size 1, as 'pytorch_half_pixel' does) or i·(n - 1)/(out - 1) with align_corners."""
    nd = len(shape) - 2
    if m.mode == "nearest":
        attributes = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attributes = {"mode": "linear",
                      "coordinate_transformation_mode": "align_corners" if m.align_corners else "half_pixel"}
    roi = g.constant(f"{path}.roi", [])
    factors = m.scale_factor if isinstance(m.scale_factor, tuple | list) else (m.scale_factor,) * nd
    if m.size is None and not m.recompute_scale_factor:  # torch reads the input at i / scale_factor
        return g.node("Resize", [x, roi, g.constant(f"{path}.scales", [1.0, 1.0, *factors])], path, **attributes)
    # a given size (or scales recomputed from the sizes): the output's sizes, the batch and channels as they come
    if m.size is not None:
        spatial = _conv.ntuple(m.size, nd, "size", "Upsample")
    else:
        spatial = tuple(math.floor(n * float(f)) for n, f in zip(shape[2:], factors))
    sizes = g.node("Concat", [g.node("Shape", [x], path, start=0, end=2),
                              g.constant(f"{path}.sizes", spatial, np.int64)], path, axis=0)
    return g.node("Resize", [x, roi, "", sizes], path, **attributes)


# ONNX's op and where each of its gate blocks sits in torch's weights: ONNX's LSTM stacks i, o, f, c (torch i, f,
# g, o), its GRU z, r, h (torch r, z, n)
_RECURRENT_OPS = {"RNN_TANH": ("RNN", [0]), "RNN_RELU": ("RNN", [0]), "LSTM": ("LSTM", [0, 3, 1, 2]),
                  "GRU": ("GRU", [1, 0, 2])}


def _recurrent_node(g: Graph, mode: str, m: Any, names: list[str], x: str, where: str) -> list[str]:
    """One ONNX RNN/LSTM/GRU node over x (L, N, H_in), one direction per weight-name suffix in ``names`` (torch's
    weight_ih{suffix}, ...), from a zero state; returns its outputs Y (L, directions, N, H), Y_h (and Y_c)."""
    op, order = _RECURRENT_OPS[mode]
    hidden, directions = m.hidden_size, len(names)
    attributes: dict[str, Any] = {"hidden_size": hidden, "direction": "bidirectional" if directions == 2 else "forward"}
    if mode == "RNN_RELU":
        attributes["activations"] = ["Relu"] * directions
    if mode == "GRU":  # torch's n = tanh(W_in x + b_in + r·(W_hn h + b_hn)): r multiplies after the product
        attributes["linear_before_reset"] = 1

    def stacked(name: str) -> np.ndarray:
        """(directions, gates·H, ...) in ONNX's gate order."""
        per_direction = []
        for suffix in names:
            weight = getattr(m, f"{name}{suffix}")._data
            per_direction.append(weight.reshape(len(order), hidden, *weight.shape[1:])[order].reshape(weight.shape))
        return np.stack(per_direction)

    inputs = [x, g.constant(f"{where}.W", stacked("weight_ih")), g.constant(f"{where}.R", stacked("weight_hh"))]
    if m.bias:
        inputs.append(g.constant(f"{where}.B", np.concatenate([stacked("bias_ih"), stacked("bias_hh")], axis=1)))
    return g.node_outputs(op, inputs, where, 3 if mode == "LSTM" else 2, **attributes)


def _unbatched(m: Any, shape: tuple[int, ...], path: str, batched: tuple[int, ...]) -> ValueError:
    return ValueError(f"onnx.export: layer {path!r} ({type(m).__name__}) gets unbatched input of shape {shape}; "
                      f"export with a batched example, so that this layer gets input of shape {batched}")


def _recurrent(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> tuple[str, ...]:
    """One ONNX RNN/LSTM/GRU node per layer (both directions in it); returns (output, h_n[, c_n])."""
    if len(shape) != 3:
        raise _unbatched(m, shape, path, (1, *shape) if m.batch_first else (shape[0], 1, *shape[1:]))
    if m.batch_first:  # ONNX's ops read (L, N, H_in); onnxruntime has no batch-first layout
        x = g.node("Transpose", [x], path, perm=[1, 0, 2])
    states: list[list[str]] = []
    for layer in range(m.num_layers):
        suffixes = [f"_l{layer}", f"_l{layer}_reverse"][:2 if m.bidirectional else 1]
        y, *state = _recurrent_node(g, m.mode, m, suffixes, x, f"{path}.l{layer}")
        # Y is (L, directions, N, H); the next layer, and torch's output, read (L, N, directions·H)
        y = g.node("Transpose", [y], path, perm=[0, 2, 1, 3])
        x = g.node("Reshape", [y, g.constant(f"{path}.shape", [0, 0, -1], np.int64)], path)
        states.append(state)
    if m.batch_first:
        x = g.node("Transpose", [x], path, perm=[1, 0, 2])
    # h_n (and c_n): (layers·directions, N, H), layer by layer as torch stacks them
    finals = [g.node("Concat", list(per_layer), path, axis=0) if m.num_layers > 1 else per_layer[0]
              for per_layer in zip(*states)]
    return (x, *finals)


def _cell(g: Graph, m: Any, x: str, shape: tuple[int, ...], path: str) -> str | tuple[str, ...]:
    """A cell's one step, from a zero state, as a sequence of one step: h_1 (LSTMCell: (h_1, c_1))."""
    if len(shape) != 2:
        raise _unbatched(m, shape, path, (1, *shape))
    if isinstance(m, nn.LSTMCell | nn.GRUCell):
        mode = "LSTM" if isinstance(m, nn.LSTMCell) else "GRU"
    else:
        mode = "RNN_RELU" if m.nonlinearity == "relu" else "RNN_TANH"
    one_step = g.node("Unsqueeze", [x, g.constant(f"{path}.axes", [0], np.int64)], path)
    _, *states = _recurrent_node(g, mode, m, [""], one_step, path)
    finals = tuple(g.node("Squeeze", [state, g.constant(f"{path}.axes", [0], np.int64)], path) for state in states)
    return finals if len(finals) > 1 else finals[0]


CONVERTERS: dict[type, Callable[..., Any]] = {  # each returns its output's name (a recurrent layer: a tuple)
    nn.Linear: _linear,
    nn.Embedding: _embedding,
    nn.Identity: _identity,
    nn.ReLU: _unary("Relu"),
    nn.LeakyReLU: lambda g, m, x, shape, path: g.node("LeakyRelu", [x], path, alpha=float(m.negative_slope)),
    nn.Sigmoid: _unary("Sigmoid"),
    nn.Tanh: _unary("Tanh"),
    nn.GELU: _gelu,
    nn.SiLU: _silu,
    nn.Mish: _mish,
    nn.ELU: lambda g, m, x, shape, path: g.node("Elu", [x], path, alpha=float(m.alpha)),
    nn.Softplus: _softplus,
    nn.Hardtanh: _hardtanh,  # and ReLU6, its subclass
    nn.Softsign: _unary("Softsign"),
    nn.Tanhshrink: _tanhshrink,
    nn.LogSigmoid: _logsigmoid,
    nn.Softmax: _softmax("Softmax"),
    nn.LogSoftmax: _softmax("LogSoftmax"),
    nn.Dropout: _identity,
    nn.Dropout2d: _identity,
    nn.BatchNorm1d: _batch_norm,  # and BatchNorm2d, its subclass
    nn.LayerNorm: _layer_norm,
    nn.Flatten: _flatten,
    nn.Unflatten: _unflatten,
    nn.Conv1d: _conv_layer,
    nn.Conv2d: _conv_layer,
    nn.MaxPool1d: _max_pool,
    nn.MaxPool2d: _max_pool,
    nn.AvgPool1d: _avg_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool1d: _adaptive_avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.Upsample: _upsample,
    nn.RNN: _recurrent,
    nn.LSTM: _recurrent,
    nn.GRU: _recurrent,
    nn.RNNCell: _cell,
    nn.LSTMCell: _cell,
    nn.GRUCell: _cell,
}


def _converter(module: nn.Module) -> Callable[..., Any] | None:
    return next((CONVERTERS[cls] for cls in type(module).__mro__ if cls in CONVERTERS), None)


def _chain(module: nn.Module, path: str = "") -> list[tuple[str, nn.Module]]:
    """The layers the model applies one after the other, with their dotted names (as named_modules gives)."""
    from chainrule.training.models import MLP

    if isinstance(module, nn.Sequential):
        return [layer for name, child in module.named_children()
                for layer in _chain(child, f"{path}.{name}" if path else name)]
    if isinstance(module, MLP):
        return _chain(module.layers, f"{path}.layers" if path else "layers")
    if _converter(module) is None:
        supported = sorted({cls.__name__ for cls in CONVERTERS} | {"Sequential", "MLP"})
        raise NotImplementedError(
            f"onnx.export: layer {path or 'model'!r} ({type(module).__name__}) has no ONNX conversion; "
            f"supported: {', '.join(supported)} (a custom Module's forward cannot be read: build it as a Sequential)")
    return [(path or type(module).__name__, module)]


# The layers that return a tuple: the graph's names for their outputs after the first, each with its batch axis
MORE_OUTPUTS: dict[type, tuple[tuple[str, int], ...]] = {
    nn.RNN: (("h_n", 1),), nn.GRU: (("h_n", 1),), nn.LSTM: (("h_n", 1), ("c_n", 1)), nn.LSTMCell: (("c_1", 0),)}


def _more_outputs(layer: nn.Module) -> tuple[tuple[str, int], ...]:
    return next((MORE_OUTPUTS[cls] for cls in type(layer).__mro__ if cls in MORE_OUTPUTS), ())


def _check_tuple_last(layers: list[tuple[str, nn.Module]]) -> None:
    """A tuple, as a recurrent layer returns, is no input for a next layer, in chainrule as in PyTorch."""
    for (name, layer), (next_name, next_layer) in itertools.pairwise(layers):
        if _more_outputs(layer):
            raise ValueError(
                f"onnx.export: layer {name!r} ({type(layer).__name__}) returns a tuple, which the next layer "
                f"{next_name!r} ({type(next_layer).__name__}) cannot take (as in PyTorch's Sequential); export it as "
                "the model itself or as the last layer of a Sequential")


def _free_dimensions(layers: list[tuple[str, nn.Module]]) -> dict[int, str]:
    """The input's dimensions left free in the graph: the batch; with a recurrent layer, the sequence too."""
    recurrent = [layer for _, layer in layers if isinstance(layer, RNNBase)]
    if not recurrent:
        return {0: "batch"}
    return {0: "batch", 1: "sequence"} if recurrent[0].batch_first else {0: "sequence", 1: "batch"}


def _input_dtype(example: Tensor, layers: list[tuple[str, nn.Module]]) -> Any:
    """float32 input (the weights' dtype), or integer indices for a chain that starts with an Embedding."""
    dtype = example._data.dtype
    first_name, first = layers[0] if layers else ("model", None)
    if isinstance(first, nn.Embedding):
        if dtype not in (np.int64, np.int32):
            raise ValueError(f"onnx.export: layer {first_name!r} (Embedding) looks up integer indices: "
                             f"example_input must be int64 (or int32), got {dtype}")
    elif dtype != np.float32:
        raise ValueError(f"onnx.export: example_input must be float32 (the model's weights are), got {dtype}"
                         + (f"; integer indices go to an Embedding, and layer {first_name!r} is a "
                            f"{type(first).__name__}" if dtype.kind in "iu" else ""))
    return dtype


def _input_shapes(layers: list[tuple[str, nn.Module]], example: Tensor) -> dict[str, tuple[int, ...]]:
    """Each layer's input shape, from running the chain on the example (in eval mode, without a graph)."""
    shapes: dict[str, tuple[int, ...]] = {}
    x = example
    with no_grad():
        for name, layer in layers:
            shapes[name] = tuple(x.shape)
            x = layer(x)
    return shapes


def export(model: nn.Module, example_input: Any, path: str | os.PathLike[str], *, input_name: str = "input",
           output_name: str = "output") -> Any:
    """Write ``model`` as an ONNX file (opset 17) and return the checked ``onnx.ModelProto``.

    Args:
        model: a Sequential, an MLP, or one supported layer (see ``CONVERTERS``); a layer that returns a tuple
            (RNN, LSTM, GRU, LSTMCell) only as the model or the chain's last layer.
        example_input: a Tensor or array with the input's shape (its first dimension, the batch, stays free; with
            a recurrent layer the sequence length too) and dtype: float32, or int64/int32 indices for an Embedding.
        path: the file to write (parent folders are created; written atomically).
        input_name, output_name: the names of the graph's input and (first) output; a recurrent layer's final
            states are the outputs ``h_n`` (and ``c_n``), an LSTMCell's cell state ``c_1`` (see ``MORE_OUTPUTS``).

    Raises:
        NotImplementedError: a layer has no ONNX conversion (the message names it and lists what is supported).
        ValueError: a layer's settings have no ONNX equivalent (named in the message), a layer that returns a
            tuple is not last, or the input's dtype does not fit the first layer.
        ImportError: the onnx package is not installed.

    >>> import os, tempfile, chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    >>> proto = export(net, cr.zeros(1, 3), os.path.join(tempfile.mkdtemp(), "net.onnx"))
    >>> [node.op_type for node in proto.graph.node]
    ['MatMul', 'Add', 'Relu', 'MatMul', 'Add']
    """
    onnx = _onnx()
    if not isinstance(model, nn.Module):
        raise TypeError(f"onnx.export: model must be a chainrule.nn.Module, got {type(model).__name__}")
    example = example_input if isinstance(example_input, Tensor) else Tensor._make(np.asarray(example_input))
    layers = _chain(model)
    _check_tuple_last(layers)
    input_dtype = _input_dtype(example, layers)
    was_training = model.training
    model.eval()
    try:
        shapes = _input_shapes(layers, example)
        with no_grad():
            result = model(example)
        outputs = list(_tensors(result))
        graph = Graph(onnx)
        converted: Any = input_name
        for name, layer in layers:
            converted = _converter(layer)(graph, layer, converted, shapes[name], name)  # type: ignore[misc]
        if converted == input_name:  # no layers: the output is the input
            converted = graph.node("Identity", [converted], "identity")
        more = _more_outputs(layers[-1][1]) if layers else ()
        produced = list(_tensors(converted))
        assert len(produced) == len(outputs) == 1 + len(more), (len(produced), len(outputs), more)
        output_names = [output_name, *(public for public, _ in more)]
        for internal, public in zip(produced, output_names):
            graph.rename(internal, public)
    finally:
        model.train(was_training)
    free = _free_dimensions(layers)
    declared = lambda shape, names: [names.get(k, size) for k, size in enumerate(shape)]  # noqa: E731
    output_free = [free, *({batch_axis: "batch"} for _, batch_axis in more)]
    value_info = onnx.helper.make_tensor_value_info
    float32 = onnx.TensorProto.FLOAT
    graph_outputs = [value_info(public, float32, declared(tuple(tensor.shape), dims))
                     for public, tensor, dims in zip(output_names, outputs, output_free)]
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes, type(model).__name__,
            [value_info(input_name, onnx.helper.np_dtype_to_tensor_dtype(input_dtype),
                        declared(tuple(example.shape), free))],
            graph_outputs, graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="chainrule", ir_version=IR_VERSION)
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(path, proto.SerializeToString())
    return proto


def _tensors(value: Any) -> Any:
    """The tensors (or names) of a layer's result in order, nested tuples flattened: LSTM's (output, (h, c))."""
    if isinstance(value, tuple | list):
        for item in value:
            yield from _tensors(item)
    else:
        yield value
