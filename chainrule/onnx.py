"""``chainrule.onnx.export``: write a model as an ONNX file that onnxruntime (or any ONNX runtime) can run.

The graph is built with the ``onnx`` package's helper API (an optional dependency, imported when
``export`` runs). A model is a chain of layers: a ``Sequential`` (nested ones too) or an ``MLP``; each
layer class has one entry in ``CONVERTERS`` that emits its ONNX nodes. The model is exported as it
runs in eval mode (Dropout passes through, BatchNorm uses its running statistics), as ``torch.onnx.export``
does by default. The batch dimension is left free (``batch``); the other sizes come from ``example_input``.
"""

from __future__ import annotations

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
        output = self.name(hint)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


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


CONVERTERS: dict[type, Callable[..., str]] = {
    nn.Linear: _linear,
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
}


def _converter(module: nn.Module) -> Callable[..., str] | None:
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
        model: a Sequential, an MLP, or one supported layer (see ``CONVERTERS``).
        example_input: a float32 Tensor or array with the input's shape (its first dimension, the batch, stays free).
        path: the file to write (parent folders are created; written atomically).
        input_name, output_name: the names of the graph's input and output.

    Raises:
        NotImplementedError: a layer has no ONNX conversion (the message names it and lists what is supported).
        ValueError: a layer's settings have no ONNX equivalent (named in the message), or the input is not float32.
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
    example = example_input if isinstance(example_input, Tensor) else Tensor(np.asarray(example_input))
    if example._data.dtype != np.float32:
        raise ValueError(f"onnx.export: example_input must be float32 (the model's weights are), got "
                         f"{example._data.dtype}")
    layers = _chain(model)
    was_training = model.training
    model.eval()
    try:
        shapes = _input_shapes(layers, example)
        with no_grad():
            output_shape = tuple(model(example).shape)
        graph = Graph(onnx)
        x = input_name
        for name, layer in layers:
            x = _converter(layer)(graph, layer, x, shapes[name], name)  # type: ignore[misc]
        if x == input_name:  # no layers: the output is the input
            x = graph.node("Identity", [x], "identity")
        graph.nodes[-1].output[0] = output_name  # the last layer's result is the graph's output
    finally:
        model.train(was_training)
    free_batch = lambda shape: ["batch", *shape[1:]]  # noqa: E731
    float32 = onnx.TensorProto.FLOAT
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes, type(model).__name__,
            [onnx.helper.make_tensor_value_info(input_name, float32, free_batch(tuple(example.shape)))],
            [onnx.helper.make_tensor_value_info(output_name, float32, free_batch(output_shape))],
            graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="chainrule", ir_version=IR_VERSION)
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(path, proto.SerializeToString())
    return proto
