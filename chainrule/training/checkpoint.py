"""Checkpoints: model weights, optimizer state, epoch, history and the RNG state, so training resumes exactly.

One safetensors file: model arrays under ``model.<name>``, optimizer arrays under ``optimizer.<n>``, and
the metadata key ``chainrule.checkpoint`` holding JSON with the epoch, the history, the optimizer's
non-array state (arrays replaced by references), the architecture when ``chainrule.save`` can describe
the model, and chainrule's generator state (``bit_generator.state``). No pickle: loading runs no code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.engine.random import get_generator
from chainrule.engine.tensor import Tensor
from chainrule.serialization import ARCHITECTURE_KEY, FORMAT, architecture, build, read_tensors, write_tensors

CHECKPOINT_KEY = "chainrule.checkpoint"


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` restored: the model, the epoch to resume from, and the saved history."""

    model: nn.Module
    epoch: int
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-ready tree: arrays become ``{"__array__": key}``, tuples and int-keyed dicts are tagged."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, np.ndarray):
        key = f"optimizer.{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v, arrays) for k, v in value.items()}
        return {"__items__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"save_checkpoint: cannot store a {type(value).__name__} from the optimizer state "
                    f"(expected arrays, numbers, strings, lists and dicts)")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]].copy()
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        if set(value) == {"__items__"}:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__items__"]}
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, optimizer: Any = None, epoch: int = 0,
                    history: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None) -> None:
    """Write a resumable checkpoint atomically (a crash mid-write leaves the previous file intact).

    Args:
        path: the file to write.
        model: the model whose weights and buffers are saved.
        optimizer: its optimizer (its ``state_dict()`` is saved), or None.
        epoch: the number of epochs completed (the ``initial_epoch`` to resume with).
        history: the epoch logs so far (e.g. ``history.epochs``).
        extra: any JSON-ready data of your own.

    Raises:
        TypeError: the optimizer state holds something that is not an array, number, string, list or dict.
    """
    # state_dict() gives Tensors: the file holds their arrays (the optimizer's arrays are added by _encode)
    arrays: dict[str, np.ndarray] = {f"model.{name}": value._data for name, value in model.state_dict().items()}
    try:
        arch: Any = architecture(model)
    except TypeError:
        arch = None  # a custom model: load_checkpoint then needs the model passed in
    info = {
        "epoch": int(epoch),
        "history": _encode(history or [], {}),
        "extra": extra or {},
        "architecture": arch,
        "optimizer": None if optimizer is None else _encode(optimizer.state_dict(), arrays),
        "optimizer_type": None if optimizer is None else type(optimizer).__name__,
        "rng": get_generator().bit_generator.state,
    }
    write_tensors(path, arrays, {"format": FORMAT, CHECKPOINT_KEY: json.dumps(info)})


def load_checkpoint(path: str | os.PathLike[str], model: nn.Module | None = None, optimizer: Any = None,
                    restore_rng: bool = True) -> Checkpoint:
    """Restore a checkpoint: weights into ``model`` (rebuilt from the file when None), the optimizer state,
    and chainrule's generator state, so the next epochs draw the same batches and dropout masks.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a truncated, corrupted or non-checkpoint file, or a model/optimizer that doesn't match it.
    """
    tensors, metadata = read_tensors(path, "load_checkpoint")
    if CHECKPOINT_KEY not in metadata:
        hint = " (it is a model file: use chainrule.load)" if ARCHITECTURE_KEY in metadata else ""
        raise ValueError(f"load_checkpoint: {str(path)!r} is not a chainrule checkpoint{hint}")
    info = json.loads(metadata[CHECKPOINT_KEY])
    if model is None:
        if info.get("architecture") is None:
            raise ValueError(f"load_checkpoint: {str(path)!r} holds a custom model chainrule cannot rebuild; "
                             "pass model= (built as before) to load its weights into")
        model = build(info["architecture"])
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as error:
        raise ValueError(f"load_checkpoint: the weights in {str(path)!r} don't fit the model: {error}") from None
    if optimizer is not None:
        if info.get("optimizer") is None:
            raise ValueError(f"load_checkpoint: {str(path)!r} holds no optimizer state to load into "
                             f"{type(optimizer).__name__}")
        if info["optimizer_type"] != type(optimizer).__name__:
            raise ValueError(f"load_checkpoint: {str(path)!r} holds {info['optimizer_type']} state, "
                             f"got a {type(optimizer).__name__} to load it into")
        optimizer.load_state_dict(_decode(info["optimizer"], tensors))
    if restore_rng:
        get_generator().bit_generator.state = info["rng"]
    return Checkpoint(model=model, epoch=info["epoch"], history=_decode(info["history"], {}), extra=info["extra"])
