"""Save and load models as safetensors: weights as tensors, the architecture as JSON in the file's metadata.

One file holds everything: ``chainrule.save(model, "model.safetensors")`` writes every parameter and
buffer under its ``state_dict`` name, and the header's metadata holds ``chainrule.architecture`` (JSON:
an MLP's spec, or a Sequential's layers with their constructor arguments) and ``chainrule.sha256``
(a digest of the tensors, so a corrupted file is caught). Loading reads JSON and raw arrays only:
it never executes code, unlike pickle. Writes are atomic: a crash mid-write leaves the old file.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from chainrule import nn
from chainrule._io import atomic_write

FORMAT = "chainrule"
ARCHITECTURE_KEY = "chainrule.architecture"
DIGEST_KEY = "chainrule.sha256"


# ---------------------------------------------------------------------------- files


def _contiguous(array: Any) -> np.ndarray:
    # Not np.ascontiguousarray: it turns 0-d arrays (BatchNorm's num_batches_tracked) into 1-d ones.
    return np.array(array, order="C", copy=None)


def _digest(tensors: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        array = _contiguous(tensors[name])
        h.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        h.update(array.tobytes())
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
    if not path.is_file():
        raise FileNotFoundError(f"{where}: no file at {str(path)!r}")
    data = path.read_bytes()

    def corrupt(reason: str) -> ValueError:
        return ValueError(f"{where}: {str(path)!r} is not a readable chainrule safetensors file "
                          f"(truncated or corrupted?): {reason}")

    if len(data) < 8:
        raise corrupt(f"only {len(data)} bytes, shorter than the 8-byte header size")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise corrupt(f"the header claims {header_size} bytes but the file has {len(data) - 8} after the size")
    try:
        header = json.loads(data[8:8 + header_size])
        tensors = safetensors.numpy.load(data)
    except Exception as error:  # safetensors raises its own error type for every kind of damage
        raise corrupt(str(error)) from None
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or DIGEST_KEY not in metadata:
        raise ValueError(f"{where}: {str(path)!r} is a safetensors file but not one chainrule wrote "
                         f"(no {DIGEST_KEY!r} in its metadata)")
    if _digest(tensors) != metadata[DIGEST_KEY]:
        raise corrupt("the tensors do not match the digest stored with them")
    return tensors, metadata


# ---------------------------------------------------------------------------- architecture


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
    if isinstance(module, nn.Softmax):
        return {"type": name, "dim": module.dim}
    if isinstance(module, nn.Flatten):
        return {"type": name, "start_dim": module.start_dim, "end_dim": module.end_dim}
    if type(module) in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity):
        return {"type": name}
    if isinstance(module, nn.Sequential):
        return {"type": name, "layers": [_layer_config(child) for child in module.children()]}
    raise TypeError(
        f"chainrule.save: cannot describe a {name} layer; save supports MLP and Sequential models of the "
        "built-in layers (Linear, BatchNorm1d, LayerNorm, Dropout, ReLU, LeakyReLU, Sigmoid, Tanh, GELU, "
        "Softmax, Flatten, Identity). For a custom Module, save model.state_dict() with "
        "chainrule.serialization.save_state_dict and rebuild the model yourself"
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
    allowed = {"Linear", "BatchNorm1d", "LayerNorm", "Dropout", "LeakyReLU", "GELU", "Softmax", "Flatten", "ReLU",
               "Sigmoid", "Tanh", "Identity"}
    if kind not in allowed:
        raise ValueError(f"chainrule.load: unknown layer type {kind!r} in the saved architecture; "
                         f"expected one of {sorted(allowed | {'MLP', 'Sequential'})}")
    if kind == "LayerNorm":
        args["normalized_shape"] = tuple(args["normalized_shape"])
    try:
        return getattr(nn, kind)(**args)
    except TypeError as error:
        raise ValueError(f"chainrule.load: cannot rebuild {kind} from {args}: {error}") from None


# ---------------------------------------------------------------------------- public API


def save(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s weights and architecture to one safetensors file (atomically).

    Args:
        model: an MLP, or a Sequential of built-in layers.
        path: the file to write (``.safetensors`` by convention); parent folders are created.

    Raises:
        TypeError: the model contains a layer ``load`` could not rebuild.

    >>> import tempfile, os, chainrule as cr
    >>> from chainrule.training.models import MLPSpec, build_mlp
    >>> model = build_mlp(MLPSpec(3, (4,), 2), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> cr.save(model, path)
    >>> bool((cr.load(path).layers[0].weight.data == model.layers[0].weight.data).all())
    True
    """
    config = architecture(model)
    metadata = {"format": FORMAT, ARCHITECTURE_KEY: json.dumps(config)}
    write_tensors(path, model.state_dict(), metadata)


def load(path: str | os.PathLike[str]) -> nn.Module:
    """Rebuild the model saved by :func:`save`, weights and buffers included, in eval mode.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupted, not a chainrule model, or its weights don't fit.
    """
    tensors, metadata = read_tensors(path)
    if ARCHITECTURE_KEY not in metadata:
        raise ValueError(f"chainrule.load: {str(path)!r} holds weights without an architecture "
                         f"(it was written by save_state_dict); use load_state_dict and your own model")
    try:
        config = json.loads(metadata[ARCHITECTURE_KEY])
    except json.JSONDecodeError as error:
        raise ValueError(f"chainrule.load: {str(path)!r} has an unreadable architecture: {error}") from None
    model = build(config)
    try:
        model.load_state_dict(tensors)
    except (KeyError, ValueError) as error:
        raise ValueError(f"chainrule.load: the weights in {str(path)!r} don't fit its architecture: {error}") from None
    return model.eval()


def save_state_dict(state_dict: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a ``state_dict`` (name → array) to a safetensors file, atomically, for models ``save`` can't describe."""
    write_tensors(path, {k: np.asarray(getattr(v, "data", v)) for k, v in state_dict.items()}, {"format": FORMAT})


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read the arrays written by :func:`save_state_dict` (or :func:`save`).

    Raises:
        FileNotFoundError, ValueError: as :func:`read_tensors`.
    """
    return read_tensors(path, "chainrule.serialization.load_state_dict")[0]
