"""Writing files, shared by every package: atomic writes, strict-JSON values, plots as embeddable PNGs."""

from __future__ import annotations

import base64
import contextlib
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


def _write_bytes(f: BinaryIO, data: bytes) -> None:
    f.write(data)  # its own function so that tests can simulate a crash mid-write


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` so that readers see the old file or the new one, never half of one.

    The bytes go to a temporary file in the same directory, are flushed and fsynced, then
    ``os.replace`` swaps it in; on any error the temporary file is removed. Parent folders are created.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> atomic_write(path, "hello")
    >>> open(path).read()
    'hello'
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_bytes(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON: NumPy scalars as plain numbers, NaN and infinities as None, keys as strings.

    >>> json_safe({"loss": float("nan"), 1: [np.float32(0.5), float("inf")]})
    {'loss': None, '1': [0.5, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def agg_figure(width: float, height: float, dpi: float = 100) -> Any:
    """A matplotlib Figure on the Agg canvas: no pyplot, no display, and the user's backend left alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_base64(fig: Any) -> str:
    """``fig`` as a base64 PNG at its own dpi, for ``<img src="data:image/png;base64,...">``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
