"""Hostile files, built byte by byte: model files that ask for gigabytes, data files that lie about their size.

Each builder returns the file's bytes; the tests write them and check that chainrule refuses them with a clear
error, without allocating what they ask for.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import safetensors.numpy

from chainrule import serialization

TINY = {"w": np.zeros(1, np.float32)}  # the weights a crafted file really holds: four bytes


def model_file(architecture: object, tensors: dict[str, np.ndarray] | None = None,
               raw_json: str | None = None) -> bytes:
    """A chainrule safetensors file (valid digest) whose architecture metadata says whatever we like."""
    tensors = TINY if tensors is None else tensors
    text = raw_json if raw_json is not None else json.dumps(architecture)
    metadata = {"format": "chainrule", serialization.ARCHITECTURE_KEY: text,
                serialization.DIGEST_KEY: serialization._digest(tensors)}
    return safetensors.numpy.save(tensors, metadata=metadata)


def object_file(raw_json: str) -> bytes:
    """A chainrule safetensors file holding a tree of tensors (a state dict) described by ``raw_json``."""
    metadata = {"format": "chainrule", serialization.OBJECT_KEY: raw_json,
                serialization.DIGEST_KEY: serialization._digest(TINY)}
    return safetensors.numpy.save(TINY, metadata=metadata)


def checkpoint_file(raw_json: str | None = None, empty: bool = False, **fields: object) -> bytes:
    """A chainrule checkpoint holding one tiny tensor (none if ``empty``) whose metadata fields are overridden by
    ``fields``."""
    info = {"epoch": 0, "history": [], "extra": {}, "architecture": None, "optimizer": None,
            "optimizer_type": None, "rng": np.random.PCG64(0).state, **fields}
    tensors = {} if empty else {"model.w": TINY["w"]}
    metadata = {"format": "chainrule", "chainrule.checkpoint": raw_json if raw_json is not None else json.dumps(info),
                serialization.DIGEST_KEY: serialization._digest(tensors)}
    return safetensors.numpy.save(tensors, metadata=metadata)


def safetensors_header(header: dict[str, object], data: bytes = b"") -> bytes:
    """A safetensors file with a hand-written header (shapes and offsets that need not match the data)."""
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def linear(n_in: int, n_out: int) -> dict[str, object]:
    return {"type": "Linear", "in_features": n_in, "out_features": n_out, "bias": True}


def nested(depth: int) -> dict[str, object]:
    layer: dict[str, object] = {"type": "ReLU"}
    for _ in range(depth):
        layer = {"type": "Sequential", "layers": [layer]}
    return layer


# Model files of at most 1 KB, each asking for far more memory than it holds (name -> bytes).
SMALL_MODEL_FILES = {
    "mlp_10^10_weights": model_file({"type": "MLP", "spec": {"in_features": 100000, "hidden": [100000],
                                                              "out_features": 10}}),
    "linear_2^30_squared": model_file(linear(2**30, 2**30)),
    "linear_within_limit_but_not_in_file": model_file(linear(30000, 30000)),
    "sequential_of_big_linears": model_file({"type": "Sequential", "layers": [linear(10000, 10000)] * 8}),
    "embedding_10^12": model_file({"type": "Embedding", "num_embeddings": 10**9, "embedding_dim": 1000}),
    "layernorm_10^10": model_file({"type": "LayerNorm", "normalized_shape": [100000, 100000]}),
    "batchnorm_10^9": model_file({"type": "BatchNorm1d", "num_features": 10**9}),
    "negative_width": model_file(linear(-5, 3)),
    "checkpoint_mlp_10^10_weights": checkpoint_file(architecture={
        "type": "MLP", "spec": {"in_features": 100000, "hidden": [100000], "out_features": 10}}),
    "huge_header_size": struct.pack("<Q", 2**62) + b"{}",
    "tensor_shape_beyond_data": safetensors_header(
        {"w": {"dtype": "F32", "shape": [10**9], "data_offsets": [0, 4 * 10**9]}}, b"\0" * 4),
    "tensor_offsets_overflow": safetensors_header(
        {"w": {"dtype": "F64", "shape": [2**61], "data_offsets": [0, 2**64 - 1]}}, b"\0" * 8),
}


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def npz_claiming(shape: tuple[int, ...]) -> bytes:
    """An .npz whose X member's header declares ``shape`` float64 but holds 8 bytes: NumPy would allocate first."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", header.getvalue() + b"\0" * 8)
        archive.writestr("y.npy", _npy(np.zeros(1, np.int64)))
    return buffer.getvalue()


def npz_lying_about_its_size(rows: int) -> bytes:
    """A deflated .npz whose X member claims ``rows`` bytes in its header and its zip entries, yet holds 8."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (rows,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("X.npy", header.getvalue() + b"\0" * 8)
        archive.writestr("y.npy", _npy(np.zeros(1, np.int64)))
    data = bytearray(buffer.getvalue())
    claimed = struct.pack("<I", len(header.getvalue()) + rows)
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")  # X.npy's entries come first
    data[local + 22:local + 26] = claimed  # the uncompressed size in the local header
    data[central + 24:central + 28] = claimed  # and in the central directory, which zipfile trusts
    return bytes(data)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def idx_claiming(dims: list[int], data: bytes = b"\0" * 8) -> bytes:
    """An IDX file (uint8) whose header declares ``dims``."""
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


# Data files of at most 1 KB that declare gigabytes (name -> (suffix, bytes)).
SMALL_DATA_FILES = {
    "npz_claiming_10^10_rows": (".npz", npz_claiming((10**10, 1))),
    "npz_lying_about_its_size": (".npz", npz_lying_about_its_size(10**9)),
    "idx_claiming_2^128_bytes": ("-idx4-ubyte", idx_claiming([2**32 - 1] * 4)),
}
