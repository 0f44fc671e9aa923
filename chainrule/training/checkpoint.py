"""Checkpoints: model weights, optimizer state, epoch, history and the RNG state, so training resumes exactly.

One safetensors file: model arrays under ``model.<name>``, optimizer arrays under ``optimizer.<n>``, and
the metadata key ``chainrule.checkpoint`` holding JSON with the epoch, the history, the optimizer's
non-array state (arrays replaced by references), the architecture when ``chainrule.save`` can describe
the model, and chainrule's generator state (``bit_generator.state``). No pickle: loading runs no code.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.engine.random import get_generator
from chainrule.engine.tensor import Tensor
from chainrule.serialization import (
    ARCHITECTURE_KEY,
    FORMAT,
    MAX_ELEMENTS,
    architecture,
    build_for,
    check_values_fit,
    json_field,
    read_tensors,
    write_tensors,
)

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


# The checkpoint metadata's fields and the JSON types each must have (checked before any is used).
INFO_FIELDS: dict[str, tuple[type, ...]] = {
    "epoch": (int,), "history": (list,), "extra": (dict,), "architecture": (dict, type(None)),
    "optimizer": (dict, type(None)), "optimizer_type": (str, type(None)), "rng": (dict,),
}


def _checked_info(metadata: dict[str, str], path: Path) -> dict[str, Any]:
    info = json_field(metadata, CHECKPOINT_KEY, path, "load_checkpoint")
    where = f"load_checkpoint: {str(path)!r}, metadata field {CHECKPOINT_KEY!r}"
    if not isinstance(info, dict):
        raise ValueError(f"{where}: expected an object, got a JSON {type(info).__name__}")
    for key, types in INFO_FIELDS.items():
        if key not in info:
            raise ValueError(f"{where}: missing the field {key!r}")
        if not isinstance(info[key], types) or isinstance(info[key], bool):
            raise ValueError(f"{where}: field {key!r} should be {' or '.join(t.__name__ for t in types)}, "
                             f"got {str(info[key])[:60]}")
    return info


def load_checkpoint(path: str | os.PathLike[str], model: nn.Module | None = None, optimizer: Any = None,
                    restore_rng: bool = True, *, max_elements: int = MAX_ELEMENTS) -> Checkpoint:
    """Restore a checkpoint: weights into ``model`` (rebuilt from the file when None), the optimizer state,
    and chainrule's generator state, so the next epochs draw the same batches and dropout masks.

    The metadata is schema-checked and a rebuilt model checked against the file's tensors (and
    ``max_elements``) before any layer is built, as :func:`chainrule.load` does.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a truncated, corrupted or non-checkpoint file, malformed metadata (the message names the
            field), or a model/optimizer that doesn't match it.
    """
    path = Path(path)
    tensors, metadata = read_tensors(path, "load_checkpoint")
    if CHECKPOINT_KEY not in metadata:
        hint = " (it is a model file: use chainrule.load)" if ARCHITECTURE_KEY in metadata else ""
        raise ValueError(f"load_checkpoint: {str(path)!r} is not a chainrule checkpoint{hint}")
    info = _checked_info(metadata, path)
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    if model is None:
        if info["architecture"] is None:
            raise ValueError(f"load_checkpoint: {str(path)!r} holds a custom model chainrule cannot rebuild; "
                             "pass model= (built as before) to load its weights into")
        model = build_for(info["architecture"], state, path, f"{CHECKPOINT_KEY}.architecture", max_elements,
                          where="load_checkpoint")
    else:
        check_values_fit(model, state, path, "load_checkpoint")
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as error:
        raise ValueError(f"load_checkpoint: the weights in {str(path)!r} don't fit the model: {error}") from None
    if optimizer is not None:
        if info["optimizer"] is None:
            raise ValueError(f"load_checkpoint: {str(path)!r} holds no optimizer state to load into "
                             f"{type(optimizer).__name__}")
        if info["optimizer_type"] != type(optimizer).__name__:
            raise ValueError(f"load_checkpoint: {str(path)!r} holds {info['optimizer_type']} state, "
                             f"got a {type(optimizer).__name__} to load it into")
        with _field_errors(path, "optimizer"):
            optimizer.load_state_dict(_decode(info["optimizer"], tensors))
    if restore_rng:
        with _field_errors(path, "rng"):
            get_generator().bit_generator.state = info["rng"]
    with _field_errors(path, "history"):
        history = _decode(info["history"], {})
    return Checkpoint(model=model, epoch=info["epoch"], history=history, extra=info["extra"])


@contextlib.contextmanager
def _field_errors(path: Path, key: str) -> Iterator[None]:
    """Turn what a malformed field makes the code below it raise into a ValueError naming the file and field."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ValueError(f"load_checkpoint: {str(path)!r}, metadata field {CHECKPOINT_KEY!r}: field {key!r} "
                         f"is malformed ({type(error).__name__}: {error})") from None
