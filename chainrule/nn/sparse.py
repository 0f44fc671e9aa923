"""Embedding: a lookup table of learned vectors, indexed by integer tensors (``torch.nn.Embedding``)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from chainrule.engine import dtypes
from chainrule.engine.random import get_generator
from chainrule.engine.tensor import Tensor, check_device, to_array
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import flag, positive_int
from chainrule.nn.module import Module, Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``layer(indices)`` picks rows.

    The weight starts as N(0, 1) draws (from the generator seeded by ``cr.manual_seed``), with the
    ``padding_idx`` row zero. Gradients add up in the rows that were picked (a scatter-add), except the
    ``padding_idx`` row, which never gets one.

    Args:
        num_embeddings: the size of the table (indices are in [0, num_embeddings)).
        embedding_dim: the size of each vector.
        padding_idx: a row that stays zero and gets no gradient (negative counts from the end).
        max_norm: renormalize each picked row whose ``norm_type``-norm exceeds it, in place, at each forward.
        norm_type: the p of the p-norm for ``max_norm``.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in the batch.
        sparse: not available (chainrule has no sparse gradients); only False.
        dtype: the weight's dtype (the default dtype, float32, when None).

    Raises:
        ValueError: a bad argument, quoted.
        NotImplementedError: ``sparse=True``.

    >>> import chainrule as cr
    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb(cr.tensor([[1, 2, 0]])).shape
    (1, 3, 3)
    >>> emb.weight[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "Embedding")
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or not (
                    -self.num_embeddings <= padding_idx < self.num_embeddings):
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"(-{self.num_embeddings} to {self.num_embeddings - 1}), got {padding_idx!r}")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = None if max_norm is None else float(max_norm)
        self.norm_type = float(norm_type)
        self.scale_grad_by_freq = flag(scale_grad_by_freq, "scale_grad_by_freq", "Embedding")
        if flag(sparse, "sparse", "Embedding"):
            raise NotImplementedError("Embedding: sparse=True is not available: chainrule has no sparse gradients; "
                                      "use sparse=False (a dense gradient gives the same SGD updates)")
        self.sparse = False
        if _weight is None:
            dtype = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype, "Embedding")
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            array = to_array(_weight, dtype, where="Embedding")
            if array.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape ({self.num_embeddings}, {self.embedding_dim}) "
                                 f"(num_embeddings, embedding_dim), got {array.shape}")
            self.weight = Parameter(array, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """N(0, 1) weights, the ``padding_idx`` row zero (torch's default)."""
        data = self.weight._data
        data[...] = get_generator().standard_normal(data.shape)
        if self.padding_idx is not None:
            data[self.padding_idx] = 0
        self.weight._bump_version()

    def forward(self, input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
        return F._embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                            self.scale_grad_by_freq, False, f"Embedding({self.num_embeddings}, {self.embedding_dim})")

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding a copy of the 2-d ``embeddings``; ``freeze`` (default) keeps it from learning.

        Raises:
            ValueError: ``embeddings`` is not 2-dimensional.
        """
        array = to_array(embeddings, where="Embedding.from_pretrained")
        if array.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings parameter is expected to be 2-dimensional, "
                             f"got shape {array.shape}")
        return cls(array.shape[0], array.shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=array, _freeze=freeze)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s
