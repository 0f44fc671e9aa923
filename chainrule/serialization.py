"""Save and load models as safetensors: weights as tensors, the architecture as JSON in the file's metadata.

One file holds everything: ``chainrule.save(model, "model.safetensors")`` writes every parameter and
buffer under its ``state_dict`` name, and the header's metadata holds ``chainrule.architecture`` (JSON:
an MLP's spec, or a Sequential's layers with their constructor arguments) and ``chainrule.sha256``
(a digest of the tensors, so a corrupted file is caught). Loading reads JSON and raw arrays only:
it never executes code, unlike pickle. Writes are atomic: a crash mid-write leaves the old file.

As ``torch.save``/``torch.load``, ``save`` also takes a state dict (``model.state_dict()``) or any tree of
dicts, lists and tuples holding tensors, arrays, numbers, strings and None (``{"model": ..., "epoch": 3}``):
the tensors go in the file under their dotted names (a state dict's keys, readable by any safetensors
reader), the tree's shape in the metadata key ``chainrule.object``, and ``load`` gives the same tree back
with Tensors, so ``model.load_state_dict(cr.load(path))`` works as in PyTorch.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import struct
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from chainrule import nn
from chainrule._io import atomic_write, check_regular_file
from chainrule.engine.tensor import Tensor, check_device

FORMAT = "chainrule"
ARCHITECTURE_KEY = "chainrule.architecture"
DIGEST_KEY = "chainrule.sha256"
OBJECT_KEY = "chainrule.object"
# The most elements ``load`` builds a model with, and the largest dimension it accepts: generous for real
# models, small enough that a crafted kilobyte cannot ask for gigabytes. Raise it with ``load(max_elements=)``.
MAX_ELEMENTS = 2**31
# How deeply a file's metadata may nest (Sequentials in Sequentials, dicts in lists): real models stay far below.
MAX_DEPTH = 64


# ---------------------------------------------------------------------------- files


def _contiguous(array: Any) -> np.ndarray:
    # Not np.ascontiguousarray: it turns 0-d arrays (BatchNorm's num_batches_tracked) into 1-d ones.
    return np.array(array, order="C", copy=None)


def _digest(tensors: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        array = _contiguous(tensors[name])
        h.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        h.update(array.reshape(-1).view(np.uint8).data)  # the bytes in place, no copy
    return h.hexdigest()


def write_tensors(path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Atomically write NumPy arrays and string metadata (plus a digest of the arrays) as safetensors."""
    tensors = {k: _contiguous(v) for k, v in tensors.items()}
    metadata = {**metadata, DIGEST_KEY: _digest(tensors)}
    atomic_write(path, safetensors.numpy.save(tensors, metadata=metadata))


def read_tensors(path: str | os.PathLike[str], where: str = "chainrule.load") -> tuple[dict[str, np.ndarray],
                                                                                        dict[str, str]]:
    """Read a file written by :func:`write_tensors`: (arrays, metadata), checked against the digest.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupted or not a chainrule safetensors file.
    """
    path = Path(path)
    check_regular_file(path, where)
    size = path.stat().st_size

    def corrupt(reason: str) -> ValueError:
        return ValueError(f"{where}: {str(path)!r} is not a readable chainrule safetensors file "
                          f"(truncated or corrupted?): {reason}")

    if size < 8:
        raise corrupt(f"only {size} bytes, shorter than the 8-byte header size")
    with path.open("rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        if header_size > size - 8:
            raise corrupt(f"the header claims {header_size} bytes but the file has {size - 8} after the size")
        header_bytes = handle.read(header_size)
    try:
        header = json.loads(header_bytes)
        # Memory-mapped: each tensor is copied out of the file once, the file itself is never read whole.
        with safetensors.safe_open(path, framework="numpy") as file:
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except Exception as error:  # safetensors raises its own error type for every kind of damage
        raise corrupt(str(error)) from None
    if not isinstance(header, dict):
        raise corrupt(f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or DIGEST_KEY not in metadata:
        raise ValueError(f"{where}: {str(path)!r} is a safetensors file but not one chainrule wrote "
                         f"(no {DIGEST_KEY!r} in its metadata)")
    if _digest(tensors) != metadata[DIGEST_KEY]:
        raise corrupt("the tensors do not match the digest stored with them")
    return tensors, metadata


# ---------------------------------------------------------------------------- architecture


# Built-in layers without constructor arguments to keep.
_STATELESS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.SiLU, nn.Mish, nn.ReLU6, nn.Softsign, nn.Tanhshrink,
              nn.LogSigmoid)


def _layer_config(module: nn.Module) -> dict[str, Any]:
    """The constructor arguments of a built-in layer, read back from its attributes."""
    name = type(module).__name__
    if isinstance(module, nn.Linear):
        return {"type": name, "in_features": module.in_features, "out_features": module.out_features,
                "bias": module.bias is not None}
    if isinstance(module, nn.BatchNorm1d):
        return {"type": name, "num_features": module.num_features, "eps": module.eps, "momentum": module.momentum,
                "affine": module.affine, "track_running_stats": module.track_running_stats}
    if isinstance(module, nn.LayerNorm):
        return {"type": name, "normalized_shape": list(module.normalized_shape), "eps": module.eps,
                "elementwise_affine": module.elementwise_affine}
    if isinstance(module, nn.Dropout):
        return {"type": name, "p": module.p}
    if isinstance(module, nn.LeakyReLU):
        return {"type": name, "negative_slope": module.negative_slope}
    if isinstance(module, nn.GELU):
        return {"type": name, "approximate": module.approximate}
    if isinstance(module, nn.Softmax | nn.LogSoftmax):
        return {"type": name, "dim": module.dim}
    if isinstance(module, nn.Flatten):
        return {"type": name, "start_dim": module.start_dim, "end_dim": module.end_dim}
    if isinstance(module, nn.Unflatten):
        return {"type": name, "dim": module.dim, "unflattened_size": list(module.unflattened_size),
                "as_list": isinstance(module.unflattened_size, list)}
    if isinstance(module, nn.ELU):
        return {"type": name, "alpha": module.alpha}
    if isinstance(module, nn.Softplus):
        return {"type": name, "beta": module.beta, "threshold": module.threshold}
    if type(module) is nn.Hardtanh:
        return {"type": name, "min_val": module.min_val, "max_val": module.max_val}
    if isinstance(module, nn.Embedding):
        return {"type": name, "num_embeddings": module.num_embeddings, "embedding_dim": module.embedding_dim,
                "padding_idx": module.padding_idx, "max_norm": module.max_norm, "norm_type": module.norm_type,
                "scale_grad_by_freq": module.scale_grad_by_freq}
    if type(module) in _STATELESS:
        return {"type": name}
    if isinstance(module, nn.Sequential):
        return {"type": name, "layers": [_layer_config(child) for child in module.children()]}
    raise TypeError(
        f"chainrule.save: cannot describe a {name} layer; save supports MLP and Sequential models of the "
        "built-in layers (Linear, Embedding, BatchNorm1d, LayerNorm, Dropout, the activations, Softmax, "
        "LogSoftmax, Flatten, Unflatten, Identity). For a custom Module, save model.state_dict() "
        "(chainrule.save(model.state_dict(), path), or chainrule.serialization.save_state_dict) and rebuild "
        "the model yourself"
    )


def architecture(model: nn.Module) -> dict[str, Any]:
    """The JSON-ready description ``load`` rebuilds ``model`` from.

    Raises:
        TypeError: the model (or a layer in it) is not one save knows how to rebuild.
    """
    from chainrule.training.models import MLP

    if isinstance(model, MLP):
        return {"type": "MLP", "spec": model.spec.to_dict()}
    if not isinstance(model, nn.Module):
        raise TypeError(f"chainrule.save: expected a chainrule.nn.Module, got {type(model).__name__}")
    return _layer_config(model)


def build(config: dict[str, Any]) -> nn.Module:
    """Rebuild a model (with fresh weights) from :func:`architecture`'s description.

    Raises:
        ValueError: an unknown layer type or bad arguments in the description.
    """
    from chainrule.training.models import MLP, MLPSpec

    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"chainrule.load: expected an architecture dict with a 'type', got {config!r}")
    kind = config["type"]
    args = {k: v for k, v in config.items() if k != "type"}
    if kind == "MLP":
        return MLP(MLPSpec.from_dict(args["spec"]))
    if kind == "Sequential":
        return nn.Sequential(*[build(layer) for layer in args["layers"]])
    allowed = {"Linear", "BatchNorm1d", "LayerNorm", "Dropout", "LeakyReLU", "GELU", "Softmax", "LogSoftmax",
               "Flatten", "Unflatten", "ELU", "Softplus", "Hardtanh", "Embedding",
               *(layer.__name__ for layer in _STATELESS)}
    if kind not in allowed:
        raise ValueError(f"chainrule.load: unknown layer type {kind!r} in the saved architecture; "
                         f"expected one of {sorted(allowed | {'MLP', 'Sequential'})}")
    try:
        if kind == "LayerNorm":
            args["normalized_shape"] = tuple(args["normalized_shape"])
        if kind == "Unflatten" and not args.pop("as_list", False):
            args["unflattened_size"] = tuple(args["unflattened_size"])
        return getattr(nn, kind)(**args)
    except (TypeError, KeyError) as error:
        raise ValueError(f"chainrule.load: cannot rebuild {kind} from {args}: {error}") from None


def _size(config: dict[str, Any], key: str, where: str, limit: int, default: Any = None) -> int:
    """``config[key]`` as a dimension: an int in [0, limit], or a ValueError naming the field."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}.{key}: expected a non-negative int, got {value!r}")
    if value > limit:
        raise ValueError(f"{where}.{key} is {value}, above the limit of {limit} (chainrule.load's max_elements; "
                         f"pass a larger max_elements= if you trust the file)")
    return value


def _flag(config: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def planned_elements(config: Any, limit: int = MAX_ELEMENTS, where: str = "architecture", depth: int = 0) -> int:
    """How many parameter and buffer elements :func:`build` would allocate for ``config``, computed without
    allocating: every field it reads is type-checked and every dimension held to ``limit``.

    Raises:
        ValueError: a missing or mistyped field, nesting deeper than ``MAX_DEPTH``, or a dimension above
            ``limit``; the message names the field (``architecture.layers[2].in_features``).

    >>> planned_elements({"type": "Linear", "in_features": 3, "out_features": 2, "bias": True})
    8
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested more than {MAX_DEPTH} levels deep")
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"{where}: expected an object with a string 'type', got {str(config)[:80]}")
    kind = config["type"]
    if kind == "MLP":
        spec = config.get("spec")
        where = f"{where}.spec"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: expected an object with the MLPSpec fields, got {str(spec)[:80]}")
        hidden = spec.get("hidden")
        if not isinstance(hidden, list):
            raise ValueError(f"{where}.hidden: expected a list of widths, got {str(hidden)[:80]}")
        widths = [_size(spec, "in_features", where, limit),
                  *(_size({"hidden": h}, "hidden", f"{where}[{i}]", limit) for i, h in enumerate(hidden)),
                  _size(spec, "out_features", where, limit)]
        batch_norm = _flag(spec, "batch_norm", where, False)
        return sum(a * b + b for a, b in itertools.pairwise(widths)) + \
            sum(4 * h + 1 for h in widths[1:-1]) * batch_norm
    if kind == "Sequential":
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError(f"{where}.layers: expected a list of layers, got {str(layers)[:80]}")
        return sum(planned_elements(layer, limit, f"{where}.layers[{i}]", depth + 1) for i, layer in enumerate(layers))
    if kind == "Linear":
        out = _size(config, "out_features", where, limit)
        return _size(config, "in_features", where, limit) * out + out * _flag(config, "bias", where, True)
    if kind == "Embedding":
        return _size(config, "num_embeddings", where, limit) * _size(config, "embedding_dim", where, limit)
    if kind == "BatchNorm1d":
        n = _size(config, "num_features", where, limit)
        track = _flag(config, "track_running_stats", where, True)
        return n * (2 * _flag(config, "affine", where, True) + 2 * track) + track
    if kind == "LayerNorm":
        shape = config.get("normalized_shape")
        shape = [shape] if isinstance(shape, int) else shape
        if not isinstance(shape, list) or not shape:
            raise ValueError(f"{where}.normalized_shape: expected a list of sizes, got {str(shape)[:80]}")
        size = 1
        for i, n in enumerate(shape):
            size *= _size({"n": n}, "n", f"{where}.normalized_shape[{i}]", limit)
        affine = _flag(config, "elementwise_affine", where, True)
        return size * affine * (1 + _flag(config, "bias", where, True))
    return 0  # a layer without state; build rejects unknown types


def _check_depth(value: Any, where: str) -> None:
    """A ValueError if the JSON ``value`` nests deeper than ``MAX_DEPTH`` (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)


def json_field(metadata: Mapping[str, str], key: str, path: Path, where: str = "chainrule.load") -> Any:
    """The JSON in the metadata field ``key``, or a ValueError naming the file and the field."""
    try:
        value = json.loads(metadata[key])
    except (json.JSONDecodeError, RecursionError, TypeError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ValueError(f"{where}: {str(path)!r} has unreadable JSON in its metadata field {key!r}: "
                         f"{reason}") from None
    _check_depth(value, f"{where}: {str(path)!r}, metadata field {key!r}")
    return value


def check_values_fit(model: nn.Module, tensors: Mapping[str, np.ndarray], path: Path,
                     where: str = "chainrule.load") -> None:
    """Refuse weights that would change meaning on the way into the model: overflow to inf, dropped imaginary parts."""
    for key, target in model.state_dict(keep_vars=True).items():  # keep_vars: no copies, only dtypes are read
        value = tensors.get(key)
        if value is None or value.dtype == target.dtype:
            continue  # missing keys are load_state_dict's to report
        if value.dtype.kind == "c" and target.dtype.kind != "c":
            raise ValueError(f"{where}: {str(path)!r}: {key} is complex ({value.dtype}); the model's "
                             f"{key} is {target.dtype}, which would drop the imaginary part")
        with np.errstate(over="ignore", invalid="ignore"):
            cast = value.astype(target.dtype)
        if value.dtype.kind == "f" and np.count_nonzero(np.isfinite(cast)) != np.count_nonzero(np.isfinite(value)):
            raise ValueError(f"{where}: {str(path)!r}: {key} holds {value.dtype} values beyond the range of "
                             f"the model's {target.dtype} (largest magnitude {float(np.nanmax(np.abs(value))):g}); "
                             f"they would load as inf")


# ---------------------------------------------------------------------------- trees of tensors (state dicts)


class _TreeWriter:
    """Turns a tree of containers and tensors into JSON, collecting the arrays under their dotted names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _name(self, path: str) -> str:
        name = path if path and path not in self.arrays and not path.startswith("__") else f"__{len(self.arrays)}"
        while name in self.arrays:
            name = f"__{len(self.arrays)}_{name}"
        return name

    def encode(self, value: Any, path: str) -> Any:
        dot = f"{path}." if path else ""
        if isinstance(value, Tensor):
            name = self._name(path)
            self.arrays[name] = value._data
            entry: dict[str, Any] = {"__tensor__": name}
            if isinstance(value, nn.Parameter):
                entry["parameter"] = True
            if value.requires_grad:
                entry["requires_grad"] = True
            return entry
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"chainrule.save: cannot store an array of dtype {value.dtype} at {path!r}")
            name = self._name(path)
            self.arrays[name] = value
            return {"__ndarray__": name}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Mapping):
            tag = "__ordereddict__" if isinstance(value, OrderedDict) else "__dict__"
            if all(isinstance(k, str) for k in value):
                return {tag: {k: self.encode(v, f"{dot}{k}") for k, v in value.items()}}
            return {"__items__": [[self.encode(k, f"{dot}key{i}"), self.encode(v, f"{dot}{k}")]
                                  for i, (k, v) in enumerate(value.items())], "ordered": tag == "__ordereddict__"}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{dot}{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{dot}{i}") for i, v in enumerate(value)]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise TypeError(
            f"chainrule.save: cannot store a {type(value).__name__}{f' at {path!r}' if path else ''}: expected a "
            "Module, or Tensors, NumPy arrays, numbers, strings and None in dicts, lists and tuples (chainrule never "
            "pickles, so arbitrary objects can't be saved)"
        )


def _decode(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        array = arrays[value["__tensor__"]]
        if value.get("parameter"):
            return nn.Parameter(array, requires_grad=bool(value.get("requires_grad")))
        t = Tensor._wrap(np.array(array, copy=True))
        return t.requires_grad_(True) if value.get("requires_grad") else t
    if "__ndarray__" in value:
        return np.array(arrays[value["__ndarray__"]], copy=True)
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__items__" in value:
        pairs = [(_decode(k, arrays), _decode(v, arrays)) for k, v in value["__items__"]]
        return OrderedDict(pairs) if value.get("ordered") else dict(pairs)
    if "__ordereddict__" in value:
        return OrderedDict((k, _decode(v, arrays)) for k, v in value["__ordereddict__"].items())
    return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}


# ---------------------------------------------------------------------------- public API


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write a model (weights and architecture), or a state dict or other tree of tensors, to one safetensors
    file, atomically, as ``torch.save`` (but never with pickle).

    Args:
        obj: an MLP or a Sequential of built-in layers (``load`` rebuilds it); or ``model.state_dict()``, a
            Tensor, or dicts/lists/tuples of Tensors, NumPy arrays, numbers, strings and None.
        path: the file to write (``.safetensors`` by convention); parent folders are created.

    Raises:
        TypeError: the model contains a layer ``load`` could not rebuild, or the tree holds an object that is
            not a tensor, array, number, string or container.

    >>> import tempfile, os, chainrule as cr
    >>> from chainrule.training.models import MLPSpec, build_mlp
    >>> model = build_mlp(MLPSpec(3, (4,), 2), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> cr.save(model, path)
    >>> bool((cr.load(path).layers[0].weight.data == model.layers[0].weight.data).all())
    True
    >>> cr.save(model.state_dict(), path)
    >>> model.load_state_dict(cr.load(path))
    <All keys matched successfully>
    """
    if not isinstance(obj, nn.Module):
        writer = _TreeWriter()
        tree = writer.encode(obj, "")
        write_tensors(path, writer.arrays, {"format": FORMAT, OBJECT_KEY: json.dumps(tree)})
        return
    config = architecture(obj)
    metadata = {"format": FORMAT, ARCHITECTURE_KEY: json.dumps(config)}
    write_tensors(path, {name: value._data for name, value in obj.state_dict().items()}, metadata)


def load(path: str | os.PathLike[str], map_location: Any = None, weights_only: bool | None = None, *,
         max_elements: int = MAX_ELEMENTS) -> Any:
    """Read what :func:`save` wrote: the model, rebuilt with its weights and buffers, in eval mode; or the
    state dict (a dict of Tensors, in the saved order) or other tree, as saved.

    ``map_location`` accepts the CPU only; ``weights_only`` is accepted for torch compatibility (loading never
    runs code either way). The architecture is checked against the file's tensors before any layer is built,
    so a small file cannot make ``load`` allocate more than the weights it holds.

    Args:
        max_elements: the most parameter and buffer elements (and the largest dimension) a model may have.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupted, not a chainrule file, not a regular file, its metadata is
            malformed (the message names the field), the model is larger than ``max_elements``, or its weights
            don't fit the architecture or would change value on loading (overflow, complex into real).
    """
    check_device(None if callable(map_location) or isinstance(map_location, dict) else map_location, "chainrule.load")
    path = Path(path)
    tensors, metadata = read_tensors(path)
    if OBJECT_KEY in metadata:
        tree = json_field(metadata, OBJECT_KEY, path)
        try:
            return _decode(tree, tensors)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise ValueError(f"chainrule.load: {str(path)!r} has an unreadable object description in its metadata "
                             f"field {OBJECT_KEY!r}: {error!r}") from None
    if ARCHITECTURE_KEY not in metadata:
        raise ValueError(f"chainrule.load: {str(path)!r} holds weights without an architecture "
                         f"(it was written by save_state_dict); use load_state_dict and your own model")
    config = json_field(metadata, ARCHITECTURE_KEY, path)
    model = build_for(config, tensors, path, ARCHITECTURE_KEY, max_elements)
    # The model takes the arrays just read rather than copies of them; its own were never written (skipped
    # init), so loading holds the weights once, not twice.
    dtypes = {key: value.dtype for key, value in model.state_dict(keep_vars=True).items()}
    # np.require copies only an array that training could not update in place (read-only or strided).
    adopted = {key: np.require(array.astype(dtypes[key], copy=False), requirements=["C", "W"]) if key in dtypes
               else array for key, array in tensors.items()}
    try:
        model.load_state_dict(adopted, assign=True)
    except (KeyError, ValueError) as error:
        raise ValueError(f"chainrule.load: the weights in {str(path)!r} don't fit its architecture: {error}") from None
    return model.eval()


def build_for(config: Any, tensors: Mapping[str, np.ndarray], path: Path, field: str,
              max_elements: int = MAX_ELEMENTS, where: str = "chainrule.load") -> nn.Module:
    """:func:`build` the model ``config`` describes for the ``tensors`` read with it from ``path``, checked first:
    no layer is built unless the description is well-formed, within ``max_elements`` and no larger than the
    tensors, and the tensors' values survive the cast into the model's dtypes.

    Raises:
        ValueError: naming ``path`` and the metadata ``field`` (and the field inside it that is wrong).
    """
    try:
        planned = planned_elements(config, max_elements)
    except ValueError as error:
        raise ValueError(f"{where}: {str(path)!r}, metadata field {field!r}: {error}") from None
    stored = sum(int(array.size) for array in tensors.values())
    if planned > max_elements:
        raise ValueError(f"{where}: {str(path)!r} describes a model of {planned} elements, above the limit "
                         f"of {max_elements}; pass a larger max_elements= if you trust the file")
    if planned > stored:  # building would allocate more than the file holds; else load_state_dict names the key
        raise ValueError(f"{where}: the weights in {str(path)!r} don't fit its architecture: it describes "
                         f"{planned} parameter and buffer elements but the file holds {stored}")
    try:
        with nn.init.skipped():  # every parameter is about to be overwritten by the file's
            model = build(config)
    except ValueError as error:
        raise ValueError(f"{where}: {str(path)!r}, metadata field {field!r}: "
                         f"{str(error).removeprefix('chainrule.load: ')}") from None
    check_values_fit(model, tensors, path, where)
    return model


def save_state_dict(state_dict: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a ``state_dict`` (name → array) to a safetensors file, atomically, for models ``save`` can't describe."""
    write_tensors(path, {k: np.asarray(getattr(v, "data", v)) for k, v in state_dict.items()}, {"format": FORMAT})


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read the arrays written by :func:`save_state_dict` (or :func:`save`).

    Raises:
        FileNotFoundError, ValueError: as :func:`read_tensors`.
    """
    return read_tensors(path, "chainrule.serialization.load_state_dict")[0]
