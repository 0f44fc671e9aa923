"""``torch.nn.utils.rnn``: padding sequences of different lengths into one batch.

chainrule's recurrent layers take padded batches; packed sequences (``pack_padded_sequence``) are not available:
those names import, as in a program written for PyTorch, and calling one raises NotImplementedError saying what to
do instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.tensor import Tensor

__all__ = ["pad_sequence"]

def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shape (L_i, *) into (L_max, B, *), or (B, L_max, *) with ``batch_first``, filling the
    missing steps with ``padding_value`` (after each sequence, or before it with ``padding_side="left"``).
    Gradients flow back to each sequence.

    Raises:
        ValueError: no sequences, a bad ``padding_side``, or sequences whose trailing shapes differ.
        TypeError: an element is not a Tensor.

    >>> import chainrule as cr
    >>> pad_sequence([cr.tensor([1, 2, 3]), cr.tensor([4])], batch_first=True).tolist()
    [[1, 2, 3], [4, 0, 0]]
    """
    items = list(sequences) if not isinstance(sequences, Tensor) else list(sequences.unbind(0))
    if not items:
        raise ValueError("pad_sequence: expected a non-empty list of tensors, got none")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    for k, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"pad_sequence: sequence {k} is a {type(t).__name__}, not a Tensor")
        if t.ndim == 0 or t.shape[1:] != items[0].shape[1:]:
            raise ValueError(f"pad_sequence: sequence {k} has shape {t.shape}; every sequence must be (length, *) "
                             f"with the trailing shape of sequence 0, {items[0].shape[1:]}")
    longest = max(t.shape[0] for t in items)
    padded = []
    for t in items:
        missing = longest - t.shape[0]
        if missing:
            fill = Tensor._wrap(np.full((missing, *t.shape[1:]), padding_value, t._data.dtype))
            t = ops.cat([t, fill] if padding_side == "right" else [fill, t], 0)
        padded.append(t)
    return ops.stack(padded, 0 if batch_first else 1)


def _packed(name: str) -> Any:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"torch.nn.utils.rnn.{name} is not available in chainrule: its RNN, LSTM and GRU take padded batches "
            "(pad_sequence) and run every step; mask the padded steps in the loss (ignore_index, or a mask times "
            "the per-step loss), or take each sequence's last real step with its length")

    unavailable.__name__ = unavailable.__qualname__ = name
    return unavailable


# importable, as in a program written for PyTorch; calling one says why it is not there
PackedSequence = _packed("PackedSequence")
pack_padded_sequence = _packed("pack_padded_sequence")
pad_packed_sequence = _packed("pad_packed_sequence")
pack_sequence = _packed("pack_sequence")
unpack_sequence = _packed("unpack_sequence")
unpad_sequence = _packed("unpad_sequence")
